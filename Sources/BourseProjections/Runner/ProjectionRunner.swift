import BourseCore
import BourseJournal
import BourseNode
import CoreMetrics
import Foundation
import Synchronization

/// Runs one projection on a thread of its own: the one consumer loop downstream of the sequencer.
///
/// At open it catches the projection up from the journal (from the position its store recorded; or from
/// another feed, such as the event topic on Kafka); then it follows the batches offered to its consumer (the
/// sequencer's, or a reader's of the topic), committing each in transactions of at most
/// `Limits.entriesPerTransactionMax` entries together with the last sequence applied. A batch too small to be
/// worth a transaction of its own waits up to `pauseNanos` for more, unless a read waits on the watermark.
/// When the sequencer cuts it off for falling behind, it reads what it missed from the journal and goes on.
/// When applying an entry throws, the transaction is rolled back, the projection stops at that entry with
/// its reason, and tries again from there (never past it) with a growing pause, or at once on `retry`.
public final class ProjectionRunner: @unchecked Sendable {
    public struct Limits: Sendable {
        /// Entries in one transaction at most: a rolled-back transaction and a catch-up's memory stay bounded.
        public var entriesPerTransactionMax = 4_096
        /// After a batch smaller than `pauseBelow`, the pause for more before the next transaction.
        public var pauseNanos: Int64 = 5_000_000
        public var pauseBelow = 1_024
        /// Entries the sequencer may publish ahead of the projection before cutting it off (it then catches up
        /// from the journal): the bound on its lag in memory.
        public var lagEntriesMax = 1 << 18
        /// The longest pause between attempts at an entry that failed.
        public var retryNanosMax: Int64 = 30_000_000_000

        public init() {}
    }

    /// Entries applied a second, measured over windows of at least a second.
    public struct ApplyRate: Sendable {
        var since = monotonicNanos()
        var appliedBefore = 0
        public private(set) var perSecond = 0

        mutating func update(applied: Int, now: Int64) {
            let elapsed = now - since
            guard elapsed >= 1_000_000_000 else { return }
            perSecond = Int(Int64(applied - appliedBefore) * 1_000_000_000 / elapsed)
            since = now
            appliedBefore = applied
        }
    }

    public enum State: String, Sendable {
        case opening, catchingUp = "catching_up", live, rebuilding, failed, finished
    }

    /// Where an entry could not be applied, and why.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var sequence: UInt64
        public var reason: String
        public var description: String { "stopped at sequence \(sequence): \(reason)" }

