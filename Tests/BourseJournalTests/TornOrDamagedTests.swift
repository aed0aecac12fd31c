@testable import BourseJournal
import BourseCore
import BourseEngine
import BourseTestSupport
import Foundation
import Testing

/// A crash leaves a torn tail, which recovery cuts and reports; anything else is damage, which it refuses
/// and leaves on disk as it found it, for an operator and `bourse repair`.
@Suite("journal: torn or damaged")
struct TornOrDamagedTests {
    static func bytes(_ path: String) -> Data { (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data() }

    @Test("a flipped byte anywhere in the last, complete entry is damage: recovery refuses, names file and offset, and cuts nothing")
    func damagedLastEntry() throws {
        let fixture = try JournalFixture(seed: 61, count: 300)
        defer { fixture.remove() }
        let start = fixture.entryEnds[fixture.entryEnds.count - 2].offset
        let end = fixture.entryEnds.last!.offset
        for position in [start, start + 3, start + 8, start + 12, (start + end) / 2, end - 1] {
            let directory = try fixture.copy()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let file = directory + "/" + (fixture.lastSegment as NSString).lastPathComponent
            flipByte(file, at: position)
            let before = Self.bytes(file)
            #expect(throws: JournalError.damaged(file: file, offset: start, reason: "entry header or payload checksum mismatch"),
                    "flipped at \(position)") {
                _ = try Recovery.recover(directory: directory, repair: true)
            }
            #expect(Self.bytes(file) == before, "flipped at \(position)")
        }
    }

    @Test("a refused start changes nothing on disk, not even the torn tail of the last segment")
    func refusedStartChangesNothing() throws {
        let fixture = try JournalFixture(seed: 67, count: 2_000, segmentBytesMax: 16 << 10)
        defer { fixture.remove() }
        let directory = try fixture.copy()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let segments = try JournalReader.segments(in: directory)
        #expect(segments.count > 2)
        let last = segments.last!.path
        truncateFile(last, to: fileSize(last) - 5)
        // Damage in the first segment, which replay reaches before the torn tail.
        let first = segments[0].path
        flipByte(first, at: 20 + 12 + 2)
        let before = segments.map { Self.bytes($0.path) }
        #expect(throws: JournalError.self) { _ = try Recovery.recover(directory: directory, repair: true) }
        #expect(segments.map { Self.bytes($0.path) } == before)
    }

    @Test("zeros where the file grew, after the last whole entry, are a torn tail")
    func zeroFilledTail() throws {
        let fixture = try JournalFixture(seed: 71, count: 200)
        defer { fixture.remove() }
        let directory = try fixture.copy()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/" + (fixture.lastSegment as NSString).lastPathComponent
        let size = fileSize(file)
        let handle = FileHandle(forWritingAtPath: file)!
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 4_096))
        try handle.close()
        let (_, report) = try Recovery.recover(directory: directory, repair: true)
        #expect(report.lastSequence == 200 && report.tornTail == TornTail(file: file, offset: size, bytesDropped: 4_096))
        #expect(fileSize(file) == size)
    }

    @Test("a last segment cut anywhere in its header, or holding only its header, is removed and reported; the writer then continues")
    func segmentWithoutEntries() throws {
        let fixture = try JournalFixture(seed: 73, count: 100)
        defer { fixture.remove() }
        let header = JournalFormat.segmentHeader(firstSequence: 101, keepsAccounts: false)
        for length in 0...header.count {
            let directory = try fixture.copy()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let file = directory + "/" + JournalFormat.segmentName(101)
            _ = FileManager.default.createFile(atPath: file, contents: Data(header[..<length]))
            var (engine, report) = try Recovery.recover(directory: directory, repair: true)
            #expect(report.lastSequence == 100 && report.tornTail == TornTail(file: file, offset: 0, bytesDropped: length, holdsNoEntry: true),
                    "\(length) bytes")
            #expect(!FileManager.default.fileExists(atPath: file), "\(length) bytes")
            // The crash's restart: the next commit creates the segment of that name afresh.
            let writer = try JournalWriter(directory: directory, durability: .fsync, lastSequence: 100)
            var stream = CommandStream(seed: 79)
            var command = stream.next()
            command.sequence = 101
            writer.append(command, engine.process(command))
            try writer.commit(through: 101)
            (engine, report) = try Recovery.recover(directory: directory, repair: false)
            #expect(report.lastSequence == 101 && report.tornTail == nil, "\(length) bytes")
        }
    }

    @Test("a snapshot a crash left unfinished is reported and removed")
    func unfinishedSnapshot() throws {
        let fixture = try JournalFixture(seed: 83, count: 100)
        defer { fixture.remove() }
        let directory = try fixture.copy()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let partial = directory + "/" + Snapshots.name(100) + ".tmp"
        _ = FileManager.default.createFile(atPath: partial, contents: Data("BRSS".utf8))
        let (_, looked) = try Recovery.recover(directory: directory, repair: false)
        #expect(looked.snapshotsSkipped == ["\(partial): unfinished, a crash while it was written"])
        #expect(FileManager.default.fileExists(atPath: partial))
        let (_, repaired) = try Recovery.recover(directory: directory, repair: true)
        #expect(repaired.snapshotsSkipped == ["\(partial): unfinished, a crash while it was written; removed"])
        #expect(!FileManager.default.fileExists(atPath: partial))
    }

    @Test("repair names the damage and changes nothing until asked; asked, it cuts there and keeps what it cut")
    func repairOnRequest() throws {
        let fixture = try JournalFixture(seed: 89, count: 2_000, segmentBytesMax: 16 << 10)
        defer { fixture.remove() }
        let directory = try fixture.copy()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let entry = 700
        let start = fixture.entryEnds[entry - 1].offset
        let file = directory + "/" + (fixture.entryEnds[entry].segment as NSString).lastPathComponent
        flipByte(file, at: start + 14)
        _ = try Snapshots.write(MatchingEngine(), sequence: 1_500, directory: directory)
        let segments = try JournalReader.segments(in: directory).map(\.path)
        let later = Array(segments.drop { $0 != file }.dropFirst())
        #expect(!later.isEmpty)

        let plan = try JournalRepair.plan(directory)
        #expect(plan.damage == .damaged(file: file, offset: start, reason: "entry header or payload checksum mismatch"))
        #expect(plan.lastSequence == UInt64(entry) && plan.cutFile == file && plan.cutOffset == start)
        #expect(plan.setAside == later + [directory + "/" + Snapshots.name(1_500)])
        let size = fileSize(file)
        #expect(plan.cutBytes == size - start)
        let cut = Array(Self.bytes(file)[start...])

        try JournalRepair.apply(plan, directory: directory)
        #expect(fileSize(file) == start && Array(Self.bytes(file + ".cut-\(start)")) == cut)
        for path in plan.setAside { #expect(FileManager.default.fileExists(atPath: path + ".removed") && !FileManager.default.fileExists(atPath: path)) }
        let (engine, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.lastSequence == UInt64(entry) && engine.stateHash() == fixture.hashes[entry])
        #expect(try JournalRepair.plan(directory).damage == nil)
    }
}
