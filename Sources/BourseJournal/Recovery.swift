#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BourseCore
import BourseEngine
import Dispatch
import Synchronization

/// What recovery found and did.
public struct RecoveryReport: Sendable {
    /// The snapshot recovery started from, if any.
    public var snapshot: Snapshots.Info?
    /// Newer snapshots that could not be used, with the reason.
    public var snapshotsSkipped: [String] = []
    /// Snapshots whose state hash replay reached and matched (replay from genesis only).
    public var snapshotsVerified: [UInt64] = []
    public var entriesReplayed = 0
    public var lastSequence: UInt64 = 0
    public var tornTail: TornTail?
    public var trades = 0
    /// FNV-1a over the encoded trade events replayed, in order.
    public var tradeChecksum: UInt64 = 0xcbf2_9ce4_8422_2325
}

public enum Recovery {
    /// Rebuilds the engine: the newest usable snapshot (unless `fromGenesis`), then every later
    /// journal entry re-applied, each one's events compared byte for byte with the journaled ones.
    /// With `repair`, a torn tail is cut off once all of that succeeded; otherwise it is only reported.
    /// Damage is never repaired here: it throws, naming file and offset, and nothing on disk changes. An engine started from the
    /// first entry keeps accounts if the journal's segments say its writer did; `keepsAccounts` decides
    /// only for a journal without segments. A snapshot whose engine is configured otherwise is skipped.
    public static func recover(
        directory: String, limits: MatchingEngine.Limits = .init(), keepsAccounts: Bool = false, repair: Bool,
        fromGenesis: Bool = false
    ) throws(JournalError) -> (MatchingEngine, RecoveryReport) {
        var report = RecoveryReport()
        let accounts = try JournalReader.keepsAccounts(in: directory) ?? keepsAccounts
        var engine = MatchingEngine(limits: limits, keepsAccounts: accounts)
        let snapshots: [Snapshots.Info]
        do { snapshots = try Snapshots.list(directory) } catch { throw .file(error) }
        if !fromGenesis {
            for info in snapshots {
                do throws(JournalError) {
                    let (loaded, checked) = try Snapshots.load(info.path, limits: limits)
                    guard loaded.keepsAccounts == accounts else {
                        report.snapshotsSkipped.append("\(info.path): its engine \(loaded.keepsAccounts ? "keeps" : "keeps no") accounts, the journal's \(accounts ? "does" : "does not")")
                        continue
                    }
                    engine = loaded
                    report.snapshot = checked
                    break
                } catch {
                    report.snapshotsSkipped.append("\(error)")
                }
            }
        }
        let start = report.snapshot?.sequence ?? 0
        var hashes: [UInt64: UInt64] = [:]
        for info in snapshots {
            if let hash = info.stateHash {
                hashes[info.sequence] = hash
            } else if fromGenesis, let problem = info.problem {
                // Replay from the first entry needs no snapshot, but one it cannot check is reported.
                report.snapshotsSkipped.append(problem)
            }
        }
        let verifier = Verifier(engine: engine, verifying: fromGenesis ? hashes : [:], report: report)
        let pipeline = ReplayPipeline(verifier: verifier)
        var chunk = ReplayChunk()
        var next = start + 1
        // Sequences where a chunk must end so a snapshot's hash can be checked, in order.
        var stops = fromGenesis ? hashes.keys.filter { $0 > start }.sorted()[...] : []
        let read: (lastSequence: UInt64, tornTail: TornTail?)
        do throws(JournalError) {
            read = try JournalReader.read(directory, after: start) { (entry) throws(JournalError) in
                let sequence = entry.command.sequence
                guard sequence == next else {
                    throw .replayMismatch(sequence: sequence, detail: "expected sequence \(next) after the snapshot at \(start)")
                }
                next += 1
                chunk.append(entry)
                // A snapshot's hash is checked at exactly its sequence, so a chunk ends there.
                let atSnapshot = stops.first == sequence
                if atSnapshot { stops.removeFirst() }
                if chunk.commands.count == ReplayChunk.commandsMax || atSnapshot {
                    if let failure = pipeline.send(chunk) { throw failure }
                    chunk = pipeline.recycled()
                }
            }
        } catch {
            _ = pipeline.finish()
            throw error
        }
        if !chunk.commands.isEmpty, let failure = pipeline.send(chunk) {
            _ = pipeline.finish()
            throw failure
        }
        if let failure = pipeline.finish() { throw failure }
        report = verifier.report
        report.tornTail = read.tornTail
        report.lastSequence = max(read.lastSequence, start)
        if let snapshot = report.snapshot, read.lastSequence != 0, read.lastSequence < snapshot.sequence {
            throw .replayMismatch(sequence: read.lastSequence, detail: "the journal ends before the snapshot at \(snapshot.sequence)")
        }
        // Only now, with every entry read and verified, may anything on disk change: a refused start leaves
        // the journal as it found it.
        if repair, let torn = read.tornTail { try JournalReader.cut(torn) }
        do {
            for path in try Snapshots.unfinished(directory) {
                report.snapshotsSkipped.append("\(path): unfinished, a crash while it was written" + (repair ? "; removed" : ""))
                if repair { try Files.remove(path) }
            }
        } catch {
            throw .file(error)
        }
        return (engine, report)
    }

    static func describeDifference(_ replayed: [Event], _ journaled: UnsafeRawBufferPointer) -> String {
        var r = ByteReader(journaled)
        var original: [Event] = []
        while r.remaining > 0, let event = try? r.readEvent() { original.append(event) }
        for i in 0..<max(original.count, replayed.count) {
            let a = i < original.count ? "\(original[i])" : "nothing"
            let b = i < replayed.count ? "\(replayed[i])" : "nothing"
            if a != b { return "event \(i): the journal has \(a), replay gives \(b)" }
        }
        return "the encodings differ though the events decode alike"
    }
}

