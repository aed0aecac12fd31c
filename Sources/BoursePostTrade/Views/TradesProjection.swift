import BourseCore
import BourseNode
import BourseProjections

/// Post-trade's state view: every trade, from the book (one row per side) or captured from away, with its
/// state in the lifecycle and each transition as an event with a reason; the business dates with the
/// settlement date of their fills; each settlement cycle's outcomes and fail marks. Every row carries the
/// business date it belongs to, so that a day's transactions can be taken apart from the others. Built
/// from the journal alone (a capture's reference, counterparty and source come in its command's note).
///
/// A trade is `captured` when it is booked, `cleared` once a reconciliation matched it with the counterparty's
/// record (a capture; before or after it settles), then `settled` when the cycle of its settlement date (or a
/// later one) settles its account's net obligation in the symbol in full, or `failed` while part of that
/// obligation is carried forward. Netting may leave nothing to move: its trades settle with the cycle.
/// At any point it may be `cancelled`: its reverse is booked and settles in its turn. Corporate actions
/// (dividends recorded and paid, positions split) are kept with the settlements.
public final class TradesProjection: Projection, @unchecked Sendable {
    public let name = "post_trade"
    public let schema = TradesProjection.tables

    public enum State: String, Sendable, CaseIterable {
        case captured, cleared, settled, failed, cancelled
    }

    /// The runner thread's own: the open business date and where its fills settle.
    private var businessDate: CivilDate?
    private var settlesOn: CivilDate?

    public init() {}

    static let tables = ProjectionSchema(version: 1, tables: [
        .init("pt_trades", key: "id"),
        .init("pt_trade_events", key: "id"),
        .init("pt_business_dates", key: "business_date"),
        .init("pt_settlements", key: "sequence, n"),
        .init("pt_corporate_actions", key: "id"),
    ], statements: [
        """
        CREATE TABLE pt_trades (
            id TEXT PRIMARY KEY, origin TEXT NOT NULL, reference TEXT NOT NULL, account {int} NOT NULL, symbol TEXT NOT NULL,
            side TEXT NOT NULL, qty {int} NOT NULL, price {int} NOT NULL, trade_date {int}, settlement_date {int},
            counterparty TEXT NOT NULL, venue TEXT NOT NULL, source TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,
            business_date {int}, sequence {int} NOT NULL, created_at {int} NOT NULL, updated_at {int} NOT NULL)
        """,
        "CREATE INDEX pt_trades_by_position ON pt_trades (account, symbol, state, settlement_date)",
        "CREATE INDEX pt_trades_by_sequence ON pt_trades (sequence, id)",
        "CREATE INDEX pt_trades_by_state ON pt_trades (state, sequence)",
        "CREATE INDEX pt_trades_by_reference ON pt_trades (reference)",
        """
        CREATE TABLE pt_trade_events (
            id {int} PRIMARY KEY, trade_id TEXT NOT NULL, business_date {int}, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
            reason TEXT NOT NULL, time {int} NOT NULL)
        """,
        "CREATE INDEX pt_trade_events_by_trade ON pt_trade_events (trade_id, id)",
        """
        CREATE TABLE pt_business_dates (
            business_date {int} PRIMARY KEY, settles_on {int} NOT NULL, opened_at {int} NOT NULL, closed_at {int},
            sequence {int} NOT NULL)
        """,
        """
        CREATE TABLE pt_settlements (
            sequence {int} NOT NULL, n {int} NOT NULL, business_date {int} NOT NULL, kind TEXT NOT NULL, account {int} NOT NULL,
            symbol TEXT NOT NULL, obligation_shares {int} NOT NULL, obligation_money {int} NOT NULL, settled_shares {int} NOT NULL,
            settled_money {int} NOT NULL, price {int} NOT NULL, PRIMARY KEY (sequence, n))
        """,
        """
        CREATE TABLE pt_corporate_actions (
            id {int} PRIMARY KEY, kind TEXT NOT NULL, symbol TEXT NOT NULL, detail TEXT NOT NULL, business_date {int}, declared_at {int} NOT NULL)
        """,
    ])

