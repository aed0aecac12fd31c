import BourseCore
import BourseJournal
import BourseProjections
import BourseRisk
import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// Exactly once under crashes: `bourse serve` killed without warning while orders flow, again and again,
/// each time started again on the same directory and store; at the end every projection's tables equal the
/// same projection applied to the same journal from zero, table for table.
@Suite("projections under SIGKILL")
struct ProjectionCrashTests {
    static let kills = 10

    @Test("killed at random points while orders flow, the projections end with the rows a rebuild from zero makes",
          arguments: StoreKind.all)
    func killedWhileOrdersFlow(_ kind: StoreKind) async throws {
        let directory = makeTemporaryDirectory("bourse-projection-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let location = try kind.makeLocation(in: directory)
        // serve names the embedded store `sqlite` (the file in its data directory), PostgreSQL by its address.
        let arguments = "--store '\(kind == .sqlite ? "sqlite" : location)' --rate-limit 1000000 --rate-burst 1000000"
        var rng = SplitMix64(seed: kind == .sqlite ? 5 : 6)
        var placed = 0
        for kill in 0..<Self.kills {
            let served = try await ServeProcessTests.Served.start(directory: directory, arguments: arguments)
            #expect(served.port != 0, "start \(kill): \(served.printed)")
            guard served.port != 0 else { return }
            let keys = [try ServeProcessTests.trader(directory), try Self.key(directory, account: 2)]
            // Orders start a moment after the node listens. A fresh node sent orders within its first moment,
            // while every other suite starts at once, has been seen to end at its first request without a
            // word (not reproduced alone, nor with this pause); see docs/ARCHITECTURE.md, known problems.
            try await Task.sleep(for: .seconds(3))
            // The kill point is a count of acknowledged orders, not a time, so a slow machine still kills
            // after real work; the time limit only ends a start that takes no orders at all.
            let killAfter = Int(40 + rng.next() % 120)
            let acknowledged = Count()
            let flowing = Task { await Self.flow(port: served.port, keys: keys, acknowledged: acknowledged) }
            let deadline = ContinuousClock.now + .seconds(30)
            while acknowledged.value.load(ordering: .relaxed) < killAfter, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            if !served.process.isRunning { Issue.record("start \(kill) ended by itself: \(await served.ended(within: 1))") }
            // The kernel lets the node's lock go with the process; the next start takes it.
            Glibc.kill(served.process.processIdentifier, SIGKILL)
            let counted = await flowing.value
            #expect(counted >= killAfter, "start \(kill): \(counted) of \(killAfter) orders acknowledged before the kill; first refusal: \(acknowledged.firstRefusal.withLock { $0 } ?? "none")")
            placed += counted
        }
        #expect(placed >= 400, "orders acknowledged across the kills")

        // A last start catches the projections up; a clean stop leaves them at the journal's end.
        let last = try await ServeProcessTests.Served.start(directory: directory, arguments: arguments)
        #expect(last.port != 0, "\(last.printed)")
        last.process.interrupt()
        #expect(await last.ended(within: 60).status == 0)

        let data = DataDirectory(path: directory)
        let store = try kind.open(location)
        defer { store.close() }
        let journalEnd = try Self.journalEnd(data)
        for projection in data.projectionsOffline() {
            #expect(try Positions.recorded(projection.name, in: store) == journalEnd, "\(projection.name)")
            let expected = try await withStore(kind) { fresh in
                let rebuilt = data.projectionsOffline().first { $0.name == projection.name }!
                try ProjectionRunner(rebuilt, store: fresh, journal: data.journalDirectory).open()
                return try Positions.checksums(rebuilt, in: fresh)
            }
            #expect(try Positions.checksums(projection, in: store) == expected, "\(projection.name)")
        }
        // The risk platform restored from its checkpoint gives, figure for figure, what a run that never
        // stopped gives over the same journal, whatever the number of partitions each uses (the server's
        // checkpoint, restored here into three); and there were marks to value at.
        let risk = RiskProjection(partitions: 3)
        try risk.load(from: store)
        let uninterrupted = try RiskReplay.run(journal: data.journalDirectory, through: nil, clients: [:])
        #expect(uninterrupted.mark != nil, "no mark was taken while orders flowed")
        #expect(risk.read { RiskJSON.report($0) } == RiskJSON.report(uninterrupted))
        // `bourse risk` is that run, as an operator starts it; with --until it stops at that sequence.
        let (status, output) = try await JournalCommandTests.run(["risk", directory])
        #expect(status == 0 && output == RiskJSON.report(uninterrupted) + "\n")
        let middle = journalEnd / 2
        let (_, partial) = try await JournalCommandTests.run(["risk", directory, "--until", String(middle)])
        #expect(partial == RiskJSON.report(try RiskReplay.run(journal: data.journalDirectory, through: middle, clients: [:])) + "\n")
        let (refused, reason) = try await JournalCommandTests.run(["risk", directory, "--until", "1999-01-04"])
        #expect(refused != 0 && reason.contains("never opened business date 1999-01-04"), "\(reason)")
    }

    final class Count: Sendable {
        let value = Atomic<Int>(0)
        /// The first answer that was not an acknowledgement, to say why orders did not flow.
        let firstRefusal = Mutex<String?>(nil)
    }

    static func key(_ directory: String, account: Int) throws -> (id: String, secret: String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/credentials.json"))
        let keys = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        let key = try #require(keys.first { $0["role"] as? String == "trader" && $0["account"] as? Int == account })
        return (key["key_id"] as? String ?? "", key["secret"] as? String ?? "")
    }

    static func journalEnd(_ directory: DataDirectory) throws -> UInt64 {
        try JournalReader.read(directory.journalDirectory) { _ in }.lastSequence
    }

    /// The checksums of projection `name` rebuilt from the directory's journal in a fresh SQLite store.
    static func rebuiltChecksums(_ name: String, _ data: DataDirectory) throws -> [String: UInt64] {
        let location = NSTemporaryDirectory() + "bourse-rebuild-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: location, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: location) }
        let fresh = try StoreKind.sqlite.open(try StoreKind.sqlite.makeLocation(in: location))
        defer { fresh.close() }
        let rebuilt = data.projectionsOffline().first { $0.name == name }!
        try ProjectionRunner(rebuilt, store: fresh, journal: data.journalDirectory).open()
        return try Positions.checksums(rebuilt, in: fresh)
    }

    /// Two accounts, each buying and selling, crossing at one price from four connections until the server
    /// is gone: rests, fills, partial fills and cancels. Counts the orders acknowledged as they come, and
    /// returns their number. Each connection sends from a thread of its own (see `BlockingClient`); the
    /// first answer that is not an acknowledgement is kept, to say why should orders not flow.
    static func flow(port: Int, keys: [(id: String, secret: String)], acknowledged total: Count) async -> Int {
        await withCheckedContinuation { continuation in
            let lanes = 4
            let finished = Count()
            for lane in 0..<lanes {
                Thread {
                    let client = BlockingClient(port: port)
                    for i in 0..<100_000 {
                        let key = keys[(lane + i) % 2]
                        // Each account buys and sells in turn, so neither runs out of cash or shares across the starts.
                        let side = (lane + i / 2) % 2 == 0 ? "buy" : "sell"
                        let tif = i % 5 == 0 ? "ioc" : "gtc"
                        let (status, body) = client.send("POST", "/v2/orders", headers: [("APCA-API-KEY-ID", key.id), ("APCA-API-SECRET-KEY", key.secret)], body:
                            #"{"symbol":"AAPL","qty":"\#(1 + i % 3)","side":"\#(side)","type":"limit","time_in_force":"\#(tif)","limit_price":"190.00","client_order_id":"l\#(lane)-\#(i)-\#(port)"}"#)
                        if status != 200 { total.firstRefusal.withLock { $0 = $0 ?? "\(status) \(body.prefix(300))" } }
                        if status == 0 { break }
                        if status == 200 { total.value.add(1, ordering: .relaxed) }
                    }
                    if finished.value.add(1, ordering: .acquiringAndReleasing).newValue == lanes {
                        continuation.resume(returning: total.value.load(ordering: .relaxed))
                    }
                }.start()
            }
        }
    }
}
