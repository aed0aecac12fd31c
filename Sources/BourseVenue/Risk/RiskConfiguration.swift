import BourseCore
import BourseRisk

extension VenueConfiguration {
    /// The risk platform: how and how often marks are taken, and which accounts make up a client.
    public struct RiskEntry: Codable, Sendable, Equatable {
        /// `last_trade` (the default), `mid`, or `nbbo_mid`: the NBBO across the feeds followed and the venue's own
        /// book where it has both sides and is not crossed, elsewhere `mid` (needs `feeds`).
        public var mark_method: String?
        /// Milliseconds between marks while prices change: 250 by default, 50 to 60,000.
        public var mark_interval_ms: Int?
        /// Groups of accounts figured together: a household, a fund with its sub-accounts.
        public var clients: [ClientEntry]?
        /// Sectors, each a set of symbols, that scenarios may shock together.
        public var sectors: [SectorEntry]?
        /// Stress scenarios run at every request of `/v1/risk/scenarios`.
        public var scenarios: [ScenarioEntry]?
        /// Days of daily closes value at risk looks back over: 250 by default, 2 to 2,520.
        public var var_days: Int?
        /// Monte Carlo paths: 10,000 by default, 100 to 100,000; and the generator's seed (1 by default).
        public var monte_carlo_paths: Int?
        public var monte_carlo_seed: UInt64?
        /// Margin calls: minutes until one must be met (60 by default, 1 to 10,080), and whether the account
        /// is put in reduce-only meanwhile and liquidated after the deadline (`enforce`, false by default).
        public var margin_calls: MarginCallEntry?
        /// How many partitions the accounts are spread over, a client's accounts in one, each applied on a
        /// core of its own: 1 by default, up to 64. Figures do not depend on it. More than one takes threads
        /// of the shared pool the server's tasks run on while a transaction is applied.
        public var partitions: Int?
        /// The house's maintenance rates above the accounts' own, in basis points (0 to 10,000): `long_bp` and
        /// `short_bp` for every symbol, and per symbol in `symbols`.
        public var house_margin: HouseMarginEntry?

        public struct HouseMarginEntry: Codable, Sendable, Equatable {
            public var long_bp: Int64?
            public var short_bp: Int64?
            public var symbols: [SymbolRates]?

            public struct SymbolRates: Codable, Sendable, Equatable {
                public var symbol: String
                public var long_bp: Int64?
                public var short_bp: Int64?

                public init(symbol: String, long_bp: Int64? = nil, short_bp: Int64? = nil) {
                    self.symbol = symbol
                    self.long_bp = long_bp
                    self.short_bp = short_bp
                }
            }

            public init(long_bp: Int64? = nil, short_bp: Int64? = nil, symbols: [SymbolRates]? = nil) {
                self.long_bp = long_bp
                self.short_bp = short_bp
                self.symbols = symbols
            }
        }

        public struct MarginCallEntry: Codable, Sendable, Equatable {
            public var deadline_minutes: Int?
            public var enforce: Bool?

            public init(deadline_minutes: Int? = nil, enforce: Bool? = nil) {
                self.deadline_minutes = deadline_minutes
                self.enforce = enforce
            }
        }

        public struct SectorEntry: Codable, Sendable, Equatable {
            public var id: String
            public var symbols: [String]

            public init(id: String, symbols: [String]) {
                self.id = id
                self.symbols = symbols
            }
        }

        /// Shocks in basis points: `market_bp` for every symbol, `sectors` and `symbols` by name.
        public struct ScenarioEntry: Codable, Sendable, Equatable {
            public var name: String
            public var market_bp: Int64?
            public var sectors: [String: Int64]?
            public var symbols: [String: Int64]?

            public init(name: String, market_bp: Int64? = nil, sectors: [String: Int64]? = nil, symbols: [String: Int64]? = nil) {
                self.name = name
                self.market_bp = market_bp
                self.sectors = sectors
                self.symbols = symbols
            }
        }

        public struct ClientEntry: Codable, Sendable, Equatable {
            public var id: String
            public var accounts: [UInt32]

            public init(id: String, accounts: [UInt32]) {
                self.id = id
                self.accounts = accounts
            }
        }