        public init(sequence: UInt64, reason: String) {
            self.sequence = sequence
            self.reason = reason
        }
    }

    public struct Status: Sendable {
        public var name: String
        public var store: String
        public var state: State
        /// The last sequence committed.
        public var position: UInt64
        /// The last sequence the sequencer published to it (its position, before the sequencer runs).
        public var head: UInt64
        public var failure: Failure?
        public var entriesApplied = 0
        public var transactions = 0
        public var applyRate = ApplyRate()
        public var lag: UInt64 { head > position ? head - position : 0 }
    }

    public let projection: any Projection
    public let store: any ProjectionStore
    public let feed: any EntryFeed
    public let limits: Limits
    public let consumer: EventConsumer
    public let watermark = Watermark()
    /// From an entry's time to the commit of the transaction that applied it, for entries applied live.
    private let lagLatency: CoreMetrics.Timer

    private let status: Mutex<Status>
    private let clock: @Sendable () -> Int64
    private let log: @Sendable (String) -> Void
    private let wake = DispatchSemaphore(value: 0)
    private let requests = Mutex<(rebuild: Bool, retry: Bool)>((false, false))
    private let finished = DispatchSemaphore(value: 0)
    private let observers = Mutex<[@Sendable (Status) -> Void]>([])

    // The runner thread's own.
    private var position: UInt64 = 0
    /// Entries up to this one have been told to whoever listens live: applied again, they are not new.
    private var delivered: UInt64 = 0

    public convenience init(_ projection: any Projection, store: any ProjectionStore, journal: String, limits: Limits = .init(),
                            clock: @escaping @Sendable () -> Int64 = wallClockNanos, log: @escaping @Sendable (String) -> Void = { _ in },
                            metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.init(projection, store: store, feed: JournalEntries(journal: journal), limits: limits, clock: clock, log: log, metrics: metrics)
    }

    public init(_ projection: any Projection, store: any ProjectionStore, feed: any EntryFeed, limits: Limits = .init(),
                clock: @escaping @Sendable () -> Int64 = wallClockNanos, log: @escaping @Sendable (String) -> Void = { _ in },
                metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.projection = projection
        lagLatency = CoreMetrics.Timer(label: "bourse_projection_\(projection.name)_lag_seconds", factory: metrics)
        self.store = store
        self.feed = feed
        self.limits = limits
        self.clock = clock
        self.log = log
        consumer = EventConsumer(name: projection.name, capacity: limits.lagEntriesMax)
        status = Mutex(Status(name: projection.name, store: store.location, state: .opening, position: 0, head: 0))
        watermark.onWait.withLock { $0 = { [wake] in wake.signal() } }
    }

    public var name: String { projection.name }

    /// `body` is told each change of state (live, failed, rebuilding, finished …), on the runner's thread.
    public func observe(_ body: @escaping @Sendable (Status) -> Void) {
        observers.withLock { $0.append(body) }
    }

    public var currentStatus: Status {
        var s = status.withLock { s in
            // Read, an idle projection's rate falls to zero rather than keeping its last busy second.
            s.applyRate.update(applied: s.entriesApplied, now: monotonicNanos())
            return s
        }
        s.head = max(s.position, consumer.lastOffered)
        return s
    }

    /// Opens the projection's tables and applies the feed's entries after its position through `through`
    /// (the end when nil), before the sequencer starts (and so before the consumer is fed). Returns how many
    /// it applied.
    @discardableResult
    public func open(through: UInt64? = nil) throws -> Int {
        position = try Positions.open(projection, in: store)
        status.withLock { $0.position = position }
        try projection.load(from: store)
        set(.catchingUp)
        let before = position
        // Everything in the journal at start has been told before, if ever it was to be: not new.
        delivered = .max
        let end = try catchUp(through: through)
        delivered = end
        watermark.advance(to: position)
        return Int(position - before)
    }

    /// After `open`, without starting: applies the journal's entries after the position through `through`,
    /// for a journal another writes (a standby's, kept by its follower). Returns how many it applied.
    @discardableResult
    public func follow(through: UInt64) throws -> Int {
        let before = position
        // Read from a journal, as at open: nothing is told (no one listens to a standby's projections).
        delivered = .max
        let end = try catchUp(through: through)
        delivered = end
        return Int(position - before)
    }

    public func start() {
        let thread = Thread { [self] in
            defer { set(.finished); finished.signal() }
            run()
        }
        thread.name = "bourse-projection-" + name
        thread.start()
    }

    /// Empties the projection's tables and applies the whole journal again, while the venue runs.
    public func rebuild() {
        requests.withLock { $0.rebuild = true }
        consumer.interrupt()
    }

    /// Tries a failed entry again now, rather than after the pause.
    public func retry() {
        requests.withLock { $0.retry = true }
        consumer.interrupt()
    }

    /// Waits until the thread has applied everything it was given and ended (the sequencer stopped).
    public func waitUntilFinished() {
        finished.wait()
        finished.signal()
    }

    // MARK: The loop

    private func run() {
        set(.live)
        while true {
            if requests.withLock({ r in defer { r.rebuild = false }; return r.rebuild }) {
                attempt { try rebuildNow() }
                continue
            }
            if status.withLock({ $0.failure }) != nil {
                guard waitBeforeRetry() else { return }
                attempt {
                    set(.catchingUp)
                    // Another process may have moved it (its position is a compare-and-set).
                    position = try Positions.recorded(name, in: store) ?? position
                    try projection.load(from: store)
                    try catchUp(through: consumer.resume())
                }
                continue
            }
            switch consumer.next() {
            case .events(let batch):
                let started = monotonicNanos()
                attempt {
                    var start = batch.startIndex
                    while start < batch.endIndex {
                        let end = min(start + limits.entriesPerTransactionMax, batch.endIndex)
                        try commit(batch[start..<end], live: true)
                        start = end
                    }
                }
                let rest = limits.pauseNanos - (monotonicNanos() - started)
                if batch.count < limits.pauseBelow, rest > 0, !watermark.hasWaiters, !projection.isPrompt {
                    _ = wake.wait(timeout: .now() + .nanoseconds(Int(rest)))
                }
            case .overrun(let sequence):
                log("projection \(name) is behind at sequence \(sequence); reading from \(feed.source)")
                attempt {
                    set(.catchingUp)
                    try catchUp(through: consumer.resume())
                }
            case .interrupted:
                continue
            case .closed:
                return
            }
        }
    }

    /// Runs `body`; a failure stops the projection at the entry it names.
    private func attempt(_ body: () throws -> Void) {
        do {
            try body()
            if status.withLock({ $0.state }) != .live { set(.live) }
        } catch let failure as Failure {
            stop(failure)
        } catch {
            stop(Failure(sequence: position + 1, reason: "\(error)"))
        }
    }

    private func stop(_ failure: Failure) {
        let now = status.withLock {
            $0.failure = failure
            $0.state = .failed
            return $0
        }
        watermark.stop()
        log("projection \(name) \(failure)")
        for observer in observers.withLock({ $0 }) { observer(now) }
    }

    /// Pauses before trying a failed entry again: longer each time, cut short by `retry` or `rebuild`.
    /// False once the sequencer has closed the consumer: the node is stopping.
    private var retryPauseNanos: Int64 = 100_000_000

    private func waitBeforeRetry() -> Bool {
        let deadline = monotonicNanos() + retryPauseNanos
        retryPauseNanos = min(retryPauseNanos * 2, limits.retryNanosMax)
        while monotonicNanos() < deadline {
            if consumer.isClosed { return false }
            if requests.withLock({ r in defer { r.retry = false }; return r.retry || r.rebuild }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        status.withLock { $0.failure = nil }
        return true
    }

    private func rebuildNow() throws {
        set(.rebuilding)
        log("projection \(name): rebuilding from the journal")
        try Positions.reset(projection, in: store)
        position = 0
        status.withLock { $0.position = 0 }
        watermark.advance(to: 0)
        try projection.load(from: store)
        try catchUp(through: consumer.resume())
        retryPauseNanos = 100_000_000
        log("projection \(name): rebuilt through sequence \(position)")
    }

    /// Applies the journal's entries after the position through `through` (the end when nil).
    @discardableResult
    private func catchUp(through: UInt64?) throws -> UInt64 {
        let last = try feed.read(after: position, through: through, chunk: limits.entriesPerTransactionMax) { entries in
            try commit(entries[...], live: false)
        }
        return max(last, position)
    }

    /// Applies `entries` (those after the position) and commits them with the last one's sequence. On a
    /// failure nothing of the transaction stays: the projection reloads its memory from its store and
    /// applies the entries one at a time up to the one that fails, which is then the failure's.
    private func commit(_ entries: ArraySlice<Published>, live: Bool) throws {
        guard let firstNew = entries.firstIndex(where: { $0.command.sequence > position }) else { return }
        let fresh = entries[firstNew...]
        precondition(fresh.first!.command.sequence == position + 1,
                     "projection \(name) at \(position) was handed sequence \(fresh.first!.command.sequence)")
        do {
            try transaction(fresh)
        } catch {
            try projection.load(from: store)
            for i in fresh.indices {
                do {
                    try transaction(fresh[i...i])
                } catch {
                    try? projection.load(from: store)
                    throw Failure(sequence: fresh[i].command.sequence, reason: "\(error)")
                }
            }
        }
        if live, let first = fresh.first { lagLatency.recordNanoseconds(clock() - first.command.time.nanos) }
    }

    private func transaction(_ entries: ArraySlice<Published>) throws {
        guard let last = entries.last?.command.sequence else { return }
        try store.write { writer in
            for entry in entries {
                let sequence = entry.command.sequence
                try projection.apply(entry, isNew: sequence > delivered, writer: writer)
                // Told once, even if the transaction is rolled back and the entry applied again.
                delivered = max(delivered, sequence)
            }
            try projection.flush(writer: writer)
            try Positions.record(name, last, after: position, writer)
        }
        position = last
        watermark.advance(to: last)
        status.withLock {
            $0.position = last
            $0.entriesApplied += entries.count
            $0.transactions += 1
            $0.applyRate.update(applied: $0.entriesApplied, now: monotonicNanos())
        }
    }

    private func set(_ state: State) {
        let now = status.withLock { s -> Status? in
            guard s.state != state else { return nil }
            s.state = state
            return s
        }
        if let now { for observer in observers.withLock({ $0 }) { observer(now) } }
    }
}
