import BourseCore
import BourseNode

/// The broker projection: every bank transfer and journal with its status, each account's status, and the
/// events a broker's event streams send (account status, transfers, journals), each with an id that orders
/// them and that a stream resumes after. Fills are the order projection's executions, which the trade
/// events stream reads with ids of the same form, so nothing here is written per trade. Everything here
/// comes from the journal (the note of a broker's command says who asked), so a rebuild gives the same rows
/// and the same event ids.
public final class BrokerProjection: Projection, @unchecked Sendable {
    public let name = "broker"
    public let schema = BrokerProjection.tables
    /// Events kept for streams to resume from; older ones are dropped as new ones come.
    public static let eventsMax = 200_000

    /// The runner thread's own: events written since the last pruning.
    private var written = 0

    public init() {}

    /// The streams of events, as their paths under `/v1/events` name them.
    public enum Stream: String, Sendable, CaseIterable {
        case accounts = "accounts/status", transfers = "transfers/status", journals = "journals/status", trades

        /// An event's id: its journal entry's sequence, then its place in the entry.
        public static func id(sequence: Int64, _ n: Int64) -> Int64 { sequence << 21 | n }
    }

    static let tables = ProjectionSchema(version: 1, tables: [
        .init("broker_transfers", key: "id"),
        .init("broker_journals", key: "id"),
        .init("broker_account_status", key: "account"),
        .init("broker_events", key: "id"),
    ], statements: [
        """
        CREATE TABLE broker_transfers (
            id {int} PRIMARY KEY, account {int} NOT NULL, direction TEXT NOT NULL, amount {int} NOT NULL,
            status TEXT NOT NULL, reason TEXT NOT NULL, relationship {int} NOT NULL, actor TEXT NOT NULL,
            created_at {int} NOT NULL, updated_at {int} NOT NULL)
        """,
        "CREATE INDEX broker_transfers_by_account ON broker_transfers (account, id)",
        """
        CREATE TABLE broker_journals (
            id {int} PRIMARY KEY, from_account {int} NOT NULL, to_account {int} NOT NULL, entry_type TEXT NOT NULL,
            amount {int}, symbol TEXT, qty {int}, price {int}, status TEXT NOT NULL, reason TEXT NOT NULL,
            description TEXT NOT NULL, actor TEXT NOT NULL, created_at {int} NOT NULL)
        """,
        """
        CREATE TABLE broker_account_status (
            account {int} PRIMARY KEY, status TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, updated_at {int} NOT NULL)
        """,
        """
        CREATE TABLE broker_events (
            id {int} PRIMARY KEY, stream TEXT NOT NULL, account {int} NOT NULL, time {int} NOT NULL, body TEXT NOT NULL)
        """,
        "CREATE INDEX broker_events_by_stream ON broker_events (stream, id)",
    ])

    public func load(from store: any ProjectionStore) throws {
        written = 0
    }

