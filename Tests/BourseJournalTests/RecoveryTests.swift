import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation
import Testing

@Suite("journal recovery")
struct RecoveryTests {
    @Test("replaying a long journal rebuilds exactly the state that wrote it, event for event")
    func rebuilds() throws {
        let fixture = try JournalFixture(seed: 7, count: 60_000)
        defer { fixture.remove() }
        let (engine, report) = try Recovery.recover(directory: fixture.directory, repair: false)
        #expect(report.entriesReplayed == 60_000)
        #expect(report.lastSequence == 60_000)
        #expect(report.tornTail == nil)
        #expect(engine.stateHash() == fixture.hashes.last!)
    }

    @Test("cutting the last entry at every byte offset recovers the state before it and reports the torn tail")
    func tornTailAtEveryOffset() throws {
        let fixture = try JournalFixture(seed: 11, count: 400)
        defer { fixture.remove() }
        let segment = fixture.lastSegment
        let lastStart = fixture.entryEnds[fixture.entryEnds.count - 2].offset
        let lastEnd = fixture.entryEnds.last!.offset
        #expect(lastEnd == fileSize(segment))
        for cut in lastStart..<lastEnd {
            let directory = try fixture.copy()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let name = (segment as NSString).lastPathComponent
            truncateFile(directory + "/" + name, to: cut)
            let (engine, report) = try Recovery.recover(directory: directory, repair: true)
            #expect(report.lastSequence == 399, "cut at \(cut)")
            #expect(engine.stateHash() == fixture.hashes[399], "cut at \(cut)")
            if cut == lastStart {
                #expect(report.tornTail == nil)
            } else {
                #expect(report.tornTail == TornTail(file: directory + "/" + name, offset: lastStart, bytesDropped: cut - lastStart))
            }
            // Repaired: the file now ends at the last whole entry and reads clean.
            #expect(fileSize(directory + "/" + name) == lastStart)
            let (_, again) = try Recovery.recover(directory: directory, repair: false)
            #expect(again.tornTail == nil && again.lastSequence == 399)
        }
    }

