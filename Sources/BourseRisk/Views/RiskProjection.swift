import BourseCore
import BourseNode
import BourseProjections
import Foundation
import Synchronization

/// The risk platform as a projection of the journal: the `RiskBook` in memory, checkpointed into its
/// tables in the same transaction as its position, so that after any crash it restores and goes on to the
/// same figures as a run that never stopped. Its tables hold what the figures are computed from (each
/// account's cash, fees, day start and holdings, the last mark's prices, the marks) and each account's
/// figures at every close mark; the figures of the moment are computed, in memory, from them.
public final class RiskProjection: Projection, @unchecked Sendable {
    /// One part of the accounts (`RiskPartitioning`: a client's accounts in one part), applied by a process
    /// of its own (`bourse project --risk-shards N`): its own name, position and tables (`rk<i>of<n>_…`).
    public struct Shard: Sendable, Equatable {
        public var index: Int
        public var count: Int
        public init(index: Int, count: Int) {
            precondition((0..<count).contains(index), "shard \(index) of \(count)")
            self.index = index
            self.count = count
        }
        public var name: String { "risk.\(index + 1)-of-\(count)" }
        var tablePrefix: String { "rk\(index + 1)of\(count)_" }
    }

    public let name: String
    public let schema: ProjectionSchema
    public let clients: [String: [AccountID]]
    public let house: HouseMargin
    public let partitions: Int
    public let shard: Shard?
    /// For a shard: which part each account is in.
    private let shardPartitioning: RiskPartitioning?
    /// Written by the runner's thread, read by any task: readers see the book as a transaction left it.
    private let book: Mutex<RiskBook>
    /// The runner thread's own: the open transaction's entries, applied all at once (each partition on a
    /// core) when it is about to commit, and the prices its marks changed.
    private var entries: [Published] = []
    private var repriced: Set<Symbol> = []
    static let entriesPerLock = 1_024

    /// `partitions`: how many parts the accounts are spread over, each applied on a core of its own.
    /// `shard`: only that part of the accounts; `partitions` is then the shard count.
    public init(clients: [String: [AccountID]] = [:], house: HouseMargin = .none, partitions: Int = 1, shard: Shard? = nil) {
        self.clients = clients
        self.house = house
        self.partitions = shard?.count ?? partitions
        self.shard = shard
        shardPartitioning = shard.map { RiskPartitioning(count: $0.count, clients: clients) }
        name = shard?.name ?? "risk"
        schema = shard.map { Self.tables.prefixed($0.tablePrefix) } ?? Self.tables
        book = Mutex(RiskBook(clients: clients, house: house, partitions: self.partitions, only: shard?.index, keepsCloses: true))
    }

    /// A statement on this projection's tables: the shard's own when it is one.
    private func sql(_ text: String) -> String {
        shard.map { text.replacingOccurrences(of: "rk_", with: $0.tablePrefix) } ?? text
    }

    static let tables = ProjectionSchema(version: 1, tables: [
        .init("rk_accounts", key: "account"),
        .init("rk_holdings", key: "account, symbol"),
        .init("rk_prices", key: "symbol"),
        .init("rk_marks", key: "sequence"),
        .init("rk_closes", key: "mark, account"),
        .init("rk_margin_calls", key: "id"),
    ], statements: [
        """
        CREATE TABLE rk_accounts (
            account {int} PRIMARY KEY, kind TEXT NOT NULL, initial_bp {int} NOT NULL, maintenance_long_bp {int} NOT NULL,
            maintenance_short_bp {int} NOT NULL, cash {int} NOT NULL, fees {int} NOT NULL, day_start {int} NOT NULL)
        """,
        """
        CREATE TABLE rk_holdings (
            account {int} NOT NULL, symbol TEXT NOT NULL, quantity {int} NOT NULL, cost {int} NOT NULL, realized {int} NOT NULL,
            PRIMARY KEY (account, symbol))
        """,
        "CREATE TABLE rk_prices (symbol TEXT PRIMARY KEY, price {int} NOT NULL)",
        // The last mark, and every close mark: the figures of a close are in `rk_closes`.
        "CREATE TABLE rk_marks (sequence {int} PRIMARY KEY, time {int} NOT NULL, method TEXT NOT NULL, is_close {int} NOT NULL)",
        """
        CREATE TABLE rk_closes (
            mark {int} NOT NULL, account {int} NOT NULL, cash {int} NOT NULL, long_value {int} NOT NULL, short_value {int} NOT NULL,
            realized {int} NOT NULL, unrealized {int} NOT NULL, fees {int} NOT NULL, day_start {int} NOT NULL,
            reg_t_requirement {int} NOT NULL, house_requirement {int} NOT NULL, excess {int} NOT NULL, largest_position {int} NOT NULL,
            unpriced_positions {int} NOT NULL, PRIMARY KEY (mark, account))
        """,
        // Every margin call, open and met, with its steps' outcome.
        """
        CREATE TABLE rk_margin_calls (
            id {int} PRIMARY KEY, account {int} NOT NULL, deficit {int} NOT NULL, mark {int} NOT NULL, deadline {int} NOT NULL,
            opened_at {int} NOT NULL, reduce_only {int} NOT NULL, liquidation_rounds {int} NOT NULL, last_round_at {int}, state TEXT NOT NULL,
            met_at {int})
        """,
    ])

