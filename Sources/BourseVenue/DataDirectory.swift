#if canImport(Glibc)
import Glibc
#endif
import BourseCore
import BourseEngine
import BourseFeeds
import BourseJournal
import BourseMarketData
import BourseNode
import BoursePostTrade
import BourseRisk
import BourseProjections
import Foundation

/// The data directory of a venue: the journal and snapshots under `journal/`, the configuration in
/// `bourse.json`, the projections' store, alerts and market history; the gateways keep their keys here too
/// (`keys.json`, and the keys issued, with their secrets, in `credentials.json`).
public struct DataDirectory: Sendable {
    public let path: String
    var journal: String { path + "/journal" }
    public var keysFile: String { path + "/keys.json" }
    public var credentialsFile: String { path + "/credentials.json" }
    public var configurationFile: String { path + "/" + VenueConfiguration.fileName }
    /// The projections' store by default (the order history, bars and latest trades).
    public var projectionsFile: String { path + "/projections.sqlite" }
    /// Where the read models were kept before the projections' store replaced them.
    var formerReadModelsFile: String { path + "/read-models.sqlite" }
    /// Alerts are not in the journal: this file is their only record.
    var alertsFile: String { path + "/alerts.sqlite" }
    var watchlistsFile: String { path + "/watchlists.sqlite" }
    /// The capture retry queue and dead letters.
    var postTradeFile: String { path + "/post-trade.sqlite" }
    /// Firms' records of their accounts, bank relationships, API keys and the audit trail.
    var brokerFile: String { path + "/broker.sqlite" }
    /// The trades and quotes the market data stream sent, for history and `bourse replay-market`.
    public var marketHistoryFile: String { path + "/market-history.sqlite" }

    public init(path: String) { self.path = path }

    /// A running node: the venue, its projections and what follows them, opened from the directory.
    public struct Node: Sendable {
        public var venue: Venue
        public var configuration: VenueConfiguration
        /// Each configured symbol's primary listing market, read once from the configuration.
        public var exchanges: [Symbol: String]
        /// The order projection: its listeners are told each new entry's order changes.
        public var orders: OrdersProjection
        public var orderQueries: OrderQueries
        public var market: MarketProjection
        public var alerts: Alerts
        public var watchlists: Watchlists
        public var broker: BrokerRecords
        public var projections: Projections
        /// Held while the node runs: no second node opens the directory.
        public var lock: NodeLock
        /// Other venues' feeds and the NBBO with the venue's own book; `run()` follows them.
        public var feeds: FeedHandler
        public var calendar: ExchangeCalendar
        /// Business dates and settlement cycles.
        public var postTrade: VenueConfiguration.PostTradeRules
        /// Post-trade's capture gateway, for the API, dropped files and FIX.
        public var capture: CaptureDesk
        /// Trade files dropped into `capture/inbox`.
        public var files: FileCapture
        /// Reconciliations against street files, and their breaks.
        public var reconciler: Reconciler
        /// The risk platform's figures, and how it marks.
        public var risk: RiskProjection
        public var riskRules: VenueConfiguration.RiskRules
        /// Scenarios and value at risk over the risk platform's book.
        public var riskDesk: RiskDesk
        /// What this start created or changed to match the configuration, one line each.
        public var applied: [String]
        public var recovery: RecoveryReport
        /// Journal entries each projection applied at start to catch up (all of them when its store was new).
        public var caughtUp: [String: Int]
        /// What every part of the node records its figures into, and `/metrics` writes.
        public var metrics: MetricsRegistry
        /// The FIX gateway's sessions, when one runs.
        public let fixSessions = SessionBoard()
        /// Which node leads: this one alone, or one of a primary and standby pair.
        public let leadership = Leadership()

        /// Stops the venue (applying what is queued and writing a snapshot), then waits for the projections
        /// to commit what they were given, so that the next start has nothing to catch up on.
        public func stop() {
            venue.stop()
            projections.waitUntilFinished()
            // What the market data told is recorded, and fired alerts told, before the stop returns.
            market.finished.store(true, ordering: .relaxed)
            market.history?.settle()
            alerts.settle()
            projections.store.close()
            lock.release()
        }
    }

