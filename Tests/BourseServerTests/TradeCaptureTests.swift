import BourseCore
@testable import BourseServer
import BourseTestSupport
import BourseVenue
import Foundation
import Testing

/// `/v1/trades` on the real server: captures one at a time and in batches, idempotent by trade id, refused
/// by name; who may capture and read; and the lifecycle a trade shows as business dates roll and it settles.
@Suite("trade capture over HTTP")
struct TradeCaptureTests {
    static func object(_ body: Any?) -> [String: Any] { body as? [String: Any] ?? [:] }

    @Test("""
    given Friday 9 October 2026, a trade captured through the API settles on Tuesday 13th (Columbus Day in between); \
    the same trade id answers with the same trade, other terms are refused, a batch says what became of each trade
    """)
    func captureAndSettle() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ConfigurationTests.Clock()
        clock.now = API.parseTime("2026-10-09T15:00:00Z")!
        let server = try await ServerTests.Running(directory: directory, clock: { clock.now })
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
        #expect(outcomes == ["EXT-2 accepted ", "EXT-3 refused unknown_symbol", "EXT-4 refused trade_date_not_business_day", "EXT-5 refused invalid"])

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
}