    /// Reads the book: figures of an account, a client, the firm.
    public func read<T: Sendable>(_ body: (borrowing RiskBook) -> T) -> T {
        book.withLock { body($0) }
    }

    public func load(from store: any ProjectionStore) throws {
        let sequence = try Positions.recorded(name, in: store) ?? 0
        var holdings: [Int64: [RiskBook.Holding]] = [:]
        for row in try store.querySynchronously(sql("SELECT * FROM rk_holdings ORDER BY account, symbol"), []) {
            holdings[row.int("account")!, default: []].append(RiskBook.Holding(
                symbol: try Self.symbol(row.text("symbol")!), quantity: row.int("quantity")!, cost: row.int("cost")!, realized: row.int("realized")!))
        }
        var accounts: [RiskBook.Account] = []
        for row in try store.querySynchronously(sql("SELECT * FROM rk_accounts ORDER BY account"), []) {
            let id = row.int("account")!
            guard let kind = AccountKind(name: row.text("kind")!) else { throw Inconsistent(description: "rk_accounts names a kind \"\(row.text("kind")!)\"") }
            var account = RiskBook.Account(id: AccountID(UInt32(id)), kind: kind, margin: MarginRates(
                initialBasisPoints: row.int("initial_bp")!, maintenanceLongBasisPoints: row.int("maintenance_long_bp")!,
                maintenanceShortBasisPoints: row.int("maintenance_short_bp")!))
            (account.cash, account.fees, account.dayStart) = (row.int("cash")!, row.int("fees")!, row.int("day_start")!)
            account.holdings = holdings[id] ?? []
            accounts.append(account)
        }
        var prices: [Symbol: Int64] = [:]
        for row in try store.querySynchronously(sql("SELECT * FROM rk_prices"), []) { prices[try Self.symbol(row.text("symbol")!)] = row.int("price")! }
        let last = try store.querySynchronously(sql("SELECT * FROM rk_marks ORDER BY sequence DESC LIMIT 1"), []).first.map(Self.mark)
        let close = try store.querySynchronously(sql("SELECT * FROM rk_marks WHERE is_close = 1 ORDER BY sequence DESC LIMIT 1"), []).first.map(Self.mark)
        let calls = try store.querySynchronously(sql("SELECT * FROM rk_margin_calls WHERE state = 'open' ORDER BY id"), []).map(Self.marginCall)
        let restored = RiskBook(restoring: accounts, prices: prices, mark: last, lastClose: close, sequence: sequence, calls: calls,
                                clients: clients, house: house, partitions: partitions, only: shard?.index, keepsCloses: true)
        book.withLock { $0 = restored }
        entries = []
        repriced = []
    }

