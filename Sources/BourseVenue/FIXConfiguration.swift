import BourseCore

extension VenueConfiguration {
    /// The FIX gateway: where it listens, the venue's CompID, and the sessions it accepts.
    public struct FIXEntry: Codable, Sendable, Equatable {
        /// The venue's CompID: the SenderCompID of what it sends, the TargetCompID of what it takes.
        public var comp_id: String?
        public var host: String?
        public var port: Int?
        /// PEM files for TLS; without them the gateway speaks plain TCP.
        public var tls_certificate: String?
        public var tls_key: String?
        public var sessions: [FIXSessionEntry]

        public init(comp_id: String? = nil, host: String? = nil, port: Int? = nil, sessions: [FIXSessionEntry]) {
            self.comp_id = comp_id
            self.host = host
            self.port = port
            self.sessions = sessions
        }

        public var compID: String { comp_id ?? "BOURSE" }
        public static let defaultPort = 9878
    }

    public struct FIXSessionEntry: Codable, Sendable, Equatable {
        /// The counterparty's CompID (the SenderCompID of what it sends); names the session.
        public var comp_id: String
        /// `order_entry`, `drop_copy` or `clearing`.
        public var role: String
        /// The accounts it trades for (order entry) or is told of (drop copy, clearing).
        public var accounts: [UInt32]
        /// Whether Logon must carry a password (554): one is issued at the first start and kept as a digest.
        public var password: Bool?
        public var heartbeat_seconds_min: Int?
        public var heartbeat_seconds_max: Int?
        public var messages_per_second_max: Int?
        /// The daily window, `HH:MM:SS` UTC, outside which Logon is refused; a new window starts the sequence
        /// numbers at 1, as QuickFIX does. Both or neither.
        public var start_time: String?
        public var end_time: String?

        public init(comp_id: String, role: String, accounts: [UInt32], password: Bool? = nil) {
            self.comp_id = comp_id
            self.role = role
            self.accounts = accounts
            self.password = password
        }
    }

    static let fixSchema: [String: Schema] = [
        "comp_id": .leaf, "host": .leaf, "port": .leaf, "tls_certificate": .leaf, "tls_key": .leaf,
        "sessions": .array(.object(Dictionary(uniqueKeysWithValues: [
            "comp_id", "role", "accounts", "password", "heartbeat_seconds_min", "heartbeat_seconds_max", "messages_per_second_max",
            "start_time", "end_time",
        ].map { ($0, Schema.leaf) }))),
    ]

    static let fixRoles = ["order_entry", "drop_copy", "clearing"]

    /// What is wrong with the FIX section, if anything.
    func fixProblem(accounts ids: Set<UInt32>) -> String? {
        guard let fix else { return nil }
        func compIDProblem(_ id: String) -> Bool { !(1...32).contains(id.utf8.count) || !id.utf8.allSatisfy { (0x21...0x7e).contains($0) && $0 != UInt8(ascii: ">") } }
        if compIDProblem(fix.compID) { return "fix.comp_id must be 1 to 32 printable characters without spaces or '>'" }
        if let port = fix.port, !(0...65_535).contains(port) { return "fix.port \(port) is not a port" }
        if (fix.tls_certificate == nil) != (fix.tls_key == nil) { return "fix: tls_certificate and tls_key go together" }
        if fix.sessions.count > 1_000 { return "fix: at most 1000 sessions" }
        var names = Set<String>()
        for session in fix.sessions {
            let name = session.comp_id
            if compIDProblem(name) { return "fix.sessions: comp_id \"\(name)\" must be 1 to 32 printable characters without spaces or '>'" }
            guard name != fix.compID, names.insert(name).inserted else { return "fix.sessions: \(name) is listed twice or is the venue's own comp_id" }
            guard Self.fixRoles.contains(session.role) else { return "fix.sessions: \(name)'s role must be one of \(Self.fixRoles.joined(separator: ", "))" }
            guard !session.accounts.isEmpty, session.accounts.count <= 1_000 else { return "fix.sessions: \(name) names 1 to 1000 accounts" }
            for account in session.accounts where !ids.contains(account) {
                return "fix.sessions: \(name) names account \(account), which the file does not list"
            }
            let low = session.heartbeat_seconds_min ?? 1, high = session.heartbeat_seconds_max ?? 300
            guard 1 <= low, low <= high, high <= 3_600 else { return "fix.sessions: \(name)'s heartbeat bounds must satisfy 1 <= min <= max <= 3600" }
            if let rate = session.messages_per_second_max, !(1...1_000_000).contains(rate) {
                return "fix.sessions: \(name)'s messages_per_second_max must be from 1 to 1000000"
            }
            if (session.start_time == nil) != (session.end_time == nil) { return "fix.sessions: \(name)'s start_time and end_time go together" }
            for time in [session.start_time, session.end_time].compactMap({ $0 }) where Self.secondsOfDay(time) == nil {
                return "fix.sessions: \(name)'s time \"\(time)\" is not HH:MM:SS"
            }
        }
        return nil
    }

    /// `HH:MM:SS` as seconds since midnight.
    public static func secondsOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ $0.count == 2 }), let h = Int(parts[0]), let m = Int(parts[1]), let s = Int(parts[2]),
              (0..<24).contains(h), (0..<60).contains(m), (0..<60).contains(s) else { return nil }
        return h * 3_600 + m * 60 + s
    }

    /// The demo's FIX sessions: one order entry session per account, and a drop copy of every account.
    static let demoFIX = FIXEntry(sessions: [
        FIXSessionEntry(comp_id: "TRADER1", role: "order_entry", accounts: [1], password: true),
        FIXSessionEntry(comp_id: "TRADER2", role: "order_entry", accounts: [2], password: true),
        FIXSessionEntry(comp_id: "TRADER3", role: "order_entry", accounts: [3], password: true),
        FIXSessionEntry(comp_id: "DROPCOPY", role: "drop_copy", accounts: [1, 2, 3], password: true),
    ])
}
