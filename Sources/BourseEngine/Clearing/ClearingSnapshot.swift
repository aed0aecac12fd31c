import BourseCore

/// The post-trade state in the snapshot's canonical form (see `Snapshot.swift`).
extension MatchingEngine {
    /// Settlement dates oldest first, participants by symbol and account, references in byte order: the
    /// same state, the same bytes. Position bases travel with their positions.
    func encodeClearing(into w: inout ByteWriter) {
        w.write(clearing.businessDate)
        w.write(clearing.settlesOn)
        w.writeVarint(clearing.lastCapture)
        func write(_ amounts: [Netting.Key: Clearing.Amount]) {
            w.writeVarint(UInt64(amounts.count))
            for key in amounts.keys.sorted() {
                w.write(key.account); w.write(key.symbol)
                w.writeSigned(amounts[key]!.shares); w.writeSigned(amounts[key]!.money)
            }
        }
        w.writeVarint(UInt64(clearing.due.count))
        for date in clearing.due.keys.sorted() {
            w.write(date)
            write(clearing.due[date]!)
        }
        write(clearing.fails)
        w.writeVarint(UInt64(clearing.captures.count))
        for id in clearing.captures.keys.sorted() {
            w.writeVarint(id)
            w.write(clearing.captures[id]!)
        }
        w.writeVarint(UInt64(clearing.references.count))
        for reference in clearing.references.keys.sorted(by: { $0.precedes($1) }) {
            w.write(reference)
            w.writeVarint(clearing.references[reference]!)
        }
        w.writeVarint(UInt64(clearing.cancelled.count))
        for (trade, date) in clearing.cancelled.sorted(by: { "\($0.key)" < "\($1.key)" }) {
            w.write(trade)
            w.write(date)
        }
        w.writeVarint(UInt64(clearing.cleared.count))
        for id in clearing.cleared.sorted() { w.writeVarint(id) }
        w.writeVarint(clearing.lastCorporateAction)
        w.writeVarint(UInt64(clearing.dividends.count))
        for id in clearing.dividends.keys.sorted() {
            let pending = clearing.dividends[id]!
            w.writeVarint(id)
            w.write(pending.dividend)
            w.writeBool(pending.entitled != nil)
            if let entitled = pending.entitled {
                w.writeVarint(UInt64(entitled.count))
                for e in entitled { w.write(e.account); w.writeSigned(e.shares) }
            }
        }
        w.writeVarint(UInt64(clearing.splits.count))
        for id in clearing.splits.keys.sorted() {
            w.writeVarint(id)
            w.write(clearing.splits[id]!)
        }
        // A cycle in progress: the outcomes still to apply, as decided.
        w.writeBool(clearing.settling != nil)
        if let settling = clearing.settling {
            w.write(settling.date)
            w.writeVarint(UInt64(settling.outcomes.count - settling.next))
            for outcome in settling.outcomes[settling.next...] {
                let o = outcome.obligation
                w.write(o.account); w.write(o.symbol); w.writeSigned(o.shares); w.writeSigned(o.money)
                w.writeSigned(outcome.settledShares); w.writeSigned(outcome.settledMoney)
            }
            w.writeBool(settling.marks != nil)
            if let marks = settling.marks {
                w.writeVarint(UInt64(marks.count - settling.nextMark))
                for key in marks[settling.nextMark...] { w.write(key.account); w.write(key.symbol) }
            }
        }
    }

