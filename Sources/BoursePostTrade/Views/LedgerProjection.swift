import BourseCore
import BourseEngine
import BourseNode
import BourseProjections

/// Post-trade's ledgers: the double-entry books of every account, posted by the engine's own rules
/// (`Ledger`) from the journal. A customer keeps a settled and an unsettled book of cash and of each
/// security: a trade posts unsettled, its settlement moves what it delivered to the settled book; the
/// venue's accounts (fees, the central counterparty, the street, the outside world, cash in transit)
/// keep one. Every transaction is kept with its entries and the business date it belongs to, and each
/// date's debits, credits and closing balance per book, from which the trial balance of any date is read
/// (`trialBalance`): per asset, what the books owe equals what they hold.
public final class LedgerProjection: Projection, @unchecked Sendable {
    public let name = "ledger"
    public let schema = LedgerProjection.tables

    /// A book's movement on one business date, gathered until the transaction's flush.
    struct Day: Hashable {
        var date: Int64
        var key: Ledger.Key
    }

    struct Movement {
        var debits: Int64 = 0
        var credits: Int64 = 0
        var closing: Int64 = 0
    }

    /// The runner thread's own: the books as the tables hold them plus what this transaction posted.
    private var ledger = Ledger(linesPerAccountMax: 0)
    private var businessDate: Int64 = 0
    private var moved: [Day: Movement] = [:]

    public init() {}

    static let tables = ProjectionSchema(version: 1, tables: [
        .init("lg_business_dates", key: "business_date"),
        .init("lg_transactions", key: "id"),
        .init("lg_entries", key: "transaction_id, n"),
        .init("lg_balances", key: "ledger_account, account, book, symbol"),
        .init("lg_days", key: "business_date, ledger_account, account, book, symbol"),
        .init("lg_splits", key: "id"),
    ], statements: [
        "CREATE TABLE lg_business_dates (business_date {int} PRIMARY KEY, sequence {int} NOT NULL)",
        """
        CREATE TABLE lg_transactions (
            id {int} PRIMARY KEY, business_date {int} NOT NULL, kind TEXT NOT NULL, reference TEXT NOT NULL, sequence {int} NOT NULL,
            time {int} NOT NULL)
        """,
        // `account` is the customer's id, 0 for the venue's own accounts; `symbol` is empty for cash.
        """
        CREATE TABLE lg_entries (
            transaction_id {int} NOT NULL, n {int} NOT NULL, business_date {int} NOT NULL, ledger_account TEXT NOT NULL,
            account {int} NOT NULL, book TEXT NOT NULL, symbol TEXT NOT NULL, amount {int} NOT NULL, PRIMARY KEY (transaction_id, n))
        """,
        "CREATE INDEX lg_entries_by_account ON lg_entries (account, business_date, transaction_id)",
        """
        CREATE TABLE lg_balances (
            ledger_account TEXT NOT NULL, account {int} NOT NULL, book TEXT NOT NULL, symbol TEXT NOT NULL, balance {int} NOT NULL,
            PRIMARY KEY (ledger_account, account, book, symbol))
        """,
        """
        CREATE TABLE lg_days (
            business_date {int} NOT NULL, ledger_account TEXT NOT NULL, account {int} NOT NULL, book TEXT NOT NULL, symbol TEXT NOT NULL,
            debits {int} NOT NULL, credits {int} NOT NULL, balance {int} NOT NULL,
            PRIMARY KEY (business_date, ledger_account, account, book, symbol))
        """,
        "CREATE INDEX lg_days_by_book ON lg_days (ledger_account, account, book, symbol, business_date)",
        "CREATE TABLE lg_splits (id {int} PRIMARY KEY, symbol TEXT NOT NULL, ratio {int} NOT NULL, effective_date {int} NOT NULL)",
    ])

