import BourseCore

extension VenueConfiguration {
    /// The risk platform: how and how often marks are taken, and which accounts make up a client.
    public struct RiskEntry: Codable, Sendable, Equatable {
        /// `last_trade` (the default) or `mid`.
        public var mark_method: String?
        /// Milliseconds between marks while prices change: 250 by default, 50 to 60,000.
        public var mark_interval_ms: Int?
        /// Groups of accounts figured together: a household, a fund with its sub-accounts.
        public var clients: [ClientEntry]?

        public struct ClientEntry: Codable, Sendable, Equatable {
            public var id: String
            public var accounts: [UInt32]

            public init(id: String, accounts: [UInt32]) {
                self.id = id
                self.accounts = accounts
            }
        }

        public init(mark_method: String? = nil, mark_interval_ms: Int? = nil, clients: [ClientEntry]? = nil) {
            self.mark_method = mark_method
            self.mark_interval_ms = mark_interval_ms
            self.clients = clients
        }
    }

    static let riskSchema: [String: Schema] = [
        "mark_method": .leaf, "mark_interval_ms": .leaf, "clients": .array(.object(["id": .leaf, "accounts": .leaf])),
    ]

    /// What the file's risk section means.
    public struct RiskRules: Sendable {
        public var markMethod: MarkMethod
        public var markIntervalMilliseconds: Int
        public var clients: [String: [AccountID]]

        public static let clientsMax = 10_000
        public static let accountsPerClientMax = 10_000
        public static let clientIDBytesMax = 64
    }

    public func riskRules() throws(Invalid) -> RiskRules {
        let entry = risk ?? RiskEntry()
        guard let method = MarkMethod(name: entry.mark_method ?? "last_trade") else {
            throw Invalid(description: "risk.mark_method \"\(entry.mark_method ?? "")\" must be \"last_trade\" or \"mid\"")
        }
        let interval = entry.mark_interval_ms ?? 250
        guard (50...60_000).contains(interval) else { throw Invalid(description: "risk.mark_interval_ms \(interval) must be 50 to 60000") }
        let entries = entry.clients ?? []
        guard entries.count <= RiskRules.clientsMax else { throw Invalid(description: "risk.clients: at most \(RiskRules.clientsMax) clients") }
        var clients: [String: [AccountID]] = [:], owner: [UInt32: String] = [:]
        for client in entries {
            guard (1...RiskRules.clientIDBytesMax).contains(client.id.utf8.count), client.id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
                throw Invalid(description: "risk.clients: id \"\(client.id)\" must be 1 to \(RiskRules.clientIDBytesMax) letters, digits, '-', '_' or '.'")
            }
            guard clients[client.id] == nil else { throw Invalid(description: "risk.clients: \(client.id) is listed twice") }
            guard (1...RiskRules.accountsPerClientMax).contains(client.accounts.count) else {
                throw Invalid(description: "risk.clients: \(client.id) must name 1 to \(RiskRules.accountsPerClientMax) accounts")
            }
            for account in client.accounts {
                if let other = owner[account] { throw Invalid(description: "risk.clients: account \(account) is in both \(other) and \(client.id)") }
                owner[account] = client.id
            }
            clients[client.id] = client.accounts.map(AccountID.init)
        }
        return RiskRules(markMethod: method, markIntervalMilliseconds: interval, clients: clients)
    }
}
