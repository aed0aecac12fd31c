import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation
import Testing

@Suite("journal notes")
struct NoteTests {
    @Test("a note is read back with its command, entries without one read as before, and replay is unaffected")
    func roundTrip() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stream = CommandStream(seed: 3)
        let engine = MatchingEngine()
        let writer = try JournalWriter(directory: directory, durability: .os, lastSequence: 0)
        var notes: [[UInt8]] = []
        var events: [Event] = []
        for (i, command) in (stream.opening() + (0..<300).map { _ in stream.next() }).enumerated() {
            events.removeAll()
            engine.process(command, into: &events)
            // Every third entry has a note, of lengths 1 to the maximum.
            let note: [UInt8] = i % 3 == 0 ? (0..<(1 + i * 7 % JournalFormat.noteBytesMax)).map { UInt8(truncatingIfNeeded: $0 &+ i) } : []
            writer.append(command, events, note: note)
            notes.append(note)
            if i % 10 == 9 { try writer.commit(through: command.sequence) }
        }
        try writer.commit(through: UInt64(notes.count))
        var read: [[UInt8]] = []
        _ = try JournalReader.read(directory) { (entry) throws(JournalError) in read.append(Array(entry.note)) }
        #expect(read == notes)
        let (recovered, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.lastSequence == UInt64(notes.count))
        #expect(recovered.stateHash() == engine.stateHash())
    }

    @Test("an entry cut inside its note is a torn tail")
    func cutInNote() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stream = CommandStream(seed: 4)
        let writer = try JournalWriter(directory: directory, durability: .os, lastSequence: 0)
        let engine = MatchingEngine()
        var events: [Event] = []
        let commands = stream.opening()
        for command in commands {
            events.removeAll()
            engine.process(command, into: &events)
            writer.append(command, events, note: Array("client-order-1".utf8))
        }
        try writer.commit(through: commands.last!.sequence)
        let segment = try JournalReader.segments(in: directory).last!.path
        let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
        truncateFile(segment, to: size - 3)
        let (_, report) = try Recovery.recover(directory: directory, repair: true)
        #expect(report.lastSequence == commands.last!.sequence - 1)
        #expect(report.tornTail != nil)
    }
}
