import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import Foundation

/// The data directory of a venue: the journal and snapshots under `journal/`, the accepted keys in
/// `keys.json`, and on first start the demo configuration and `credentials.json` with its keys.
public struct DataDirectory: Sendable {
    public let path: String
    var journal: String { path + "/journal" }
    var keysFile: String { path + "/keys.json" }
    public var credentialsFile: String { path + "/credentials.json" }

    public init(path: String) { self.path = path }

    /// What opening the directory found or made.
    public struct Opened: Sendable {
        public var venue: Venue
        var keys: KeyStore
        var updates: TradeUpdates
        var history: OrderHistory
        var market: MarketStream
        /// The keys created by this start (a new directory), to print once.
        public var issued: [IssuedKey]
        public var recovery: RecoveryReport
    }

    /// Recovers the venue from the journal, or on first start creates it with the demo configuration,
    /// and starts its sequencer.
    public func open(snapshotEvery: UInt64 = 1_000_000) async throws -> Opened {
        let fresh = !FileManager.default.fileExists(atPath: keysFile)
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        let (engine, report) = try Recovery.recover(directory: journal, keepsAccounts: true, repair: true)
        guard engine.keepsAccounts else {
            throw ServerError.unusableDataDirectory("\(journal) holds the journal of an engine without accounts")
        }
        let writer = try JournalWriter(directory: journal, durability: .fsync, lastSequence: report.lastSequence,
                                       keepsAccounts: true)
        let sequencer = Sequencer(engine: engine, journal: writer, lastSequence: report.lastSequence,
                                  configuration: .init(snapshotEvery: snapshotEvery, snapshotDirectory: journal))
        let updates = TradeUpdates()
        sequencer.add(updates.hub.consumer)
        let history = OrderHistory()
        let market = MarketStream()
        try history.rebuild(from: journal, also: market.rebuild)
        sequencer.add(history.consumer)
        // The orders open before any new command, so that the stream can describe their updates.
        updates.seed(history.openRecords())
        sequencer.add(market.hub.consumer)
        let firstOrderID = UInt64(max(wallClockNanos(), engine.lastCommandTime.nanos + 1))
        sequencer.start()
        let venue = Venue(sequencer: sequencer, firstOrderID: firstOrderID)
        updates.start()
        history.start()
        market.start(sequencer)
        var issued: [IssuedKey] = []
        if fresh {
            for command in DemoVenue.setup() {
                let ack = try await venue.execute(command)
                if case .commandRejected(let reason)? = ack.events.first {
                    throw ServerError.unusableDataDirectory("demo setup: \(reason.code): \(reason.message)")
                }
            }
            var stored: [StoredKey] = []
            for (account, role) in DemoVenue.keys {
                let (key, store) = KeyStore.issue(account: account, role: role)
                issued.append(key)
                stored.append(store)
            }
            try write(issued, to: credentialsFile)
            // Written last: its presence says the directory was set up completely.
            try write(stored, to: keysFile)
        }
        let keys = try JSONDecoder().decode([StoredKey].self, from: Data(contentsOf: URL(fileURLWithPath: keysFile)))
        return Opened(venue: venue, keys: KeyStore(keys), updates: updates, history: history, market: market, issued: issued,
                      recovery: report)
    }

    /// Writes JSON readable by its owner only.
    private func write<T: Encodable>(_ value: T, to file: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(value)
        guard FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ServerError.unusableDataDirectory("cannot write \(file)")
        }
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

/// The venue a fresh data directory starts with: a handful of symbols, open, with fees and a previous
/// close; two funded trader accounts (one cash, one margin) holding some of each symbol; a market maker's
/// account; and keys for each, plus one for the admin.
enum DemoVenue {
    static let symbols: [(String, Int64)] = [("AAPL", 190_00), ("MSFT", 420_00), ("SPY", 560_00), ("TSLA", 250_00), ("BRK.B", 470_00)]
    static let accounts: [(UInt32, AccountKind, Int64)] = [(1, .cash, 1_000_000), (2, .margin, 1_000_000), (3, .margin, 50_000_000)]
    static let keys: [(UInt32, Role)] = [(1, .trader), (2, .trader), (3, .trader), (3, .admin)]

    static func setup() -> [Command] {
        var commands: [Command] = []
        for (name, cents) in symbols {
            let symbol = try! Symbol(validating: name)
            commands.append(.listSymbol(symbol, InstrumentRules(previousClose: Price(units: cents * 100))))
            commands.append(.setFees(symbol, FeeSchedule(makerPerShare: Money(units: -20), takerPerShare: Money(units: 30))))
            commands.append(.setEasyToBorrow(symbol, true))
            commands.append(.setTradingState(symbol, .open))
        }
        for (id, kind, dollars) in accounts {
            let account = AccountID(id)
            commands.append(.openAccount(account, AccountTerms(kind: kind)))
            commands.append(.deposit(account, Money(dollars: dollars)))
            for (name, cents) in symbols {
                commands.append(.transferIn(account, try! Symbol(validating: name), Quantity(id == 3 ? 100_000 : 1_000),
                                            costPerShare: Price(units: cents * 100)))
            }
        }
        return commands
    }
}
