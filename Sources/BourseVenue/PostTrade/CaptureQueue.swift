import BourseCore
import BoursePostTrade
import GRDB

/// Captures that could not be booked yet (an account not open, a symbol not listed, no business day
/// open, the venue busy) and may be later: retried after growing delays, then, after `attemptsMax`, or
/// when a retry finds them invalid, kept as dead letters for an operator to fix and replay, or discard.
/// Kept in `post-trade.sqlite` with full synchronization, so a capture answered "queued" is never lost;
/// every step and every operator action is recorded with who took it.
public final class CaptureQueue: Sendable {
    public static let attemptsMax = 8
    /// The first retry's delay; each one after doubles it, up to `delayMaxNanos`.
    public static let delayFirstNanos: Int64 = 1_000_000_000
    public static let delayMaxNanos: Int64 = 3_600_000_000_000
    /// Entries waiting or dead at once; past it a capture that cannot be booked is refused, not queued.
    public static let entriesMax = 100_000
    /// Entries one retry round takes.
    public static let roundMax = 500

    /// Refusal codes that may stop applying without the trade changing.
    public static let retryable: Set<String> = [
        "unknown_account", "unknown_symbol", "no_business_date", "trade_date_ahead", "insufficient_cash",
        "insufficient_position", "position_limit", "unavailable", "settlement_in_progress",
    ]

    public enum State: String, Sendable, CaseIterable {
        case waiting, dead, captured, discarded
    }

    public struct Entry: Sendable, Equatable {
        public var id: Int64
        public var trade: CapturedTrade
        public var state: State
        public var reason: String
        public var attempts: Int
        public var nextAttemptAt: Int64?
        public var captureID: UInt64?
        public var createdAt: Int64
        public var updatedAt: Int64
    }

    public struct Action: Sendable, Equatable {
        public var action: String
        public var actor: String
        public var detail: String
        public var at: Int64
    }

    /// Also holds the trade files' records (`FileCapture`).
    let database: DatabaseQueue

    public init(path: String) throws {
        database = try ServiceDatabase.open(path: path, schema: """
            CREATE TABLE capture_queue (
                id INTEGER PRIMARY KEY, trade_id TEXT NOT NULL, account TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
                qty INTEGER NOT NULL, price INTEGER NOT NULL, trade_date INTEGER NOT NULL, settlement_date INTEGER,
                counterparty TEXT, venue TEXT, source_kind TEXT NOT NULL, source_name TEXT NOT NULL, source_row INTEGER NOT NULL,
                state TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER, capture_id INTEGER,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE UNIQUE INDEX capture_queue_open_reference ON capture_queue (trade_id) WHERE state IN ('waiting', 'dead');
            CREATE INDEX capture_queue_due ON capture_queue (state, next_attempt_at);
            CREATE TABLE capture_queue_actions (
                id INTEGER PRIMARY KEY, entry INTEGER NOT NULL, action TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL,
                at INTEGER NOT NULL);
            CREATE INDEX capture_queue_actions_by_entry ON capture_queue_actions (entry, id);
            CREATE TABLE capture_files (
                id INTEGER PRIMARY KEY, name TEXT NOT NULL, digest TEXT NOT NULL, bytes INTEGER NOT NULL, state TEXT NOT NULL,
                reason TEXT NOT NULL, rows INTEGER NOT NULL, captured INTEGER NOT NULL, queued INTEGER NOT NULL, refused INTEGER NOT NULL,
                result_path TEXT NOT NULL, received_at INTEGER NOT NULL, UNIQUE (name, digest));
            CREATE TABLE recon_runs (
                id INTEGER PRIMARY KEY, trade_date INTEGER NOT NULL, name TEXT NOT NULL, house INTEGER NOT NULL, street INTEGER NOT NULL,
                matched INTEGER NOT NULL, breaks INTEGER NOT NULL, unreadable TEXT NOT NULL, actor TEXT NOT NULL, created_at INTEGER NOT NULL);
            CREATE TABLE recon_breaks (
                id INTEGER PRIMARY KEY, run INTEGER NOT NULL, kind TEXT NOT NULL, trade_id TEXT NOT NULL, house TEXT NOT NULL,
                street TEXT NOT NULL, state TEXT NOT NULL, resolution TEXT NOT NULL, resolved_by TEXT NOT NULL, resolved_at INTEGER);
            CREATE INDEX recon_breaks_by_run ON recon_breaks (run, id);
            """)
    }

    /// The delay before retry `attempt` (1 for the first).
    public static func delay(attempt: Int) -> Int64 {
        min(delayFirstNanos << Int64(min(attempt - 1, 40)), delayMaxNanos)
    }