    /// Recovers the venue from the journal, starts its sequencer, and brings it in line with the
    /// configuration: the one given, else the directory's `bourse.json`, else the demo configuration,
    /// which is then written there.
    /// `clock` stamps every command (tests give one of their own, so nothing depends on the hour they run at).
    /// `store` (`sqlite` or `postgres://…`) wins over the configuration's. `attach` is given the node before
    /// its sequencer starts: where the gateways listen to the projections, so that they miss nothing.
    public func openNode(configuration given: VenueConfiguration? = nil, store storeName: String? = nil, snapshotEvery: UInt64 = 1_000_000,
                         historyDays: Int = 30, clock: @escaping @Sendable () -> Int64 = wallClockNanos,
                         attach: (Node) throws -> Void = { _ in }) async throws -> Node {
        // Keys, the journal and the read models are the venue's alone: its directories are its owner's only.
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for directory in [path, journal] { try OwnerOnly.restrict(directory, mode: 0o700) }
        let lock: NodeLock
        do { lock = try NodeLock.acquire(path) } catch { throw ServerError.unusableDataDirectory("\(error)") }
        let configuration: VenueConfiguration
        if let given {
            if let problem = given.problem { throw VenueConfiguration.Invalid(description: problem) }
            configuration = given
        } else if FileManager.default.fileExists(atPath: configurationFile) {
            configuration = try VenueConfiguration.read(configurationFile)
        } else {
            configuration = .demo
            try configuration.write(to: configurationFile)
        }
        let (engine, report) = try Recovery.recover(directory: journal, keepsAccounts: true, repair: true)
        guard engine.keepsAccounts else {
            throw ServerError.unusableDataDirectory("\(journal) holds the journal of an engine without accounts")
        }
        let writer = try JournalWriter(directory: journal, durability: .fsync, lastSequence: report.lastSequence,
                                       keepsAccounts: true)
        let metrics = MetricsRegistry()
        let sequencer = Sequencer(engine: engine, journal: writer, lastSequence: report.lastSequence,
                                  configuration: .init(snapshotEvery: snapshotEvery, snapshotDirectory: journal), clock: clock,
                                  metrics: metrics)
        // The projections catch up with the journal first; the gateways start from them.
        if FileManager.default.fileExists(atPath: formerReadModelsFile) {
            for file in [formerReadModelsFile, formerReadModelsFile + "-wal", formerReadModelsFile + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
        }
        let location: StoreLocation
        switch StoreLocation.parse(storeName ?? configuration.store, sqlitePath: projectionsFile) {
        case .success(let l): location = l
        case .failure(let invalid): throw ServerError.unusableDataDirectory(invalid.description)
        }
        let store: any ProjectionStore
        do { store = try location.open() } catch { throw ServerError.unusableDataDirectory("projections' store: \(error)") }
        let log: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let orders = OrdersProjection()
        let alerts = try Alerts(path: alertsFile)
        let watchlists = try Watchlists(path: watchlistsFile)
        let broker = try BrokerRecords(path: brokerFile)
        let captureQueue = try CaptureQueue(path: postTradeFile)
        for firm in configuration.firms ?? [] { try broker.assign(firm.accounts ?? [], to: firm.id, now: clock()) }
        let tape = try MarketHistory(path: marketHistoryFile, retentionDays: historyDays)
        let market = MarketProjection(alerts: alerts, history: tape)
        market.seedBooks(engine: engine, sequence: report.lastSequence, calendar: try configuration.calendar(), now: clock())
        let riskRules = try configuration.riskRules()
        let risk = RiskProjection(clients: riskRules.clients, house: riskRules.houseMargin, partitions: riskRules.partitions)
        let runners = ([orders, market, BrokerProjection(), TradesProjection(), AuditProjection(), LedgerProjection(), risk] as [any Projection]).map {
            ProjectionRunner($0, store: store, journal: journal, clock: clock, log: log, metrics: metrics)
        }
        try Self.resetPastCut(runners.map(\.projection), store: store, journal: journal, log: log)
        var caughtUp: [String: Int] = [:]
        for runner in runners {
            caughtUp[runner.name] = try runner.open()
            guard runner.currentStatus.position == report.lastSequence else {
                throw ServerError.unusableDataDirectory("projection \(runner.name) in \(store.location) is at sequence \(runner.currentStatus.position) but the journal ends at \(report.lastSequence); rebuild it with bourse projections rebuild")
            }
            sequencer.add(runner.consumer)
        }
        try JournalRepair.clearRewritten(journal)
        let projections = Projections(runners, store: store)
        for database in [projectionsFile, alertsFile, watchlistsFile, brokerFile, marketHistoryFile, postTradeFile] {
            for file in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: file) {
                try OwnerOnly.restrict(file, mode: 0o600)
            }
        }
        let feedVenues = (configuration.feeds ?? []).map {
            FeedHandler.Venue(name: $0.name, host: $0.host, port: $0.port, username: $0.username ?? "bourse", password: $0.password ?? "",
                              transport: $0.transport == "moldudp64" ? .moldUDP64(session: $0.session ?? String($0.name.prefix(10))) : .soupBinTCP)
        }
        let feeds = FeedHandler(venues: feedVenues, stocks: configuration.symbols.compactMap { ITCH.Stock($0.symbol) }) { [market] stock, best in
            market.nbboChanged(stock, best)
        }
        market.attach(feeds)
        let firstOrderID = UInt64(max(clock(), engine.lastCommandTime.nanos + 1))
        let venue = Venue(sequencer: sequencer, firstOrderID: firstOrderID)
        let desk = CaptureDesk(venue: venue, rules: try configuration.postTradeRules(), queue: captureQueue, projections: projections, clock: clock)
        var node = Node(venue: venue, configuration: configuration, exchanges: configuration.listingExchanges, orders: orders, orderQueries: OrderQueries(store: store), market: market,
                        alerts: alerts, watchlists: watchlists, broker: broker, projections: projections, lock: lock, feeds: feeds, calendar: try configuration.calendar(),
                        postTrade: try configuration.postTradeRules(), capture: desk, files: try FileCapture(directory: path + "/capture", desk: desk, clock: clock),
                        reconciler: Reconciler(desk: desk, venue: venue, projections: projections, clock: clock), risk: risk, riskRules: riskRules,
                        riskDesk: RiskDesk(risk: risk, rules: riskRules, market: market, now: clock), applied: [], recovery: report, caughtUp: caughtUp, metrics: metrics)
        try attach(node)
        // A journal that stopped partway through a settlement cycle goes on with it at once.
        let settling = engine.settlementInProgress?.date
        sequencer.start()
        if let settling { venue.settleNext(settling) }
        projections.start()
        market.start()
        node.applied = try await apply(configuration, to: venue)
        return node
    }

