@testable import BourseServer
import BourseCore
import BourseTestSupport
import Foundation
import HummingbirdWebSocket
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Regressions for what Alpaca's clients found wrong, beyond what the alpaca-py scripts check.
@Suite("Alpaca exactness")
struct AlpacaExactnessTests {
    typealias Running = ServerTests.Running

    @Test("a path no route has is 404 in Alpaca's error shape; a path under another method is 405 naming the methods it takes")
    func unknownRoutes() async throws {
        let directory = makeTemporaryDirectory("bourse-exact")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        let (missing, missingBody) = try await server.send("GET", "/v2/nothing/here", as: trader)
        #expect(missing == 404 && (missingBody as? [String: Any])?["code"] as? Int == 40410000
                && (missingBody as? [String: Any])?["message"] as? String == "no route is GET /v2/nothing/here")
        let (wrong, wrongBody, headers) = try await server.exchange("PUT", "/v2/orders", as: trader, body: "{}")
        #expect(wrong == 405 && (wrongBody as? [String: Any])?["message"] as? String == "/v2/orders takes DELETE, GET or POST, not PUT")
        #expect(headers["Allow"] as? String == "DELETE, GET, POST")
        let (byID, _) = try await server.send("POST", "/v2/orders/\(OrderID(7).uuid)", as: trader, body: "{}")
        #expect(byID == 405)
        await server.stop()
    }

    @Test("on a fresh venue level 1 carries the listing's previous close, so a change_pct alert fires on the first trade")
    func previousCloseFromListing() async throws {
        let directory = makeTemporaryDirectory("bourse-exact")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let watcher = server.key(account: 1), buyer = server.key(account: 2), seller = server.key(account: 3)
        let (_, alert) = try await server.send("POST", "/v1/alerts", as: watcher,
                                               body: #"{"symbol":"AAPL","condition":"change_pct_above","value":"1.5","source":"trade"}"#)
        let id = (alert as? [String: Any])?["id"] as? String ?? ""
        // 193.00 is 1.58% above the listing's 190.00: the trade, once level 1 is subscribed to.
        let received = Received()
        try await server.webSocket("/v2/stream", received, first: #"{"action":"auth","key":"\#(watcher.keyID)","secret":"\#(watcher.secret)"}"#) { text, outbound in
            if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","l1":["AAPL"]}"#))
            } else if text.contains(#""T":"subscription""#) {
                _ = try await server.order(seller, #""symbol":"AAPL","qty":"1","side":"sell","type":"limit","time_in_force":"day","limit_price":"193.00""#)
                _ = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"193.00""#)
            }
            return text.contains(#""T":"l1""#) && text.contains(#""lp":193.00"#)
        }
        let levelOne = try #require(received.all.last)
        #expect(levelOne.contains(#""pc":190.00"#) && levelOne.contains(#""cp":1.57"#), "\(levelOne)")
        let fired = try await server.eventually("/v1/alerts?status=fired", as: watcher) { body in (body as? [Any]).map { !$0.isEmpty } ?? false }
        #expect((fired as? [[String: Any]])?.map { $0["id"] as? String } == [id])
        await server.stop()
    }

    @Test("order ids in the book's queues and on the l3 channel are strings, the UUIDs the REST API gives")
    func idsAreStrings() async throws {
        let directory = makeTemporaryDirectory("bourse-exact")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        let (_, placed) = try await server.order(trader, #""symbol":"MSFT","qty":"2","side":"buy","type":"limit","time_in_force":"day","limit_price":"400.00""#)
        let id = try #require(placed["id"] as? String)
        #expect(UUID(uuidString: id) != nil)
        let (_, book) = try await server.send("GET", "/v1/book/MSFT?orders=true", as: trader)
        let queue = ((book as? [String: Any])?["bids"] as? [[String: Any]])?.first?["queue"] as? [[String: Any]]
        #expect(queue?.map { $0["id"] as? String } == [id])
        let received = Received()
        try await server.webSocket("/v2/stream", received, first: #"{"action":"auth","key":"\#(trader.keyID)","secret":"\#(trader.secret)"}"#) { text, outbound in
            if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","l3":["MSFT"]}"#))
            } else if text.contains(#""T":"subscription""#) {
                _ = try await server.order(trader, #""symbol":"MSFT","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"399.00""#)
            }
            return text.contains(#""T":"l3""#) && text.contains(#""p":399.00"#)
        }
        #expect(received.all.contains { $0.contains(#""T":"l3""#) && $0.contains(#""i":"0b0a5e01-"#) }, "\(received.all)")
        await server.stop()
    }
}
