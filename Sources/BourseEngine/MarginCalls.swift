import BourseCore

/// An open margin call: its number, whether it put its account in reduce-only (and so takes it out when
/// met), and whether its liquidation has started.
struct MarginCallRecord: Hashable {
    var id: UInt64
    var reducedOnly: Bool
    var liquidating: Bool
}

extension MatchingEngine {
    /// A step of a margin call, as the risk desk decides it from a mark's figures. The engine keeps which
    /// accounts have a call open, so that a call opens once and is met or liquidated only while open; an
    /// account the call put in reduce-only returns to active when it is met (unless someone changed its
    /// state since).
    func marginCall(_ step: MarginCallStep) {
        guard let a = usableAccount(step.account) else { return }
        guard accounts[a].kind == .margin else { return reject(.notMarginAccount(step.account)) }
        let key = step.account.rawValue
        switch step.kind {
        case .open:
            guard marginCalls[key] == nil else { return reject(.marginCallOpen(step.account)) }
            lastMarginCall += 1
            var record = MarginCallRecord(id: lastMarginCall, reducedOnly: false, liquidating: false)
            out.append(.marginCallChanged(record.id, step))
            if step.reduceOnly, accounts[a].state == .active {
                accounts[a].state = .reduceOnly
                record.reducedOnly = true
                out.append(.accountStateChanged(step.account, .reduceOnly))
            }
            marginCalls[key] = record
        case .met:
            guard let record = marginCalls.removeValue(forKey: key) else { return reject(.noMarginCall(step.account)) }
            out.append(.marginCallChanged(record.id, step))
            if record.reducedOnly, accounts[a].state == .reduceOnly {
                accounts[a].state = .active
                out.append(.accountStateChanged(step.account, .active))
            }
        case .liquidating:
            // Each round of closing orders is a step of its own: orders that found no buyer are sent again.
            guard marginCalls[key] != nil else { return reject(.noMarginCall(step.account)) }
            marginCalls[key]!.liquidating = true
            out.append(.marginCallChanged(marginCalls[key]!.id, step))
        }
    }

    /// The open margin call of an account: its number and whether it is being liquidated.
    public func marginCall(of id: AccountID) -> (id: UInt64, liquidating: Bool)? {
        marginCalls[id.rawValue].map { ($0.id, $0.liquidating) }
    }

    func encodeMarginCalls(into w: inout ByteWriter) {
        w.writeVarint(lastMarginCall)
        w.writeVarint(UInt64(marginCalls.count))
        for key in marginCalls.keys.sorted() {
            let record = marginCalls[key]!
            w.writeVarint(UInt64(key))
            w.writeVarint(record.id)
            w.writeBool(record.reducedOnly)
            w.writeBool(record.liquidating)
        }
    }

    func decodeMarginCalls(_ r: inout ByteReader) throws(DecodeError) {
        lastMarginCall = try r.readVarint()
        let count = try r.readVarint()
        guard count <= UInt64(limits.accountsMax) else { throw DecodeError(.invalidValue("margin call count"), at: r.offset) }
        for _ in 0..<count {
            let at = r.offset
            let key = try r.readVarint()
            let record = MarginCallRecord(id: try r.readVarint(), reducedOnly: try r.readBool(), liquidating: try r.readBool())
            guard key <= UInt64(UInt32.max), accountIndex.find(key) != nil, record.id <= lastMarginCall, marginCalls[UInt32(key)] == nil else {
                throw DecodeError(.invalidValue("margin call of account \(key)"), at: at)
            }
            marginCalls[UInt32(key)] = record
        }
    }
}
