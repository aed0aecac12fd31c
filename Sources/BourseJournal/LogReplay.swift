import BourseCore
import BourseEngine

/// Replays entries that come from elsewhere than the journal's files (the event topic on Kafka) through a
/// fresh engine, from the first entry, verifying every command's events byte for byte as recovery does.
/// Entries must come in sequence, from 1, with nothing missing and nothing twice.
public final class LogReplay {
    private let verifier: Verifier
    private let pipeline: ReplayPipeline
    private var chunk = ReplayChunk()
    private var next: UInt64 = 1
    private var finished = false

    public init(keepsAccounts: Bool, limits: MatchingEngine.Limits = .init()) {
        verifier = Verifier(engine: MatchingEngine(limits: limits, keepsAccounts: keepsAccounts), verifying: [:], report: RecoveryReport())
        pipeline = ReplayPipeline(verifier: verifier)
    }

    public func append(_ entry: JournalEntry) throws(JournalError) {
        precondition(!finished, "an entry appended to a finished replay")
        guard entry.command.sequence == next else {
            throw .replayMismatch(sequence: entry.command.sequence, detail: "expected sequence \(next)")
        }
        next += 1
        chunk.append(entry)
        if chunk.commands.count == ReplayChunk.commandsMax {
            if let failure = pipeline.send(chunk) {
                finished = true
                _ = pipeline.finish()
                throw failure
            }
            chunk = pipeline.recycled()
        }
    }

    /// Applies what is left and returns the engine and what replay found.
    public func finish() throws(JournalError) -> (MatchingEngine, RecoveryReport) {
        precondition(!finished, "a replay finished twice")
        finished = true
        if !chunk.commands.isEmpty, let failure = pipeline.send(chunk) {
            _ = pipeline.finish()
            throw failure
        }
        if let failure = pipeline.finish() { throw failure }
        var report = verifier.report
        report.lastSequence = next - 1
        return (verifier.engine, report)
    }
}
