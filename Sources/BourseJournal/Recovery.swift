import BourseCore
import BourseEngine

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
    /// With `repair`, a torn tail is truncated; otherwise it is only reported.
    public static func recover(
        directory: String, limits: MatchingEngine.Limits = .init(), repair: Bool, fromGenesis: Bool = false
    ) throws(JournalError) -> (MatchingEngine, RecoveryReport) {
        var report = RecoveryReport()
        var engine = MatchingEngine(limits: limits)
        let snapshots: [Snapshots.Info]
        do { snapshots = try Snapshots.list(directory) } catch { throw .file(error) }
        if !fromGenesis {
            for info in snapshots {
                do throws(JournalError) {
                    let (loaded, checked) = try Snapshots.load(info.path, limits: limits)
                    engine = loaded
                    report.snapshot = checked
                    break
                } catch {
                    report.snapshotsSkipped.append("\(error)")
                }
            }
        }
        let start = report.snapshot?.sequence ?? 0
        let hashes = Dictionary(snapshots.map { ($0.sequence, $0.stateHash) }, uniquingKeysWith: { a, _ in a })
        var events: [Event] = []
        var encoded = ByteWriter(capacity: 1 << 12)
        var trade = ByteWriter(capacity: 128)
        var next = start + 1
        let (last, torn) = try JournalReader.read(directory, after: start, repair: repair) { (entry) throws(JournalError) in
            let sequence = entry.command.sequence
            guard sequence == next else {
                throw .replayMismatch(sequence: sequence, detail: "expected sequence \(next) after the snapshot at \(start)")
            }
            next += 1
            events.removeAll(keepingCapacity: true)
            engine.process(entry.command, into: &events)
            encoded.bytes.removeAll(keepingCapacity: true)
            for event in events {
                encoded.write(event)
                if case .trade = event {
                    trade.bytes.removeAll(keepingCapacity: true)
                    trade.write(event)
                    report.trades += 1
                    report.tradeChecksum = fnv1a(trade.bytes, seed: report.tradeChecksum)
                }
            }
            let same = encoded.bytes.withUnsafeBytes { $0.elementsEqual(entry.eventBytes) }
            guard same else { throw .replayMismatch(sequence: sequence, detail: describeDifference(events, entry.eventBytes)) }
            report.entriesReplayed += 1
            if fromGenesis, let hash = hashes[sequence], hash != 0 {
                guard engine.stateHash() == hash else {
                    throw .replayMismatch(sequence: sequence, detail: "state hash differs from the snapshot taken at this sequence")
                }
                report.snapshotsVerified.append(sequence)
            }
        }
        report.tornTail = torn
        report.lastSequence = max(last, start)
        if let snapshot = report.snapshot, last != 0, last < snapshot.sequence {
            throw .replayMismatch(sequence: last, detail: "the journal ends before the snapshot at \(snapshot.sequence)")
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
