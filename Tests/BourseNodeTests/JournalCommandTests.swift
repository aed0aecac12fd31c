import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation
import Testing

/// `bourse replay` and `bourse repair` as an operator runs them: the real executable on real files.
@Suite("journal commands")
struct JournalCommandTests {
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CrashTests.executable)
        process.arguments = arguments
        let output = try await process.runToEnd()
        return (process.terminationStatus, output)
    }

    /// A data directory whose `journal/` holds `count` commands of a seeded stream, one batch each.
    static func dataDirectory(count: Int) throws -> String {
        let directory = makeTemporaryDirectory("bourse-commands")
        let journal = directory + "/journal"
        var stream = CommandStream(seed: 5)
        let engine = MatchingEngine()
        let writer = try JournalWriter(directory: journal, durability: .os, lastSequence: 0)
        var commands = stream.opening()
        while commands.count < count { commands.append(stream.next()) }
        for command in commands.prefix(count) {
            writer.append(command, engine.process(command))
            try writer.commit(through: command.sequence)
        }
        return directory
    }

    @Test("replay reads a data directory's journal, and refuses a directory that holds none instead of reporting zero entries")
    func replayFindsTheJournal() async throws {
        let directory = try Self.dataDirectory(count: 50)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for path in [directory, directory + "/journal"] {
            let (status, output) = try await Self.run(["replay", path])
            #expect(status == 0 && output.contains("entries        50 (last sequence 50)"), "\(path): \(output)")
        }
        let empty = makeTemporaryDirectory("bourse-commands")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let (status, output) = try await Self.run(["replay", empty])
        #expect(status != 0 && output.contains("holds no journal"), "\(output)")
    }

    @Test("repair names the damage and exits 1 changing nothing; with --truncate it cuts there and says what it removed")
    func repairOnlyWhenAsked() async throws {
        let directory = try Self.dataDirectory(count: 50)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let segment = try #require(try JournalReader.segments(in: directory + "/journal").first).path
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        let size = bytes.count
        bytes[size - 3] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: segment))

        // The venue refuses it too: it is an acknowledged entry, not a torn write.
        let replay = try await Self.run(["replay", directory])
        #expect(replay.status != 0 && replay.output.contains("journal damaged in \(segment)"), "\(replay.output)")

        let looked = try await Self.run(["repair", directory])
        #expect(looked.status == 1 && looked.output.contains("journal damaged in \(segment) at offset")
                && looked.output.contains("the journal reads whole to sequence 49") && looked.output.contains("nothing changed"),
                "\(looked.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment)) == bytes)

        let cut = try await Self.run(["repair", directory, "--truncate"])
        #expect(cut.status == 0 && cut.output.contains("cut: the journal now ends at sequence 49"), "\(cut.output)")
        let after = try await Self.run(["replay", directory])
        #expect(after.status == 0 && after.output.contains("entries        49 (last sequence 49)"), "\(after.output)")
    }
}