    func decodeClearing(_ r: inout ByteReader) throws(DecodeError) {
        clearing.businessDate = try r.readOptionalDate()
        clearing.settlesOn = try r.readOptionalDate()
        clearing.lastCapture = try r.readVarint()
        let keysMax = UInt64(limits.accountsMax + 1) * UInt64(limits.symbolsMax)
        func amounts() throws(DecodeError) -> [Netting.Key: Clearing.Amount] {
            let count = try r.readVarint()
            guard count <= keysMax else { throw DecodeError(.invalidValue("obligation count"), at: r.offset) }
            var amounts: [Netting.Key: Clearing.Amount] = [:]
            for _ in 0..<count {
                let at = r.offset
                let key = Netting.Key(account: try r.readAccountID(), symbol: try r.readSymbol())
                let amount = Clearing.Amount(shares: try r.readSigned(), money: try r.readSigned())
                guard amounts[key] == nil, symbolIndex.find(key.symbol.packed) != nil,
                      key.account == .street || accountIndex.find(UInt64(key.account.rawValue)) != nil else {
                    throw DecodeError(.invalidValue("obligation of account \(key.account) in \(key.symbol)"), at: at)
                }
                amounts[key] = amount
            }
            return amounts
        }
        let dates = try r.readVarint()
        guard dates <= 100_000 else { throw DecodeError(.invalidValue("settlement date count"), at: r.offset) }
        for _ in 0..<dates {
            let at = r.offset
            let date = try r.readDate()
            guard clearing.due[date] == nil else { throw DecodeError(.invalidValue("settlement date \(date)"), at: at) }
            clearing.due[date] = try amounts()
        }
        clearing.fails = try amounts()
        let captures = try r.readVarint()
        guard captures <= UInt64(Clearing.capturesMax) else { throw DecodeError(.invalidValue("capture count"), at: r.offset) }
        for _ in 0..<captures {
            let at = r.offset
            let id = try r.readVarint()
            guard id <= clearing.lastCapture, clearing.captures[id] == nil else { throw DecodeError(.invalidValue("capture \(id)"), at: at) }
            clearing.captures[id] = try r.readTradeTerms()
        }
        let references = try r.readVarint()
        guard references <= UInt64(Clearing.referencesMax) else { throw DecodeError(.invalidValue("reference count"), at: r.offset) }
        for _ in 0..<references {
            let at = r.offset
            let reference = try r.readShortText()
            let id = try r.readVarint()
            // A reference names a capture whose terms are kept.
            guard !reference.isEmpty, clearing.references[reference] == nil, clearing.captures[id] != nil else {
                throw DecodeError(.invalidValue("reference of capture \(id)"), at: at)
            }
            clearing.references[reference] = id
        }
        let cancelled = try r.readVarint()
        guard cancelled <= UInt64(Clearing.capturesMax) * 4 else { throw DecodeError(.invalidValue("cancellation count"), at: r.offset) }
        for _ in 0..<cancelled {
            let at = r.offset
            let trade = try r.readTradeRef()
            guard clearing.cancelled[trade] == nil else { throw DecodeError(.invalidValue("cancellation of \(trade)"), at: at) }
            clearing.cancelled[trade] = try r.readDate()
        }
        let cleared = try r.readVarint()
        guard cleared <= UInt64(clearing.captures.count) else { throw DecodeError(.invalidValue("cleared count"), at: r.offset) }
        for _ in 0..<cleared {
            let at = r.offset
            let id = try r.readVarint()
            guard clearing.captures[id] != nil, clearing.cleared.insert(id).inserted else { throw DecodeError(.invalidValue("cleared capture \(id)"), at: at) }
        }
        clearing.lastCorporateAction = try r.readVarint()
        let dividends = try r.readVarint()
        guard dividends <= UInt64(Clearing.corporateActionsMax) else { throw DecodeError(.invalidValue("dividend count"), at: r.offset) }
        for _ in 0..<dividends {
            let at = r.offset
            let id = try r.readVarint()
            var pending = Clearing.PendingDividend(dividend: try r.readDividend(), entitled: nil)
            if try r.readBool() {
                let count = try r.readVarint()
                guard count <= UInt64(limits.accountsMax) else { throw DecodeError(.invalidValue("dividend \(id) entitlements"), at: at) }
                var entitled: [Clearing.Entitlement] = []
                for _ in 0..<count { entitled.append(Clearing.Entitlement(account: try r.readAccountID(), shares: try r.readSigned())) }
                pending.entitled = entitled
            }
            guard id <= clearing.lastCorporateAction, clearing.dividends[id] == nil else { throw DecodeError(.invalidValue("dividend \(id)"), at: at) }
            clearing.dividends[id] = pending
        }
        let splits = try r.readVarint()
        guard splits <= UInt64(Clearing.corporateActionsMax) else { throw DecodeError(.invalidValue("split count"), at: r.offset) }
        for _ in 0..<splits {
            let at = r.offset
            let id = try r.readVarint()
            let split = try r.readSplit()
            guard id <= clearing.lastCorporateAction, clearing.splits[id] == nil, clearing.dividends[id] == nil,
                  symbolIndex.find(split.symbol.packed) != nil else { throw DecodeError(.invalidValue("split \(id)"), at: at) }
            clearing.splits[id] = split
        }
        guard try r.readBool() else { return }
        let date = try r.readDate(), at = r.offset
        let count = try r.readVarint()
        guard count <= keysMax else { throw DecodeError(.invalidValue("settlement outcome count"), at: at) }
        var outcomes: [Delivery.Outcome] = []
        for _ in 0..<count {
            let at = r.offset
            let o = Netting.Obligation(account: try r.readAccountID(), symbol: try r.readSymbol(), shares: try r.readSigned(), money: try r.readSigned())
            let (shares, money): (Int64, Int64) = (try r.readSigned(), try r.readSigned())
            // What settled is at most what was owed, on its side.
            guard shares.magnitude <= o.shares.magnitude, money.magnitude <= o.money.magnitude, shares == 0 || (shares < 0) == (o.shares < 0) else {
                throw DecodeError(.invalidValue("settlement outcome"), at: at)
            }
            let rest = Netting.Obligation(account: o.account, symbol: o.symbol, shares: o.shares - shares, money: o.money - money)
            outcomes.append(Delivery.Outcome(obligation: o, settledShares: shares, settledMoney: money, fail: rest.isNothing ? nil : rest))
        }
        var settling = Clearing.Settling(date: date, outcomes: outcomes)
        if try r.readBool() {
            let at = r.offset
            let count = try r.readVarint()
            guard count <= keysMax, outcomes.isEmpty else { throw DecodeError(.invalidValue("fail mark count"), at: at) }
            var marks: [Netting.Key] = []
            for _ in 0..<count { marks.append(Netting.Key(account: try r.readAccountID(), symbol: try r.readSymbol())) }
            settling.marks = marks
        }
        // A cycle in progress has something left to do.
        guard settling.left > 0 else { throw DecodeError(.invalidValue("settlement in progress with nothing left"), at: at) }
        clearing.settling = settling
    }
}
