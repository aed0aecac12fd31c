import BourseCore
import BourseJournal
import BourseNode

/// The journal on Kafka: topic `<prefix>.events`, one record per journal entry.
///
///   value    the entry's payload exactly as a journal segment holds it (`JournalFormat.readPayload`)
///   key      the symbol the entry is about, in ASCII; empty for an entry about no one symbol
///   headers  `bourse.seq`     the journal sequence, u64 big-endian
///            `bourse.txn`     the first sequence the Kafka transaction that wrote it set out to publish
///            `bourse.format`  codec version u16 | engine flags u16, little-endian, as a segment's header
///            `bourse.date`    the business date open when that transaction began (`BusinessDates`)
///
/// Partitions: an entry about one symbol goes to partition FNV-1a(symbol) mod the partition count, so that a
/// symbol's entries stay in order within one partition; every other entry (accounts, funding, the business
/// date, timers) goes to partition 0. Within a partition, sequences only rise.
///
/// The total order: a consumer that needs it (a replay, a standby) reads every partition and applies
/// sequence s + 1 next, wherever it is, holding back the records of other partitions meanwhile. A record
/// whose sequence it has applied already is skipped: it is the same entry again.
public struct EventTopic: Sendable, Equatable {
    public static let sequenceHeader = "bourse.seq"
    public static let transactionHeader = "bourse.txn"
    public static let formatHeader = "bourse.format"
    public static let dateHeader = "bourse.date"
    public static let headerNames = [sequenceHeader, transactionHeader, formatHeader, dateHeader]

    public var name: String
    public var partitions: Int32

    public init(prefix: String, partitions: Int32) {
        precondition(partitions >= 1)
        name = prefix + ".events"
        self.partitions = partitions
    }

    public func partition(of symbol: Symbol?) -> Int32 {
        Self.partition(of: symbol, count: partitions)
    }

    /// The rule of every topic the venue writes: FNV-1a of the symbol mod the partition count, else 0.
    public static func partition(of symbol: Symbol?, count: Int32) -> Int32 {
        guard let symbol else { return 0 }
        let hash = withUnsafeBytes(of: symbol.packed.littleEndian) { fnv1a($0) }
        return Int32(hash % UInt64(count))
    }

    /// The journal entry a record holds, checked against the sequence its header gives; valid during `body`.
    static func withEntry<T>(_ record: KafkaRecord, sequence: UInt64, topic: String, _ body: (JournalEntry) throws -> T) throws -> T {
        try record.value.withUnsafeBytes { bytes in
            let entry: JournalEntry
            do {
                entry = try JournalFormat.readPayload(bytes)
            } catch {
                throw KafkaError(message: "\(topic) [\(record.partition)] at offset \(record.offset): undecodable entry: \(error)")
            }
            guard entry.command.sequence == sequence else {
                throw KafkaError(message: "\(topic) [\(record.partition)] at offset \(record.offset): its header says sequence \(sequence), its entry \(entry.command.sequence)")
            }
            return try body(entry)
        }
    }

    public static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    public static func readBigEndian(_ bytes: [UInt8]?) -> UInt64? {
        guard let bytes, bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Which symbol an entry is about: the command's, else, for a cancel or a replace, that of the order it
/// names, as the router learnt it from the order's acceptance. Commands about many symbols at once (timers,
/// the business date, marks) are about none. Bounded: it forgets orders once they end and, when full, the
/// oldest it knows.
struct SymbolRouter {
    static let ordersKnownMax = 1 << 20
    private var symbols: [UInt64: Symbol] = [:]
    private var order: [UInt64] = []
    private var oldest = 0

    /// Orders open when the publisher starts (the orders projection's), so that their cancels are routed.
    init(openOrders: [(OrderID, Symbol)] = []) {
        for (id, symbol) in openOrders.prefix(Self.ordersKnownMax) { remember(id.rawValue, symbol) }
    }

    mutating func route(_ published: Published) -> Symbol? {
        let symbol = Self.named(by: published.command.command) ?? orderNamed(by: published.command.command)
        learn(published.events)
        return symbol
    }

    private func orderNamed(by command: Command) -> Symbol? {
        switch command {
        case .cancel(let c): symbols[c.orderID.rawValue]
        case .replace(let r): symbols[r.orderID.rawValue]
        default: nil
        }
    }

    private mutating func learn(_ events: [Event]) {
        for event in events {
            switch event {
            case .orderAccepted(let o): remember(o.orderID.rawValue, o.symbol)
            case .orderListAccepted(let l):
                for id in [l.entryID, l.takeProfitID, l.stopLossID] where id != 0 { remember(id, l.symbol) }
            case .orderReplaced(let r):
                if let symbol = symbols.removeValue(forKey: r.orderID.rawValue) { remember(r.newOrderID.rawValue, symbol) }
            case .orderCancelled(let id, _, _, _), .orderExpired(let id, _, _), .orderRejected(let id, _, _):
                symbols[id.rawValue] = nil
            default: break
            }
        }
    }

    private mutating func remember(_ id: UInt64, _ symbol: Symbol) {
        if symbols.count >= Self.ordersKnownMax {
            // Forget the oldest known order that is still known.
            while oldest < order.count, symbols.removeValue(forKey: order[oldest]) == nil { oldest += 1 }
            oldest += 1
        }
        if oldest > order.count / 2, oldest > 1 << 16 {
            order.removeFirst(oldest)
            oldest = 0
        }
        symbols[id] = symbol
        order.append(id)
    }

    static func named(by command: Command) -> Symbol? {
        switch command {
        case .listSymbol(let s, _), .setTradingState(let s, _), .setEasyToBorrow(let s, _), .setFees(let s, _): s
        case .newOrder(let o): o.symbol
        case .newOrderList(let l): l.symbol
        case .transferIn(_, let s, _, _), .transferOut(_, let s, _): s
        case .declareDividend(let d): d.symbol
        case .declareSplit(let s): s.symbol
        case .referenceQuote(let q): q.symbol
        default: nil
        }
    }
}
