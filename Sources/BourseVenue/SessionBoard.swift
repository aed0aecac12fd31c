import Synchronization

/// What the FIX gateway tells about its sessions, for the API and the web page: the HTTP gateway reads
/// it without knowing the FIX one.
public final class SessionBoard: Sendable {
    public struct Row: Sendable, Codable, Equatable {
        public var session: String
        public var role: String
        public var accounts: [UInt32]
        /// `disconnected`, `awaiting_logon`, `logged_on` or `logging_out`.
        public var state: String
        public var next_sender_seq: Int
        public var next_target_seq: Int
        public var messages_in: Int
        public var messages_out: Int
        public var resent: Int
        public var rejected: Int
        public var garbled: Int
        public var last_problem: String?

        public init(session: String, role: String, accounts: [UInt32], state: String, next_sender_seq: Int, next_target_seq: Int,
                    messages_in: Int, messages_out: Int, resent: Int, rejected: Int, garbled: Int, last_problem: String?) {
            self.session = session
            self.role = role
            self.accounts = accounts
            self.state = state
            self.next_sender_seq = next_sender_seq
            self.next_target_seq = next_target_seq
            self.messages_in = messages_in
            self.messages_out = messages_out
            self.resent = resent
            self.rejected = rejected
            self.garbled = garbled
            self.last_problem = last_problem
        }
    }

    private let latest = Mutex<[String: Row]>([:])

    public init() {}

    /// The gateway's latest word on these sessions (on each Logon and hang-up, and each second from each
    /// of its event loops for the sessions it serves); the others' rows stay as they were.
    public func update(_ rows: [Row]) {
        latest.withLock { latest in
            for row in rows { latest[row.session] = row }
        }
    }

    /// Every session by name, or none when no FIX gateway runs.
    public var rows: [Row] { latest.withLock { $0.values.sorted { $0.session < $1.session } } }
}
