import BourseCore
import BourseNode
import BourseProjections
import Foundation
import Synchronization

/// Projections applied from the event topic in a process of their own (`bourse project`), sharing the
/// work with every other such process on the same store.
///
/// Each projection is applied by one process at a time: the one holding its lock (`ProjectionLocks`). Each
/// round (`claimEveryNanos`) a process lets go of what it lost, and takes at most one projection no one
/// holds, so that processes started together share them out and a survivor takes over, one a round, what
/// a dead one held. One reader of the topic hands each batch to every runner, as the sequencer does on the
/// node; a projection taken on later starts cut off at the position its store records and catches up on its
/// own thread from the topic (its runner's own `EventLogFeed`), as after an overrun, while the others go on. Exactly once: each runner
/// commits the position with the rows, and only from the position it read (`Positions`).
public final class ProjectionGroup: @unchecked Sendable {
    public struct Limits: Sendable {
        public var claimEveryNanos: Int64 = 1_000_000_000
        public var runner = ProjectionRunner.Limits()
        public init() {}
    }

    public let location: KafkaLocation
    public let store: any ProjectionStore
    public let limits: Limits
    private let locks: any ProjectionLocks
    /// The projections this process may apply, in the order it tries them.
    private let candidates: [(name: String, make: () -> any Projection)]
    private let log: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)
    private let running = Mutex<[String: ProjectionRunner]>([:])

    // The group's thread's own.
    private var feed: EventLogFeed?
    /// Everything through this sequence has been offered to the running projections.
    private var offered: UInt64?

    public init(location: KafkaLocation, store: any ProjectionStore, locks: any ProjectionLocks,
                projections: [(name: String, make: () -> any Projection)], limits: Limits = .init(),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.location = location
        self.store = store
        self.locks = locks
        // Processes try them from different places, so that those started together take different ones.
        let start = projections.isEmpty ? 0 : Int(getpid()) % projections.count
        candidates = Array(projections[start...] + projections[..<start])
        self.limits = limits
        self.log = log
    }

    /// What this process applies now, and where each one is.
    public var statuses: [ProjectionRunner.Status] {
        running.withLock { $0.values.map(\.currentStatus) }.sorted { $0.name < $1.name }
    }

    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Runs on the calling thread until `stop`: claims, reads, hands on. Then lets every runner finish what
    /// it was given, and lets go of the locks.
    public func run() {
        var nextClaim: Int64 = 0
        while !stopping.load(ordering: .relaxed) {
            if monotonicNanos() >= nextClaim {
                nextClaim = monotonicNanos() + limits.claimEveryNanos
                letGoOfLost()
                claimOne()
            }
            guard !running.withLock({ $0.isEmpty }), let from = offered else {
                Thread.sleep(forTimeInterval: 0.05)
                continue
            }
            do {
                if feed == nil { feed = try EventLogFeed(location: location) }
                let runners = running.withLock { Array($0.values) }
                let last = try feed!.read(after: from, through: nil, chunk: limits.runner.entriesPerTransactionMax) { batch in
                    for runner in runners { runner.consumer.offer(batch) }
                }
                offered = last
                if last == from { Thread.sleep(forTimeInterval: 0.01) }
            } catch {
                log("reading \(location.prefix).events: \(error); reading again in a second")
                feed = nil
                Thread.sleep(forTimeInterval: 1)
            }
        }
        for runner in running.withLock({ Array($0.values) }) {
            runner.consumer.close()
            runner.waitUntilFinished()
        }
        locks.close()
    }

    /// Stops the runners of projections whose lock this process no longer holds: another may apply them now.
    private func letGoOfLost() {
        for (name, runner) in running.withLock({ $0 }) {
            let held = (try? locks.holds(name)) ?? false
            guard !held else { continue }
            log("projection \(name): this process no longer holds its lock; stopping it")
            runner.consumer.close()
            runner.waitUntilFinished()
            running.withLock { $0[name] = nil }
            locks.unlock(name)
        }
    }

    private func claimOne() {
        for (name, make) in candidates where running.withLock({ $0[name] == nil }) {
            do {
                guard try locks.tryLock(name) else { continue }
                let runner = ProjectionRunner(make(), store: store, feed: try EventLogFeed(location: location), limits: limits.runner, log: log)
                if let offered {
                    // It catches up to where this process has read on its own thread, from the topic, while
                    // the others are fed on: opened where its store says (reading nothing), cut off there.
                    try runner.open(through: 0)
                    let position = runner.currentStatus.position
                    runner.consumer.begin(after: offered)
                    if position < offered { runner.consumer.fallBehind(at: position + 1) }
                    log("projection \(name): applied by this process from sequence \(position); catching up to \(offered)")
                } else {
                    // The first: caught up to the topic's end here, which is where this process reads on from.
                    let applied = try runner.open()
                    let position = runner.currentStatus.position
                    offered = position
                    runner.consumer.begin(after: position)
                    log("projection \(name): applied by this process from sequence \(position - UInt64(applied)); caught up through \(position)")
                }
                runner.start()
                running.withLock { $0[name] = runner }
            } catch {
                log("projection \(name): could not be taken on: \(error)")
                locks.unlock(name)
            }
            return
        }
    }
}
