import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation
import Testing

@Suite("a business date's entries in segments of their own")
struct DatedSegmentsTests {
    @Test("""
    each rollover the engine accepts opens a segment, wherever it falls in a batch (first, in the middle, two in one); \
    a refused rollover does not; the dates are read back with their first sequences, and recovery reads every entry
    """)
    func rolloversOpenSegments() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stream = CommandStream(seed: 11)
        let engine = MatchingEngine()
        let writer = try JournalWriter(directory: directory, durability: .os, lastSequence: 0)
        var sequence: UInt64 = 0
        var opened: [(CivilDate, UInt64)] = []
        var events: [Event] = []
        func append(_ command: Command) {
            sequence += 1
            events.removeAll()
            engine.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command), into: &events)
            if case .businessDateRolled(let roll)? = events.first { opened.append((roll.to, sequence)) }
            writer.append(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command), events)
        }
        func orders(_ n: Int) { for _ in 0..<n { append(stream.next().command) } }
        func roll(_ from: String?, _ to: String) {
            append(.rollBusinessDate(BusinessDateRoll(from: from.map { CivilDate($0)! }, to: CivilDate(to)!, settlesOn: CivilDate(to)!)))
        }
        for command in stream.opening() { append(command.command) }
        orders(20)
        roll(nil, "2026-10-08")                                   // in the middle of a batch
        orders(15)
        try writer.commit(through: sequence)
        roll("2026-10-08", "2026-10-09")                          // first in its batch
        orders(5)
        roll("2026-10-01", "2026-10-13")                          // refused: 2026-10-01 is not the open date
        orders(5)
        try writer.commit(through: sequence)
        orders(3)
        roll("2026-10-09", "2026-10-12")                          // two in one batch
        orders(2)
        roll("2026-10-12", "2026-10-13")
        try writer.commit(through: sequence)

        let partitions = try JournalReader.businessDates(in: directory)
        #expect(partitions.map(\.date) == [nil] + opened.map(\.0))
        #expect(partitions.dropFirst().map(\.firstSequence) == opened.map(\.1))
        #expect(partitions.allSatisfy { $0.segments.count == 1 })
        var read: [UInt64] = []
        _ = try JournalReader.read(directory) { (entry) throws(JournalError) in read.append(entry.command.sequence) }
        #expect(read == Array(1...sequence))
        let (recovered, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.lastSequence == sequence && recovered.stateHash() == engine.stateHash())
    }
}
