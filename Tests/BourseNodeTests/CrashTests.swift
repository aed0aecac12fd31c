@testable import bourse
import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation
import Testing

@Suite("crash recovery of the full path")
struct CrashTests {
    /// The `bourse` executable built beside the test bundle.
    static var executable: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle, bundle.deletingLastPathComponent(), bundle.deletingLastPathComponent().deletingLastPathComponent()]
        return candidates.map { $0.appendingPathComponent("bourse").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? "bourse"
    }

    /// After how many acknowledged batches to kill, and how many accounts the flow's orders come from
    /// (0: an engine without accounts).
    @Test("killing the process during a write loop loses no acknowledged command",
          arguments: [(2, 0), (5, 200), (9, 0)])
    func killDuringWrites(afterBatches: Int, accounts: Int) async throws {
        let directory = makeTemporaryDirectory("bourse-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seed: UInt64 = 77
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["bench", "--journal", directory, "--durability", "fsync", "--ops", "200000",
                             "--seed", String(seed), "--report-durable", "--accounts", String(accounts)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()

        // Read durable marks until enough batches are acknowledged, then kill without warning.
        // On a thread of its own, which kills at once: a task resumed afterwards may wait for a thread
        // of the pool while the writer runs to its end.
        let reader = pipe.fileHandleForReading
        let pid = process.processIdentifier
        let (acknowledged, batches) = try await blocking { () -> (UInt64, Int) in
            var acknowledged: UInt64 = 0
            var batches = 0
            var buffer = Data()
            let deadline = Date().addingTimeInterval(60)
            while batches < afterBatches, Date() < deadline {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    if line.hasPrefix("durable "), let sequence = UInt64(line.dropFirst(8)) {
                        acknowledged = max(acknowledged, sequence)
                        batches += 1
                    }
                }
            }
            kill(pid, SIGKILL)
            return (acknowledged, batches)
        }
        _ = try await process.ended()
        #expect(batches >= afterBatches, "the writer acknowledged \(batches) batches before the deadline")

        let (engine, report) = try Recovery.recover(directory: directory, repair: true)
        #expect(report.lastSequence >= acknowledged, "acknowledged \(acknowledged), recovered \(report.lastSequence)")
        // Every recovered command is the one the flow generated for that sequence, and the kill came
        // before the end of the flow.
        var flow = OrderFlow(shape: .steady, seed: seed, accounts: accounts)
        var expected = flow.setup() + flow.fill()
        #expect(report.lastSequence < UInt64(expected.count + 200_000), "the writer finished before it was killed")
        #expect(engine.invariantViolations().isEmpty)
        #expect(engine.keepsAccounts == (accounts > 0))
        #expect(engine.accountViolations().isEmpty)
        var recovered: [Command] = []
        _ = try JournalReader.read(directory) { entry in recovered.append(entry.command.command) }
        while expected.count < recovered.count { expected.append(flow.next()) }
        #expect(recovered == Array(expected.prefix(recovered.count)))

        // bourse replay verifies the repaired directory from its first entry and says so.
        let replay = Process()
        replay.executableURL = URL(fileURLWithPath: Self.executable)
        replay.arguments = ["replay", directory]
        let text = try await replay.runToEnd()
        #expect(replay.terminationStatus == 0)
        #expect(text.contains("entries        \(report.lastSequence) (last sequence \(report.lastSequence))"))
    }
}