        public init(mark_method: String? = nil, mark_interval_ms: Int? = nil, clients: [ClientEntry]? = nil, sectors: [SectorEntry]? = nil,
                    scenarios: [ScenarioEntry]? = nil, var_days: Int? = nil, monte_carlo_paths: Int? = nil, monte_carlo_seed: UInt64? = nil,
                    margin_calls: MarginCallEntry? = nil, partitions: Int? = nil, house_margin: HouseMarginEntry? = nil) {
            self.margin_calls = margin_calls
            self.house_margin = house_margin
            self.partitions = partitions
            self.mark_method = mark_method
            self.mark_interval_ms = mark_interval_ms
            self.clients = clients
            self.sectors = sectors
            self.scenarios = scenarios
            self.var_days = var_days
            self.monte_carlo_paths = monte_carlo_paths
            self.monte_carlo_seed = monte_carlo_seed
        }
    }

    static let riskSchema: [String: Schema] = [
        "mark_method": .leaf, "mark_interval_ms": .leaf, "clients": .array(.object(["id": .leaf, "accounts": .leaf])),
        "sectors": .array(.object(["id": .leaf, "symbols": .leaf])),
        "scenarios": .array(.object(["name": .leaf, "market_bp": .leaf, "sectors": .leaf, "symbols": .leaf])),
        "var_days": .leaf, "monte_carlo_paths": .leaf, "monte_carlo_seed": .leaf,
        "margin_calls": .object(["deadline_minutes": .leaf, "enforce": .leaf]), "partitions": .leaf,
        "house_margin": .object(["long_bp": .leaf, "short_bp": .leaf,
                                 "symbols": .array(.object(["symbol": .leaf, "long_bp": .leaf, "short_bp": .leaf]))]),
    ]

    /// What the file's risk section means.
    public struct RiskRules: Sendable {
        public var markMethod: MarkMethod
        public var markIntervalMilliseconds: Int
        public var clients: [String: [AccountID]]
        public var sectorOf: [Symbol: String]
        public var scenarios: [StressScenario]
        public var varDays: Int
        public var monteCarloPaths: Int
        public var monteCarloSeed: UInt64
        public var marginCallDeadlineMinutes: Int
        /// Reduce-only while a call is open, liquidation after its deadline.
        public var enforceMarginCalls: Bool
        public var partitions: Int
        public var houseMargin: HouseMargin

        public static let clientsMax = 10_000
        public static let scenariosMax = 100
        public static let accountsPerClientMax = 10_000
        public static let clientIDBytesMax = 64
    }

