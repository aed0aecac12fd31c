import BourseCore
import Foundation
import GRDB

/// What the sessions keep across connections and restarts, in `fix.sqlite` in the data directory: each
/// session's next sequence numbers, the last order report it delivered, its password's digest, and the
/// messages it sent (for resends), at most `messagesKeptMax` per session. A message is written here
/// before it is written to the socket, so a number is never sent twice with different content.
///
/// Written in WAL mode without a sync per commit: a process crash loses nothing; a power cut may lose
/// the last messages, after which the counterparty's Logon with ResetSeqNumFlag starts the session over.
public final class SessionStore: Sendable {
    public static let messagesKeptMax = 2_000_000
    /// A resend reads the store in chunks of this many messages, so memory stays bounded however far back
    /// it goes.
    public static let resendChunkMax = 1_000

    public struct State: Sendable, Equatable {
        public var nextSender = 1
        public var nextTarget = 1
        /// The last order report delivered: its entry and number (0, -1 before any).
        public var deliveredSequence: UInt64 = 0
        public var deliveredNumber = -1
        /// Order reports sent ahead of the delivered one, at the venue's acknowledgement of the session's
        /// own order: skipped when the reports reach them in order.
        public var early: Set<ReportPosition> = []
        /// The day of the schedule window the numbers belong to (days since 1970), for a scheduled session.
        public var window: Int?
        public var passwordSHA256: String?

        public init(nextSender: Int = 1, nextTarget: Int = 1, deliveredSequence: UInt64 = 0, deliveredNumber: Int = -1) {
            self.nextSender = nextSender
            self.nextTarget = nextTarget
            self.deliveredSequence = deliveredSequence
            self.deliveredNumber = deliveredNumber
        }
    }

    /// An order report's place: its entry and number.
    public struct ReportPosition: Hashable, Sendable {
        public var sequence: UInt64
        public var number: Int
    }

    public struct Message: Sendable, Equatable {
        public var sequence: Int
        public var type: String
        public var sent: Timestamp
        public var body: [UInt8]

        public init(sequence: Int, type: String, sent: Timestamp, body: [UInt8]) {
            (self.sequence, self.type, self.sent, self.body) = (sequence, type, sent, body)
        }
    }

    private let database: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // One connection uses the file: no shared-memory index and no file locks for each transaction.
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE sessions (
                    name TEXT PRIMARY KEY, next_sender INTEGER NOT NULL, next_target INTEGER NOT NULL,
                    delivered_sequence INTEGER NOT NULL, delivered_number INTEGER NOT NULL, window INTEGER, password_sha256 TEXT);
                CREATE TABLE messages (
                    session TEXT NOT NULL, sequence INTEGER NOT NULL, type TEXT NOT NULL, sent INTEGER NOT NULL, body BLOB NOT NULL,
                    PRIMARY KEY (session, sequence)) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2") { db in try db.execute(sql: "ALTER TABLE sessions ADD COLUMN early BLOB") }
        try migrator.migrate(database)
    }

    /// The early reports' positions as bytes: sixteen each (entry, number), little-endian.
    static func encode(_ early: Set<ReportPosition>) -> Data? {
        guard !early.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(early.count * 16)
        for p in early {
            withUnsafeBytes(of: p.sequence.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: Int64(p.number).littleEndian) { bytes += $0 }
        }
        return Data(bytes)
    }

    static func decode(_ data: Data?) -> Set<ReportPosition> {
        guard let data, data.count % 16 == 0 else { return [] }
        let bytes = [UInt8](data)
        return Set(stride(from: 0, to: bytes.count, by: 16).map { i in
            bytes[i ..< i + 16].withUnsafeBytes { raw in
                ReportPosition(sequence: UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)),
                               number: Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))))
            }
        })
    }

    /// A session's state; nil for a session never seen.
    public func state(_ session: String) throws -> State? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE name = ?", arguments: [session]) else { return nil }
            var state = State(nextSender: row["next_sender"], nextTarget: row["next_target"],
                              deliveredSequence: UInt64(row["delivered_sequence"] as Int64), deliveredNumber: row["delivered_number"])
            (state.window, state.passwordSHA256) = (row["window"], row["password_sha256"])
            state.early = Self.decode(row["early"])
            return state
        }
    }

    /// A session's state and the messages it is about to send.
    public struct Save: Sendable {
        public var session: String
        public var state: State
        public var messages: [Message]
    }

    /// Records the session's state and the messages it is about to send, in one transaction.
    public func save(_ session: String, _ state: State, sending messages: [Message]) throws {
        try save([Save(session: session, state: state, messages: messages)])
    }

    /// Records several sessions' saves in one transaction.
    public func save(_ saves: [Save]) throws {
        guard !saves.isEmpty else { return }
        try database.write { db in
            for save in saves { try Self.write(save.session, save.state, save.messages, db) }
        }
    }

    /// Records several sessions' saves in one transaction on the store's own thread, after every save
    /// asked for before, and then calls `done` there.
    public func save(_ saves: [Save], then done: @escaping @Sendable (Error?) -> Void) {
        database.asyncWrite({ db in
            for save in saves { try Self.write(save.session, save.state, save.messages, db) }
        }, completion: { _, result in
            if case .failure(let error) = result { done(error) } else { done(nil) }
        })
    }

    /// Returns when every save asked for before has been made.
    public func settle() async {
        _ = try? await database.write { _ in }
    }

    private static func write(_ session: String, _ state: State, _ messages: [Message], _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO sessions (name, next_sender, next_target, delivered_sequence, delivered_number, window, password_sha256, early)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET next_sender = excluded.next_sender, next_target = excluded.next_target,
                delivered_sequence = excluded.delivered_sequence, delivered_number = excluded.delivered_number,
                window = excluded.window, password_sha256 = excluded.password_sha256, early = excluded.early
            """).execute(arguments: [session, state.nextSender, state.nextTarget, Int64(state.deliveredSequence), state.deliveredNumber,
                                     state.window, state.passwordSHA256, encode(state.early)])
        let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO messages (session, sequence, type, sent, body) VALUES (?, ?, ?, ?, ?)")
        for m in messages {
            try insert.execute(arguments: [session, m.sequence, m.type, m.sent.nanos, Data(m.body)])
        }
        // Keep the newest: pruned when a batch passes a multiple of 10,000, so that most commits do not pay for it.
        if let first = messages.first?.sequence, let last = messages.last?.sequence, last > messagesKeptMax,
           last / 10_000 > (first - 1) / 10_000 {
            try db.execute(sql: "DELETE FROM messages WHERE session = ? AND sequence <= ?", arguments: [session, last - messagesKeptMax])
        }
    }

    /// Starts the session's numbers over (ResetSeqNumFlag, a new schedule window): its sent messages go.
    public func reset(_ session: String, _ state: State) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM messages WHERE session = ?", arguments: [session])
        }
        try save(session, state, sending: [])
    }

    /// The messages sent from `first` through `last`, oldest first, at most `resendChunkMax`.
    public func messages(_ session: String, from first: Int, through last: Int) throws -> [Message] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT sequence, type, sent, body FROM messages WHERE session = ? AND sequence BETWEEN ? AND ? ORDER BY sequence LIMIT ?
                """, arguments: [session, first, last, Self.resendChunkMax]).map { row in
                Message(sequence: row["sequence"], type: row["type"], sent: Timestamp(nanos: row["sent"]), body: Array(row["body"] as Data))
            }
        }
    }

    public func close() { try? database.close() }
}