    public func load(from store: any ProjectionStore) throws {
        var balances: [Ledger.Key: Int64] = [:]
        for row in try store.querySynchronously("SELECT * FROM lg_balances", []) {
            balances[try Self.key(row)] = row.int("balance")!
        }
        var splits: [UInt64: Split] = [:]
        for row in try store.querySynchronously("SELECT * FROM lg_splits", []) {
            splits[UInt64(row.int("id")!)] = Split(symbol: try Self.symbol(row.text("symbol")!), ratio: row.int("ratio")!,
                                                   effectiveDate: CivilDate(daysSinceEpoch: Int(row.int("effective_date")!)))
        }
        let count = try store.querySynchronously("SELECT MAX(id) AS n FROM lg_transactions", []).first?.int("n") ?? 0
        ledger = Ledger(restoring: balances, splits: splits, transactionCount: UInt64(count), linesPerAccountMax: 0)
        businessDate = try store.querySynchronously("SELECT MAX(business_date) AS d FROM lg_business_dates", []).first?.int("d") ?? 0
        moved = [:]
    }

    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        let command = published.command
        let (sequence, time) = (Int64(command.sequence), command.time.nanos)
        for event in published.events {
            switch event {
            case .businessDateRolled(let roll):
                businessDate = Int64(roll.to.daysSinceEpoch)
                try writer.execute("INSERT INTO lg_business_dates (business_date, sequence) VALUES (?, ?)", [.int(businessDate), .int(sequence)])
                if let from = roll.from { try writer.execute("DELETE FROM lg_splits WHERE effective_date <= ?", [.int(Int64(from.daysSinceEpoch))]) }
            case .splitDeclared(let id, let split):
                try writer.execute("INSERT INTO lg_splits (id, symbol, ratio, effective_date) VALUES (?, ?, ?, ?)",
                                   [.int(Int64(id)), .text(split.symbol.description), .int(split.ratio), .int(Int64(split.effectiveDate.daysSinceEpoch))])
            default:
                break
            }
            for transaction in ledger.apply(event) {
                let (kind, reference) = Self.describe(transaction.kind)
                try writer.execute("INSERT INTO lg_transactions (id, business_date, kind, reference, sequence, time) VALUES (?, ?, ?, ?, ?, ?)",
                                   [.int(Int64(transaction.id)), .int(businessDate), .text(kind), .text(reference), .int(sequence), .int(time)])
                for (n, entry) in transaction.entries.enumerated() {
                    let key = Ledger.Key(entry.account, entry.book, entry.asset)
                    try writer.execute("""
                        INSERT INTO lg_entries (transaction_id, n, business_date, ledger_account, account, book, symbol, amount)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, [.int(Int64(transaction.id)), .int(Int64(n)), .int(businessDate)] + Self.columns(key) + [.int(entry.amount)])
                    try move(Day(date: businessDate, key: key), by: entry.amount)
                }
            }
        }
    }

    /// Adds an entry to its book's movement of the day; the book's balance after it closes the day so far.
    private func move(_ day: Day, by amount: Int64) throws {
        var m = moved[day] ?? Movement()
        let (debits, overDebits) = m.debits.addingReportingOverflow(max(amount, 0))
        let (credits, overCredits) = m.credits.addingReportingOverflow(max(-amount, 0))
        // A book turning over more than 9.2 × 10^14 dollars in a day: the table cannot hold it, so the projection stops and says so.
        guard !overDebits, !overCredits else { throw Inconsistent(description: "the \(day.key) book moved more in a day than 64 bits hold") }
        (m.debits, m.credits, m.closing) = (debits, credits, ledger.balance(day.key.account, day.key.asset, book: day.key.book))
        moved[day] = m
    }

    struct Inconsistent: Error, CustomStringConvertible {
        var description: String
    }

    public func flush(writer: any StoreWriter) throws {
        // Upserts by key: the order of the writes does not change what the tables hold.
        for (day, m) in moved {
            let columns = Self.columns(day.key)
            try writer.execute("""
                INSERT INTO lg_days (business_date, ledger_account, account, book, symbol, debits, credits, balance) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (business_date, ledger_account, account, book, symbol) DO UPDATE SET
                    debits = lg_days.debits + excluded.debits, credits = lg_days.credits + excluded.credits, balance = excluded.balance
                """, [.int(day.date)] + columns + [.int(m.debits), .int(m.credits), .int(m.closing)])
        }
        for key in Set(moved.keys.map(\.key)) {
            let balance = ledger.balance(key.account, key.asset, book: key.book)
            if balance == 0 {
                try writer.execute("DELETE FROM lg_balances WHERE ledger_account = ? AND account = ? AND book = ? AND symbol = ?", Self.columns(key))
            } else {
                try writer.execute("""
                    INSERT INTO lg_balances (ledger_account, account, book, symbol, balance) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (ledger_account, account, book, symbol) DO UPDATE SET balance = excluded.balance
                    """, Self.columns(key) + [.int(balance)])
            }
        }
        moved = [:]
    }

    // MARK: - Rows

    /// A book as its columns hold it: the ledger account's name, the customer's id (0 for the venue's
    /// accounts), the book, and the symbol (empty for cash).
    static func columns(_ key: Ledger.Key) -> [SQLValue] {
        let (name, account) = accountColumns(key.account)
        let symbol = if case .shares(let s) = key.asset { s.description } else { "" }
        return [.text(name), .int(account), .text(key.book.rawValue), .text(symbol)]
    }

    static func accountColumns(_ account: LedgerAccount) -> (String, Int64) {
        switch account {
        case .customer(let id): ("customer", Int64(id.rawValue))
        case .venueFees: ("venue_fees", 0)
        case .clearing: ("clearing", 0)
        case .outsideWorld: ("outside_world", 0)
        case .inTransit: ("in_transit", 0)
        case .street: ("street", 0)
        }
    }

    static func key(_ row: SQLRow) throws -> Ledger.Key {
        let account: LedgerAccount
        switch row.text("ledger_account")! {
        case "customer": account = .customer(AccountID(UInt32(row.int("account")!)))
        case "venue_fees": account = .venueFees
        case "clearing": account = .clearing
        case "outside_world": account = .outsideWorld
        case "in_transit": account = .inTransit
        case "street": account = .street
        case let other: throw Inconsistent(description: "lg_balances names a ledger account \"\(other)\" this version does not know")
        }
        guard let book = LedgerBook(rawValue: row.text("book")!) else { throw Inconsistent(description: "lg_balances names a book \"\(row.text("book")!)\"") }
        let symbol = row.text("symbol")!
        return Ledger.Key(account, book, symbol.isEmpty ? .usd : .shares(try Self.symbol(symbol)))
    }

    private static func symbol(_ text: String) throws -> Symbol {
        guard let symbol = try? Symbol(validating: text) else { throw Inconsistent(description: "the ledger's tables name a symbol \"\(text)\"") }
        return symbol
    }

    /// A transaction's kind and what it refers to: the trade (as `pt_trades` names its sides), the transfer,
    /// the corporate action, or the settlement's date and symbol.
    static func describe(_ kind: LedgerTransaction.Kind) -> (String, String) {
        func side(_ s: Side) -> String { s == .buy ? "B" : "S" }
        return switch kind {
        case .deposit: ("deposit", "")
        case .withdrawal: ("withdrawal", "")
        case .transferIn: ("transfer_in", "")
        case .transferOut: ("transfer_out", "")
        case .journal: ("journal", "")
        case .bankTransfer(let id, let status): ("bank_transfer", "\(id) \(status.name)")
        case .fill(let execution, let s): ("fill", "F-\(execution.rawValue)-\(side(s))")
        case .capture(let id): ("capture", "C-\(id)")
        case .cancellation(let trade, let s): ("cancellation", "\(trade) \(side(s))")
        case .settlement(let date, let symbol): ("settlement", "\(date) \(symbol)")
        case .failMark(let date, let symbol): ("fail_mark", "\(date) \(symbol)")
        case .dividend(let id): ("dividend", "\(id)")
        case .split(let id): ("split", "\(id)")
        }
    }
}
