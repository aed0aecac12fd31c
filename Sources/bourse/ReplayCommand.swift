import BourseNode
import ArgumentParser
import BourseCore
import BourseEngine
import BourseJournal
import BourseKafka
import Foundation

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild state from a journal from its first entry, verify every event and snapshot, and print a summary.",
        discussion: "Read-only: a torn tail is reported, not truncated. Exits non-zero on any mismatch or damage.")

    @Argument(help: "The data directory, or its journal directory (segments and snapshots).")
    var directory: String?

    @Option(help: "Replay the journal as published to Kafka instead: kafka://HOST:PORT[/PREFIX], read in sequence from every partition of PREFIX.events.")
    var log: String?

    func validate() throws {
        guard (directory == nil) != (log == nil) else { throw ValidationError("give a data directory or --log, not both") }
    }

    func run() throws {
        if let log { return try replayKafka(log) }
        let directory = try JournalLocation.resolve(self.directory!)
        let start = monotonicNanos()
        let engine: MatchingEngine
        let report: RecoveryReport
        do {
            (engine, report) = try Recovery.recover(directory: directory, repair: false, fromGenesis: true)
        } catch {
            throw ReplayFailure(message: "\(error)")
        }
        let seconds = Double(monotonicNanos() - start) / 1e9
        let broken = engine.invariantViolations()
        print("entries        \(report.entriesReplayed) (last sequence \(report.lastSequence))")
        print("replay         \(String(format: "%.3f", seconds)) s, \(Int(Double(report.entriesReplayed) / max(seconds, 1e-9))) entries/s")
        print("trades         \(report.trades)")
        print("trade checksum \(String(report.tradeChecksum, radix: 16))")
        print("state hash     \(String(engine.stateHash(), radix: 16))")
        print("snapshots      verified at \(report.snapshotsVerified.isEmpty ? "none" : report.snapshotsVerified.map(String.init).joined(separator: ", "))")
        for skipped in report.snapshotsSkipped { print("not verified   \(skipped)") }
        if let torn = report.tornTail { print("torn tail      \(torn)") }
        do {
            for partition in try JournalReader.businessDates(in: directory) {
                print("business date  \(partition.date.map { "\($0)" } ?? "none yet  ") from sequence \(partition.firstSequence), \(partition.segments.count) segment(s)")
            }
        } catch {
            throw ReplayFailure(message: "the journal's business dates cannot be read: \(error)")
        }
        for symbol in engine.listedSymbols {
            guard let s = engine.summary(of: symbol) else { continue }
            print("\(symbol.description.padding(toLength: 9, withPad: " ", startingAt: 0)) \(s.state) resting \(s.restingOrders) stops \(s.stopOrders) pending \(s.pendingOrders) bid \(s.bestBid.map(\.description) ?? "-") ask \(s.bestAsk.map(\.description) ?? "-") last \(s.lastTrade.map(\.description) ?? "-")")
        }
        guard broken.isEmpty else { throw ReplayFailure(message: "invariants broken after replay: \(broken)") }
    }
}

extension Replay {
    /// Rebuilds the engine from the event topic, verifying every entry's events, and prints what `replay`
    /// prints of a journal.
    func replayKafka(_ name: String) throws {
        let location: KafkaLocation
        switch KafkaLocation.parse(name) {
        case .success(let l): location = l
        case .failure(let invalid): throw ValidationError("--log: \(invalid)")
        }
        let start = monotonicNanos()
        var replay: LogReplay?
        let summary: EventLogReader.Summary
        let engine: MatchingEngine
        let report: RecoveryReport
        do {
            summary = try EventLogReader(location: location).read { entry, keepsAccounts in
                if replay == nil { replay = LogReplay(keepsAccounts: keepsAccounts) }
                try replay!.append(entry)
            }
            (engine, report) = try (replay ?? LogReplay(keepsAccounts: true)).finish()
        } catch {
            throw ReplayFailure(message: "\(location): \(error)")
        }
        let seconds = Double(monotonicNanos() - start) / 1e9
        print("log            \(location)")
        print("records        \(summary.records) (\(summary.repeated) repeated)")
        print("entries        \(report.entriesReplayed) (last sequence \(report.lastSequence))")
        print("replay         \(String(format: "%.3f", seconds)) s, \(Int(Double(report.entriesReplayed) / max(seconds, 1e-9))) entries/s")
        print("trades         \(report.trades)")
        print("trade checksum \(String(report.tradeChecksum, radix: 16))")
        print("state hash     \(String(engine.stateHash(), radix: 16))")
        let broken = engine.invariantViolations()
        guard broken.isEmpty else { throw ReplayFailure(message: "invariants broken after replay: \(broken)") }
    }
}

struct ReplayFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
