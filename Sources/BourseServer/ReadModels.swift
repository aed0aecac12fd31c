import BourseCore
import BourseMarketData
import BourseEngine
import BourseJournal
import BourseNode
import Foundation
import GRDB
import Synchronization

/// The read models in SQLite (`read-models.sqlite` in the data directory): every order's last state,
/// executions, account activities, position changes and minute bars, written by a consumer of the event
/// stream on its own thread, one transaction per batch together with the last sequence applied. A
/// transaction writes each order and each minute bar once, in its last state, however often the batch
/// changed it; a fill's activity is read from its execution row rather than stored twice. At start
/// it catches up from the journal entries after that sequence, so a missing or deleted database is
/// rebuilt from the whole journal and an intact one reads only the journal's tail. It is a projection:
/// the journal holds everything, and the database may lag it by the batches in flight (a read that must
/// see them waits, `caughtUp`).
final class ReadModels: Sendable {
    let path: String
    private let pool: DatabasePool
    let consumer = EventConsumer(name: "read-models", capacity: 1 << 18)
    /// Why the read models stopped following the event stream, once they have: their answers would be stale.
    let stopped = Mutex<String?>(nil)
    /// The last sequence written, read without waiting for a transaction in progress.
    private let written = Atomic<UInt64>(0)
    /// Readers waiting for the read models to catch up (`caughtUp`); the writer does not pause while any do.
    private let waiting = Atomic<Int>(0)
    /// Cuts the writer's pause short.
    private let wake = DispatchSemaphore(value: 0)
    /// After a small batch the writer pauses up to this long, so that the next transaction takes in more:
    /// SQLite writes whole pages of its write-ahead log at each commit, so fewer, larger transactions
    /// cost much less a row.
    static let pauseNanos: Int64 = 5_000_000
    /// A batch this large is followed by no pause.
    static let pauseBelow = 1_024
    /// The consumer thread's own state: the open orders it describes changes to, positions, current bars.
    private let follower: Mutex<Follower>

    struct Follower {
        var projection = OrderProjection()
        var positions: [PositionKey: Int64] = [:]
        var bars: [Symbol: Bar] = [:]
        var lastSequence: UInt64 = 0
        /// The writer connection's prepared statements, made at its first transaction.
        var statements: Statements?
    }

    /// The statements every batch runs, held rather than looked up by their text each time.
    struct Statements {
        let order, execution, activity, position, bar, lastSequence: Statement