    /// An account's status as the venue holds it, with why: the kill switch and an operator both block.
    public enum AccountStatus: String, Sendable {
        case active, reduceOnly = "reduce_only", blockedByKillSwitch = "blocked_by_kill_switch",
             blockedByOperator = "blocked_by_operator", closed
    }

    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        let command = published.command
        let (sequence, time) = (Int64(command.sequence), command.time.nanos)
        let note = BrokerNote.from(note: published.note)
        let actor = note?.actor ?? "operator"
        var counter: Int64 = 0
        func event(_ stream: Stream, _ account: AccountID, _ fields: [(String, JSONText)]) throws {
            let id = Stream.id(sequence: sequence, counter)
            counter += 1
            let body = JSONText.object([("event_id", .int(id)), ("at", .time(time))] + fields)
            try writer.execute("INSERT INTO broker_events (id, stream, account, time, body) VALUES (?, ?, ?, ?, ?)",
                               [.int(id), .text(stream.rawValue), .int(Int64(account.rawValue)), .int(time), .text(body.text)])
            written += 1
        }
        // A refused journal is recorded as rejected, with the engine's reason.
        if case .journal(let journal) = command.command, case .commandRejected(let reason)? = published.events.first {
            try record(journal, sequence, status: "rejected", reason: "\(reason.code): \(reason.message)", basis: 0, note, actor, time, writer)
            try event(.journals, journal.from, Self.journalEvent(sequence, journal, from: "queued", to: "rejected"))
            return
        }
        for e in published.events {
            switch e {
            case .accountOpened(let account, let number, _):
                try setStatus(account, .active, actor, time, writer)
                try event(.accounts, account, [("account_id", .uuid(account.uuid)), ("account_number", .string(number.text)),
                                                ("status_from", .string("")), ("status_to", .string(AccountStatus.active.rawValue)),
                                                ("reason", .string("opened"))])
            case .accountStateChanged(let account, let state):
                let status: AccountStatus = switch state {
                case .active: .active
                case .reduceOnly: .reduceOnly
                case .blocked: if case .killSwitch = command.command { .blockedByKillSwitch } else { .blockedByOperator }
                case .closed: .closed
                }
                let from = try setStatus(account, status, actor, time, writer)
                try event(.accounts, account, [("account_id", .uuid(account.uuid)), ("status_from", .string(from)),
                                                ("status_to", .string(status.rawValue)), ("reason", .string("by \(actor)"))])
            case .accountClosed(let account):
                let from = try setStatus(account, .closed, actor, time, writer)
                try event(.accounts, account, [("account_id", .uuid(account.uuid)), ("status_from", .string(from)),
                                                ("status_to", .string(AccountStatus.closed.rawValue)), ("reason", .string("by \(actor)"))])
            case .journalPosted(let journal, let basis):
                try record(journal, sequence, status: "executed", reason: "", basis: basis.units, note, actor, time, writer)
                try event(.journals, journal.from, Self.journalEvent(sequence, journal, from: "queued", to: "executed"))
            case .transferChanged(let id, let request, let status, let reason):
                let from = try transfer(id, request, status, reason, note, actor, time, writer)
                try event(.transfers, request.account, [
                    ("account_id", .uuid(request.account.uuid)), ("transfer_id", .uuid(PublicID.transfer(id))),
                    ("status_from", .string(from)), ("status_to", .string(status.name)),
                    ("reason", .string(reason == .none ? "" : "\(reason.code): \(reason.message)")),
                ])
            default:
                break
            }
        }
    }

    public func flush(writer: any StoreWriter) throws {
        guard written >= 1_000 else { return }
        written = 0
        try writer.execute("""
            DELETE FROM broker_events WHERE id < (SELECT id FROM broker_events ORDER BY id DESC LIMIT 1 OFFSET ?)
            """, [.int(Int64(Self.eventsMax))])
    }

    private static func journalEvent(_ id: Int64, _ journal: Journal, from: String, to: String) -> [(String, JSONText)] {
        let type = if case .cash = journal.asset { "JNLC" } else { "JNLS" }
        return [("journal_id", .uuid(PublicID.journal(UInt64(id)))), ("entry_type", .string(type)),
                ("status_from", .string(from)), ("status_to", .string(to))]
    }

    @discardableResult
    private func setStatus(_ account: AccountID, _ status: AccountStatus, _ actor: String, _ time: Int64,
                           _ writer: any StoreWriter) throws -> String {
        let before = try writer.query("SELECT status FROM broker_account_status WHERE account = ?", [.int(Int64(account.rawValue))])
            .first?.text("status") ?? ""
        try writer.execute("""
            INSERT INTO broker_account_status (account, status, reason, actor, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (account) DO UPDATE SET status = excluded.status, reason = excluded.reason, actor = excluded.actor,
                updated_at = excluded.updated_at
            """, [.int(Int64(account.rawValue)), .text(status.rawValue), .text(""), .text(actor), .int(time)])
        return before
    }

    private func record(_ journal: Journal, _ id: Int64, status: String, reason: String, basis: Int64, _ note: BrokerNote?,
                        _ actor: String, _ time: Int64, _ writer: any StoreWriter) throws {
        var (type, amount, symbol, qty, price): (String, SQLValue, SQLValue, SQLValue, SQLValue) = ("JNLC", .null, .null, .null, .null)
        switch journal.asset {
        case .cash(let m): amount = .int(m.units)
        case .shares(let s, let q):
            (type, symbol, qty) = ("JNLS", .text(s.description), .int(q.shares))
            if q.shares > 0 { price = .int(basis / q.shares) }
        }
        try writer.execute("""
            INSERT INTO broker_journals (id, from_account, to_account, entry_type, amount, symbol, qty, price, status, reason,
                description, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.int(id), .int(Int64(journal.from.rawValue)), .int(Int64(journal.to.rawValue)), .text(type), amount, symbol, qty,
                  price, .text(status), .text(reason), .text(note?.description ?? ""), .text(actor), .int(time)])
    }

    /// Records a transfer's new status; returns the one it had (empty for a new transfer).
    private func transfer(_ id: UInt64, _ request: TransferRequest, _ status: TransferStatus, _ reason: TransferReason,
                          _ note: BrokerNote?, _ actor: String, _ time: Int64, _ writer: any StoreWriter) throws -> String {
        let key = SQLValue.int(Int64(bitPattern: id))
        let reasonText = SQLValue.text(reason == .none ? "" : "\(reason.code): \(reason.message)")
        if status == .queued {
            try writer.execute("""
                INSERT INTO broker_transfers (id, account, direction, amount, status, reason, relationship, actor, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [key, .int(Int64(request.account.rawValue)), .text(request.direction == .incoming ? "INCOMING" : "OUTGOING"),
                      .int(request.amount.units), .text(status.name), reasonText, .int(Int64(bitPattern: note?.relationship ?? 0)),
                      .text(actor), .int(time), .int(time)])
            return ""
        }
        let before = try writer.query("SELECT status FROM broker_transfers WHERE id = ?", [key]).first?.text("status") ?? ""
        try writer.execute("UPDATE broker_transfers SET status = ?, reason = ?, updated_at = ? WHERE id = ?",
                           [.text(status.name), reasonText, .int(time), key])
        return before
    }
}
