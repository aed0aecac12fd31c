import ArgumentParser
import BourseKafka
import BourseNode
import BourseProjections
import BourseRisk
import BourseVenue
import Dispatch
import Foundation

struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply projections from the journal on Kafka to a store, in a process of its own.",
        discussion: """
        Several such processes on one store share the projections: each applies those whose lock it holds, \
        takes one more a second while some are free, and takes over those of a process that dies. Each \
        transaction commits the rows with the position, exactly once. Stops on SIGINT or SIGTERM.
        """)

    @Option(help: "kafka://HOST:PORT[,HOST:PORT…][/PREFIX][?partitions=N]: the venue's event topic, PREFIX.events.")
    var log: String

    @Option(help: "postgres://user@host:port/database, or sqlite:PATH.")
    var store: String

    @Argument(help: "The projections to apply: orders, broker, post_trade, audit, ledger, risk (all of them when none is named).")
    var names: [String] = []

    @Option(help: "Print what this process applies every N seconds (0: never).")
    var statusEvery = 10

    @Option(help: "Entries a projection's transaction carries at most (1 to 100000).")
    var transactionEntries = 4_096

    @Option(help: "Spread the risk projection over N shards by account (a client's accounts in one; 1 to 64), each a projection of its own (risk.1-of-N …, tables rk1ofN_…) that processes share and take over as they do any other.")
    var riskShards = 1
    @Flag(help: "Catch each projection no other process holds up to the topic's end as it is now, one after the other, print the rates, and exit.")
    var untilCaughtUp = false

    func run() throws {
        let location: KafkaLocation
        switch KafkaLocation.parse(log) {
        case .success(let l): location = l
        case .failure(let invalid): throw ValidationError("--log: \(invalid)")
        }
        let storeLocation: StoreLocation
        if store.hasPrefix("sqlite:"), store.count > 7 {
            storeLocation = .sqlite(path: String(store.dropFirst(7)))
        } else if case .success(let l) = StoreLocation.parse(store, sqlitePath: ""), case .postgres = l {
            storeLocation = l
        } else {
            throw ValidationError("--store must be postgres://user@host:port/database or sqlite:PATH, not \(store)")
        }
        let all = DataDirectory.offlineProjections.map { make in (name: make().name, make: make) }
        for name in names where !all.contains(where: { $0.name == name }) {
            throw ValidationError("no projection \(name); there are \(all.map(\.name).filter { !DataDirectory.nodeOnlyProjections.contains($0) }.joined(separator: ", "))")
        }
        if let name = names.first(where: DataDirectory.nodeOnlyProjections.contains) {
            throw ValidationError("projection \(name) runs on the node: its books are seeded from the engine when the node starts")
        }
        guard (1...100_000).contains(transactionEntries) else { throw ValidationError("--transaction-entries must be from 1 to 100000") }
        var limits = ProjectionGroup.Limits()
        limits.runner.entriesPerTransactionMax = transactionEntries
        guard (1...64).contains(riskShards) else { throw ValidationError("--risk-shards must be from 1 to 64") }
        var chosen = all.filter { names.isEmpty ? !DataDirectory.nodeOnlyProjections.contains($0.name) : names.contains($0.name) }
        if riskShards > 1, let risk = chosen.firstIndex(where: { $0.name == "risk" }) {
            let shards = (0..<riskShards).map { RiskProjection.Shard(index: $0, count: riskShards) }
            chosen.replaceSubrange(risk...risk, with: shards.map { shard in
                let make: @Sendable () -> any Projection = { RiskProjection(shard: shard) }
                return (name: shard.name, make: make)
            })
        }

        let projectionStore: any ProjectionStore
        let locks: any ProjectionLocks
        do {
            projectionStore = try storeLocation.open()
            locks = try storeLocation.openLocks()
        } catch {
            throw ReplayFailure(message: "\(storeLocation): \(error)")
        }
        if untilCaughtUp {
            defer {
                locks.close()
                projectionStore.close()
            }
            return try catchUp(chosen, location: location, store: projectionStore, locks: locks, limits: limits.runner)
        }
        let group = ProjectionGroup(location: location, store: projectionStore, locks: locks,
                                    projections: chosen.map { ($0.name, $0.make) }, limits: limits, log: { say($0) })
        var sources = onStopSignals { group.stop() }
        if statusEvery > 0 {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + .seconds(statusEvery), repeating: .seconds(statusEvery))
            timer.setEventHandler {
                let lines = group.statuses.map { "\($0.name) \($0.state.rawValue) at \($0.position)\($0.failure.map { ": \($0)" } ?? "")" }
                say("applying " + (lines.isEmpty ? "nothing" : lines.joined(separator: "; ")))
            }
            timer.resume()
            sources.append(timer)
        }
        say("projecting \(location) into \(storeLocation): \(chosen.map(\.name).joined(separator: ", "))")
        group.run()
        projectionStore.close()
        withExtendedLifetime(sources) {}
    }

    private func catchUp(_ chosen: [(name: String, make: @Sendable () -> any Projection)], location: KafkaLocation,
                         store: any ProjectionStore, locks: any ProjectionLocks, limits: ProjectionRunner.Limits) throws {
        for (name, make) in chosen {
            guard try locks.tryLock(name) else {
                say("projection \(name): another process applies it; left to it")
                continue
            }
            defer { locks.unlock(name) }
            let runner = ProjectionRunner(make(), store: store, feed: try EventLogFeed(location: location), limits: limits, log: { say($0) })
            let started = monotonicNanos()
            let applied = try runner.open()
            let seconds = Double(monotonicNanos() - started) / 1e9
            print("\(name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(applied) entries through \(runner.currentStatus.position) in \(String(format: "%.2f", seconds)) s, \(Int(Double(applied) / max(seconds, 1e-9))) entries/s")
        }
    }
}
