import BourseCore
import BourseNode

/// Post-trade's topics: `<prefix>.trades.<YYYY-MM-DD>`, one per business date, written by the publisher in
/// the same Kafka transaction as the entries that made their records (so a consumer of a date never sees a
/// trade without what it makes due, nor the reverse). One JSON object per record, keyed by symbol and in
/// the partition of the event topic's rule, with the journal sequence in `bourse.seq`:
///
///   trade     a trade side booked, in its trade date's topic: a fill one record a side (`F-<execution>-B/S`,
///             origin `book`, dated the business date open), a capture one (`C-<n>`, origin `capture`)
///   cancel    a trade cancelled, in the topic of the business date that cancelled it
///   due       what a trade or a cancellation makes due, one record a party, in the topic of its settlement
///             date, which is usually days ahead: shares and money signed as the party sees them (positive
///             to receive); reason `trade` or `cancel`. Account 4294967295 is the street: the outside
///             counterparties of captured trades taken together.
///   settled   what a date's settlement cycle did with one net obligation, in that date's topic
///   mark      a fail marked to market in a cycle, in that date's topic
///
/// Fills before the venue's first business date have no dates yet (they settle in its first cycle): their
/// records go to `<prefix>.trades.undated`, with null dates.
public struct DatedTopics: Sendable, Equatable {
    public static let undated = "undated"
    /// Stands in for the dates of a fill before the first business date; never written.
    static let noDate = CivilDate(daysSinceEpoch: 0)
    public var prefix: String
    public var partitions: Int32

    public init(prefix: String, partitions: Int32) {
        precondition(partitions >= 1)
        self.prefix = prefix
        self.partitions = partitions
    }

    public func name(_ date: CivilDate?) -> String {
        prefix + ".trades." + (date.map { "\($0)" } ?? Self.undated)
    }

    /// One record to write: its date's topic, its symbol (key and partition) and its JSON text.
    struct Record {
        var date: CivilDate?
        var symbol: Symbol
        var value: String
    }