    public func load(from store: any ProjectionStore) throws {
        let row = try store.querySynchronously("SELECT business_date, settles_on FROM pt_business_dates ORDER BY business_date DESC LIMIT 1", []).first
        businessDate = row?.int("business_date").map { CivilDate(daysSinceEpoch: Int($0)) }
        settlesOn = row?.int("settles_on").map { CivilDate(daysSinceEpoch: Int($0)) }
    }

    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        let command = published.command
        let (sequence, time) = (Int64(command.sequence), command.time.nanos)
        // Rows an entry adds are numbered in it; an event's id is its entry's sequence, then that number.
        var counter: Int64 = 0
        func next() -> Int64 {
            defer { counter += 1 }
            return counter
        }
        func nextID() -> Int64 { sequence << 21 | next() }
        var settledKeys: Set<String> = []
        var rolledTo: CivilDate?
        // A capture command's n-th event answers its n-th trade.
        let (reports, notes) = (command.command.capturedReports, try CaptureNote.notes(of: published))
        for (n, event) in published.events.enumerated() {
            switch event {
            case .trade(let t):
                for side in [Side.buy, .sell] {
                    let id = "F-\(t.executionID.rawValue)-\(side == .buy ? "B" : "S")"
                    try insert(id, origin: "book", reference: "", terms: TradeTerms(
                        account: side == .buy ? t.buyerAccount : t.sellerAccount, symbol: t.symbol, side: side, quantity: t.quantity,
                        price: t.price, tradeDate: businessDate ?? .epoch, settlementDate: settlesOn ?? .epoch),
                        // Before the first business date a fill has neither date yet.
                        settles: settlesOn != nil, counterparty: "", venue: "", source: "book", sequence, time, writer)
                }
            case .tradeCaptured(let id, let terms):
                guard n < reports.count, let notes else { continue }
                let note = notes[n]
                try insert("C-\(id)", origin: "capture", reference: reports[n].reference.description, terms: terms, settles: true,
                           counterparty: note?.counterparty ?? "", venue: note?.venue ?? "", source: note?.sourceText ?? "", sequence, time, writer)
            case .businessDateRolled(let roll):
                try writer.execute("UPDATE pt_business_dates SET closed_at = ? WHERE closed_at IS NULL", [.int(time)])
                try writer.execute("""
                    INSERT INTO pt_business_dates (business_date, settles_on, opened_at, closed_at, sequence) VALUES (?, ?, ?, NULL, ?)
                    """, [Self.day(roll.to), Self.day(roll.settlesOn), .int(time), .int(sequence)])
                // Fills before the venue had a business date settle in its first cycle.
                if businessDate == nil {
                    try writer.execute("UPDATE pt_trades SET settlement_date = ?, trade_date = ? WHERE settlement_date IS NULL",
                                       [Self.day(roll.to), Self.day(roll.to)])
                }
                (businessDate, settlesOn, rolledTo) = (roll.to, roll.settlesOn, roll.to)
            case .obligationSettled(let o):
                try record(o.date, "settlement", o.account, o.symbol, [o.obligationShares, o.obligationMoney, o.settledShares, o.settledMoney, 0],
                           sequence, next(), writer)
                settledKeys.insert("\(o.account.rawValue) \(o.symbol)")
                guard o.account != .street else { continue }
                let reason = o.failed
                    ? "delivered \(o.settledShares.magnitude) of \(o.obligationShares.magnitude) shares net on \(o.date); \(o.failedShares.magnitude) shares and \(Money(units: o.failedMoney)) carried forward"
                    : "settled on \(o.date): \(o.settledShares) shares net, \(Money(units: o.settledMoney)) net"
                try move(where: "account = ? AND symbol = ?", [.int(Int64(o.account.rawValue)), .text(o.symbol.description)],
                         through: o.date, to: o.failed ? .failed : .settled, reason: reason, time, nextID, writer)
            case .failMarked(let date, let account, let symbol, let price, let payment):
                try record(date, "mark", account, symbol, [0, 0, 0, payment.units, price.units], sequence, next(), writer)
            case .tradeCancelled(let c, let dueOn):
                let ids: [String] = switch c.trade {
                case .capture(let id): ["C-\(id)"]
                case .fill(let e): ["F-\(e.rawValue)-B", "F-\(e.rawValue)-S"]
                }
                let reason = "cancelled on \(businessDate.map { "\($0)" } ?? "-"); its reverse settles on \(dueOn)"
                for id in ids {
                    guard let row = try writer.query("SELECT state FROM pt_trades WHERE id = ?", [.text(id)]).first else { continue }
                    try writer.execute("UPDATE pt_trades SET state = 'cancelled', reason = ?, updated_at = ? WHERE id = ?", [.text(reason), .int(time), .text(id)])
                    try writer.execute("""
                        INSERT INTO pt_trade_events (id, trade_id, business_date, from_state, to_state, reason, time) VALUES (?, ?, ?, ?, 'cancelled', ?, ?)
                        """, [.int(nextID()), .text(id), businessDate.map(Self.day) ?? .null, row["state"], .text(reason), .int(time)])
                }
            case .tradeCleared(let trade, let run):
                let id = "\(trade)"
                guard let row = try writer.query("SELECT state FROM pt_trades WHERE id = ?", [.text(id)]).first else { continue }
                let state = row.text("state")!
                // Cleared comes between captured and settled; a trade settled already keeps its state and gains the event.
                let to = state == State.captured.rawValue ? State.cleared.rawValue : state
                let reason = "matched the street's record in reconciliation \(run)"
                if to != state {
                    try writer.execute("UPDATE pt_trades SET state = ?, reason = ?, updated_at = ? WHERE id = ?", [.text(to), .text(reason), .int(time), .text(id)])
                }
                try writer.execute("""
                    INSERT INTO pt_trade_events (id, trade_id, business_date, from_state, to_state, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, [.int(nextID()), .text(id), businessDate.map(Self.day) ?? .null, .text(state), .text(to), .text(reason), .int(time)])
            case .dividendDeclared(let id, let d):
                try declare(id, "dividend", d.symbol, "\(d.perShare) a share; ex \(d.exDate), record \(d.recordDate), pay \(d.payDate)", time, writer)
            case .splitDeclared(let id, let s):
                try declare(id, "split", s.symbol, "\(s.ratio) for 1, effective \(s.effectiveDate)", time, writer)
            case .dividendRecorded(let id, let account, let shares):
                try record(businessDate ?? .epoch, "dividend_recorded", account, try actionSymbol(id, writer), [0, 0, shares.shares, 0, 0], sequence, next(), writer)
            case .dividendPaid(let id, let account, let amount):
                try record(businessDate ?? .epoch, "dividend_paid", account, try actionSymbol(id, writer), [0, 0, 0, amount.units, 0], sequence, next(), writer)
            case .positionSplit(_, let account, let symbol, let from, let to):
                try record(businessDate ?? .epoch, "split", account, symbol, [from.shares, 0, to.shares, 0, 0], sequence, next(), writer)
            default:
                break
            }
        }
        // Trades due whose account's obligation netted to nothing: nothing moved, and nothing is owed. Known
        // once the cycle's last part is applied (a cycle of many obligations goes on over `settleNext` entries).
        if case .settleNext(let date) = command.command {
            if case .commandRejected? = published.events.first {} else { rolledTo = date }
        }
        if case .settlementContinues? = published.events.last { rolledTo = nil }
        if let date = rolledTo {
            let due = try writer.query("""
                SELECT DISTINCT account, symbol FROM pt_trades WHERE state IN ('captured', 'cleared') AND settlement_date <= ?
                """, [Self.day(date)])
            for row in due where !settledKeys.contains("\(row.int("account")!) \(row.text("symbol")!)") {
                try move(where: "account = ? AND symbol = ?", [row["account"], row["symbol"]], through: date, to: .settled,
                         reason: "settled on \(date): the account's trades in the symbol netted to nothing", time, nextID, writer)
            }
        }
    }

    private func insert(_ id: String, origin: String, reference: String, terms: TradeTerms, settles: Bool, counterparty: String,
                        venue: String, source: String, _ sequence: Int64, _ time: Int64, _ writer: any StoreWriter) throws {
        try writer.execute("""
            INSERT INTO pt_trades (id, origin, reference, account, symbol, side, qty, price, trade_date, settlement_date, counterparty,
                venue, source, state, reason, business_date, sequence, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'captured', '', ?, ?, ?, ?)
            """, [.text(id), .text(origin), .text(reference), .int(Int64(terms.account.rawValue)), .text(terms.symbol.description),
                  .text(terms.side == .buy ? "buy" : "sell"), .int(terms.quantity.shares), .int(terms.price.units),
                  settles ? Self.day(terms.tradeDate) : .null, settles ? Self.day(terms.settlementDate) : .null,
                  .text(counterparty), .text(venue), .text(source), businessDate.map(Self.day) ?? .null, .int(sequence), .int(time), .int(time)])
    }

    /// Moves the trades of one account and symbol due by `date` and not yet settled to `state`, each with an event.
    private func move(where condition: String, _ values: [SQLValue], through date: CivilDate, to state: State, reason: String,
                      _ time: Int64, _ nextID: () -> Int64, _ writer: any StoreWriter) throws {
        let trades = try writer.query("""
            SELECT id, state FROM pt_trades WHERE \(condition) AND state IN ('captured', 'cleared', 'failed') AND settlement_date <= ? ORDER BY sequence, id
            """, values + [Self.day(date)])
        for trade in trades {
            try writer.execute("UPDATE pt_trades SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
                               [.text(state.rawValue), .text(reason), .int(time), trade["id"]])
            try writer.execute("""
                INSERT INTO pt_trade_events (id, trade_id, business_date, from_state, to_state, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.int(nextID()), trade["id"], Self.day(date), trade["state"], .text(state.rawValue), .text(reason), .int(time)])
        }
    }

