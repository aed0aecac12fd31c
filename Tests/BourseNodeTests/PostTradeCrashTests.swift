import BourseCore
import BourseJournal
import BoursePostTrade
import BourseProjections
@testable import BourseVenue
import BourseTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import Testing

/// Exactly once under crashes, after the match: `bourse serve` killed without warning while it takes a trade
/// file from its inbox, and while it rolls the business date over (the settlement cycle runs in the rollover),
/// again and again, each time started again on the same directory. At the end every trade of every file is
/// captured once, each business date was opened and settled once, the audit chain holds, and every
/// projection's tables equal a rebuild from the journal.
@Suite("post-trade under SIGKILL")
struct PostTradeCrashTests {
    // Bounded for a 2-core machine that runs the other suites meanwhile. A file's trades reach the journal
    // a window of 4,096 at a time (`CaptureDesk.windowMax`, four batch commands), each window about one journal write: the kill comes
    // within 5 ms of the first, with two more to go. Should no kill have come partway through a file (a slow
    // or a fast moment), up to five more file rounds are run until one does.
    static let kills = 6
    static let extraFileRoundsMax = 5
    static let rowsPerFile = 12_000

    /// The bytes of the journal's segments.
    static func journalBytes(_ directory: String) -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/journal")) ?? []
        return files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: directory + "/journal/" + $1)[.size] as? Int) ?? 0) }
    }

    @Test("killed at random points during file capture and rollovers, nothing is captured or settled twice, or lost")
    func killedDuringCaptureAndRollover() async throws {
        let directory = makeTemporaryDirectory("bourse-post-trade-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.post_trade = .init(business_dates: "operator")
        try configuration.write(to: directory + "/" + VenueConfiguration.fileName)
        var rng = SplitMix64(seed: 41)
        var written = 0, rollovers = 0, interrupted = 0
        var kill = -1
        while true {
            kill += 1
            guard kill < Self.kills || (interrupted == 0 && kill < Self.kills + 2 * Self.extraFileRoundsMax) else { break }
            // What blocks (starting a process and reading its output, waiting for it to end, reading the journal)
            // runs on threads of its own: the other suites' servers share the test process's task threads.
            let served = try await ServeProcessTests.Served.start(directory: directory)
            #expect(served.port != 0, "start \(kill): \(served.printed)")
            guard served.port != 0 else { return }
            let admin = try AlpacaSDKTests.key(directory, role: "admin")
            if kill == 0 {
                let (status, body) = await ServeProcessTests.request(served.port, "POST", "/v1/admin/business-date/rollover", key: admin)
                #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
            }
            let (_, today) = await ServeProcessTests.request(served.port, "GET", "/v1/admin/business-date", key: admin)
            let date = (try? JSONSerialization.jsonObject(with: today) as? [String: Any])?["business_date"] as? String ?? ""
            if kill % 2 == 0 {
                // A file of trades dated today, bought and sold in turn by accounts 1 and 2; killed while it is taken.
                var text = "trade_id,account,symbol,side,quantity,price,trade_date\n"
                for n in 0..<Self.rowsPerFile {
                    text += "K\(kill)-\(n),\(1 + n % 2),AAPL,\(n / 2 % 2 == 0 ? "buy" : "sell"),1,190.00,\(date)\n"
                }
                let before = Self.journalBytes(directory)
                try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/capture/inbox/.k\(kill).tmp"))
                try FileManager.default.moveItem(atPath: directory + "/capture/inbox/.k\(kill).tmp", toPath: directory + "/capture/inbox/k\(kill).csv")
                written += Self.rowsPerFile
                // The kill comes once the venue has begun to journal the file's trades, after a random moment more.
                // Watched and sent from a thread of its own: a poll on the task threads, which the other suites'
                // servers keep busy, can wake too late, after the whole file is in.
                let pause = useconds_t(rng.next() % 5_000)
                let running = try await blocking {
                    let deadline = ContinuousClock.now + .seconds(10)
                    while Self.journalBytes(directory) < before + 16_384, ContinuousClock.now < deadline { usleep(200) }
                    usleep(pause)
                    let running = served.process.isRunning
                    Glibc.kill(served.process.processIdentifier, SIGKILL)
                    return running
                }
                #expect(running, "start \(kill) ended by itself")
            } else {
                // A rollover under way (it settles what is due) when the kill comes.
                let port = served.port
                guard kill < Self.kills else {
                    Glibc.kill(served.process.processIdentifier, SIGKILL)
                    _ = await served.ended(within: 10)
                    continue
                }
                let rolling = Task { await ServeProcessTests.request(port, "POST", "/v1/admin/business-date/rollover", key: admin) }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 40)))
                rollovers += 1
                Glibc.kill(served.process.processIdentifier, SIGKILL)
                _ = await rolling.value
                _ = await served.ended(within: 10)
                continue
            }
            // Killed partway through the file: some of its trades journaled, the file still in the inbox.
            let round = kill
            _ = await served.ended(within: 10)
            let journaled = try await blocking {
                var count = 0
                _ = try JournalReader.read(directory + "/journal") { entry in
                    count += entry.command.command.capturedReports.count { $0.reference.description.hasPrefix("K\(round)-") }
                }
                return count
            }
            if journaled > 0, journaled < Self.rowsPerFile, FileManager.default.fileExists(atPath: directory + "/capture/inbox/k\(kill).csv") { interrupted += 1 }
        }
        #expect(interrupted >= 1, "no kill came partway through a file")

        // A last start takes what is left in the inbox and rolls over once more, cleanly.
        let last = try await ServeProcessTests.Served.start(directory: directory)
        #expect(last.port != 0, "\(last.printed)")
        let admin = try AlpacaSDKTests.key(directory, role: "admin")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, !(try FileManager.default.contentsOfDirectory(atPath: directory + "/capture/inbox")).isEmpty {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(await ServeProcessTests.request(last.port, "POST", "/v1/admin/business-date/rollover", key: admin).0 == 200)
        last.process.interrupt()
        // Bounded for the suite's busiest minutes, when a clean stop (the last snapshot, the projections) is slow.
        let ended = await last.ended(within: 120)
        #expect(ended.status == 0, "\(ended.errors)")

        // The checks read the store and rebuild every projection from the journal: on a thread of their own too.
        let written_ = written, rollovers_ = rollovers
        let problems: [String] = try await blocking {
            var problems: [String] = []
            let data = DataDirectory(path: directory)
            let store = try data.openStore(nil)
            defer { store.close() }
            // Every row of every file captured exactly once.
            let captured = try store.querySynchronously("SELECT COUNT(*) AS n, COUNT(DISTINCT reference) AS d FROM pt_trades WHERE origin = 'capture'", [])
            if captured.first?.int("n") != Int64(written_) || captured.first?.int("d") != Int64(written_) { problems.append("captured \(captured) of \(written_)") }
            // Each business date opened once, in order, and each participant settled at most once a date.
            let dates = try store.querySynchronously("SELECT business_date FROM pt_business_dates ORDER BY business_date", []).compactMap { $0.int("business_date") }
            if dates.count < 2 || dates.count > rollovers_ + 2 || Set(dates).count != dates.count { problems.append("business dates \(dates)") }
            let twice = try store.querySynchronously("""
                SELECT business_date, account, symbol, COUNT(*) AS n FROM pt_settlements WHERE kind = 'settlement'
                GROUP BY business_date, account, symbol HAVING COUNT(*) > 1
                """, [])
            if !twice.isEmpty { problems.append("settled twice: \(twice)") }
            var checked: UInt64 = 0
            if let broken = try AuditProjection.verify(store, checked: &checked) { problems.append("\(broken)") }
            if checked == 0 { problems.append("no audit records") }
            let journalEnd = try ProjectionCrashTests.journalEnd(data)
            for projection in data.projectionsOffline() {
                if try Positions.recorded(projection.name, in: store) != journalEnd { problems.append("\(projection.name) is not at the journal's end") }
                if try Positions.checksums(projection, in: store) != ProjectionCrashTests.rebuiltChecksums(projection.name, data) {
                    problems.append("\(projection.name) differs from a rebuild")
                }
            }
            return problems
        }
        #expect(problems.isEmpty, "\(problems)")
    }
}