        init(_ db: Database) throws {
            order = try db.makeStatement(sql: """
                INSERT INTO orders (id, account, client_order_id, symbol, side, type, time_in_force, qty, filled_qty, filled_notional,
                    limit_price, stop_price, expire_at, status, ended, created_at, updated_at, filled_at, canceled_at, expired_at,
                    replaced_by, replaces, sequence, terms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, filled_qty = excluded.filled_qty,
                    filled_notional = excluded.filled_notional, limit_price = excluded.limit_price, stop_price = excluded.stop_price,
                    status = excluded.status, ended = excluded.ended, updated_at = excluded.updated_at, filled_at = excluded.filled_at,
                    canceled_at = excluded.canceled_at, expired_at = excluded.expired_at, replaced_by = excluded.replaced_by,
                    sequence = excluded.sequence, terms = excluded.terms
                """)
            execution = try db.makeStatement(sql: """
                INSERT INTO executions (execution_id, account, order_id, symbol, side, liquidity, price, qty, leaves, fee, time, sequence, event)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            activity = try db.makeStatement(sql: "INSERT INTO activities (account, json, sequence, event) VALUES (?, ?, ?, ?)")
            position = try db.makeStatement(sql: """
                INSERT INTO position_changes (account, symbol, time, sequence, reason, change, qty, price) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            bar = try db.makeStatement(sql: """
                INSERT OR REPLACE INTO bars (symbol, start, open, high, low, close, volume, trades, notional) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            lastSequence = try db.makeStatement(sql: "UPDATE meta SET value = ? WHERE key = 'last_sequence'")
        }
    }

    /// What one transaction writes once, at its end: each changed order and minute bar in its last state.
    private struct Pending {
        var orders: [UInt64: (record: OrderRecord, sequence: Int64)] = [:]
        /// The orders in the order they first changed, so that rows are written in a stable order.
        var orderIDs: [UInt64] = []
        var bars: [BarKey: Bar] = [:]
        var barKeys: [BarKey] = []

        mutating func order(_ record: OrderRecord, sequence: Int64) {
            let id = record.order.orderID.rawValue
            if orders.updateValue((record, sequence), forKey: id) == nil { orderIDs.append(id) }
        }

        mutating func bar(_ symbol: Symbol, _ bar: Bar) {
            let key = BarKey(symbol: symbol, start: bar.start)
            if bars.updateValue(bar, forKey: key) == nil { barKeys.append(key) }
        }
    }

    struct BarKey: Hashable {
        var symbol: Symbol
        var start: Int64
    }

    struct PositionKey: Hashable {
        var account: UInt32
        var symbol: Symbol
    }

    /// Opens the database, creating it if missing.
    init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // A projection of the journal: losing the last transactions to a power cut only means reading
            // a little more of the journal at the next start.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE orders (
                    id INTEGER PRIMARY KEY, account INTEGER NOT NULL, client_order_id TEXT, symbol TEXT NOT NULL,
                    side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL, qty INTEGER NOT NULL,
                    filled_qty INTEGER NOT NULL, filled_notional TEXT NOT NULL, limit_price INTEGER, stop_price INTEGER,
                    expire_at INTEGER, status TEXT NOT NULL, ended INTEGER NOT NULL, created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL, filled_at INTEGER, canceled_at INTEGER, expired_at INTEGER,
                    replaced_by INTEGER, replaces INTEGER, sequence INTEGER NOT NULL, terms BLOB NOT NULL);
                CREATE INDEX orders_by_account ON orders (account, created_at);
                CREATE INDEX open_orders ON orders (ended) WHERE ended = 0;
                CREATE TABLE executions (
                    id TEXT PRIMARY KEY, execution_id INTEGER NOT NULL, account INTEGER NOT NULL, order_id INTEGER NOT NULL,
                    symbol TEXT NOT NULL, side TEXT NOT NULL, liquidity TEXT NOT NULL, price INTEGER NOT NULL,
                    qty INTEGER NOT NULL, fee INTEGER NOT NULL, time INTEGER NOT NULL, sequence INTEGER NOT NULL);
                CREATE INDEX executions_by_account ON executions (account, time);
                CREATE TABLE activities (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, account INTEGER NOT NULL,
                    json TEXT NOT NULL, sequence INTEGER NOT NULL);
                CREATE INDEX activities_by_account ON activities (account, seq);
                CREATE TABLE position_changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, symbol TEXT NOT NULL,
                    time INTEGER NOT NULL, sequence INTEGER NOT NULL, reason TEXT NOT NULL, change INTEGER NOT NULL,
                    qty INTEGER NOT NULL, price INTEGER NOT NULL);
                CREATE INDEX position_changes_by_account ON position_changes (account, symbol, seq);
                CREATE TABLE bars (
                    symbol TEXT NOT NULL, start INTEGER NOT NULL, open INTEGER NOT NULL, high INTEGER NOT NULL,
                    low INTEGER NOT NULL, close INTEGER NOT NULL, volume INTEGER NOT NULL, trades INTEGER NOT NULL,
                    notional TEXT NOT NULL, PRIMARY KEY (symbol, start));
                INSERT INTO meta (key, value) VALUES ('last_sequence', 0);
                """)
        }
        // Fill activities come from their executions: the tables change shape, and everything is rebuilt
        // from the journal, which the start does when the last sequence is 0.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                DROP TABLE executions;
                DROP TABLE activities;
                DELETE FROM orders;
                DELETE FROM position_changes;
                DELETE FROM bars;
                UPDATE meta SET value = 0 WHERE key = 'last_sequence';
                CREATE TABLE executions (
                    id INTEGER PRIMARY KEY, execution_id INTEGER NOT NULL, account INTEGER NOT NULL, order_id INTEGER NOT NULL,
                    symbol TEXT NOT NULL, side TEXT NOT NULL, liquidity TEXT NOT NULL, price INTEGER NOT NULL, qty INTEGER NOT NULL,
                    leaves INTEGER NOT NULL, fee INTEGER NOT NULL, time INTEGER NOT NULL, sequence INTEGER NOT NULL, event INTEGER NOT NULL);
                CREATE INDEX executions_by_account ON executions (account);
                CREATE TABLE activities (
                    seq INTEGER PRIMARY KEY, account INTEGER NOT NULL, json TEXT NOT NULL, sequence INTEGER NOT NULL, event INTEGER NOT NULL);
                CREATE INDEX activities_by_account ON activities (account);
                """)
        }
        try migrator.migrate(pool)
        let loaded = try pool.read { db in try Self.load(db) }
        written.store(loaded.lastSequence, ordering: .relaxed)
        follower = Mutex(loaded)
    }

    /// What the follower needs from the database to continue where it stopped.
    private static func load(_ db: Database) throws -> Follower {
        var follower = Follower()
        follower.lastSequence = UInt64(try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'last_sequence'") ?? 0)
        follower.projection.seed(try Row.fetchAll(db, sql: "SELECT * FROM orders WHERE ended = 0").compactMap(record))
        for row in try Row.fetchAll(db, sql: """
            SELECT account, symbol, qty FROM position_changes WHERE seq IN (SELECT max(seq) FROM position_changes GROUP BY account, symbol)
            """) {
            guard let symbol = try? Symbol(validating: row["symbol"] as String) else { continue }
            follower.positions[PositionKey(account: UInt32(row["account"] as Int64), symbol: symbol)] = row["qty"]
        }
        for row in try Row.fetchAll(db, sql: "SELECT * FROM bars WHERE (symbol, start) IN (SELECT symbol, max(start) FROM bars GROUP BY symbol)") {
            guard let symbol = try? Symbol(validating: row["symbol"] as String) else { continue }
            follower.bars[symbol] = bar(row)
        }
        return follower
    }

    var lastSequence: UInt64 { written.load(ordering: .acquiring) }

    /// Applies the journal's entries after the database's last sequence, before the sequencer starts;
    /// returns how many.
    func catchUp(from journal: String) throws -> Int {
        var batch: [Published] = []
        var decoded: [Event] = []
        var applied = 0
        var writeError: (any Error)?
        let after = lastSequence
        let result: Result<Void, any Error> = Result {
            _ = try JournalReader.read(journal, after: after) { (entry) throws(JournalError) in
                guard writeError == nil else { return }
                var reader = ByteReader(entry.eventBytes)
                decoded.removeAll(keepingCapacity: true)
                do throws(DecodeError) {
                    while reader.remaining > 0 { decoded.append(try reader.readEvent()) }
                } catch {
                    throw .undecodable(file: journal, offset: reader.offset, error)
                }
                batch.append(Published(command: entry.command, events: decoded, note: Array(entry.note)))
                if batch.count == 4_096 {
                    do { try apply(batch) } catch { writeError = error }
                    applied += batch.count
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        try result.get()
        if let writeError { throw writeError }
        if !batch.isEmpty {
            try apply(batch)
            applied += batch.count
        }
        return applied
    }

    private let finished = DispatchSemaphore(value: 0)

    /// Waits until the consumer thread has written everything it was given and ended (after the sequencer
    /// stopped and closed its consumers).
    func waitUntilFinished() {
        finished.wait()
        finished.signal()
    }

    func start() {
        let thread = Thread { [self] in
            defer { finished.signal() }
            while true {
                switch consumer.next() {
                case .events(let batch):
                    let started = monotonicNanos()
                    do {
                        try apply(batch)
                    } catch {
                        stopped.withLock { $0 = "the read models could not be written (\(error)) and stopped; they catch up from the journal when the server restarts" }
                        return
                    }
                    let rest = Self.pauseNanos - (monotonicNanos() - started)
                    if batch.count < Self.pauseBelow, rest > 0, waiting.load(ordering: .relaxed) == 0 {
                        _ = wake.wait(timeout: .now() + .nanoseconds(Int(rest)))
                    }
                case .overrun(let sequence):
                    stopped.withLock { $0 = "the read models fell behind at sequence \(sequence) and stopped; they catch up from the journal when the server restarts" }
                    return
                case .closed:
                    return
                }
            }
        }
        thread.name = "bourse-read-models"
        thread.start()
    }

    // MARK: Writing

    private func apply(_ batch: [Published]) throws {
        try follower.withLock { f in
            try pool.write { db in
                if f.statements == nil { f.statements = try Statements(db) }
                let statements = f.statements!
                var pending = Pending()
                for published in batch where published.command.sequence > f.lastSequence {
                    try Self.apply(published, to: &f, &pending, statements)
                    f.lastSequence = published.command.sequence
                }
                for id in pending.orderIDs {
                    let (record, sequence) = pending.orders[id]!
                    try Self.upsert(record, sequence: sequence, statements.order)
                }
                for key in pending.barKeys {
                    try Self.write(pending.bars[key]!, of: key.symbol, statements.bar)
                }
                try statements.lastSequence.run { $0.int(Int64(f.lastSequence)) }
            }
            written.store(f.lastSequence, ordering: .releasing)
        }
    }

    /// Waits until the read models hold everything up to `sequence`; false if they stopped, or took
    /// longer than `timeout`.
    func caughtUp(to sequence: UInt64, timeout: Duration = .seconds(2)) async -> Bool {
        guard written.load(ordering: .acquiring) < sequence else { return true }
        waiting.add(1, ordering: .relaxed)
        defer { waiting.subtract(1, ordering: .relaxed) }
        wake.signal()
        let deadline = ContinuousClock.now + timeout
        while written.load(ordering: .acquiring) < sequence {
            guard ContinuousClock.now < deadline, stopped.withLock({ $0 }) == nil else { return false }
            try? await Task.sleep(for: .microseconds(500))
        }
        return true
    }

    private static func apply(_ published: Published, to f: inout Follower, _ pending: inout Pending, _ statements: Statements) throws {
        let sequence = Int64(published.command.sequence)
        let time = published.command.time.nanos
        for change in f.projection.apply(published) {
            pending.order(change.record, sequence: sequence)
        }
        for (index, event) in published.events.enumerated() {
            switch event {
            case .trade(let t):
                // The maker's row first, then the taker's: the order the account's activities list them in.
                for (account, order, side, fee, leaves, liquidity) in [
                    (t.makerAccount, t.makerOrderID, t.takerSide.opposite, t.makerFee, t.makerLeaves, "maker"),
                    (t.takerAccount, t.takerOrderID, t.takerSide, t.takerFee, t.takerLeaves, "taker"),
                ] {
                    try statements.execution.run { b in
                        b.int(Int64(bitPattern: t.executionID.rawValue))
                        b.int(Int64(account.rawValue))
                        b.int(Int64(bitPattern: order.rawValue))
                        b.text(t.symbol.description)
                        b.text(side == .buy ? "buy" : "sell")
                        b.text(liquidity)
                        b.int(t.price.units)
                        b.int(t.quantity.shares)
                        b.int(leaves.shares)
                        b.int(fee.units)
                        b.int(time)
                        b.int(sequence)
                        b.int(Int64(index))
                    }
                    let signed = side == .buy ? t.quantity.shares : -t.quantity.shares
                    try position(account, t.symbol, change: signed, price: t.price.units, reason: "fill", &f, time, sequence, statements.position)
                }
                pending.bar(t.symbol, bar(t.symbol, price: t.price.units, quantity: t.quantity.shares, at: time, &f))
            case .securitiesTransferredIn(let account, let symbol, let qty, let cost):
                try position(account, symbol, change: qty.shares, price: cost.units, reason: "transfer_in", &f, time, sequence, statements.position)
            case .securitiesTransferredOut(let account, let symbol, let qty):
                try position(account, symbol, change: -qty.shares, price: 0, reason: "transfer_out", &f, time, sequence, statements.position)
            default:
                break
            }
        }
        for activity in activities(published) {
            try statements.activity.run { b in
                b.int(Int64(activity.account))
                b.text(activity.json)
                b.int(sequence)
                b.int(Int64(activity.event))
            }
        }
    }

    private static func upsert(_ r: OrderRecord, sequence: Int64, _ statement: Statement) throws {
        var terms = ByteWriter(capacity: 128)
        terms.write(r.order)
        let o = r.order
        try statement.run { b in
            b.int(Int64(bitPattern: o.orderID.rawValue))
            b.int(Int64(o.account.rawValue))
            b.text(r.clientOrderID)
            b.text(o.symbol.description)
            b.text(o.side == .buy ? "buy" : "sell")
            b.text(API.name(o.type))
            b.text(API.name(o.timeInForce))
            b.int(o.quantity.shares)
            b.int(r.filled)
            b.text(String(r.notional))
            b.int(o.limitPrice?.units)
            b.int(o.stopPrice?.units)
            b.int(o.expireTime?.nanos)
            b.text(r.status)
            b.bool(r.isEnded)
            b.int(r.created.nanos)
            b.int(r.updated.nanos)
            b.int(r.filledAt?.nanos)
            b.int(r.canceledAt?.nanos)
            b.int(r.expiredAt?.nanos)
            b.int(r.replacedBy.map { Int64(bitPattern: $0.rawValue) })
            b.int(r.replaces.map { Int64(bitPattern: $0.rawValue) })
            b.int(sequence)
            b.blob(terms.bytes)
        }
    }

    private static func position(_ account: AccountID, _ symbol: Symbol, change: Int64, price: Int64, reason: String,
                                 _ f: inout Follower, _ time: Int64, _ sequence: Int64, _ statement: Statement) throws {
        let key = PositionKey(account: account.rawValue, symbol: symbol)
        let quantity = f.positions[key, default: 0] + change
        f.positions[key] = quantity
        try statement.run { b in
            b.int(Int64(account.rawValue))
            b.text(symbol.description)
            b.int(time)
            b.int(sequence)
            b.text(reason)
            b.int(change)
            b.int(quantity)
            b.int(price)
        }
    }

    /// The trade's minute bar after it (its row changes until the minute ends).
    private static func bar(_ symbol: Symbol, price: Int64, quantity: Int64, at time: Int64, _ f: inout Follower) -> Bar {
        let start = Timeframe.minute.start(time)
        var bar = f.bars[symbol].flatMap { $0.start == start ? $0 : nil } ?? Bar(start: start, price: price, quantity: 0)
        if bar.volume == 0 {
            bar = Bar(start: start, price: price, quantity: quantity)
        } else {
            bar.add(price: price, quantity: quantity)
        }
        f.bars[symbol] = bar
        return bar
    }

    private static func write(_ bar: Bar, of symbol: Symbol, _ statement: Statement) throws {
        try statement.run { b in
            b.text(symbol.description)
            b.int(bar.start)
            b.int(bar.open)
            b.int(bar.high)
            b.int(bar.low)
            b.int(bar.close)
            b.int(bar.volume)
            b.int(Int64(bar.trades))
            b.text(String(bar.notional))
        }
    }

    struct Activity: Sendable {
        var account: UInt32
        var json: String
        /// The event's place among its command's events.
        var event: Int
    }

    /// Deposits, withdrawals and securities transfers, in Alpaca's activity shape. Fills are read from
    /// the executions (`fill(_:)`).
    static func activities(_ published: Published) -> [Activity] {
        var result: [Activity] = []
        for (i, event) in published.events.enumerated() {
            let id = activityID(time: published.command.time.nanos, sequence: Int64(published.command.sequence), event: i)
            let time = API.time(published.command.time)
            switch event {
            case .cashDeposited(let account, let amount), .cashWithdrawn(let account, let amount):
                let deposit = if case .cashDeposited = event { true } else { false }
                result.append(Activity(account: account.rawValue, json: object([
                    ("id", id), ("activity_type", deposit ? "CSD" : "CSW"), ("date", String(time.prefix(10))),
                    ("transaction_time", time), ("net_amount", API.decimal(Money(units: deposit ? amount.units : -amount.units))),
                ]), event: i))
            case .securitiesTransferredIn(let account, let symbol, let qty, _), .securitiesTransferredOut(let account, let symbol, let qty):
                let incoming = if case .securitiesTransferredIn = event { true } else { false }
                result.append(Activity(account: account.rawValue, json: object([
                    ("id", id), ("activity_type", "JNLS"), ("date", String(time.prefix(10))), ("transaction_time", time),
                    ("symbol", symbol.description), ("qty", String(incoming ? qty.shares : -qty.shares)),
                ]), event: i))
            default:
                break
            }
        }
        return result
    }

    /// An activity's id: when and where in the journal its event is.
    private static func activityID(time: Int64, sequence: Int64, event: Int) -> String {
        "\(time)::\(sequence)::\(event)"
    }

    /// A fill's activity from its execution row.
    private static func fill(_ row: Row) -> String {
        let taker = row["liquidity"] as String == "taker"
        let time: Int64 = row["time"], leaves: Int64 = row["leaves"]
        return object([
            ("id", activityID(time: time, sequence: row["sequence"], event: row["event"]) + (taker ? "::t" : "::m")),
            ("activity_type", "FILL"), ("transaction_time", API.time(Timestamp(nanos: time))),
            ("type", leaves == 0 ? "fill" : "partial_fill"), ("price", API.decimal(row["price"] as Int64)),
            ("qty", String(row["qty"] as Int64)), ("side", row["side"]), ("symbol", row["symbol"]),
            ("leaves_qty", String(leaves)), ("order_id", String(UInt64(bitPattern: row["order_id"]))),
            ("fee", API.decimal(row["fee"] as Int64)),
        ])
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { API.quoted($0.0) + ":" + API.quoted($0.1) }.joined(separator: ",") + "}"
    }

    // MARK: Reading

    private static func record(_ row: Row) -> OrderRecord? {
        let terms: Data = row["terms"]
        let order: NewOrder? = terms.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            return try? reader.readNewOrder()
        }
        guard let order else { return nil }
        func time(_ column: String) -> Timestamp? { (row[column] as Int64?).map { Timestamp(nanos: $0) } }
        func id(_ column: String) -> OrderID? { (row[column] as Int64?).map { OrderID(UInt64(bitPattern: $0)) } }
        var record = OrderRecord(order: order, filled: row["filled_qty"], notional: Int128(row["filled_notional"] as String) ?? 0,
                                 status: row["status"], created: time("created_at")!, updated: time("updated_at")!)
        record.filledAt = time("filled_at")
        record.canceledAt = time("canceled_at")
        record.expiredAt = time("expired_at")
        record.replacedBy = id("replaced_by")
        record.replaces = id("replaces")
        record.clientOrderID = row["client_order_id"]
        return record
    }

    private static func bar(_ row: Row) -> Bar {
        var bar = Bar(start: row["start"], price: row["open"], quantity: row["volume"])
        bar.high = row["high"]
        bar.low = row["low"]
        bar.close = row["close"]
        bar.trades = row["trades"]
        bar.notional = Int128(row["notional"] as String) ?? 0
        return bar
    }

    /// The account's orders, newest first: ended ones (`closed`) or all.
    func orders(account: UInt32, status: String, limit: Int) throws -> [OrderRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM orders WHERE account = ? \(status == "closed" ? "AND ended = 1" : "") ORDER BY created_at DESC, id DESC LIMIT ?
                """, arguments: [Int64(account), limit]).compactMap(Self.record)
        }
    }

    func order(_ id: UInt64, account: UInt32) throws -> OrderRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM orders WHERE id = ? AND account = ?", arguments: [Int64(bitPattern: id), Int64(account)])
                .flatMap(Self.record)
        }
    }

    /// The account's activities, newest first, in Alpaca's shape: fills from the executions merged with
    /// the other activities by where their events are in the journal (a trade's maker row before its taker's).
    func activities(account: UInt32, limit: Int) throws -> [String] {
        try pool.read { db in
            let arguments: StatementArguments = [Int64(account), limit]
            let fills = try Row.fetchAll(db, sql: """
                SELECT sequence, event, liquidity = 'taker' AS taker, * FROM executions WHERE account = ? ORDER BY id DESC LIMIT ?
                """, arguments: arguments).map { row in
                    (key: [row["sequence"], row["event"], 1 + (row["taker"] as Int64)] as [Int64], json: Self.fill(row))
                }
            let others = try Row.fetchAll(db, sql: "SELECT sequence, event, json FROM activities WHERE account = ? ORDER BY seq DESC LIMIT ?",
                                          arguments: arguments).map { row in
                (key: [row["sequence"], row["event"], 0] as [Int64], json: row["json"] as String)
            }
            return (fills + others).sorted { $0.key.lexicographicallyPrecedes($1.key) }.suffix(limit).reversed().map(\.json)
        }
    }

    struct PositionChange: Encodable {
        var symbol: String
        var time: String
        var reason: String
        var change: String
        var qty: String
        var price: String
    }

    /// The account's position changes, newest first, optionally for one symbol.
    func positionChanges(account: UInt32, symbol: String?, limit: Int) throws -> [PositionChange] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM position_changes WHERE account = ? \(symbol == nil ? "" : "AND symbol = ?") ORDER BY seq DESC LIMIT ?
                """, arguments: StatementArguments([Int64(account)] + (symbol.map { [$0] } ?? []) + [limit] as [any DatabaseValueConvertible]))
            return rows.map { row in
                PositionChange(symbol: row["symbol"], time: API.time(Timestamp(nanos: row["time"])), reason: row["reason"],
                               change: String(row["change"] as Int64), qty: String(row["qty"] as Int64), price: API.decimal(row["price"] as Int64))
            }
        }
    }

    /// Orders with client order ids, newest first, for the claims a start begins with.
    func clientOrderIDs(limit: Int) throws -> [(account: UInt32, clientOrderID: String, order: UInt64)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT account, client_order_id, id FROM orders WHERE client_order_id IS NOT NULL ORDER BY id DESC LIMIT ?",
                             arguments: [limit]).map { row in
                (UInt32(row["account"] as Int64), row["client_order_id"], UInt64(bitPattern: row["id"]))
            }
        }
    }

    /// Open orders as the database last saw them.
    func openRecords() -> [OrderRecord] {
        follower.withLock { Array($0.projection.open.values) }
    }

    /// Each symbol's latest trade, as the market data stream writes one.
    func latestTrades() throws -> [Symbol: String] {
        try pool.read { db in
            var result: [Symbol: String] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT symbol, execution_id, price, qty, time FROM executions
                WHERE rowid IN (SELECT max(rowid) FROM executions GROUP BY symbol)
                """) {
                guard let symbol = try? Symbol(validating: row["symbol"] as String) else { continue }
                result[symbol] = MarketStream.trade(id: UInt64(bitPattern: row["execution_id"]), price: row["price"], size: row["qty"],
                                                    time: API.time(Timestamp(nanos: row["time"])))
            }
            return result
        }
    }

    /// The latest minute bars of every symbol, oldest first, at most `limit` a symbol.
    func minuteBars(limit: Int) throws -> [Symbol: [Bar]] {
        try pool.read { db in
            var result: [Symbol: [Bar]] = [:]
            for name in try String.fetchAll(db, sql: "SELECT DISTINCT symbol FROM bars") {
                guard let symbol = try? Symbol(validating: name) else { continue }
                result[symbol] = try Row.fetchAll(db, sql: "SELECT * FROM bars WHERE symbol = ? ORDER BY start DESC LIMIT ?", arguments: [name, limit])
                    .map(Self.bar).reversed()
            }
            return result
        }
    }
}