    public func riskRules() throws(Invalid) -> RiskRules {
        let entry = risk ?? RiskEntry()
        guard let method = MarkMethod(name: entry.mark_method ?? "last_trade") else {
            throw Invalid(description: "risk.mark_method \"\(entry.mark_method ?? "")\" must be \"last_trade\", \"mid\" or \"nbbo_mid\"")
        }
        guard method != .nbboMid || !(feeds ?? []).isEmpty else {
            throw Invalid(description: "risk.mark_method \"nbbo_mid\" needs feeds to follow: without them the NBBO is the venue's own mid")
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
        var sectorOf: [Symbol: String] = [:]
        for sector in entry.sectors ?? [] {
            guard (1...RiskRules.clientIDBytesMax).contains(sector.id.utf8.count) else { throw Invalid(description: "risk.sectors: an id has 1 to 64 bytes") }
            for name in sector.symbols {
                guard let symbol = try? Symbol(validating: name) else { throw Invalid(description: "risk.sectors: \(sector.id) names \"\(name)\", not a symbol") }
                if let other = sectorOf[symbol] { throw Invalid(description: "risk.sectors: \(name) is in both \(other) and \(sector.id)") }
                sectorOf[symbol] = sector.id
            }
        }
        let scenarioEntries = entry.scenarios ?? []
        guard scenarioEntries.count <= RiskRules.scenariosMax else { throw Invalid(description: "risk.scenarios: at most \(RiskRules.scenariosMax)") }
        var scenarios: [StressScenario] = []
        for given in scenarioEntries {
            let scenario = try Self.scenario(given, sectors: Set(sectorOf.values), in: "risk.scenarios")
            guard !scenarios.contains(where: { $0.name == scenario.name }) else { throw Invalid(description: "risk.scenarios: \(scenario.name) is listed twice") }
            scenarios.append(scenario)
        }
        let days = entry.var_days ?? 250, paths = entry.monte_carlo_paths ?? 10_000
        guard (2...ValueAtRisk.daysMax).contains(days) else { throw Invalid(description: "risk.var_days \(days) must be 2 to \(ValueAtRisk.daysMax)") }
        guard (100...ValueAtRisk.pathsMax).contains(paths) else { throw Invalid(description: "risk.monte_carlo_paths \(paths) must be 100 to \(ValueAtRisk.pathsMax)") }
        let deadline = entry.margin_calls?.deadline_minutes ?? 60
        guard (1...10_080).contains(deadline) else { throw Invalid(description: "risk.margin_calls.deadline_minutes \(deadline) must be 1 to 10080") }
        let partitions = entry.partitions ?? 1
        guard (1...RiskPartitioning.countMax).contains(partitions) else {
            throw Invalid(description: "risk.partitions \(partitions) must be 1 to \(RiskPartitioning.countMax)")
        }
        return RiskRules(markMethod: method, markIntervalMilliseconds: interval, clients: clients, sectorOf: sectorOf, scenarios: scenarios,
                         varDays: days, monteCarloPaths: paths, monteCarloSeed: entry.monte_carlo_seed ?? 1,
                         marginCallDeadlineMinutes: deadline, enforceMarginCalls: entry.margin_calls?.enforce ?? false, partitions: partitions,
                         houseMargin: try Self.houseMargin(entry.house_margin))
    }

    /// The house's rates as the file gives them, checked.
    static func houseMargin(_ given: RiskEntry.HouseMarginEntry?) throws(Invalid) -> HouseMargin {
        guard let given else { return .none }
        func rate(_ bp: Int64?, _ place: String) throws(Invalid) -> Int64 {
            guard let bp else { return 0 }
            guard HouseMargin.basisPoints.contains(bp) else {
                throw Invalid(description: "risk.house_margin: \(place) \(bp) must be \(HouseMargin.basisPoints.lowerBound) to \(HouseMargin.basisPoints.upperBound) basis points")
            }
            return bp
        }
        var house = HouseMargin(rates: .init(longBasisPoints: try rate(given.long_bp, "long_bp"), shortBasisPoints: try rate(given.short_bp, "short_bp")))
        let entries = given.symbols ?? []
        guard entries.count <= HouseMargin.symbolsMax else { throw Invalid(description: "risk.house_margin.symbols: at most \(HouseMargin.symbolsMax)") }
        for entry in entries {
            guard let symbol = try? Symbol(validating: entry.symbol) else {
                throw Invalid(description: "risk.house_margin.symbols: \"\(entry.symbol)\" is not a symbol")
            }
            guard house.symbols[symbol] == nil else { throw Invalid(description: "risk.house_margin.symbols: \(symbol) is listed twice") }
            // A side the entry leaves out keeps the house's default.
            var rates = house.rates
            if let bp = entry.long_bp { rates.longBasisPoints = try rate(bp, "\(symbol) long_bp") }
            if let bp = entry.short_bp { rates.shortBasisPoints = try rate(bp, "\(symbol) short_bp") }
            house.symbols[symbol] = rates
        }
        return house
    }

    /// A scenario as a file or a request gives it, checked: `place` says where, for the message.
    public static func scenario(_ given: RiskEntry.ScenarioEntry, sectors: Set<String>, in place: String) throws(Invalid) -> StressScenario {
        var symbols: [Symbol: Int64] = [:]
        for (name, bp) in given.symbols ?? [:] {
            guard let symbol = try? Symbol(validating: name) else { throw Invalid(description: "\(place): \(given.name) shocks \"\(name)\", not a symbol") }
            symbols[symbol] = bp
        }
        let scenario = StressScenario(name: given.name, market: given.market_bp, sectors: given.sectors ?? [:], symbols: symbols)
        if let problem = scenario.problem(knownSectors: sectors) { throw Invalid(description: "\(place): \(problem)") }
        return scenario
    }
}