    /// The records one entry makes, in the order of its events; `dates` is what was open before the entry
    /// and is moved past it.
    static func records(_ entry: Published, dates: inout BusinessDates) -> [Record] {
        var out: [Record] = []
        let sequence = JSONText.int(Int64(entry.command.sequence))
        func side(_ side: Side) -> JSONText { .string(side == .buy ? "buy" : "sell") }
        func date(_ date: CivilDate?) -> JSONText { date.map { .string("\($0)") } ?? .null }
        func money(_ units: Int64) -> JSONText { .string(Money(units: units).description) }
        func trade(_ id: String, origin: String, reference: String, _ t: TradeTerms, dated: Bool) {
            let dates = dated ? (t.tradeDate, t.settlementDate) as (CivilDate?, CivilDate?) : (nil, nil)
            out.append(Record(date: dates.0, symbol: t.symbol, value: JSONText.object([
                ("kind", .string("trade")), ("id", .string(id)), ("origin", .string(origin)), ("reference", .string(reference)),
                ("account", .int(Int64(t.account.rawValue))), ("symbol", .string(t.symbol.description)), ("side", side(t.side)),
                ("qty", .int(t.quantity.shares)), ("price", .string(t.price.description)), ("amount", money(t.notional.units)),
                ("trade_date", date(dates.0)), ("settlement_date", date(dates.1)), ("sequence", sequence),
            ]).text))
        }
        /// What `t` makes due to its account and to the counterparty, reversed for a cancellation.
        func due(_ id: String, _ t: TradeTerms, counterparty: AccountID, on: CivilDate?, reason: String, reversed: Bool) {
            let receives = (t.side == .buy) != reversed
            for (account, gets) in [(t.account, receives), (counterparty, !receives)] {
                let shares = gets ? t.quantity.shares : -t.quantity.shares
                out.append(Record(date: on, symbol: t.symbol, value: JSONText.object([
                    ("kind", .string("due")), ("trade", .string(id)), ("reason", .string(reason)),
                    ("account", .int(Int64(account.rawValue))), ("symbol", .string(t.symbol.description)),
                    ("shares", .int(shares)), ("money", money(gets ? -t.notional.units : t.notional.units)),
                    ("due", date(on)), ("sequence", sequence),
                ]).text))
            }
        }
        // A capture command's n-th event answers its n-th trade.
        let reports = entry.command.command.capturedReports
        for (n, event) in entry.events.enumerated() {
            switch event {
            case .trade(let t):
                let dated = dates.open != nil
                let buy = TradeTerms(account: t.buyerAccount, symbol: t.symbol, side: .buy, quantity: t.quantity, price: t.price,
                                     tradeDate: dates.open ?? Self.noDate, settlementDate: dates.settlesOn ?? Self.noDate)
                var sell = buy
                sell.account = t.sellerAccount
                sell.side = .sell
                trade("F-\(t.executionID.rawValue)-B", origin: "book", reference: "", buy, dated: dated)
                trade("F-\(t.executionID.rawValue)-S", origin: "book", reference: "", sell, dated: dated)
                due("F-\(t.executionID.rawValue)", buy, counterparty: t.sellerAccount, on: dated ? dates.settlesOn : nil, reason: "trade", reversed: false)
            case .tradeCaptured(let id, let terms):
                let reference = n < reports.count ? reports[n].reference.description : ""
                trade("C-\(id)", origin: "capture", reference: reference, terms, dated: true)
                due("C-\(id)", terms, counterparty: .street, on: terms.settlementDate, reason: "trade", reversed: false)
            case .tradeCancelled(let c, let dueOn):
                let id = "\(c.trade)"
                out.append(Record(date: dates.open, symbol: c.terms.symbol, value: JSONText.object([
                    ("kind", .string("cancel")), ("trade", .string(id)), ("symbol", .string(c.terms.symbol.description)),
                    ("business_date", date(dates.open)), ("due", date(dueOn)), ("sequence", sequence),
                ]).text))
                due(id, c.terms, counterparty: c.counterparty, on: dueOn, reason: "cancel", reversed: true)
            case .businessDateRolled(let roll):
                dates.open = roll.to
                dates.settlesOn = roll.settlesOn
            case .obligationSettled(let o):
                out.append(Record(date: o.date, symbol: o.symbol, value: JSONText.object([
                    ("kind", .string("settled")), ("account", .int(Int64(o.account.rawValue))), ("symbol", .string(o.symbol.description)),
                    ("obligation_shares", .int(o.obligationShares)), ("obligation_money", money(o.obligationMoney)),
                    ("settled_shares", .int(o.settledShares)), ("settled_money", money(o.settledMoney)),
                    ("date", date(o.date)), ("sequence", sequence),
                ]).text))
            case .failMarked(let on, let account, let symbol, let price, let payment):
                out.append(Record(date: on, symbol: symbol, value: JSONText.object([
                    ("kind", .string("mark")), ("account", .int(Int64(account.rawValue))), ("symbol", .string(symbol.description)),
                    ("price", .string(price.description)), ("payment", money(payment.units)), ("date", date(on)), ("sequence", sequence),
                ]).text))
            default:
                break
            }
        }
        return out
    }
}

/// The business date open at a point of the journal and where its fills settle, as the publisher follows
/// it. Each event record carries the value its transaction began with (`bourse.date`: the two dates as days
/// since 1970-01-01, i32 big-endian each; empty before the first business date), so that a publisher that
/// starts again knows it without reading the journal from its start.
struct BusinessDates: Equatable, Sendable {
    var open: CivilDate?
    var settlesOn: CivilDate?

    var header: [UInt8] {
        guard let open, let settlesOn else { return [] }
        return [open, settlesOn].flatMap { date in
            let days = UInt32(bitPattern: Int32(date.daysSinceEpoch))
            return (0..<4).map { UInt8(truncatingIfNeeded: days >> (24 - 8 * $0)) }
        }
    }

    init() {}

    init?(header: [UInt8]) {
        guard !header.isEmpty else { return }
        guard header.count == 8 else { return nil }
        let days = [header[0..<4], header[4..<8]].map { Int(Int32(bitPattern: $0.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })) }
        guard days.allSatisfy({ CivilDate.supported.contains(CivilDate(daysSinceEpoch: $0)) }) else { return nil }
        open = CivilDate(daysSinceEpoch: days[0])
        settlesOn = CivilDate(daysSinceEpoch: days[1])
    }

    mutating func apply(_ events: [Event]) {
        for case .businessDateRolled(let roll) in events {
            open = roll.to
            settlesOn = roll.settlesOn
        }
    }
}
