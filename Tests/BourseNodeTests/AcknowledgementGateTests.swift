import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import BourseTestSupport
import Foundation
import Testing

/// Synchronous replication as the sequencer sees it: an acknowledgement waits for the journal commit and
/// then for the replicated log, is sent in sequence order, and after the gate closes never comes at all.
@Suite("the acknowledgement gate")
struct AcknowledgementGateTests {
    @Test("given a gate, when commands are durable but not replicated, then none is acknowledged; when the log holds some, exactly those are, in order; when the gate closes, the rest and every later one are refused")
    func holdsUntilReplicated() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (sequencer, _) = try SequencerTests().makeSequencer(directory)
        let gate = AcknowledgementGate()
        sequencer.acknowledge(through: gate)
        sequencer.start()
        defer { sequencer.stop() }
        let answers = Shared<[(UInt64?, String?)]>([])
        func submit(_ command: Command) throws {
            try sequencer.submit(command) { result in
                switch result {
                case .success(let ack): answers.withLock { $0.append((ack.command.sequence, nil)) }
                case .failure(let failure): answers.withLock { $0.append((nil, failure.reason)) }
                }
            }
        }
        for n in 1...10 { try submit(.listSymbol(try Symbol(validating: "S\(n)"), .standard)) }
        // Durable: a read runs after the batch that holds all ten.
        let durable = Shared<UInt64>(0)
        try sequencer.read { _ in durable.withLock { $0 = sequencer.lastSequence } }
        #expect(await eventually { durable.withLock { $0 } == 10 })
        #expect(answers.withLock { $0 }.isEmpty, "acknowledged before the log held them")

        gate.advance(to: 4)
        #expect(answers.withLock { $0 }.map(\.0) == [1, 2, 3, 4])
        gate.advance(to: 3)
        #expect(answers.withLock { $0 }.count == 4, "the log never goes back")

        gate.close("another node publishes the log now")
        #expect(answers.withLock { $0 }.count == 10)
        #expect(answers.withLock { $0 }.dropFirst(4).allSatisfy { $0.0 == nil && $0.1 == "another node publishes the log now" })
        try submit(.listSymbol(try Symbol(validating: "LATE"), .standard))
        #expect(await eventually { answers.withLock { $0 }.count == 11 })
        #expect(answers.withLock { $0 }.last?.1 == "another node publishes the log now")
        gate.advance(to: 100)
        #expect(answers.withLock { $0 }.count == 11, "a closed gate acknowledges nothing, whatever the log says")
    }
}
