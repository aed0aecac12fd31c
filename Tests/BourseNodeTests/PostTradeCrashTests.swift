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
    // Bounded for a 2-core machine that runs the other suites meanwhile: each file is captured in about a
    // second there, and the kill comes within 60 ms of its first trades reaching the journal.
    static let kills = 6
    static let rowsPerFile = 8_000

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
        for kill in 0..<Self.kills {
            let served = try ServeProcessTests.Served(directory: directory)
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
                let deadline = ContinuousClock.now + .seconds(10)
                while Self.journalBytes(directory) < before + 16_384, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 60)))
            } else {
                // A rollover under way (it settles what is due) when the kill comes.
                let port = served.port
                let rolling = Task { await ServeProcessTests.request(port, "POST", "/v1/admin/business-date/rollover", key: admin) }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 40)))
                rollovers += 1
                Glibc.kill(served.process.processIdentifier, SIGKILL)
                _ = await rolling.value
                continue
            }
            #expect(served.process.isRunning, "start \(kill) ended by itself: \(served.ended(within: 1))")
            Glibc.kill(served.process.processIdentifier, SIGKILL)
            _ = served.ended(within: 10)
            // Killed partway through the file: some of its trades journaled, the file still in the inbox.
            var journaled = 0
            _ = try JournalReader.read(directory + "/journal") { entry in
                if case .captureTrade(let report) = entry.command.command, report.reference.description.hasPrefix("K\(kill)-") { journaled += 1 }
            }
            if journaled > 0, journaled < Self.rowsPerFile, FileManager.default.fileExists(atPath: directory + "/capture/inbox/k\(kill).csv") { interrupted += 1 }
        }
        #expect(interrupted >= 1, "no kill came partway through a file")

        // A last start takes what is left in the inbox and rolls over once more, cleanly.
        let last = try ServeProcessTests.Served(directory: directory)
        #expect(last.port != 0, "\(last.printed)")
        let admin = try AlpacaSDKTests.key(directory, role: "admin")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, !(try FileManager.default.contentsOfDirectory(atPath: directory + "/capture/inbox")).isEmpty {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(await ServeProcessTests.request(last.port, "POST", "/v1/admin/business-date/rollover", key: admin).0 == 200)
        last.process.interrupt()
        #expect(last.ended(within: 60).status == 0)

        let data = DataDirectory(path: directory)
        let store = try data.openStore(nil)
        defer { store.close() }
        // Every row of every file captured exactly once.
        let captured = try store.querySynchronously("SELECT COUNT(*) AS n, COUNT(DISTINCT reference) AS d FROM pt_trades WHERE origin = 'capture'", [])
        #expect(captured.first?.int("n") == Int64(written) && captured.first?.int("d") == Int64(written), "\(captured) of \(written)")
        // Each business date opened once, in order, and each participant settled at most once a date.
        let dates = try store.querySynchronously("SELECT business_date FROM pt_business_dates ORDER BY business_date", []).compactMap { $0.int("business_date") }
        #expect(dates.count >= 2 && dates.count <= rollovers + 2 && Set(dates).count == dates.count)
        let twice = try store.querySynchronously("""
            SELECT business_date, account, symbol, COUNT(*) AS n FROM pt_settlements WHERE kind = 'settlement'
            GROUP BY business_date, account, symbol HAVING COUNT(*) > 1
            """, [])
        #expect(twice.isEmpty, "settled twice: \(twice)")
        var checked: UInt64 = 0
        #expect(try AuditProjection.verify(store, checked: &checked) == nil && checked > 0)
        let journalEnd = try ProjectionCrashTests.journalEnd(data)
        for projection in data.projectionsOffline() {
            #expect(try Positions.recorded(projection.name, in: store) == journalEnd, "\(projection.name)")
            let expected = try await withStore(.sqlite) { fresh in
                let rebuilt = data.projectionsOffline().first { $0.name == projection.name }!
                try ProjectionRunner(rebuilt, store: fresh, journal: data.journalDirectory).open()
                return try Positions.checksums(rebuilt, in: fresh)
            }
            #expect(try Positions.checksums(projection, in: store) == expected, "\(projection.name)")
        }
    }
}