    /// Writes what an entry says by itself (its mark, its margin call's step); the book takes the entries
    /// at `flush`.
    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        let command = published.command
        entries.append(published)
        for event in published.events {
            switch event {
            case .markPrice(let symbol, _):
                repriced.insert(symbol)
            case .marked(let request, _):
                try writer.execute(sql("DELETE FROM rk_marks WHERE is_close = 0"), [])
                try writer.execute(sql("INSERT INTO rk_marks (sequence, time, method, is_close) VALUES (?, ?, ?, ?)"),
                                   [.int(Int64(command.sequence)), .int(command.time.nanos), .text(request.method.name), .int(request.close ? 1 : 0)])
            case .marginCallChanged(let id, let step) where shardPartitioning.map({ $0.partition(of: step.account) == shard!.index }) ?? true:
                try Self.marginCall(id, step, at: command.time, writer, sql: sql)
            default:
                break
            }
        }
    }

    private static func marginCall(_ id: UInt64, _ step: MarginCallStep, at time: Timestamp, _ writer: any StoreWriter,
                                   sql: (String) -> String) throws {
        switch step.kind {
        case .open:
            try writer.execute(sql("""
                INSERT INTO rk_margin_calls (id, account, deficit, mark, deadline, opened_at, reduce_only, liquidation_rounds, last_round_at, state, met_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, 'open', NULL)
                """), [.int(Int64(id)), .int(Int64(step.account.rawValue)), .int(step.deficit.units), .int(Int64(step.mark)),
                      .int(step.deadline.nanos), .int(time.nanos), .int(step.reduceOnly ? 1 : 0)])
        case .met:
            try writer.execute(sql("UPDATE rk_margin_calls SET state = 'met', met_at = ? WHERE id = ?"), [.int(time.nanos), .int(Int64(id))])
        case .liquidating:
            try writer.execute(sql("UPDATE rk_margin_calls SET liquidation_rounds = liquidation_rounds + 1, last_round_at = ? WHERE id = ?"),
                               [.int(time.nanos), .int(Int64(id))])
        }
    }

    /// A margin call as `rk_margin_calls` holds it.
    public static func marginCall(_ row: SQLRow) -> MarginCall {
        MarginCall(id: UInt64(row.int("id")!), account: AccountID(UInt32(row.int("account")!)), deficit: row.int("deficit")!,
                   mark: UInt64(row.int("mark")!), deadline: Timestamp(nanos: row.int("deadline")!), openedAt: Timestamp(nanos: row.int("opened_at")!),
                   reduceOnly: row.int("reduce_only") == 1, liquidationRounds: Int(row.int("liquidation_rounds")!),
                   lastRoundAt: row.int("last_round_at").map(Timestamp.init(nanos:)))
    }

    /// An account's figures as `rk_closes` holds them. Every figure of one account fits in 64 bits: balances
    /// are capped at $10 trillion.
    static func columns(_ f: RiskFigures) -> [SQLValue] {
        [f.cash, f.longValue, f.shortValue, f.realized, f.unrealized, f.fees, f.dayStart, f.regTRequirement, f.houseRequirement,
         f.excess, f.largestPosition, Int128(f.unpricedPositions)].map { .int(Int64($0)) }
    }

    /// Applies the transaction's entries to the book, then writes every account they changed, the prices
    /// their marks moved, and every account's figures at each close mark among them.
    public func flush(writer: any StoreWriter) throws {
        // A part at a time: readers (the API's tasks) wait for the lock, so it is never held for long.
        for from in stride(from: 0, to: entries.count, by: Self.entriesPerLock) {
            try book.withLock { try $0.apply(entries[from..<min(from + Self.entriesPerLock, entries.count)]) }
        }
        entries = []
        let (accounts, prices, closes) = book.withLock { book in
            (book.takeTouched(), repriced.map { ($0, book.prices[$0]!) }, book.takeCloses())
        }
        for (mark, figures) in closes {
            for (account, f) in figures {
                try writer.execute(sql("""
                    INSERT INTO rk_closes (mark, account, cash, long_value, short_value, realized, unrealized, fees, day_start, reg_t_requirement,
                        house_requirement, excess, largest_position, unpriced_positions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """), [.int(Int64(mark)), .int(Int64(account.rawValue))] + Self.columns(f))
            }
        }
        for a in accounts {
            try writer.execute(sql("""
                INSERT INTO rk_accounts (account, kind, initial_bp, maintenance_long_bp, maintenance_short_bp, cash, fees, day_start)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (account) DO UPDATE SET cash = excluded.cash, fees = excluded.fees, day_start = excluded.day_start
                """), [.int(Int64(a.id.rawValue)), .text(a.kind.name), .int(a.margin.initialBasisPoints), .int(a.margin.maintenanceLongBasisPoints),
                      .int(a.margin.maintenanceShortBasisPoints), .int(a.cash), .int(a.fees), .int(a.dayStart)])
            for h in a.holdings {
                try writer.execute(sql("""
                    INSERT INTO rk_holdings (account, symbol, quantity, cost, realized) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (account, symbol) DO UPDATE SET quantity = excluded.quantity, cost = excluded.cost, realized = excluded.realized
                    """), [.int(Int64(a.id.rawValue)), .text(h.symbol.description), .int(h.quantity), .int(h.cost), .int(h.realized)])
            }
        }
        for (symbol, price) in prices {
            try writer.execute(sql("INSERT INTO rk_prices (symbol, price) VALUES (?, ?) ON CONFLICT (symbol) DO UPDATE SET price = excluded.price"),
                               [.text(symbol.description), .int(price)])
        }
        repriced = []
    }

    struct Inconsistent: Error, CustomStringConvertible {
        var description: String
    }

    static func mark(_ row: SQLRow) -> RiskMark {
        RiskMark(sequence: UInt64(row.int("sequence")!), time: Timestamp(nanos: row.int("time")!),
                 request: MarkRequest(method: MarkMethod(name: row.text("method")!) ?? .lastTrade, close: row.int("is_close") == 1))
    }

    private static func symbol(_ text: String) throws -> Symbol {
        guard let symbol = try? Symbol(validating: text) else { throw Inconsistent(description: "the risk tables name a symbol \"\(text)\"") }
        return symbol
    }
}

extension ProjectionSchema {
    /// The risk tables under a shard's names: `rk_` replaced by `prefix` in the names and statements.
    func prefixed(_ prefix: String) -> ProjectionSchema {
        ProjectionSchema(version: version, tables: tables.map { .init($0.name.replacingOccurrences(of: "rk_", with: prefix), key: $0.key) },
                         statements: statements.map { $0.replacingOccurrences(of: "rk_", with: prefix) })
    }
}