/// Decoded journal entries on their way from the reading thread to the applying one.
struct ReplayChunk: Sendable {
    static let commandsMax = 4_096
    var commands: [SequencedCommand] = []
    /// The journaled events of every command, back to back; `ranges[i]` is command i's.
    var journaled: [UInt8] = []
    var ranges: [Range<Int>] = []

    init() {
        commands.reserveCapacity(Self.commandsMax)
        ranges.reserveCapacity(Self.commandsMax)
    }

    mutating func append(_ entry: JournalEntry) {
        commands.append(entry.command)
        let from = journaled.count
        journaled.append(contentsOf: entry.eventBytes)
        ranges.append(from..<journaled.count)
    }

    mutating func clear() {
        commands.removeAll(keepingCapacity: true)
        journaled.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
    }
}

/// Re-applies chunks of journaled commands (through the engine's batch entry point, which prefetches)
/// and checks that each command's events encode to exactly the journaled bytes.
final class Verifier {
    let engine: MatchingEngine
    /// State hashes to check when replay reaches their sequence.
    let verifying: [UInt64: UInt64]
    private(set) var report: RecoveryReport
    // A raw buffer with no reference counting: the per-command closure may use it directly.
    @exclusivity(unchecked) private var encoded = ByteWriter(capacity: 1 << 12)

    init(engine: MatchingEngine, verifying: [UInt64: UInt64], report: RecoveryReport) {
        self.engine = engine
        self.verifying = verifying
        self.report = report
    }

    func verify(_ chunk: ReplayChunk) -> JournalError? {
        guard let last = chunk.commands.last?.sequence else { return nil }
        // Work on locals: the closure below runs once per command, and touching class properties there
        // costs reference counting on every call.
        var report = self.report
        defer { self.report = report }
        var mismatch: JournalError?
        chunk.journaled.withUnsafeBytes { journaled in
            chunk.commands.withUnsafeBufferPointer { batch in
                engine.process(batch) { i, events in
                    guard mismatch == nil else { return }
                    encoded.removeAll()
                    for event in events {
                        let eventStart = encoded.count
                        encoded.write(event)
                        if case .trade = event {
                            report.trades += 1
                            report.tradeChecksum = encoded.withUnsafeBytes {
                                fnv1a(UnsafeRawBufferPointer(rebasing: $0[eventStart...]), seed: report.tradeChecksum)
                            }
                        }
                    }
                    let expected = UnsafeRawBufferPointer(rebasing: journaled[chunk.ranges[i]])
                    // A command may have no events (a timer with nothing due): nothing to compare then.
                    let same = expected.count == encoded.count && (expected.isEmpty || encoded.withUnsafeBytes {
                        memcmp($0.baseAddress!, expected.baseAddress!, expected.count) == 0
                    })
                    guard same else {
                        mismatch = .replayMismatch(sequence: batch[i].sequence,
                                                   detail: Recovery.describeDifference(Array(events), expected))
                        return
                    }
                    report.entriesReplayed += 1
                }
            }
        }
        if let mismatch { return mismatch }
        if let hash = verifying[last] {
            guard engine.stateHash() == hash else {
                return .replayMismatch(sequence: last, detail: "state hash differs from the snapshot taken at this sequence")
            }
            report.snapshotsVerified.append(last)
        }
        return nil
    }
}

/// Reading and decoding on the calling thread, applying and verifying on another: the two halves of
/// replay cost about the same, so on two cores they overlap. At most `inFlight` chunks are queued;
/// `send` waits while the applying side is behind.
final class ReplayPipeline: @unchecked Sendable {
    static let inFlight = 3
    private struct State {
        var queue: [ReplayChunk] = []
        var spare: [ReplayChunk] = []
        var failure: JournalError?
        var done = false
    }
    // The verifier (and its engine) belong to the applying side until `finish` returns.
    private let verifier: Verifier
    private let state = Mutex(State())
    private let slots = DispatchSemaphore(value: inFlight)
    private let ready = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(verifier: Verifier) {
        self.verifier = verifier
        DispatchQueue(label: "bourse-replay").async { [self] in run() }
    }

    /// Queues a chunk; returns the applying side's failure instead, once there is one.
    func send(_ chunk: ReplayChunk) -> JournalError? {
        slots.wait()
        let failed = state.withLock { state -> JournalError? in
            if state.failure == nil { state.queue.append(chunk) }
            return state.failure
        }
        if failed != nil {
            slots.signal()
            return failed
        }
        ready.signal()
        return nil
    }

    /// An empty chunk with storage from one already applied, when there is one.
    func recycled() -> ReplayChunk {
        state.withLock { $0.spare.popLast() } ?? ReplayChunk()
    }

    /// Waits until every queued chunk is applied; returns the first failure.
    func finish() -> JournalError? {
        state.withLock { $0.done = true }
        ready.signal()
        finished.wait()
        return state.withLock { $0.failure }
    }

    private func run() {
        while true {
            ready.wait()
            let (next, done, failed) = state.withLock { state -> (ReplayChunk?, Bool, Bool) in
                (state.queue.isEmpty ? nil : state.queue.removeFirst(), state.done, state.failure != nil)
            }
            guard var chunk = next else {
                if done { break }
                continue
            }
            if !failed, let error = verifier.verify(chunk) {
                state.withLock { $0.failure = error }
            }
            chunk.clear()
            state.withLock { $0.spare.append(chunk) }
            slots.signal()
        }
        finished.signal()
    }
}