    private func declare(_ id: UInt64, _ kind: String, _ symbol: Symbol, _ detail: String, _ time: Int64, _ writer: any StoreWriter) throws {
        try writer.execute("INSERT INTO pt_corporate_actions (id, kind, symbol, detail, business_date, declared_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [.int(Int64(id)), .text(kind), .text(symbol.description), .text(detail), businessDate.map(Self.day) ?? .null, .int(time)])
    }

    /// The symbol of a corporate action, declared earlier in the journal.
    private func actionSymbol(_ id: UInt64, _ writer: any StoreWriter) throws -> Symbol {
        let text = try writer.query("SELECT symbol FROM pt_corporate_actions WHERE id = ?", [.int(Int64(id))]).first?.text("symbol")
        guard let text, let symbol = try? Symbol(validating: text) else { throw Inconsistent(description: "corporate action \(id) is recorded or paid but was never declared") }
        return symbol
    }

    struct Inconsistent: Error, CustomStringConvertible {
        var description: String
    }

    private func record(_ date: CivilDate, _ kind: String, _ account: AccountID, _ symbol: Symbol, _ figures: [Int64], _ sequence: Int64,
                        _ n: Int64, _ writer: any StoreWriter) throws {
        try writer.execute("""
            INSERT INTO pt_settlements (sequence, n, business_date, kind, account, symbol, obligation_shares, obligation_money,
                settled_shares, settled_money, price) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.int(sequence), .int(n), Self.day(date), .text(kind), .int(Int64(account.rawValue)), .text(symbol.description)]
                + figures.map { .int($0) })
    }

    static func day(_ date: CivilDate) -> SQLValue { .int(Int64(date.daysSinceEpoch)) }
}

extension CivilDate {
    /// 1970-01-01, a placeholder where a value is needed and none is meant.
    static let epoch = CivilDate(daysSinceEpoch: 0)
}