    @Test("a flipped byte before the tail is an error naming the file and the entry's offset")
    func damageInTheMiddle() throws {
        let fixture = try JournalFixture(seed: 13, count: 500)
        defer { fixture.remove() }
        for entry in [10, 100, 250, 498] {
            let start = fixture.entryEnds[entry - 1].offset
            let end = fixture.entryEnds[entry].offset
            for position in [start, start + 3, start + 9, start + 12, (start + end) / 2, end - 1] {
                let directory = try fixture.copy()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let file = directory + "/" + (fixture.entryEnds[entry].segment as NSString).lastPathComponent
                flipByte(file, at: position)
                #expect(throws: JournalError.damaged(file: file, offset: start, reason: "entry header or payload checksum mismatch")) {
                    _ = try Recovery.recover(directory: directory, repair: true)
                }
                // Nothing was truncated: damage in the middle is for an operator, not for repair.
                #expect(fileSize(file) == fixture.entryEnds.last!.offset)
            }
        }
    }

    @Test("a damaged segment header is an error, not a torn tail")
    func damagedHeader() throws {
        let fixture = try JournalFixture(seed: 17, count: 50)
        defer { fixture.remove() }
        let directory = try fixture.copy()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/" + (fixture.lastSegment as NSString).lastPathComponent
        flipByte(file, at: 10)
        #expect(throws: JournalError.badSegmentHeader(file: file, reason: "header checksum mismatch")) {
            _ = try Recovery.recover(directory: directory, repair: true)
        }
    }

    @Test("a segment of the codec version before, which only lacked cases, is read; one older is refused naming both versions")
    func codecVersions() throws {
        let fixture = try JournalFixture(seed: 23, count: 50)
        defer { fixture.remove() }
        let unchanged = try fixture.copy()
        defer { try? FileManager.default.removeItem(atPath: unchanged) }
        let whole = try Recovery.recover(directory: unchanged, repair: false).0.stateHash()
        for version in [Codec.oldestReadable, Codec.oldestReadable - 1] {
            let directory = try fixture.copy()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let file = directory + "/" + (fixture.lastSegment as NSString).lastPathComponent
            // The version in the header, and the header's checksum over it, as that version's writer made them.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[4] = UInt8(version & 0xFF)
            bytes[5] = UInt8(version >> 8)
            let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
            for i in 0..<4 { bytes[16 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            if version == Codec.oldestReadable {
                #expect(try Recovery.recover(directory: directory, repair: false).0.stateHash() == whole)
            } else {
                #expect(throws: JournalError.badSegmentHeader(
                    file: file, reason: "codec version \(version), this build reads \(Codec.oldestReadable) to \(Codec.version)")) {
                    _ = try Recovery.recover(directory: directory, repair: false)
                }
            }
        }
    }

    @Test("journaled events that replay differently stop recovery at that sequence, saying what differs")
    func replayMismatch() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stream = CommandStream(seed: 19)
        let engine = MatchingEngine()
        let writer = try JournalWriter(directory: directory, durability: .os, lastSequence: 0)
        var commands = stream.opening()
        for _ in 0..<200 { commands.append(stream.next()) }
        var tampered: UInt64 = 0
        for command in commands {
            var events = engine.process(command)
            // Drop the last event of the first trade-producing command, as a nondeterministic engine might.
            if tampered == 0, events.contains(where: { if case .trade = $0 { true } else { false } }) {
                tampered = command.sequence
                events.removeLast()
            }
            writer.append(command, events)
            try writer.commit(through: command.sequence)
        }
        #expect(tampered != 0)
        let error = #expect(throws: JournalError.self) { _ = try Recovery.recover(directory: directory, repair: false) }
        guard case .replayMismatch(let sequence, let detail)? = error else {
            Issue.record("expected a replay mismatch, got \(String(describing: error))")
            return
        }
        #expect(sequence == tampered)
        #expect(detail.contains("the journal has nothing, replay gives"))
    }

    @Test("segments rotate at their size limit and recovery reads across them; a missing segment is a gap")
    func rotation() throws {
        let fixture = try JournalFixture(seed: 23, count: 2_000, segmentBytesMax: 16 << 10)
        defer { fixture.remove() }
        let segments = try JournalReader.segments(in: fixture.directory)
        #expect(segments.count > 5)
        let (engine, report) = try Recovery.recover(directory: fixture.directory, repair: false)
        #expect(report.lastSequence == 2_000 && engine.stateHash() == fixture.hashes.last!)

        try FileManager.default.removeItem(atPath: segments[2].path)
        #expect(throws: JournalError.sequenceGap(file: segments[3].path, offset: 0, expected: segments[2].firstSequence,
                                                 found: segments[3].firstSequence)) {
            _ = try Recovery.recover(directory: fixture.directory, repair: false)
        }
    }

    @Test("replay from the first entry verifies every snapshot's state hash; recovery from a snapshot agrees")
    func snapshotsAgreeWithReplay() throws {
        let fixture = try JournalFixture(seed: 29, count: 6_000)
        defer { fixture.remove() }
        // Snapshots at 2,000 and 4,000, of an engine rebuilt by applying the commands directly.
        let marks: [UInt64] = [2_000, 4_000]
        for mark in marks {
            let rebuilt = MatchingEngine()
            for command in fixture.commands.prefix(Int(mark)) { _ = rebuilt.process(command) }
            #expect(rebuilt.stateHash() == fixture.hashes[Int(mark)])
            try Snapshots.write(rebuilt, sequence: mark, directory: fixture.directory)
        }
        let (fromGenesis, genesisReport) = try Recovery.recover(directory: fixture.directory, repair: false, fromGenesis: true)
        #expect(genesisReport.snapshotsVerified == marks)
        let (fromSnapshot, snapshotReport) = try Recovery.recover(directory: fixture.directory, repair: false)
        #expect(snapshotReport.snapshot?.sequence == marks.last)
        #expect(snapshotReport.entriesReplayed == 6_000 - Int(marks.last!))
        #expect(fromGenesis.stateHash() == fixture.hashes.last!)
        #expect(fromSnapshot.stateHash() == fixture.hashes.last!)
    }

    @Test("a damaged newest snapshot is skipped with its reason and recovery falls back")
    func damagedSnapshot() throws {
        let fixture = try JournalFixture(seed: 31, count: 1_000)
        defer { fixture.remove() }
        let engine = MatchingEngine()
        for command in fixture.commands.prefix(1_000) { _ = engine.process(command) }
        try Snapshots.write(engine, sequence: 1_000, directory: fixture.directory)
        let snapshot = try Snapshots.list(fixture.directory)[0].path
        flipByte(snapshot, at: fileSize(snapshot) - 5)
        let (recovered, report) = try Recovery.recover(directory: fixture.directory, repair: false)
        #expect(report.snapshot == nil)
        #expect(report.snapshotsSkipped.count == 1 && report.snapshotsSkipped[0].contains("payload checksum mismatch"))
        #expect(recovered.stateHash() == fixture.hashes.last!)
    }

    @Test("replay from the first entry reports a snapshot whose header it cannot read")
    func unreadableSnapshotReported() throws {
        let fixture = try JournalFixture(seed: 43, count: 500)
        defer { fixture.remove() }
        let engine = MatchingEngine()
        for command in fixture.commands.prefix(300) { _ = engine.process(command) }
        try Snapshots.write(engine, sequence: 300, directory: fixture.directory)
        flipByte(try Snapshots.list(fixture.directory)[0].path, at: 12)
        let (replayed, report) = try Recovery.recover(directory: fixture.directory, repair: false, fromGenesis: true)
        #expect(report.snapshotsVerified.isEmpty)
        #expect(report.snapshotsSkipped.count == 1 && report.snapshotsSkipped[0].contains("header checksum mismatch"))
        #expect(replayed.stateHash() == fixture.hashes.last!)
    }

    @Test("a journal appended to after recovery reads on seamlessly")
    func appendAfterRecovery() throws {
        let fixture = try JournalFixture(seed: 37, count: 300)
        defer { fixture.remove() }
        var (engine, report) = try Recovery.recover(directory: fixture.directory, repair: true)
        let writer = try JournalWriter(directory: fixture.directory, durability: .fsync, lastSequence: report.lastSequence)
        var stream = CommandStream(seed: 41)
        var sequence = report.lastSequence
        for _ in 0..<100 {
            var command = stream.next()
            sequence += 1
            command.sequence = sequence
            let events = engine.process(command)
            writer.append(command, events)
        }
        try writer.commit(through: sequence)
        let expected = engine.stateHash()
        (engine, report) = try Recovery.recover(directory: fixture.directory, repair: false)
        #expect(report.lastSequence == 400 && engine.stateHash() == expected)
    }

    @Test("with accounts, recovery from a snapshot and from the first entry both reach the writer's state hash")
    func accountsReplay() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var stream = AccountStream(seed: 53)
        let engine = MatchingEngine(keepsAccounts: true)
        let writer = try JournalWriter(directory: directory, durability: .os, lastSequence: 0, keepsAccounts: true)
        var commands = stream.opening()
        for _ in 0..<3_000 { commands.append(stream.next()) }
        var snapshotHash: UInt64 = 0
        for command in commands {
            writer.append(command, engine.process(command))
            try writer.commit(through: command.sequence)
            if command.sequence == 1_500 {
                _ = try Snapshots.write(engine, sequence: 1_500, directory: directory)
                snapshotHash = engine.stateHash()
            }
        }
        #expect(engine.ledgerTransactionCount > 100)
        let (fromSnapshot, report) = try Recovery.recover(directory: directory, repair: false)
        #expect(report.snapshot?.sequence == 1_500 && report.snapshot?.stateHash == snapshotHash)
        #expect(fromSnapshot.stateHash() == engine.stateHash())
        // The segments say that their engine keeps accounts: replay from the first entry needs no telling.
        #expect(try JournalReader.keepsAccounts(in: directory) == true)
        let (fromGenesis, full) = try Recovery.recover(directory: directory, repair: false, fromGenesis: true)
        #expect(full.snapshotsVerified == [1_500])
        #expect(fromGenesis.stateHash() == engine.stateHash())
        #expect(fromGenesis.accountSummary(AccountID(4)) == engine.accountSummary(AccountID(4)))
    }

    @Test("the state hash covers balances: a deposit alone changes it")
    func hashCoversBalances() {
        let engine = MatchingEngine(keepsAccounts: true)
        _ = engine.process(SequencedCommand(sequence: 1, time: Timestamp(nanos: 1), command: .openAccount(AccountID(1), AccountNumber(defaultFor: AccountID(1)), AccountTerms(kind: .cash))))
        let before = engine.stateHash()
        _ = engine.process(SequencedCommand(sequence: 2, time: Timestamp(nanos: 1), command: .deposit(AccountID(1), Money(units: 1))))
        #expect(engine.stateHash() != before)
    }
}
