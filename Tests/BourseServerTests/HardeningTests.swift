@testable import BourseServer
import BourseCore
import BourseTestSupport
import Foundation
import Testing

/// What an attacker or a bad day tried, and what the venue must do instead of stopping: each test
/// is the regression test of one finding, against the real server on a loopback port.
@Suite("hardening: no input stops the venue")
struct HardeningTests {
    typealias Running = ServerTests.Running

    static func message(_ body: Any?) -> String { (body as? [String: Any])?["message"] as? String ?? "" }

    @Test("times and dates past what a timestamp holds get 422 naming the range, on every route that reads one, and the venue goes on")
    func outOfRangeTimes() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        for path in ["/v2/stocks/AAPL/bars?start=2262-04-12", "/v2/stocks/AAPL/bars?start=0000-01-01T00:00:00Z",
                     "/v2/stocks/AAPL/bars?start=2300-01-01", "/v2/stocks/AAPL/trades?end=1000-01-01",
                     "/v2/stocks/AAPL/quotes?start=9999-12-31T23:59:59.999999999-23:59",
                     "/v2/calendar?start=0001-01-01&end=0001-12-31", "/v2/calendar?start=2261-12-01&end=2262-01-31"] {
            let (status, body) = try await server.send("GET", path, as: trader)
            #expect(status == 422, "\(path)")
            #expect(Self.message(body).contains("1678"), "\(path): \(Self.message(body))")
        }
        // Both order entry paths: the plain body on the event loop, and one the router reads (an escape).
        for clientID in ["far", "f\\u0061r"] {
            let (status, body) = try await server.order(trader, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtd","limit_price":"1.00","expire_at":"2300-01-01T00:00:00Z","client_order_id":"\#(clientID)""#)
            #expect(status == 422 && Self.message(body).contains("expire_at"), "\(body)")
        }
        // The edges that fit are served.
        #expect(try await server.send("GET", "/v2/stocks/AAPL/bars?start=2261-12-31&timeframe=1Week", as: trader).0 == 200)
        #expect(try await server.send("GET", "/v2/stocks/AAPL/bars?start=1678-01-01T00:00:00%2B23:59", as: trader).0 == 200)
        #expect(try await server.send("GET", "/v2/calendar?start=2261-12-01&end=2261-12-31", as: trader).0 == 200)
        #expect(try await server.send("GET", "/healthz", as: nil).0 == 200)
        await server.stop()
    }
}
