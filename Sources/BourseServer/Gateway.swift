import BourseCore
import BourseProjections
import BourseNode
import BourseVenue
import Foundation

/// The HTTP gateway's side of a data directory: the node, and what the gateway keeps beside it (its keys)
/// and runs on it (the trading and market data streams, fed by the projections).
extension DataDirectory {
    public struct Opened: Sendable {
        public var node: Node
        var keys: KeyStore
        var updates: TradeUpdates
        var market: MarketFeed
        /// The keys created by this start, to print once.
        public var issued: [IssuedKey]

        public var venue: Venue { node.venue }
        public var configuration: VenueConfiguration { node.configuration }
        public var projections: Projections { node.projections }
        var orders: OpenOrderIndex { node.orders.index }
        var orderQueries: OrderQueries { node.orderQueries }
        var alerts: Alerts { node.alerts }
        var calendar: ExchangeCalendar { node.calendar }

        public func stop() { node.stop() }
    }

    /// Opens the node (see `openNode`) with the gateway's streams listening to its projections, and issues
    /// the keys the configuration names and the directory lacks. `attach` is given the node before its
    /// sequencer starts, after the streams.
    public func open(configuration: VenueConfiguration? = nil, store: String? = nil, snapshotEvery: UInt64 = 1_000_000,
                     streamQueueMax: Int = 8_192, historyDays: Int = 30,
                     clock: @escaping @Sendable () -> Int64 = wallClockNanos,
                     attach: (Node) throws -> Void = { _ in }) async throws -> Opened {
        let updates = TradeUpdates()
        var market: MarketFeed?
        let node = try await openNode(configuration: configuration, store: store, snapshotEvery: snapshotEvery,
                                      historyDays: historyDays, clock: clock) { node in
            node.orders.listen { [updates] published, changes in updates.publish(published, changes) }
            node.alerts.onFire { [updates] alert in updates.push(alert) }
            market = MarketFeed(queueMax: streamQueueMax, projection: node.market)
            follow(node.projections["orders"], updates.hub)
            follow(node.projections["market"], market!.hub)
            try attach(node)
        }
        do {
            let (keys, issued) = try issueKeys(node.configuration)
            // Keys made through the API join the file's; revoked ones, of either, are left out.
            let (made, revoked) = try node.broker.keys()
            let live = keys.filter { !revoked.contains($0.keyID) }
                + made.map { StoredKey(keyID: $0.keyID, secretSHA256: $0.secretSHA256, account: $0.account, role: $0.role) }
            return Opened(node: node, keys: KeyStore(live), updates: updates, market: market!, issued: issued)
        } catch {
            node.stop()
            throw error
        }
    }

    /// A stream tells its connections when its projection stops following the journal, and takes them again
    /// when it resumes.
    private func follow<Interest>(_ runner: ProjectionRunner?, _ hub: StreamHub<Interest>) {
        runner?.observe { status in
            switch status.state {
            case .failed: hub.end("the \(hub.name) stream stopped: projection \(status.name) \(status.failure.map { "\($0)" } ?? "failed")")
            case .rebuilding: hub.end("the \(hub.name) stream stopped: projection \(status.name) is rebuilding")
            case .finished: hub.end("the venue is stopping")
            case .live: hub.resume()
            case .opening, .catchingUp: break
            }
        }
    }

    /// Issues a key for every account and role the configuration names that has none yet, and a broker key
    /// for every firm that has none; the new keys' secrets are added to `credentials.json` (mode 0600), their
    /// digests to `keys.json`, written last.
    private func issueKeys(_ configuration: VenueConfiguration) throws -> ([StoredKey], [IssuedKey]) {
        var stored: [StoredKey] = FileManager.default.fileExists(atPath: keysFile)
            ? try JSONDecoder().decode([StoredKey].self, from: Data(contentsOf: URL(fileURLWithPath: keysFile))) : []
        var issued: [IssuedKey] = []
        for entry in configuration.accounts {
            for role in try entry.commands(listed: Set(configuration.symbols.map(\.symbol))).1
            where !stored.contains(where: { $0.account == entry.id && $0.role == role }) {
                let (key, store) = KeyStore.issue(account: entry.id, role: role)
                issued.append(key)
                stored.append(store)
            }
        }
        for firm in configuration.firms ?? [] where !stored.contains(where: { $0.role == .broker && $0.firm == firm.id }) {
            let (key, store) = KeyStore.issue(account: 0, role: .broker, firm: firm.id)
            issued.append(key)
            stored.append(store)
        }
        if !issued.isEmpty {
            try appendCredentials(issued)
            try write(stored, to: keysFile)
        }
        return (stored, issued)
    }

    /// Writes JSON readable by its owner only, durably.
    private func write<T: Encodable>(_ value: T, to file: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try OwnerOnly.write(Array(try encoder.encode(value)), to: file)
    }
}
