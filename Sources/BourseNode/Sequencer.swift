import BourseCore
import BourseEngine
import BourseJournal
import CoreMetrics
import Foundation

/// The single writer. Producers submit commands into a bounded queue; one thread drains batches,
/// stamps each command with a sequence number and time, applies it to the engine, appends it with
/// its events to the journal, makes the batch durable with one commit, and only then acknowledges
/// and hands the events to consumers.
public final class Sequencer: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var queueCapacity: Int
        public var batchMax: Int
        /// Write a snapshot after the batch that passes this many commands since the last one.
        /// It is written on the sequencer thread, which pauses meanwhile.
        public var snapshotEvery: UInt64?
        /// Where snapshots go; with a directory, one is also written when the sequencer stops.
        public var snapshotDirectory: String?
        /// Reads of the engine's state waiting for the sequencer thread.
        public var readCapacity = 4_096
        /// The calls that write snapshots (tests make them fail).
        public var fileSystem: any FileSystem = SystemFileSystem()
        public init(queueCapacity: Int = 1 << 16, batchMax: Int = 8_192,
                    snapshotEvery: UInt64? = nil, snapshotDirectory: String? = nil) {
            precondition(queueCapacity > 0 && batchMax > 0)
            precondition(snapshotEvery == nil || snapshotDirectory != nil, "snapshots need a directory")
            self.queueCapacity = queueCapacity
            self.batchMax = batchMax
            self.snapshotEvery = snapshotEvery
            self.snapshotDirectory = snapshotDirectory
        }
    }

    public enum SubmitError: Error, Equatable, CustomStringConvertible {
        /// The input queue is full: back off and retry, or tell the client.
        case overloaded
        /// The sequencer is stopping or stopped after a journal failure.
        case stopped
        public var description: String {
            switch self {
            case .overloaded: "overloaded: the sequencer's input queue is full"
            case .stopped: "stopped: the sequencer no longer accepts commands"
            }
        }
    }

    /// What a producer is told once its command is durable.
    public struct Acknowledgement: Sendable {
        public var command: SequencedCommand
        public var events: [Event]
    }

    public typealias Completion = @Sendable (Result<Acknowledgement, SequencerFailure>) -> Void

    public struct SequencerFailure: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// What travels beside a queued command: its note and whom to tell.
    private struct Pending {
        var note: [UInt8]
        var completion: Completion?
    }

    public let configuration: Configuration
    /// Time to apply a batch to the engine and encode its journal entries.
    private let applyLatency: CoreMetrics.Timer
    /// Time to write a batch to the journal and make it durable.
    private let commitLatency: CoreMetrics.Timer
    /// Commands per batch.
    private let batchSizes: Recorder
    private let engine: MatchingEngine
    private let journal: JournalWriter
    private let clock: @Sendable () -> Int64
    private let condition = NSCondition()
    /// Queued commands, stamped with their sequence and time in place when taken (a command is never
    /// copied on the way to the engine), and what travels beside each, index for index.
    private var queue: [SequencedCommand] = []
    private var pending: [Pending] = []
    private var reads: [Read] = []
    private var readsTaken: [Read] = []
    private var stopping = false
    private var failure: SequencerFailure?
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    private var consumers: [EventConsumer] = []
    private var onDurable: (@Sendable (UInt64) -> Void)?
    private var onFailure: (@Sendable (SequencerFailure) -> Void)?
    private var gate: AcknowledgementGate?

    // Owned by the sequencer thread.
    private var sequence: UInt64
    private var lastTime: Int64 = 0
    private var lastSnapshot: UInt64
    /// Why the last snapshot failed, if it did. The journal still holds everything; only recovery
    /// gets slower. Surfaced so an operator sees it.
    public private(set) var snapshotFailure: String?
    private var taken: [SequencedCommand] = []
    private var takenPending: [Pending] = []

    /// Takes ownership of `engine` and `journal`: nothing else may touch them afterwards.
    public init(engine: MatchingEngine, journal: JournalWriter, lastSequence: UInt64,
                configuration: Configuration = .init(), clock: @escaping @Sendable () -> Int64 = wallClockNanos,
                metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        precondition(engine.keepsAccounts == journal.keepsAccounts, "the journal must record how its engine is configured")
        applyLatency = CoreMetrics.Timer(label: "bourse_engine_batch_seconds", factory: metrics)
        commitLatency = CoreMetrics.Timer(label: "bourse_journal_commit_seconds", factory: metrics)
        batchSizes = Recorder(label: "bourse_sequencer_batch_commands", factory: metrics)
        self.engine = engine
        self.journal = journal
        self.sequence = lastSequence
        self.lastSnapshot = lastSequence
        // Continue from the engine's own time, so that time never goes backwards across a restart.
        self.lastTime = engine.lastCommandTime.nanos
        self.configuration = configuration
        self.clock = clock
        queue.reserveCapacity(configuration.queueCapacity)
        taken.reserveCapacity(configuration.queueCapacity)
        pending.reserveCapacity(configuration.queueCapacity)
        takenPending.reserveCapacity(configuration.queueCapacity)
    }

    /// Registers a consumer before `start`. Each gets every batch through its own bounded queue.
    public func add(_ consumer: EventConsumer) {
        precondition(thread == nil, "consumers are added before start")
        consumer.begin(after: sequence)
        consumers.append(consumer)
    }

    /// Acknowledgements wait at `gate` for replication, after the journal commit (synchronous replication).
    public func acknowledge(through gate: AcknowledgementGate) {
        precondition(thread == nil)
        self.gate = gate
    }

    /// Called on the sequencer thread with the last durable sequence after each batch.
    public func onDurable(_ body: @escaping @Sendable (UInt64) -> Void) {
        precondition(thread == nil)
        onDurable = body
    }

    /// Called once when a journal failure stops the sequencer (at once, if it already has). A node that
    /// cannot clear the failure itself exits here, naming it, so that a supervisor restarts it and recovery
    /// takes it back to what is durable.
    public func onFailure(_ body: @escaping @Sendable (SequencerFailure) -> Void) {
        condition.lock()
        guard let failure else {
            onFailure = body
            condition.unlock()
            return
        }
        condition.unlock()
        body(failure)
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "bourse-sequencer"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Queues a command; fails fast when the queue is full. Never blocks. The `note` (at most
    /// `JournalFormat.noteBytesMax` bytes) is journaled with the command and published with its events.
    public func submit(_ command: Command, note: [UInt8] = [], completion: Completion? = nil) throws(SubmitError) {
        precondition(note.count <= JournalFormat.noteBytesMax, "a note of \(note.count) bytes")
        // Stamped with its sequence and time when the sequencer takes it; made here, outside the lock.
        let unstamped = SequencedCommand(sequence: 0, time: Timestamp(nanos: 0), command: command)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, failure == nil else { throw .stopped }
        guard queue.count < configuration.queueCapacity, gate?.isFull != true else { throw .overloaded }
        queue.append(unstamped)
        pending.append(Pending(note: note, completion: completion))
        if queue.count == 1 { condition.signal() }
    }

    /// A read of the engine's state; given nil when the sequencer stopped or failed before it could run.
    public typealias Read = @Sendable (MatchingEngine?) -> Void

    /// Queues a read of the engine's state, run on the sequencer thread between batches, when everything
    /// applied so far is durable: a read never sees what a crash could take back. Fails fast when too
    /// many reads wait. The closure must not keep the engine beyond the call.
    public func read(_ body: @escaping Read) throws(SubmitError) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, failure == nil else { throw .stopped }
        guard reads.count < configuration.readCapacity else { throw .overloaded }
        reads.append(body)
        if reads.count == 1 { condition.signal() }
    }

    /// Stops accepting, processes what is queued, and waits for the thread to finish. Returns the
    /// failure that stopped it early, if any. Stopping again returns at once.
    @discardableResult
    public func stop() -> SequencerFailure? {
        condition.lock()
        stopping = true
        condition.signal()
        let neverStarted = thread == nil
        let abandoned = neverStarted ? pending : []
        let unread = neverStarted ? reads : []
        if neverStarted {
            queue.removeAll()
            pending.removeAll()
            reads.removeAll()
        }
        condition.unlock()
        if neverStarted {
            // Nothing will ever apply these: their submitters are told so rather than left waiting.
            let failure = SequencerFailure(reason: "stopped before it was started; the command was not applied")
            for pending in abandoned { pending.completion?(.failure(failure)) }
            for read in unread { read(nil) }
        } else {
            // Signalled again at once, so that a second stop (or a concurrent one) returns too.
            finished.wait()
            finished.signal()
        }
        for consumer in consumers { consumer.close() }
        return failure
    }

    /// Why the sequencer no longer takes commands, if it does not: stopping, or the journal failure that
    /// stopped it.
    public var unavailableReason: String? {
        condition.lock()
        defer { condition.unlock() }
        if let failure { return failure.reason }
        return stopping ? "stopping" : nil
    }

    /// Commands waiting for the sequencer thread.
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// The sequence of the last command applied; read after `stop` to snapshot.
    public var lastSequence: UInt64 { sequence }

    /// The engine, for snapshotting once the sequencer has stopped.
    public var stoppedEngine: MatchingEngine {
        precondition(stopping, "the engine belongs to the running sequencer")
        return engine
    }

    private func run() {
        var acks: [(SequencedCommand, [Event], Completion?)] = []
        var published: [Published] = []
        while true {
            condition.lock()
            while queue.isEmpty && reads.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && reads.isEmpty && stopping {
                condition.unlock()
                break
            }
            swap(&reads, &readsTaken)
            if queue.isEmpty {
                condition.unlock()
                runReads()
                continue
            }
            if queue.count <= configuration.batchMax {
                swap(&queue, &taken)
                swap(&pending, &takenPending)
            } else {
                taken.append(contentsOf: queue[0..<configuration.batchMax])
                queue.removeFirst(configuration.batchMax)
                takenPending.append(contentsOf: pending[0..<configuration.batchMax])
                pending.removeFirst(configuration.batchMax)
            }
            condition.unlock()

            // Time never goes backwards, whatever the wall clock does.
            lastTime = max(lastTime, clock())
            let time = Timestamp(nanos: lastTime)
            for i in taken.indices {
                sequence += 1
                (taken[i].sequence, taken[i].time) = (sequence, time)
            }
            let publishing = !consumers.isEmpty
            let applying = monotonicNanos()
            batchSizes.record(taken.count)
            taken.withUnsafeBufferPointer { commands in
                takenPending.withUnsafeBufferPointer { extras in
                    engine.process(commands) { i, events in
                        // Read in place: a copy of a command would cost each command a copy of its payload.
                        let command = commands.baseAddress.unsafelyUnwrapped + i
                        journal.append(at: command, events, note: extras[i].note)
                        guard extras[i].completion != nil || publishing else { return }
                        // One array of the events for the acknowledgement and the consumers alike.
                        let kept = Array(events)
                        if let completion = extras[i].completion { acks.append((command.pointee, kept, completion)) }
                        if publishing { published.append(Published(command: command.pointee, events: kept, note: extras[i].note)) }
                    }
                }
            }
            taken.removeAll(keepingCapacity: true)
            takenPending.removeAll(keepingCapacity: true)
            let committing = monotonicNanos()
            applyLatency.recordNanoseconds(committing - applying)
            do {
                try journal.commit(through: sequence)
                commitLatency.recordNanoseconds(monotonicNanos() - committing)
            } catch {
                fail("journal commit failed: \(error)", acks: acks)
                break
            }
            if let gate {
                gate.hold(acks)
            } else {
                for (command, events, completion) in acks { completion?(.success(Acknowledgement(command: command, events: events))) }
            }
            acks.removeAll(keepingCapacity: true)
            if !published.isEmpty {
                for consumer in consumers { consumer.offer(published) }
                published.removeAll(keepingCapacity: true)
            }
            onDurable?(sequence)
            runReads()
            if let every = configuration.snapshotEvery, sequence - lastSnapshot >= every { snapshot() }
        }
        // A clean stop leaves a snapshot of the final state, so the next start replays nothing.
        if failure == nil, configuration.snapshotDirectory != nil, sequence > lastSnapshot { snapshot() }
        finished.signal()
    }

    /// Runs the reads taken with the last batch, after it is durable.
    private func runReads() {
        for read in readsTaken { read(engine) }
        readsTaken.removeAll(keepingCapacity: true)
    }

    /// Snapshots are an optimisation of recovery, so a failure to write one is recorded for the
    /// operator, not fatal: the journal still holds everything.
    private func snapshot() {
        do {
            try Snapshots.write(engine, sequence: sequence, directory: configuration.snapshotDirectory!, fileSystem: configuration.fileSystem)
            snapshotFailure = nil
        } catch {
            snapshotFailure = "snapshot at \(sequence) failed: \(error)"
        }
        lastSnapshot = sequence
    }

    /// A journal failure stops the node: commands applied but not durable must not be acknowledged.
    private func fail(_ reason: String, acks: [(SequencedCommand, [Event], Completion?)]) {
        let failure = SequencerFailure(reason: reason)
        condition.lock()
        self.failure = failure
        let abandoned = pending
        queue.removeAll()
        pending.removeAll()
        let unread = reads + readsTaken
        reads.removeAll()
        readsTaken.removeAll()
        let told = onFailure
        onFailure = nil
        condition.unlock()
        for (_, _, completion) in acks { completion?(.failure(failure)) }
        for pending in abandoned { pending.completion?(.failure(failure)) }
        // The engine now holds state that is not durable: no read may see it.
        for read in unread { read(nil) }
        told?(failure)
    }
}
