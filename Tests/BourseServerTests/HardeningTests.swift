@testable import BourseServer
@testable import BourseVenue
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
        #expect(try await server.send("GET", "/v2/stocks/AAPL/bars?start=1678-01-01T00:00:00-05:00", as: trader).0 == 200)
        // An offset that carries the instant out of the supported days is refused too.
        #expect(try await server.send("GET", "/v2/stocks/AAPL/bars?start=1678-01-01T00:00:00%2B23:59", as: trader).0 == 422)
        #expect(try await server.send("GET", "/v2/calendar?start=2261-12-01&end=2261-12-31", as: trader).0 == 200)
        #expect(try await server.send("GET", "/healthz", as: nil).0 == 200)
        await server.stop()
    }

    @Test("numbers written loosely and keys given twice are refused by name, on both order entry paths, and nothing is placed")
    func strictOrderBodies() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        let cases: [(String, String)] = [
            (#""qty":"+1","limit_price":"190.00""#, "qty must be a whole number of shares"),
            (#""qty":" 1","limit_price":"190.00""#, "qty must be a whole number of shares"),
            (#""qty":"1.5","limit_price":"190.00""#, "qty 1.5 is fractional"),
            (#""qty":1e2,"limit_price":"190.00""#, "qty must be a whole number of shares, not 1e2"),
            (#""qty":"1","limit_price":"190.""#, "limit_price"),
            (#""qty":"1","limit_price":".5""#, "limit_price"),
            (#""qty":"1","limit_price":"1e2""#, "limit_price"),
            (#""qty":"1","qty":"0","limit_price":"190.00""#, #"the key "qty" is given more than once"#),
            (#""qty":"1","q\u0074y":"2","limit_price":"190.00""#, #"the key "qty" is given more than once"#),
        ]
        // The first body of each pair is plain (the event loop may take it), the second has an escape (the router reads it).
        for (fields, message) in cases {
            for id in ["loose", "l\\u006fose"] {
                let (status, body) = try await server.order(trader, #""symbol":"AAPL","side":"buy","type":"limit","time_in_force":"gtc","client_order_id":"\#(id)",\#(fields)"#)
                #expect(status == 422 && Self.message(body).contains(message), "\(fields): \(status) \(body)")
            }
        }
        let (_, open) = try await server.send("GET", "/v2/orders", as: trader)
        #expect((open as? [Any])?.isEmpty == true)
        await server.stop()
    }

    @Test("a market data subscription to a symbol the venue does not offer is refused by name and changes nothing; a repeated key too")
    func subscriptionsAreBounded() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        let received = Received()
        let unlisted = (0..<2_000).map { "\"Z\($0)\"" }.joined(separator: ",")
        try await server.webSocket("/v2/stream", received) { text, outbound in
            if text.contains(#""msg":"connected""#) {
                try await outbound.write(.text(#"{"action":"auth","key":"\#(trader.keyID)","secret":"\#(trader.secret)"}"#))
            } else if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","trades":[\#(unlisted)]}"#))
                try await outbound.write(.text(#"{"action":"subscribe","trades":["AAPL"],"trades":["MSFT"]}"#))
                try await outbound.write(.text(#"{"action":"subscribe","trades":["AAPL"]}"#))
            }
            return text.contains(#""T":"subscription""#)
        }
        let all = received.all
        #expect(all.contains { $0.contains("symbol Z0 is not offered") }, "\(all)")
        #expect(all.contains { $0.contains(#"the key \"trades\" is given more than once"#) }, "\(all)")
        #expect(all.last?.contains(#""trades":["AAPL"]"#) == true, "\(all)")
        await server.stop()
    }

    static func signIn(_ server: Running, _ key: IssuedKey) async throws -> String {
        let (_, body) = try await server.send("POST", "/v1/sessions", as: nil, body: #"{"key_id":"\#(key.keyID)","secret":"\#(key.secret)"}"#)
        return (body as? [String: Any])?["token"] as? String ?? ""
    }

    @Test("sign-ins with made-up key ids share one rate-limit bucket, so they grow no table; a key's many sign-ins lock out no other key")
    func sessionFloods() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, rateLimit: 100_000, rateBurst: 100_000)
        let flooder = server.key(account: 1), other = server.key(account: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for i in 0..<250 {
                        _ = try await server.send("POST", "/v1/sessions", as: nil, body: #"{"key_id":"PKRANDOM\#(lane)X\#(i)","secret":"x"}"#)
                        _ = try await Self.signIn(server, flooder)
                    }
                }
            }
            try await group.waitForAll()
        }
        let metrics = try await server.metrics()
        // The flooder's key, the bucket for unknown ids, and none per made-up id.
        #expect(OrderEntryTests.counter(metrics, "bourse_rate_limit_buckets") == 2)
        #expect(OrderEntryTests.counter(metrics, "bourse_web_sessions") == KeyStore.sessionsPerKeyMax)
        let token = try await Self.signIn(server, other)
        #expect(!token.isEmpty)
        #expect(try await server.send("GET", "/v2/account", as: nil, token: token).0 == 200)
        await server.stop()
    }

    @Test("signing out closes the streams the session's token opened")
    func signOutClosesStreams() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        for path in ["/stream", "/v2/stream"] {
            let token = try await Self.signIn(server, trader)
            let (auth, authorized) = path == "/stream"
                ? (#"{"action":"authenticate","data":{"token":"\#(token)"}}"#, #""status":"authorized""#)
                : (#"{"action":"auth","token":"\#(token)"}"#, #""msg":"authenticated""#)
            let received = Received()
            let signedOut = Shared(false)
            // The client returns once the server closes the stream (or fails after twenty seconds).
            await #expect(throws: Never.self, "\(path) stayed open after the sign-out: \(received.all)") {
            try await server.webSocket(path, received, first: path == "/stream" ? auth : nil) { text, outbound in
                if text.contains(#""msg":"connected""#) { try await outbound.write(.text(auth)) }
                if text.contains(authorized), !signedOut.withLock({ $0 }) {
                    signedOut.withLock { $0 = true }
                    #expect(try await server.send("DELETE", "/v1/sessions", as: nil, token: token).0 == 204)
                }
                return false
            }
            }
            #expect(signedOut.withLock { $0 }, "\(path): \(received.all)")
            #expect(try await server.send("GET", "/v2/account", as: nil, token: token).0 == 401)
        }
        await server.stop()
    }

    @Test("credentials given twice are refused on both order entry paths, and metrics need the token or a risk or admin key")
    func credentialsAndMetrics() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1), other = server.key(account: 2)
        let body = #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"1.00"}"#
        var twice = OrderEntryTests.request("POST", "/v2/orders", as: trader, body: body)
        twice = twice.replacingOccurrences(of: "Host: 127.0.0.1\r\n", with: "Host: 127.0.0.1\r\nAPCA-API-KEY-ID: \(other.keyID)\r\nAPCA-API-SECRET-KEY: \(other.secret)\r\n")
        let answers = try await OrderEntryTests.answers(port: server.port, to: twice + OrderEntryTests.request("GET", "/v2/orders", as: trader, close: true))
        #expect(answers.first?.status == 401 && answers.first?.body.contains("APCA-API-KEY-ID is given more than once") == true,
                "\(answers.first?.body ?? "") \(answers.first?.headers ?? [:])")
        #expect(answers.last?.body == "[]")

        #expect(try await server.send("GET", "/metrics", as: nil).0 == 401)
        #expect(try await server.send("GET", "/metrics", as: trader).0 == 401)
        #expect(try await server.send("GET", "/metrics", as: nil, token: "wrong").0 == 401)
        #expect(try await server.send("GET", "/metrics", as: server.key(account: 3, role: .admin)).0 == 200)
        #expect(try await server.send("GET", "/metrics", as: nil, token: Running.metricsToken).0 == 200)
        await server.stop()
    }

    @Test("the data directory and the journal are their owner's only; secrets files are 0600 from creation and read back whole")
    func fileModes() async throws {
        let directory = makeTemporaryDirectory("bourse-hardening")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        _ = try await server.order(trader, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"1.00""#)
        await server.stop()
        func mode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1 }
        #expect(mode(directory) == 0o700 && mode(directory + "/journal") == 0o700)
        for name in ["credentials.json", "keys.json", "bourse.json", "projections.sqlite", "alerts.sqlite", "market-history.sqlite"] {
            #expect(mode(directory + "/" + name) == 0o600, "\(name): \(String(mode(directory + "/" + name), radix: 8))")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory + "/journal") {
            #expect(mode(directory + "/journal/" + name) == 0o600, "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/credentials.json.tmp"))
    }
}