    /// Queues a trade the desk could not book for a retryable reason; a trade id already waiting or dead
    /// keeps its entry (the one given again is not queued twice). Nil when the queue is full.
    public func enqueue(_ trade: CapturedTrade, reason: String, now: Int64) throws -> Entry? {
        try database.write { db in
            if let open = try Self.open(db, tradeID: trade.tradeID) { return open }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM capture_queue WHERE state IN ('waiting', 'dead')") ?? 0
            guard count < Self.entriesMax else { return nil }
            let (kind, name, row) = Self.source(trade.source)
            try db.execute(sql: """
                INSERT INTO capture_queue (trade_id, account, symbol, side, qty, price, trade_date, settlement_date, counterparty, venue,
                    source_kind, source_name, source_row, state, reason, attempts, next_attempt_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, 1, ?, ?, ?)
                """, arguments: [trade.tradeID, trade.account.text, trade.symbol.description, trade.side == .buy ? "buy" : "sell",
                                 trade.quantity.shares, trade.price.units, trade.tradeDate.daysSinceEpoch, trade.settlementDate?.daysSinceEpoch,
                                 trade.counterparty, trade.venue, kind, name, row, reason, now + Self.delay(attempt: 1), now, now])
            let id = db.lastInsertedRowID
            try Self.record(db, id, "queued", actor: name, detail: reason, now)
            return try Self.entry(db, id)
        }
    }

