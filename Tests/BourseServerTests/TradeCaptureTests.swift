import BourseCore
@testable import BourseServer
import BourseTestSupport
@testable import BourseVenue
import Foundation
import Testing

/// `/v1/trades` on the real server: captures one at a time and in batches, idempotent by trade id, refused
/// by name; who may capture and read; and the lifecycle a trade shows as business dates roll and it settles.
@Suite("trade capture over HTTP")
struct TradeCaptureTests {
    static func object(_ body: Any?) -> [String: Any] { body as? [String: Any] ?? [:] }

    /// The demo venue in a fresh directory, its clock at 11:00 in New York on Friday 9 October 2026.
    static func start() async throws -> (ServerTests.Running, ConfigurationTests.Clock) {
        let clock = ConfigurationTests.Clock()
        clock.now = API.parseTime("2026-10-09T15:00:00Z")!
        return (try await ServerTests.Running(directory: makeTemporaryDirectory("bourse-server"), clock: { clock.now }), clock)
    }

    @Test("""
    given Friday 9 October 2026, a trade captured through the API settles on Tuesday 13th (Columbus Day in between); \
    the same trade id answers with the same trade, other terms are refused, a batch says what became of each trade
    """)
    func captureAndSettle() async throws {
        let (server, _) = try await Self.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let venue = server.opened.venue
        let (admin, trader, other) = (server.key(account: 3, role: .admin), server.key(account: 1), server.key(account: 2))
        let (fri, columbus, tue) = (CivilDate("2026-10-09")!, CivilDate("2026-10-12")!, CivilDate("2026-10-13")!)
        _ = try await venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: fri, settlesOn: tue)))

        let buy = #"{"trade_id":"EXT-1","account":"1","symbol":"AAPL","side":"buy","qty":"10","price":"189.50","trade_date":"2026-10-09","counterparty":"GSCO","venue":"XNYS"}"#
        let (status, body) = try await server.send("POST", "/v1/trades", as: admin, body: buy)
        let trade = Self.object(body)
        #expect(status == 200, "\(trade)")
        #expect(trade["id"] as? String == "C-1" && trade["state"] as? String == "captured" && trade["settlement_date"] as? String == "2026-10-13")
        #expect(trade["counterparty"] as? String == "GSCO" && trade["reference"] as? String == "EXT-1" && trade["price"] as? String == "189.50")
        let (again, repeated) = try await server.send("POST", "/v1/trades", as: admin, body: buy)
        #expect(again == 200 && Self.object(repeated)["id"] as? String == "C-1")
        let (reused, refusal) = try await server.send("POST", "/v1/trades", as: admin, body: buy.replacingOccurrences(of: #""qty":"10""#, with: #""qty":"11""#))
        #expect(reused == 422 && (Self.object(refusal)["message"] as? String)?.hasPrefix("trade_reference_reused") == true)
        #expect(try await server.send("POST", "/v1/trades", as: trader, body: buy).0 == 403)

        let batch = """
        {"trades":[
          {"trade_id":"EXT-2","account":"1","symbol":"AAPL","side":"sell","qty":"4","price":"190.00","trade_date":"2026-10-09"},
          {"trade_id":"EXT-3","account":"1","symbol":"ZZZZ","side":"buy","qty":"1","price":"1.00","trade_date":"2026-10-09"},
          {"trade_id":"EXT-4","account":"1","symbol":"AAPL","side":"buy","qty":"1","price":"190.00","trade_date":"2026-10-10"},
          {"trade_id":"EXT-5","account":"1","symbol":"AAPL","side":"buy","qty":"1.5","price":"190.00","trade_date":"2026-10-09"}
        ]}
        """
        let (batched, results) = try await server.send("POST", "/v1/trades", as: admin, body: batch)
        let outcomes = (Self.object(results)["results"] as? [[String: Any]] ?? []).map { "\($0["trade_id"]!) \($0["status"]!) \($0["code"] ?? "")" }
        #expect(batched == 200)
        #expect(outcomes == ["EXT-2 accepted ", "EXT-3 queued ", "EXT-4 refused trade_date_not_business_day", "EXT-5 refused invalid"])

        let (_, page) = try await server.send("GET", "/v1/trades?origin=capture&state=captured", as: admin)
        #expect((Self.object(page)["trades"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["C-2", "C-1"])
        // A trader sees its own account's trades, and no other's.
        #expect(try await server.send("GET", "/v1/trades/C-1", as: trader).0 == 200)
        #expect(try await server.send("GET", "/v1/trades/C-1", as: other).0 == 404)
        let (_, others) = try await server.send("GET", "/v1/trades", as: other)
        #expect((Self.object(others)["trades"] as? [Any])?.isEmpty == true)

        _ = try await venue.execute(.rollBusinessDate(BusinessDateRoll(from: fri, to: columbus, settlesOn: tue)))
        #expect(Self.object(try await server.send("GET", "/v1/trades/C-1", as: admin).1)["state"] as? String == "captured")
        _ = try await venue.execute(.rollBusinessDate(BusinessDateRoll(from: columbus, to: tue, settlesOn: CivilDate("2026-10-14")!)))
        let (_, settled) = try await server.send("GET", "/v1/trades/C-1", as: admin)
        let events = Self.object(settled)["events"] as? [[String: Any]] ?? []
        #expect(Self.object(settled)["state"] as? String == "settled")
        #expect(events.map { "\($0["from"]!)>\($0["to"]!) \($0["business_date"]!)" } == ["captured>settled 2026-10-13"])
        #expect(try await venue.account(AccountID(1))?.unsettledCash == .zero)

        // The operator's view of the business date, and a rollover by hand.
        let (_, today) = try await server.send("GET", "/v1/admin/business-date", as: admin)
        #expect(Self.object(today)["business_date"] as? String == "2026-10-13" && Self.object(today)["settles_on"] as? String == "2026-10-14")
        #expect((Self.object(today)["closes_at"] as? String)?.hasPrefix("2026-10-13T21:30:00") == true && Self.object(today)["cutoff"] as? String == "17:30")
        #expect(try await server.send("POST", "/v1/admin/business-date/rollover", as: trader).0 == 403)
        let (rolled, next) = try await server.send("POST", "/v1/admin/business-date/rollover", as: admin)
        #expect(rolled == 200 && Self.object(next)["business_date"] as? String == "2026-10-14" && Self.object(next)["settles_on"] as? String == "2026-10-15")
        await server.stop()
    }

    @Test("""
    a capture for a symbol listed later waits in the retry queue and is captured once it is listed; one for an \
    account that is never opened dies after its last attempt, is fixed by an operator and replayed, each step recorded
    """)
    func retryAndDeadLetters() async throws {
        let (server, clock) = try await Self.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let venue = server.opened.venue
        let scheduler = Scheduler(node: server.opened.node, now: { clock.now })
        let admin = server.key(account: 3, role: .admin)
        try await scheduler.tick(after: nil)
        #expect(try await venue.read { $0.businessDate } == CivilDate("2026-10-09"))

        func capture(_ id: String, account: String, symbol: String) -> String {
            #"{"trade_id":"\#(id)","account":"\#(account)","symbol":"\#(symbol)","side":"buy","qty":"5","price":"12.00","trade_date":"2026-10-09"}"#
        }
        let (later, laterBody) = try await server.send("POST", "/v1/trades", as: admin, body: capture("LATER-1", account: "1", symbol: "NEWCO"))
        #expect(later == 202 && Self.object(laterBody)["queue_id"] as? Int == 1, "\(laterBody ?? "")")
        #expect((Self.object(laterBody)["reason"] as? String)?.hasPrefix("unknown_symbol") == true)
        let (never, _) = try await server.send("POST", "/v1/trades", as: admin, body: capture("NEVER-1", account: "999", symbol: "AAPL"))
        #expect(never == 202)
        // Sent again while waiting, a trade is not queued twice.
        let (_, again) = try await server.send("POST", "/v1/trades", as: admin, body: capture("NEVER-1", account: "999", symbol: "AAPL"))
        #expect(Self.object(again)["queue_id"] as? Int == 2)

        func entry(_ id: Int) async throws -> [String: Any] { Self.object(try await server.send("GET", "/v1/admin/capture-queue/\(id)", as: admin).1) }
        // Not due before its first delay; NEWCO listed, the next round captures it.
        try await scheduler.tick(after: .open)
        #expect(try await entry(1)["state"] as? String == "waiting")
        _ = try await venue.execute(.listSymbol(try Symbol(validating: "NEWCO"), InstrumentRules(previousClose: Price(dollars: "12")!)))
        clock.now += 1_000_000_000
        try await scheduler.tick(after: .open)
        let captured = try await entry(1)
        #expect(captured["state"] as? String == "captured" && captured["trade"] as? String == "C-1", "\(captured)")
        #expect(Self.object(try await server.send("GET", "/v1/trades/C-1", as: admin).1)["reference"] as? String == "LATER-1")

        // The unknown account: retried after 1, 2, 4 … seconds, dead after the eighth attempt.
        for _ in 0..<10 {
            clock.now += 200_000_000_000
            try await scheduler.tick(after: .open)
        }
        var dead = try await entry(2)
        #expect(dead["state"] as? String == "dead" && dead["attempts"] as? Int == CaptureQueue.attemptsMax, "\(dead)")
        let (_, deadList) = try await server.send("GET", "/v1/admin/capture-queue?state=dead", as: admin)
        #expect((deadList as? [[String: Any]])?.map { $0["trade_id"] as? String } == ["NEVER-1"])
        let metrics = try await server.metrics()
        #expect(metrics.contains(#"bourse_capture_queue_entries{state="dead"} 1"#))

        // The operator corrects the account and replays it.
        #expect(try await server.send("PATCH", "/v1/admin/capture-queue/2", as: admin, body: #"{"account":"1"}"#).0 == 200)
        let (replayed, replayBody) = try await server.send("POST", "/v1/admin/capture-queue/2/replay", as: admin)
        #expect(replayed == 200 && Self.object(replayBody)["state"] as? String == "captured" && Self.object(replayBody)["trade"] as? String == "C-2")
        dead = try await entry(2)
        let actions = (dead["actions"] as? [[String: Any]] ?? []).map { $0["action"] as? String ?? "" }
        #expect(actions == ["queued"] + Array(repeating: "retried", count: CaptureQueue.attemptsMax - 2) + ["dead", "fixed", "replayed", "captured"], "\(actions)")
        #expect((dead["actions"] as? [[String: Any]])?.first { $0["action"] as? String == "fixed" }?["detail"] as? String == "account 999 → 1")
        #expect(try await server.send("DELETE", "/v1/admin/capture-queue/2", as: admin).0 == 422)
        await server.stop()
    }

    @Test("""
    a file longer than the windows the desk sends at once is booked in its order: a reference repeated in a later \
    window is the trade the earlier one captured, and every row's outcome stands on its own line
    """)
    func fileAcrossWindows() async throws {
        let (server, _) = try await Self.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let (venue, files) = (server.opened.venue, server.opened.node.files)
        _ = try await venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: CivilDate("2026-10-09")!, settlesOn: CivilDate("2026-10-13")!)))
        let count = 2 * CaptureDesk.windowMax + 100
        // Every 1,000th row from the 4,500th repeats the row 4,500 before it, in an earlier window; every 777th
        // reference names an account that does not exist (none of those is repeated). Each account buys, then sells.
        func unknown(_ reference: Int) -> Bool { reference % 777 == 776 }
        func reference(_ n: Int) -> Int { n % 1_000 == 999 && n >= 4_500 ? n - 4_500 : n }
        var text = "trade_id,account,symbol,side,quantity,price,trade_date\n"
        for n in 0..<count {
            let r = reference(n)
            text += "W-\(r),\(unknown(r) ? 99 : 1 + r % 2),AAPL,\(r / 2 % 2 == 0 ? "buy" : "sell"),1,190.00,2026-10-09\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: files.inbox + "/long.csv"))
        let record = try #require(try await files.scan().first)
        let result = try String(contentsOfFile: record.resultPath, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(result.count == count)
        var ids: [String: String] = [:]
        for (n, fields) in result.enumerated() {
            #expect(fields[0] == String(n + 2), "row \(n)")
            if unknown(reference(n)) {
                #expect(fields[2] == "queued" && fields[4].hasPrefix("unknown_account"), "row \(n): \(fields)")
                continue
            }
            #expect(fields[2] == "captured", "row \(n): \(fields)")
            if let earlier = ids[fields[1]] { #expect(fields[3] == earlier, "row \(n) repeats \(fields[1])") } else { ids[fields[1]] = fields[3] }
        }
        let queued = (0..<count).filter { unknown(reference($0)) }.count
        let repeats = (0..<count).filter { reference($0) != $0 }.count
        #expect(queued == 10 && repeats == 4)
        #expect(record.captured == count - queued && record.queued == queued && Set(ids.values).count == record.captured - repeats)
        await server.stop()
    }

    @Test("""
    a trade file dropped in the inbox is captured row by row, each row's outcome in its result file and the API; \
    the same file dropped again books nothing twice; a file the format refuses moves to failed with why
    """)
    func tradeFiles() async throws {
        let (server, _) = try await Self.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let (venue, files) = (server.opened.venue, server.opened.node.files)
        let admin = server.key(account: 3, role: .admin)
        _ = try await venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: CivilDate("2026-10-09")!, settlesOn: CivilDate("2026-10-13")!)))

        let day = """
        trade_id,account,symbol,side,quantity,price,trade_date,counterparty
        F-1,1,AAPL,buy,10,189.50,2026-10-09,GSCO
        F-2,1,AAPL,sell,4,190.00,2026-10-09,MSCO
        F-3,1,AAPL,hold,4,190.00,2026-10-09,MSCO
        F-4,1,NEWCO,buy,1,5.00,2026-10-09,
        """
        try Data(day.utf8).write(to: URL(fileURLWithPath: files.inbox + "/day1.csv"))
        let first = try await files.scan()
        #expect(first.map { "\($0.name) \($0.state) \($0.rows) \($0.captured) \($0.queued) \($0.refused)" } == ["day1.csv done 4 2 1 1"])
        let result = try String(contentsOfFile: files.done + "/day1.csv.result.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(result.count == 5 && result[0] == "line,trade_id,status,id,reason" && result[1] == "2,F-1,captured,C-1,"
                && result[2] == "3,F-2,captured,C-2," && result[3].hasPrefix("4,,refused,,\"side \"\"hold\"\"") && result[4].hasPrefix("5,F-4,queued,Q-1,unknown_symbol"),
                "\(result)")
        let inbox = try FileManager.default.contentsOfDirectory(atPath: files.inbox)
        #expect(FileManager.default.fileExists(atPath: files.done + "/day1.csv") && inbox.isEmpty)

        // Dropped again: recognized, moved out, nothing booked twice.
        try Data(day.utf8).write(to: URL(fileURLWithPath: files.inbox + "/day1.csv"))
        #expect(try await files.scan().map(\.id) == first.map(\.id))
        #expect(FileManager.default.fileExists(atPath: files.done + "/day1.csv.2"))
        let (_, page) = try await server.send("GET", "/v1/trades?origin=capture", as: admin)
        #expect((Self.object(page)["trades"] as? [Any])?.count == 2)

        try Data("trade_id,account,symbol,side,quantity,price,trade_date,colour\n".utf8).write(to: URL(fileURLWithPath: files.inbox + "/bad.csv"))
        let bad = try await files.scan()
        #expect(bad.first?.state == "refused" && bad.first?.reason.contains("colour") == true, "\(bad)")
        #expect(FileManager.default.fileExists(atPath: files.failed + "/bad.csv") && FileManager.default.fileExists(atPath: files.failed + "/bad.csv.result.csv"))

        let (_, listed) = try await server.send("GET", "/v1/admin/capture-files", as: admin)
        #expect((listed as? [[String: Any]])?.map { $0["name"] as? String } == ["bad.csv", "day1.csv"])
        let (_, rows) = try await server.send("GET", "/v1/admin/capture-files/\(first[0].id)/rows?after_line=2", as: admin)
        #expect((rows as? [[String: Any]])?.map { "\($0["line"]!) \($0["status"]!)" } == ["3 captured", "4 refused", "5 queued"])
        await server.stop()
    }

    @Test("""
    reconciling a day's captures with a street file finds exactly the breaks planted in it, one of every kind, and \
    nothing else; a break is resolved once, saying how, with who resolved it kept
    """)
    func reconciliation() async throws {
        let (server, _) = try await Self.start()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let admin = server.key(account: 3, role: .admin)
        _ = try await server.opened.venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: CivilDate("2026-10-09")!, settlesOn: CivilDate("2026-10-13")!)))
        var trades = ""
        for (n, side) in ["buy", "buy", "sell", "buy", "sell", "buy", "sell"].enumerated() {
            trades += (n == 0 ? "" : ",") + #"{"trade_id":"T\#(n + 1)","account":"1","symbol":"AAPL","side":"\#(side)","qty":"100","price":"190.00","trade_date":"2026-10-09"}"#
        }
        let (captured, _) = try await server.send("POST", "/v1/trades", as: admin, body: #"{"trades":[\#(trades)]}"#)
        #expect(captured == 200)
        // T7 was cancelled: the house no longer has it, and a street file that does not either is right.
        #expect(try await server.send("POST", "/v1/trades/C-7/cancel", as: admin).0 == 200)
        let street = [
            "trade_id,account,symbol,side,quantity,price,trade_date,settlement_date",
            "T1,1,AAPL,buy,100,190.00,2026-10-09,2026-10-13",     // matches
            "T2,1,AAPL,buy,90,190.00,2026-10-09,2026-10-13",      // quantity
            "T3,1,AAPL,sell,100,190.01,2026-10-09,2026-10-13",    // price
            "T4,1,AAPL,sell,100,190.00,2026-10-09,2026-10-13",    // side
            "T5,1,AAPL,sell,100,190.00,2026-10-09,2026-10-14",    // settlement date
            // T6: missing in the street
            "S8,1,AAPL,buy,5,189.00,2026-10-09,2026-10-13",       // missing in the house
        ].joined(separator: "\n")
        let request = #"{"trade_date":"2026-10-09","name":"nscc-20261009.csv","csv":"# + API.quoted(street) + "}"
        let (status, body) = try await server.send("POST", "/v1/admin/reconciliations", as: admin, body: request)
        let run = Self.object(body)
        #expect(status == 200 && run["house"] as? Int == 6 && run["street"] as? Int == 6 && run["matched"] as? Int == 1, "\(run)")
        let breaks = run["break_records"] as? [[String: Any]] ?? []
        #expect(breaks.map { "\($0["trade_id"]!) \($0["kind"]!)" } == ["S8 missing_in_house", "T2 quantity", "T3 price", "T4 side", "T5 settlement_date", "T6 missing_in_street"])
        // The one that matched is cleared.
        let (_, t1) = try await server.send("GET", "/v1/trades/C-1", as: admin)
        #expect(Self.object(t1)["state"] as? String == "cleared", "\(t1 ?? "")")
        #expect(Self.object(try await server.send("GET", "/v1/trades/C-2", as: admin).1)["state"] as? String == "captured")
        let first = breaks.first?["id"] as? Int ?? 0
        let (resolved, answer) = try await server.send("POST", "/v1/admin/reconciliation-breaks/\(first)/resolve", as: admin,
                                                       body: #"{"resolution":"booked late by the desk; captured as S8 on the 12th"}"#)
        #expect(resolved == 200 && Self.object(answer)["state"] as? String == "resolved" && Self.object(answer)["resolved_by"] as? String == admin.keyID)
        #expect(try await server.send("POST", "/v1/admin/reconciliation-breaks/\(first)/resolve", as: admin, body: #"{"resolution":"again"}"#).0 == 422)
        let (_, open) = try await server.send("GET", "/v1/admin/reconciliation-breaks?state=open", as: admin)
        #expect((open as? [Any])?.count == 5)
        await server.stop()
    }
}