    /// The projections a node of this directory runs, fresh: for a tool that works on them while it is stopped.
    public func projectionsOffline() -> [any Projection] { Self.offlineProjections.map { $0() } }

    /// The projections as they run away from a node (`bourse projections rebuild`, `bourse project`): the
    /// market's without books seeded from an engine or alerts, risk's with the default rules.
    public static let offlineProjections: [@Sendable () -> any Projection] = [
        { OrdersProjection() }, { MarketProjection() }, { BrokerProjection() }, { TradesProjection() }, { AuditProjection() },
        { LedgerProjection() }, { RiskProjection() },
    ]

    /// A journal cut after a sequence (a former primary's tail set aside) is written on with other entries: a
    /// projection that applied entries past the cut holds rows of entries that are gone, and is emptied to be
    /// applied again from the journal.
    static func resetPastCut(_ projections: [any Projection], store: any ProjectionStore, journal: String,
                             log: (String) -> Void) throws {
        guard let cut = JournalRepair.rewritten(journal) else { return }
        for projection in projections {
            guard let position = try Positions.recorded(projection.name, in: store), position > cut else { continue }
            log("projection \(projection.name): at sequence \(position), past the journal's cut after \(cut); applying it again from the journal")
            try Positions.reset(projection, in: store)
        }
    }

    /// Opens the projections a node of this directory keeps, in `store`, and applies the journal to them
    /// through `through`; `ProjectionRunner.follow` applies more. A standby keeps them so, so that taking
    /// over applies only what came since rather than the journal.
    public func openProjections(store: any ProjectionStore, through: UInt64, log: (String) -> Void) throws -> [ProjectionRunner] {
        let projections = projectionsOffline()
        try Self.resetPastCut(projections, store: store, journal: journal, log: log)
        try JournalRepair.clearRewritten(journal)
        let runners = projections.map { ProjectionRunner($0, store: store, journal: journal) }
        for runner in runners { try runner.open(through: through) }
        return runners
    }

    /// Those that run only on the node: the market's seeds its books from the engine when the node starts.
    public static let nodeOnlyProjections: Set<String> = ["market"]