    /// Entries due for a retry at `now`, oldest first.
    public func due(now: Int64) throws -> [Entry] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM capture_queue WHERE state = 'waiting' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?
                """, arguments: [now, Self.roundMax]).map(Self.entry)
        }
    }

    /// Records what an attempt came to: captured; refused again for a retryable reason (waiting for the next,
    /// or dead after the last); or refused for good (dead).
    public func attempted(_ id: Int64, _ outcome: Result<UInt64, CaptureDesk.Refusal>, actor: String, now: Int64) throws {
        try database.write { db in
            guard let entry = try Self.entry(db, id), entry.state == .waiting || entry.state == .dead else { return }
            switch outcome {
            case .success(let capture):
                try db.execute(sql: "UPDATE capture_queue SET state = 'captured', capture_id = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
                               arguments: [Int64(capture), now, id])
                try Self.record(db, id, "captured", actor: actor, detail: "trade C-\(capture)", now)
            case .failure(let refusal):
                let attempts = entry.attempts + 1
                let retry = Self.retryable.contains(refusal.code) && attempts < Self.attemptsMax
                try db.execute(sql: """
                    UPDATE capture_queue SET state = ?, reason = ?, attempts = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?
                    """, arguments: [retry ? "waiting" : "dead", refusal.description, attempts, retry ? now + Self.delay(attempt: attempts) : nil, now, id])
                try Self.record(db, id, retry ? "retried" : "dead", actor: actor,
                                detail: retry ? "attempt \(attempts): \(refusal)" : "after \(attempts) attempts: \(refusal)", now)
            }
        }
    }

    /// An operator's correction of a waiting or dead entry's trade; the trade id stays.
    public func fix(_ id: Int64, _ trade: CapturedTrade, actor: String, now: Int64) throws -> Entry {
        try database.write { db in
            guard let entry = try Self.entry(db, id) else { throw RecordRefusal.notFound("no queued capture \(id)") }
            guard entry.state == .waiting || entry.state == .dead else { throw RecordRefusal.invalid("capture \(id) is \(entry.state.rawValue): only a waiting or dead one is fixed") }
            guard trade.tradeID == entry.trade.tradeID else { throw RecordRefusal.invalid("a fix keeps the trade id \(entry.trade.tradeID)") }
            try db.execute(sql: """
                UPDATE capture_queue SET account = ?, symbol = ?, side = ?, qty = ?, price = ?, trade_date = ?, settlement_date = ?,
                    counterparty = ?, venue = ?, updated_at = ? WHERE id = ?
                """, arguments: [trade.account.text, trade.symbol.description, trade.side == .buy ? "buy" : "sell", trade.quantity.shares,
                                 trade.price.units, trade.tradeDate.daysSinceEpoch, trade.settlementDate?.daysSinceEpoch, trade.counterparty,
                                 trade.venue, now, id])
            try Self.record(db, id, "fixed", actor: actor, detail: Self.describe(entry.trade, trade), now)
            return try Self.entry(db, id)!
        }
    }

    /// Moves a dead entry back to waiting, due now, with its attempts counted afresh; or discards one.
    public func operate(_ id: Int64, replay: Bool, actor: String, now: Int64) throws -> Entry {
        try database.write { db in
            guard let entry = try Self.entry(db, id) else { throw RecordRefusal.notFound("no queued capture \(id)") }
            guard entry.state == .waiting || entry.state == .dead else { throw RecordRefusal.invalid("capture \(id) is \(entry.state.rawValue)") }
            if replay {
                try db.execute(sql: "UPDATE capture_queue SET state = 'waiting', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [now, now, id])
            } else {
                try db.execute(sql: "UPDATE capture_queue SET state = 'discarded', next_attempt_at = NULL, updated_at = ? WHERE id = ?", arguments: [now, id])
            }
            try Self.record(db, id, replay ? "replayed" : "discarded", actor: actor, detail: entry.reason, now)
            return try Self.entry(db, id)!
        }
    }

    public func entry(_ id: Int64) throws -> Entry? { try database.read { db in try Self.entry(db, id) } }

    public func actions(_ id: Int64) throws -> [Action] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM capture_queue_actions WHERE entry = ? ORDER BY id", arguments: [id]).map {
                Action(action: $0["action"], actor: $0["actor"], detail: $0["detail"], at: $0["at"])
            }
        }
    }

    /// Entries in a state, newest first, before `before` (an id) when given.
    public func list(state: State?, before: Int64?, limit: Int) throws -> [Entry] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM capture_queue WHERE (? IS NULL OR state = ?) AND id < ? ORDER BY id DESC LIMIT ?
                """, arguments: [state?.rawValue, state?.rawValue, before ?? Int64.max, limit]).map(Self.entry)
        }
    }

    /// Per state of the open entries: how many, and the age of the oldest at `now` in seconds.
    public func depths(now: Int64) throws -> [State: (count: Int, oldestSeconds: Int64)] {
        try database.read { db in
            var out: [State: (Int, Int64)] = [.waiting: (0, 0), .dead: (0, 0)]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n, MIN(created_at) AS oldest FROM capture_queue WHERE state IN ('waiting', 'dead') GROUP BY state") {
                let state = State(rawValue: row["state"])!
                out[state] = (row["n"], max(0, (now - (row["oldest"] as Int64)) / 1_000_000_000))
            }
            return out
        }
    }

    // MARK: - Rows

    private static func open(_ db: Database, tradeID: String) throws -> Entry? {
        try Row.fetchOne(db, sql: "SELECT * FROM capture_queue WHERE trade_id = ? AND state IN ('waiting', 'dead')", arguments: [tradeID]).map(entry)
    }

    private static func entry(_ db: Database, _ id: Int64) throws -> Entry? {
        try Row.fetchOne(db, sql: "SELECT * FROM capture_queue WHERE id = ?", arguments: [id]).map(entry)
    }

    private static func entry(_ row: Row) -> Entry {
        let source: CapturedTrade.Source = switch row["source_kind"] as String {
        case "file": .file(name: row["source_name"], row: row["source_row"])
        case "fix": .fix(session: row["source_name"])
        default: .api(key: row["source_name"])
        }
        let trade = CapturedTrade(
            tradeID: row["trade_id"], account: AccountNumber(row["account"] as String)!, symbol: try! Symbol(validating: row["symbol"] as String),
            side: row["side"] == "buy" ? .buy : .sell, quantity: Quantity(row["qty"] as Int64), price: Price(units: row["price"]),
            tradeDate: CivilDate(daysSinceEpoch: row["trade_date"]), settlementDate: (row["settlement_date"] as Int?).map { CivilDate(daysSinceEpoch: $0) },
            counterparty: row["counterparty"], venue: row["venue"], source: source)
        return Entry(id: row["id"], trade: trade, state: State(rawValue: row["state"])!, reason: row["reason"], attempts: row["attempts"],
                     nextAttemptAt: row["next_attempt_at"], captureID: (row["capture_id"] as Int64?).map { UInt64($0) },
                     createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    private static func record(_ db: Database, _ id: Int64, _ action: String, actor: String, detail: String, _ now: Int64) throws {
        try db.execute(sql: "INSERT INTO capture_queue_actions (entry, action, actor, detail, at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [id, action, actor, detail, now])
    }

    private static func source(_ source: CapturedTrade.Source) -> (kind: String, name: String, row: Int) {
        switch source {
        case .api(let key): ("api", key, 0)
        case .file(let name, let row): ("file", name, row)
        case .fix(let session): ("fix", session, 0)
        }
    }

    /// What a fix changed, field by field.
    private static func describe(_ before: CapturedTrade, _ after: CapturedTrade) -> String {
        var changes: [String] = []
        func compare(_ name: String, _ a: String, _ b: String) { if a != b { changes.append("\(name) \(a) → \(b)") } }
        compare("account", before.account.text, after.account.text)
        compare("symbol", before.symbol.description, after.symbol.description)
        compare("side", "\(before.side)", "\(after.side)")
        compare("qty", "\(before.quantity)", "\(after.quantity)")
        compare("price", "\(before.price)", "\(after.price)")
        compare("trade_date", "\(before.tradeDate)", "\(after.tradeDate)")
        compare("settlement_date", before.settlementDate.map { "\($0)" } ?? "-", after.settlementDate.map { "\($0)" } ?? "-")
        compare("counterparty", before.counterparty ?? "", after.counterparty ?? "")
        compare("venue", before.venue ?? "", after.venue ?? "")
        return changes.isEmpty ? "nothing changed" : changes.joined(separator: ", ")
    }
}