    /// The projections' store: `store` (`sqlite` or `postgres://…`), else the configuration's, else the file here.
    public func openStore(_ store: String?) throws -> any ProjectionStore {
        let configured = FileManager.default.fileExists(atPath: configurationFile) ? try VenueConfiguration.read(configurationFile).store : nil
        switch StoreLocation.parse(store ?? configured, sqlitePath: projectionsFile) {
        case .success(let location): return try location.open()
        case .failure(let invalid): throw ServerError.unusableDataDirectory(invalid.description)
        }
    }

    /// The journal's directory.
    public var journalDirectory: String { journal }

    /// Lists the symbols and opens the accounts the configuration names and the venue lacks, and sets
    /// listed symbols' fees and borrow status to the configuration's.
    private func apply(_ configuration: VenueConfiguration, to venue: Venue) async throws -> [String] {
        let (summaries, accounts) = try await venue.read { engine in
            (Dictionary(uniqueKeysWithValues: engine.listedSymbols.compactMap { engine.summary(of: $0) }.map { ($0.symbol, $0) }),
             Set(engine.accountIDs))
        }
        let automatic = configuration.sessions?.automatic ?? false
        var steps: [(String, [Command])] = []
        for entry in configuration.symbols {
            let (symbol, rules, fees) = try entry.listing()
            let easy = entry.easy_to_borrow ?? false
            guard let summary = summaries[symbol] else {
                // With automatic sessions the scheduler opens it when the calendar says so.
                steps.append(("listed \(symbol)", [.listSymbol(symbol, rules), .setFees(symbol, fees), .setEasyToBorrow(symbol, easy)]
                              + (automatic ? [] : [.setTradingState(symbol, .open)])))
                continue
            }
            if summary.fees != fees { steps.append(("set \(symbol)'s fees", [.setFees(symbol, fees)])) }
            if summary.easyToBorrow != easy { steps.append(("set \(symbol) \(easy ? "easy" : "not easy") to borrow", [.setEasyToBorrow(symbol, easy)])) }
        }
        let listed = Set(configuration.symbols.map(\.symbol))
        for entry in configuration.accounts where !accounts.contains(AccountID(entry.id)) {
            steps.append(("opened account \(entry.id)", try entry.commands(listed: listed).0))
        }
        for (_, commands) in steps {
            for command in commands {
                let ack = try await venue.execute(command)
                if case .commandRejected(let reason)? = ack.events.first {
                    throw ServerError.unusableDataDirectory("applying the configuration: \(reason.code): \(reason.message)")
                }
            }
        }
        return steps.map(\.0)
    }
}

/// Files and directories for the venue's owner alone.
public enum OwnerOnly {
    /// Writes `bytes` to `path`: 0600 from its creation, synced and renamed into place.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        do { try DurableFile.replace(path, with: bytes) } catch {
            throw ServerError.unusableDataDirectory("\(error)")
        }
    }

    public static func restrict(_ path: String, mode: mode_t) throws {
        guard chmod(path, mode) == 0 else { throw failure("chmod", path) }
    }

    private static func failure(_ operation: String, _ path: String) -> ServerError {
        .unusableDataDirectory("\(operation) \(path): \(String(cString: strerror(errno)))")
    }
}

public enum ServerError: Error, CustomStringConvertible {
    case unusableDataDirectory(String)

    public var description: String {
        switch self {
        case .unusableDataDirectory(let reason): "unusable data directory: \(reason)"
        }
    }
}


extension DataDirectory {
    /// Adds entries (API keys, FIX sessions' passwords) to `credentials.json`, a JSON array of objects that
    /// each gateway writes its own kind of entry to, keeping what is there.
    public func appendCredentials<T: Encodable>(_ entries: [T]) throws {
        guard !entries.isEmpty else { return }
        var all: [Any] = []
        if FileManager.default.fileExists(atPath: credentialsFile) {
            let data = try Data(contentsOf: URL(fileURLWithPath: credentialsFile))
            guard let earlier = try JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw ServerError.unusableDataDirectory("\(credentialsFile) is not a JSON array")
            }
            all = earlier
        }
        for entry in entries { all.append(try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry))) }
        try OwnerOnly.write(Array(try JSONSerialization.data(withJSONObject: all, options: [.prettyPrinted, .sortedKeys])), to: credentialsFile)
    }

    /// The entries of a credentials file that decode as `T` (the others are another gateway's).
    public static func credentials<T: Decodable>(_ type: T.Type, in file: String) -> [T] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: file)),
              let all = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return [] }
        return all.compactMap { entry in
            (try? JSONSerialization.data(withJSONObject: entry)).flatMap { try? JSONDecoder().decode(T.self, from: $0) }
        }
    }
}
