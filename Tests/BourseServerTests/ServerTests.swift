import BourseCore
import BourseJournal
import BourseNode
import BourseMarketData
import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import Hummingbird
import HummingbirdWSClient
import Logging
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The real server on a loopback port, driven over HTTP as a client would.
@Suite("the REST API")
struct ServerTests {
    /// A running server in a fresh data directory, with the keys it issued.
    final class Running: @unchecked Sendable {
        let directory: String
        let opened: DataDirectory.Opened
        let port: Int
        let task: Task<Void, any Error>

        init(directory: String, rateLimit: Int = 2_000, rateBurst: Int = 4_000, configuration: VenueConfiguration? = nil,
             streamQueueMax: Int = 8_192, streamWindow: Duration = .milliseconds(10), conflationInterval: Duration = .seconds(1),
             clock: @escaping @Sendable () -> Int64 = wallClockNanos, connectionLimits: ConnectionLimits = .init(),
             webSocketPing: Duration = .seconds(30)) async throws {
            self.directory = directory
            opened = try await DataDirectory(path: directory).open(configuration: configuration, streamQueueMax: streamQueueMax, clock: clock)
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = Server(opened: opened, port: 0, rateLimit: rateLimit, rateBurst: rateBurst, streamWindow: streamWindow,
                             conflationInterval: conflationInterval, connectionLimits: connectionLimits,
                             metricsToken: Self.metricsToken, webSocketPing: webSocketPing)
                .application { port in continuation.yield(port) }
            task = Task { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            port = await iterator.next() ?? 0
        }

        func stop() async {
            task.cancel()
            _ = await task.result
            opened.stop()
        }

        func key(account: UInt32, role: Role = .trader) -> IssuedKey {
            let keys = DataDirectory.credentials(IssuedKey.self, in: directory + "/credentials.json")
            return keys.first { $0.account == account && $0.role == role }!
        }

        /// Sends a request; returns the status and the body parsed as JSON (nil when there is none).
        func send(_ method: String, _ path: String, as key: IssuedKey?, body: String? = nil, token: String? = nil) async throws -> (Int, Any?) {
            let (status, body, _) = try await exchange(method, path, as: key, body: body, token: token)
            return (status, body)
        }

        /// As `send`, with the response's headers.
        func exchange(_ method: String, _ path: String, as key: IssuedKey?, body: String? = nil, token: String? = nil) async throws
            -> (Int, Any?, [AnyHashable: Any]) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
            if let key {
                request.setValue(key.keyID, forHTTPHeaderField: "APCA-API-KEY-ID")
                request.setValue(key.secret, forHTTPHeaderField: "APCA-API-SECRET-KEY")
            }
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as? HTTPURLResponse
            return (http?.statusCode ?? 0, data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data),
                    http?.allHeaderFields ?? [:])
        }

        /// Asks again, up to two seconds, until `check` holds: the order history follows the event stream a
        /// moment behind the acknowledgement.
        func eventually(_ path: String, as key: IssuedKey, _ check: (Any?) -> Bool) async throws -> Any? {
            var body: Any?
            for _ in 0..<200 {
                body = try await send("GET", path, as: key).1
                if check(body) { return body }
                try await Task.sleep(for: .milliseconds(10))
            }
            return body
        }

        /// Connects a WebSocket client to `path`, sends `first` if given, records every text message in
        /// `received` and hands it to `onText`, until `onText` says it is done; fails after twenty seconds.
        /// A WebSocket client on `path` until `onText` says it is done, or `within` has passed (then it throws).
        func webSocket(_ path: String, _ received: Received, first: String? = nil, within: Duration = .seconds(20),
                       onText: @escaping @Sendable (String, WebSocketOutboundWriter) async throws -> Bool) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(self.port)\(path)", logger: Logger(label: "test")) { inbound, outbound, _ in
                        if let first { try await outbound.write(.text(first)) }
                        var iterator = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                        while let message = try await iterator.next() {
                            guard case .text(let text) = message else { continue }
                            received.append(text)
                            if try await onText(text, outbound) { return }
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: within)
                    throw CancellationError()
                }
                try await group.next()
                group.cancelAll()
            }
        }

        static let metricsToken = "metrics-token-of-the-tests"

        /// The `/metrics` exposition, read with the metrics token.
        func metrics() async throws -> String {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            request.setValue("Bearer " + Self.metricsToken, forHTTPHeaderField: "Authorization")
            return String(decoding: try await URLSession.shared.data(for: request).0, as: UTF8.self)
        }

        func order(_ key: IssuedKey, _ fields: String) async throws -> (Int, [String: Any]) {
            let (status, body) = try await send("POST", "/v2/orders", as: key, body: "{\(fields)}")
            return (status, body as? [String: Any] ?? [:])
        }
    }

    @Test("an order rests, another account's order fills it, positions and cash follow, and all survives a restart")
    func lifecycle() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3), other = server.key(account: 2)

        let (health, _) = try await server.send("GET", "/healthz", as: nil)
        #expect(health == 200)
        // One node, no standby: it leads, and says so to anyone who asks.
        let (leaderStatus, leader) = try await server.send("GET", "/v1/leader", as: nil)
        #expect(leaderStatus == 200 && (leader as? [String: Any])?["role"] as? String == "single", "\(String(describing: leader))")
        let (restingStatus, resting) = try await server.order(buyer, #""symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"190.00""#)
        #expect(restingStatus == 200 && resting["status"] as? String == "new")
        let id = resting["id"] as? String ?? ""

        // Another account can neither see nor cancel it.
        let (hidden, _) = try await server.send("GET", "/v2/orders/\(id)", as: other)
        #expect(hidden == 404)
        let (refused, refusal) = try await server.send("DELETE", "/v2/orders/\(id)", as: other)
        #expect(refused == 422 && ((refusal as? [String: Any])?["message"] as? String)?.hasPrefix("order_not_open") == true)
        let (visible, open) = try await server.send("GET", "/v2/orders", as: buyer)
        #expect(visible == 200 && (open as? [[String: Any]])?.map { $0["id"] as? String } == [id])

        let (takerStatus, taker) = try await server.order(seller, #""symbol":"AAPL","qty":10,"side":"sell","type":"market","time_in_force":"ioc""#)
        #expect(takerStatus == 200)
        #expect(taker["status"] as? String == "filled" && taker["filled_qty"] as? String == "10" && taker["filled_avg_price"] as? String == "190.00")

        let (_, positions) = try await server.send("GET", "/v2/positions/AAPL", as: buyer)
        #expect((positions as? [String: Any])?["qty"] as? String == "1010")
        // 10 × $190 paid, a $0.002 maker rebate a share received.
        let (_, account) = try await server.send("GET", "/v2/account", as: buyer)
        #expect((account as? [String: Any])?["cash"] as? String == "998100.02")
        let (_, afterFill) = try await server.send("GET", "/v2/orders", as: buyer)
        #expect((afterFill as? [Any])?.isEmpty == true)

        let (_, second) = try await server.order(buyer, #""symbol":"MSFT","qty":"5","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"400.00""#)
        let (_, third) = try await server.order(buyer, #""symbol":"MSFT","qty":"5","side":"buy","type":"limit","time_in_force":"day","limit_price":"401.00""#)
        let (cancelled, _) = try await server.send("DELETE", "/v2/orders/\(third["id"] as? String ?? "")", as: buyer)
        #expect(cancelled == 204)
        let (_, before) = try await server.send("GET", "/v2/account", as: buyer)
        await server.stop()

        let restarted = try await Running(directory: directory)
        let (_, after) = try await restarted.send("GET", "/v2/account", as: buyer)
        #expect((after as? [String: Any])?["cash"] as? String == (before as? [String: Any])?["cash"] as? String)
        // 5 shares at $400 plus the $0.003 taker fee estimate a share.
        #expect((after as? [String: Any])?["cash_on_hold"] as? String == "2000.015")
        let (_, reopened) = try await restarted.send("GET", "/v2/orders", as: buyer)
        #expect((reopened as? [[String: Any]])?.map { $0["id"] as? String } == [second["id"] as? String])
        await restarted.stop()
    }

    @Test("bad requests get a 4xx with a specific message and change nothing")
    func badInput() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        let (_, before) = try await server.send("GET", "/v2/account", as: trader)

        let (noKey, _) = try await server.send("GET", "/v2/account", as: nil)
        #expect(noKey == 401)
        var wrong = trader
        wrong.secret = String(wrong.secret.reversed())
        let (wrongKey, _) = try await server.send("GET", "/v2/account", as: wrong)
        #expect(wrongKey == 401)

        let cases: [(body: String, status: Int, message: String)] = [
            ("{\"symbol\":", 422, "the body is not valid JSON: the body ends where a value should be at byte 10"),
            (#"{"qty":"1","side":"buy","type":"market","time_in_force":"day"}"#, 422, "symbol is required"),
            (#"{"symbol":true,"qty":"1","side":"buy","type":"market","time_in_force":"day"}"#, 422, "symbol must be a string"),
            (#"{"symbol":"ZZZZ","qty":"1","side":"buy","type":"market","time_in_force":"day"}"#, 422, "unknown_symbol: ZZZZ is not listed"),
            (#"{"symbol":"AAPL","qty":"1.5","side":"buy","type":"market","time_in_force":"day"}"#, 422, "qty 1.5 is fractional: Bourse trades whole shares"),
            (#"{"symbol":"AAPL","qty":0.5,"side":"buy","type":"market","time_in_force":"day"}"#, 422, "qty 0.5 is fractional: Bourse trades whole shares"),
            (#"{"symbol":"AAPL","notional":"100.00","side":"buy","type":"market","time_in_force":"day"}"#, 422, "notional is not supported: Bourse trades whole shares; give qty"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00","extended_hours":true}"#, 422, "extended_hours is not supported: Bourse trades in its regular session only"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"opg"}"#, 422, "time_in_force opg is not supported: Bourse runs no opening or closing auction"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","stop_pryce":"189.00"}"#, 422, "stop_pryce is not a field of this request"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":190.12345}"#, 422, "limit_price \"190.12345\" must be a decimal string with at most four decimals"),
            (#"{"symbol":"AAPL","qty":"0","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.00"}"#, 422, "quantity_not_positive: quantity must be at least 1"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.001"}"#, 422, "price_off_tick: price 190.001 is not a multiple of the tick 0.01"),
            (#"{"symbol":"AAPL","qty":"1","side":"up","type":"market","time_in_force":"day"}"#, 422, "side must be buy or sell, not \"up\""),
            (#"{"symbol":"AAPL","qty":"10000","side":"buy","type":"limit","time_in_force":"day","limit_price":"200.00"}"#, 403, "insufficient_buying_power: needs 2,000,030.00, available 1,000,000.00"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"250.00"}"#, 422, "price_outside_collar: price 250.00 is beyond the collar limit of 209.00"),
            ("{\"symbol\":\"AAPL\",\"qty\":\"1\",\"side\":\"buy\",\"type\":\"market\",\"time_in_force\":\"day\",\"client_order_id\":\"\(String(repeating: "x", count: 129))\"}",
             422, "client_order_id must be at most 128 characters, not 129"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"market","time_in_force":"day","client_order_id":"a b"}"#, 422, "client_order_id must be printable ASCII without spaces"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtd","limit_price":"189.00"}"#, 422, "a gtd order needs expire_at"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtd","limit_price":"189.00","expire_at":"tomorrow"}"#, 422, "expire_at \"tomorrow\" must be an RFC 3339 time or a date as YYYY-MM-DD, from 1678 to 2261"),
            (#"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00","expire_at":"2030-01-01T00:00:00Z"}"#, 422, "expire_at is for gtd orders only"),
        ]
        for c in cases {
            let (status, body) = try await server.send("POST", "/v2/orders", as: trader, body: c.body)
            #expect(status == c.status, "\(c.body)")
            #expect((body as? [String: Any])?["message"] as? String == c.message, "\(c.body)")
        }
        let oversized = "{\"symbol\":\"" + String(repeating: "A", count: 20_000) + "\"}"
        let (tooLarge, _) = try await server.send("POST", "/v2/orders", as: trader, body: oversized)
        #expect(tooLarge == 413)
        let (_, after) = try await server.send("GET", "/v2/account", as: trader)
        #expect(NSDictionary(dictionary: after as? [String: Any] ?? [:]) == NSDictionary(dictionary: before as? [String: Any] ?? [:]))
        await server.stop()
    }

    @Test("a replace continues the order under a new id; an admin halts a symbol and uses the kill switch, a trader may not")
    func replaceAndAdmin() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1), admin = server.key(account: 3, role: .admin)

        let (_, placed) = try await server.order(trader, #""symbol":"SPY","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"550.00""#)
        let id = placed["id"] as? String ?? ""
        let (replacedStatus, replaced) = try await server.send("PATCH", "/v2/orders/\(id)", as: trader, body: #"{"qty":"4","limit_price":"551.00"}"#)
        let newOrder = replaced as? [String: Any] ?? [:]
        #expect(replacedStatus == 200 && newOrder["qty"] as? String == "4" && newOrder["limit_price"] as? String == "551.00")
        #expect(newOrder["id"] as? String != id)
        // The old order lives on in the history as replaced, pointing at its successor.
        let old = try await server.eventually("/v2/orders/\(id)", as: trader) { ($0 as? [String: Any])?["status"] as? String == "replaced" }
        #expect((old as? [String: Any])?["replaced_by"] as? String == newOrder["id"] as? String)
        let (tooMuch, refusal) = try await server.send("PATCH", "/v2/orders/\(newOrder["id"] as? String ?? "")", as: trader, body: #"{"qty":"3000"}"#)
        #expect(tooMuch == 403 && ((refusal as? [String: Any])?["message"] as? String)?.hasPrefix("insufficient_buying_power") == true)

        let (forbidden, _) = try await server.send("POST", "/v1/admin/symbols/SPY/state", as: trader, body: #"{"state":"halted"}"#)
        #expect(forbidden == 403)
        let (halted, _) = try await server.send("POST", "/v1/admin/symbols/SPY/state", as: admin, body: #"{"state":"halted"}"#)
        #expect(halted == 200)
        let (rejected, rejection) = try await server.order(trader, #""symbol":"SPY","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"550.00""#)
        #expect(rejected == 422 && rejection["message"] as? String == "symbol_halted: SPY is halted: only cancels are accepted")
        let (_, _) = try await server.send("POST", "/v1/admin/symbols/SPY/state", as: admin, body: #"{"state":"open"}"#)

        let (killed, _) = try await server.send("POST", "/v1/admin/accounts/1/kill", as: admin)
        #expect(killed == 200)
        let (_, open) = try await server.send("GET", "/v2/orders", as: trader)
        #expect((open as? [Any])?.isEmpty == true)
        let (blocked, blockedBody) = try await server.order(trader, #""symbol":"SPY","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"550.00""#)
        #expect(blocked == 403 && blockedBody["message"] as? String == "account_blocked: account 1 is blocked: only cancels are accepted")

        let (opened, _) = try await server.send("POST", "/v1/admin/accounts", as: admin, body: #"{"id":9,"kind":"cash"}"#)
        #expect(opened == 200)
        let (funded, _) = try await server.send("POST", "/v1/admin/accounts/9/deposits", as: admin, body: #"{"amount":"2500.50"}"#)
        #expect(funded == 200)
        let (again, duplicate) = try await server.send("POST", "/v1/admin/accounts", as: admin, body: #"{"id":9,"kind":"cash"}"#)
        #expect(again == 422 && (duplicate as? [String: Any])?["message"] as? String == "account_exists: account 9 already exists")
        await server.stop()
    }

    @Test("a key over its rate limit gets 429 with Retry-After; another key is not held back")
    func rateLimit() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, rateLimit: 1, rateBurst: 3)
        let first = server.key(account: 1), second = server.key(account: 2)
        // Sent together, so that on a loaded machine a second cannot pass between them and refill the
        // bucket: of six, the burst of three passes (a fourth if a second did pass) and the rest are refused.
        let answers = try await withThrowingTaskGroup(of: (Int, String?, String?).self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let (status, body, headers) = try await server.exchange("GET", "/v2/account", as: first)
                    return (status, (body as? [String: Any])?["message"] as? String,
                            headers.first { ($0.key as? String)?.lowercased() == "retry-after" }?.value as? String)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let passed = answers.filter { $0.0 == 200 }.count
        #expect((3...4).contains(passed), "\(answers.map(\.0))")
        let refused = answers.filter { $0.0 == 429 }
        #expect(refused.count == answers.count - passed)
        for (_, message, retryAfter) in refused {
            #expect(message == "rate limit exceeded: 1 requests a second for each key")
            #expect(retryAfter == "1")
        }
        #expect(try await server.send("GET", "/v2/account", as: second).0 == 200)
        await server.stop()
    }

    @Test("/metrics counts orders by outcome and reason, answers by status, and acknowledgement latency")
    func metrics() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        _ = try await server.order(trader, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00""#)
        _ = try await server.order(trader, #""symbol":"AAPL","qty":"6000","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00""#)
        let text = try await server.metrics()
        for line in ["bourse_orders_total{outcome=\"new\"} 1", "bourse_orders_total{outcome=\"rejected\"} 1",
                     "bourse_order_rejections_total{reason=\"insufficient_buying_power\"} 1",
                     "bourse_http_requests_total{method=\"POST\",route=\"/v2/orders\",status=\"200\"} 1",
                     "bourse_http_requests_total{method=\"POST\",route=\"/v2/orders\",status=\"403\"} 1",
                     "bourse_ack_latency_seconds_count 2", "# TYPE bourse_websocket_drops_total counter",
                     "# TYPE bourse_journal_commit_seconds histogram", "# TYPE bourse_engine_batch_seconds histogram",
                     "# HELP bourse_open_orders Open orders in the engine.", "# TYPE process_cpu_seconds_total counter"] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        for (series, value) in [("bourse_open_orders", 1), ("bourse_accounts", 3), (#"bourse_websocket_connections{stream="market_data"}"#, 0),
                                (#"bourse_projection_failed{projection="orders"}"#, 0)] as [(String, Int)] {
            #expect(OrderEntryTests.counter(text, series) == value, "\(series)")
        }
        #expect(text.contains(#"bourse_projection_apply_rate_entries{projection="market"} "#))
        // The process: its memory, its descriptors (the listener and the journal at least) and the limit on them.
        #expect(OrderEntryTests.counter(text, "process_resident_memory_bytes") > 1 << 20)
        #expect(OrderEntryTests.counter(text, "process_open_fds") > 2)
        #expect(OrderEntryTests.counter(text, "process_max_fds") >= OrderEntryTests.counter(text, "process_open_fds"))
        // Every route's answers carry its pattern, not the path asked: the set of series stays the routes'.
        _ = try await server.send("GET", "/v2/orders/123456", as: trader)
        let routed = try await server.metrics()
        #expect(routed.contains(#"bourse_http_requests_total{method="GET",route="/v2/orders/:id",status="404"} 1"#))
        #expect(routed.contains(#"bourse_http_request_duration_seconds_count{method="GET",route="/v2/orders/:id"} 1"#))
        // Every batch was committed and counted, and every count is cumulative.
        let commits = text.split(separator: "\n").first { $0.hasPrefix("bourse_journal_commit_seconds_count ") }
        #expect(Int(commits?.split(separator: " ").last ?? "") ?? 0 >= 2)
        let buckets = text.split(separator: "\n").filter { $0.hasPrefix("bourse_engine_batch_seconds_bucket") }.compactMap { Int($0.split(separator: " ").last!) }
        #expect(buckets.count == 14 && buckets == buckets.sorted())
        let (ready, readyBody) = try await server.send("GET", "/readyz", as: nil)
        #expect(ready == 200 && (readyBody as? [String: Any])?["status"] as? String == "ready")
        server.opened.venue.stop()
        server.opened.projections.waitUntilFinished()
        let (stopped, stoppedBody) = try await server.send("GET", "/readyz", as: nil)
        #expect(stopped == 503 && (stoppedBody as? [String: Any])?["reasons"] as? String
                == "sequencer: stopping; projection orders has stopped; projection market has stopped; projection broker has stopped; projection post_trade has stopped; projection audit has stopped; projection ledger has stopped; projection risk has stopped")
        await server.stop()
    }

    @Test("the trade updates stream tells an account of its order's acceptance and fill, and nothing of others'")
    func tradeUpdates() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        let received = Received()
        let listening = Atomic<Bool>(false)
        let authenticate = #"{"action":"authenticate","data":{"key_id":"\#(buyer.keyID)","secret_key":"\#(buyer.secret)"}}"#
        try await server.webSocket("/stream", received, first: authenticate) { text, outbound in
            if text.contains(#""status":"authorized""#) {
                try await outbound.write(.text(#"{"action":"listen","data":{"streams":["trade_updates"]}}"#))
            } else if text.contains(#""stream":"listening""#), !listening.exchange(true, ordering: .relaxed) {
                _ = try await server.order(buyer, #""symbol":"TSLA","qty":"3","side":"buy","type":"limit","time_in_force":"day","limit_price":"250.00""#)
                _ = try await server.order(seller, #""symbol":"TSLA","qty":"3","side":"sell","type":"limit","time_in_force":"day","limit_price":"250.00""#)
            }
            return text.contains(#""event":"fill""#)
        }
        let messages = received.all
        #expect(messages.first?.contains(#""status":"authorized""#) == true)
        let updates = messages.filter { $0.contains(#""stream":"trade_updates""#) }
        #expect(updates.count == 2)
        #expect(updates.first?.contains(#""event":"new""#) == true && updates.first?.contains(#""symbol":"TSLA""#) == true)
        #expect(updates.last?.contains(#""event":"fill""#) == true && updates.last?.contains(#""filled_qty":"3""#) == true)
        #expect(updates.last?.contains(#""price":"250.00""#) == true && updates.last?.contains(#""status":"filled""#) == true)
        await server.stop()
    }

    @Test("cancel all answers each order's outcome; closing a position sells what is not held by orders")
    func cancelAllAndClose() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1), maker = server.key(account: 3)
        _ = try await server.order(trader, #""symbol":"MSFT","qty":"2","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"400.00""#)
        _ = try await server.order(trader, #""symbol":"SPY","qty":"2","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"540.00""#)
        let (status, outcomes) = try await server.send("DELETE", "/v2/orders", as: trader)
        #expect(status == 207 && (outcomes as? [[String: Any]])?.compactMap { $0["status"] as? Int } == [200, 200])
        let (_, open) = try await server.send("GET", "/v2/orders", as: trader)
        #expect((open as? [Any])?.isEmpty == true)

        // The trader holds 1,000 SPY; 100 are held by a resting sell, so closing sells 900 at market.
        _ = try await server.order(trader, #""symbol":"SPY","qty":"100","side":"sell","type":"limit","time_in_force":"gtc","limit_price":"600.00""#)
        _ = try await server.order(maker, #""symbol":"SPY","qty":"900","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"559.00""#)
        let (closed, order) = try await server.send("DELETE", "/v2/positions/SPY", as: trader)
        let closing = order as? [String: Any] ?? [:]
        #expect(closed == 200 && closing["side"] as? String == "sell" && closing["qty"] as? String == "900")
        #expect(closing["status"] as? String == "filled" && closing["filled_avg_price"] as? String == "559.00")
        let (_, position) = try await server.send("GET", "/v2/positions/SPY", as: trader)
        #expect((position as? [String: Any])?["qty"] as? String == "100")
        let (none, _) = try await server.send("DELETE", "/v2/positions/NVDA", as: trader)
        #expect(none == 404)
        await server.stop()
    }

    @Test("the calendar lists trading days with their closes and T+1 settlement dates; the clock answers")
    func calendarAndClock() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        let (status, days) = try await server.send("GET", "/v2/calendar?start=2026-11-25&end=2026-11-30", as: trader)
        let list = days as? [[String: String]] ?? []
        #expect(status == 200 && list.map { $0["date"] } == ["2026-11-25", "2026-11-27", "2026-11-30"])
        #expect(list.map { $0["close"] } == ["16:00", "13:00", "16:00"])
        #expect(list.map { $0["settlement_date"] } == ["2026-11-27", "2026-11-30", "2026-12-01"])
        let (bad, _) = try await server.send("GET", "/v2/calendar?start=2026-02-30", as: trader)
        #expect(bad == 422)
        let (clockStatus, clock) = try await server.send("GET", "/v2/clock", as: trader)
        let fields = clock as? [String: Any] ?? [:]
        #expect(clockStatus == 200 && fields["is_open"] is Bool && (fields["next_open"] as? String)?.hasSuffix("Z") == true)
        await server.stop()
    }

    @Test("the book shows aggregated depth by level, best first; the latest quote is its top")
    func bookAndQuote() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let a = server.key(account: 1), b = server.key(account: 2)
        for (key, fields) in [(a, #""side":"buy","qty":"5","limit_price":"419.00""#), (b, #""side":"buy","qty":"7","limit_price":"419.00""#),
                              (a, #""side":"buy","qty":"1","limit_price":"418.50""#), (b, #""side":"sell","qty":"3","limit_price":"421.00""#)] {
            _ = try await server.order(key, #""symbol":"MSFT","type":"limit","time_in_force":"day","#.appending(fields))
        }
        let (status, body) = try await server.send("GET", "/v1/book/MSFT?depth=1", as: a)
        let book = body as? [String: Any] ?? [:]
        #expect(status == 200 && book["state"] as? String == "open")
        #expect((book["bids"] as? [[String: Any]])?.map { "\($0["price"]!) \($0["size"]!) \($0["orders"]!)" } == ["419.00 12 2"])
        #expect((book["asks"] as? [[String: Any]])?.map { "\($0["price"]!) \($0["size"]!)" } == ["421.00 3"])
        let (_, deeper) = try await server.send("GET", "/v1/book/MSFT?depth=5", as: a)
        #expect(((deeper as? [String: Any])?["bids"] as? [Any])?.count == 2)
        let (_, quote) = try await server.send("GET", "/v2/stocks/MSFT/quotes/latest", as: a)
        let q = (quote as? [String: Any])?["quote"] as? [String: Any] ?? [:]
        #expect(q["bp"] as? Double == 419 && q["bs"] as? Int == 12 && q["ap"] as? Double == 421 && q["as"] as? Int == 3 && q["ax"] as? String == "BOURSE")
        let (bad, _) = try await server.send("GET", "/v1/book/MSFT?depth=0", as: a)
        let (unknown, _) = try await server.send("GET", "/v1/book/NOPE", as: a)
        #expect(bad == 422 && unknown == 404)
        await server.stop()
    }

    @Test("the simulation keeps both sides of the books quoted and trades on them")
    func simulation() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        await Simulation(seed: 7, interval: .milliseconds(1)).run(server.opened.venue, rounds: 30)
        let trader = server.key(account: 1)
        let (_, body) = try await server.send("GET", "/v1/book/AAPL?depth=3", as: trader)
        let book = body as? [String: Any] ?? [:]
        #expect((book["bids"] as? [Any])?.isEmpty == false && (book["asks"] as? [Any])?.isEmpty == false)
        #expect(book["last_trade"] is String)
        await server.stop()
    }

    @Test("/openapi.json documents every route, and every documented operation is answered by a handler")
    func openAPI() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let admin = server.key(account: 3, role: .admin)
        let (status, body) = try await server.send("GET", "/openapi.json", as: nil)
        let document = body as? [String: Any] ?? [:]
        let paths = document["paths"] as? [String: [String: Any]] ?? [:]
        #expect(status == 200 && document["openapi"] as? String == "3.0.3")
        #expect(paths.count >= 15 && paths["/v2/orders/{id}"]?.keys.sorted() == ["delete", "get", "patch"])
        // Every JSON operation declares its answer's schema, and each that takes a body declares the body.
        for (path, operations) in paths where path != "/" && !path.hasPrefix("/ui/") && path != "/metrics" {
            for (method, operation) in operations {
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                let declared = responses["204"] != nil || responses.filter { $0.key != "default" }.values.contains { ($0 as? [String: Any])?["content"] != nil }
                #expect(declared, "\(method) \(path) declares no answer")
                let action = ["/kill", "/rebuild", "/retry", "/close", "/unblock", "/api_keys", "/rotate", "/rollover", "/replay", "/cancel"].contains { path.hasSuffix($0) }
                if ["post", "put", "patch"].contains(method), !action {
                    #expect((operation as? [String: Any])?["requestBody"] != nil, "\(method) \(path) declares no body")
                }
            }
        }
        // An unknown route is answered in the error shape, saying no route has it; a documented one never is.
        let (_, unknown) = try await server.send("GET", "/v2/no-such-route", as: admin)
        #expect((unknown as? [String: Any])?["message"] as? String == "no route is GET /v2/no-such-route")
        for (path, operations) in paths.sorted(by: { $0.key < $1.key }) {
            let concrete = path.replacingOccurrences(of: "{symbol}", with: "AAPL").replacingOccurrences(of: "{symbol_or_asset_id}", with: "AAPL")
                .replacingOccurrences(of: "{activity_type}", with: "FILL").replacingOccurrences(of: "{id}", with: "3")
                .replacingOccurrences(of: "{account_id}", with: "3")
            // An event stream runs until told where to end.
            let ended = path.hasPrefix("/v1/events/") ? concrete + "?until_id=0" : concrete
            for method in operations.keys.sorted() {
                let (code, body, headers) = try await server.exchange(method.uppercased(), ended, as: admin, body: method == "get" ? nil : "{}")
                let type = Self.contentType(headers) ?? ""
                let unrouted = code == 405 || ((body as? [String: Any])?["message"] as? String)?.hasPrefix("no route is") == true
                let answered = !unrouted && (type.contains("json") || type.contains("text/plain") || type.contains("text/event-stream") || code == 204)
                    || (path == "/" || path.hasPrefix("/ui/")) && code == 200 && (type.contains("text/") || type.contains("javascript"))
                #expect(code != 0 && answered, "\(method) \(path): \(code) \(type)")
            }
        }
        await server.stop()
    }

    static func contentType(_ headers: [AnyHashable: Any]) -> String? {
        headers.first { ($0.key as? String)?.lowercased() == "content-type" }?.value as? String
    }

    @Test("ended orders stay visible in the history at once, activities list fills and deposits, and both survive a restart")
    func history() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        let (_, resting) = try await server.order(buyer, #""symbol":"AAPL","qty":"4","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"190.00""#)
        let (_, cancelled) = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"180.00""#)
        _ = try await server.send("DELETE", "/v2/orders/\(cancelled["id"] as? String ?? "")", as: buyer)
        _ = try await server.order(seller, #""symbol":"AAPL","qty":"4","side":"sell","type":"market","time_in_force":"ioc""#)
        let filledID = resting["id"] as? String ?? ""

        // Asked at once: the order projection follows the event stream a moment behind, and a read waits for
        // what the venue has acknowledged.
        let (_, closed) = try await server.send("GET", "/v2/orders?status=closed", as: buyer)
        #expect((closed as? [[String: Any]])?.map { $0["status"] as? String } == ["canceled", "filled"])
        let (_, one) = try await server.send("GET", "/v2/orders/\(filledID)", as: buyer)
        #expect((one as? [String: Any])?["status"] as? String == "filled" && (one as? [String: Any])?["filled_at"] is String)
        let (hidden, _) = try await server.send("GET", "/v2/orders/\(filledID)", as: seller)
        #expect(hidden == 404)
        let (_, activities) = try await server.send("GET", "/v2/account/activities", as: buyer)
        let types = (activities as? [[String: Any]])?.map { $0["activity_type"] as? String ?? "" } ?? []
        // One fill, the deposit and five transfers from the demo setup, newest first.
        #expect(types == ["FILL", "JNLS", "JNLS", "JNLS", "JNLS", "JNLS", "CSD"])
        await server.stop()

        let restarted = try await Running(directory: directory)
        let (_, again) = try await restarted.send("GET", "/v2/orders/\(filledID)", as: buyer)
        #expect((again as? [String: Any])?["status"] as? String == "filled")
        let (_, all) = try await restarted.send("GET", "/v2/orders?status=all&limit=1", as: buyer)
        #expect((all as? [Any])?.count == 1)
        let (badLimit, _) = try await restarted.send("GET", "/v2/orders?status=all&limit=0", as: buyer)
        #expect(badLimit == 422)
        // A clean stop left the projections complete: nothing to catch up on.
        #expect(restarted.opened.node.caughtUp == ["orders": 0, "market": 0, "broker": 0, "post_trade": 0, "audit": 0, "ledger": 0, "risk": 0])
        let (_, changes) = try await restarted.send("GET", "/v1/account/positions/history?symbol=AAPL", as: buyer)
        #expect((changes as? [[String: Any]])?.map { "\($0["reason"] ?? "") \($0["change"] ?? "") \($0["qty"] ?? "")" }
                == ["fill 4 1004", "transfer_in 1000 1000"])
        await restarted.stop()

        // Without their store the projections are rebuilt from the whole journal, with the same answers.
        try FileManager.default.removeItem(atPath: directory + "/projections.sqlite")
        try? FileManager.default.removeItem(atPath: directory + "/projections.sqlite-wal")
        try? FileManager.default.removeItem(atPath: directory + "/projections.sqlite-shm")
        let rebuilt = try await Running(directory: directory)
        #expect(rebuilt.opened.node.caughtUp["orders"] == Int(rebuilt.opened.node.recovery.lastSequence))
        let (_, closedAgain) = try await rebuilt.send("GET", "/v2/orders?status=closed", as: buyer)
        #expect((closedAgain as? [[String: Any]])?.map { $0["status"] as? String } == ["canceled", "filled"])
        let (_, activitiesAgain) = try await rebuilt.send("GET", "/v2/account/activities", as: buyer)
        #expect((activitiesAgain as? [Any])?.count == 7)
        await rebuilt.stop()

        // A journal that ends before the database does is refused, rather than served stale.
        try FileManager.default.removeItem(atPath: directory + "/journal")
        await #expect(throws: ServerError.self) { _ = try await DataDirectory(path: directory).open() }
    }

    @Test("an order reaches each of Alpaca's statuses: new, partially_filled, filled, canceled, replaced, expired, rejected")
    func everyStatus() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3), admin = server.key(account: 3, role: .admin)
        func status(_ id: String) async throws -> String? {
            (try await server.send("GET", "/v2/orders/\(id)", as: buyer).1 as? [String: Any])?["status"] as? String
        }
        let (_, resting) = try await server.order(buyer, #""symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"189.00""#)
        let restingID = resting["id"] as? String ?? ""
        #expect(resting["status"] as? String == "new")
        _ = try await server.order(seller, #""symbol":"AAPL","qty":"4","side":"sell","type":"limit","time_in_force":"ioc","limit_price":"189.00""#)
        #expect(try await status(restingID) == "partially_filled")
        _ = try await server.order(seller, #""symbol":"AAPL","qty":"6","side":"sell","type":"limit","time_in_force":"ioc","limit_price":"189.00""#)
        let filled = try await server.eventually("/v2/orders/\(restingID)", as: buyer) { ($0 as? [String: Any])?["status"] as? String == "filled" }
        #expect((filled as? [String: Any])?["filled_qty"] as? String == "10")

        let (_, cancelled) = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"180.00""#)
        _ = try await server.send("DELETE", "/v2/orders/\(cancelled["id"] as? String ?? "")", as: buyer)
        let (_, replaced) = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"181.00""#)
        _ = try await server.send("PATCH", "/v2/orders/\(replaced["id"] as? String ?? "")", as: buyer, body: #"{"qty":"2"}"#)
        _ = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"182.00""#)
        let (rejected, _) = try await server.order(buyer, #""symbol":"AAPL","qty":"100000","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00""#)
        #expect(rejected == 403)
        // The close expires the DAY order; the GTC replacement stays open.
        let (closed, _) = try await server.send("POST", "/v1/admin/symbols/AAPL/state", as: admin, body: #"{"state":"closed"}"#)
        #expect(closed == 200)
        let all = try await server.eventually("/v2/orders?status=all", as: buyer) { ($0 as? [Any])?.count == 7 }
        let statuses = Set((all as? [[String: Any]] ?? []).compactMap { $0["status"] as? String })
        #expect(statuses == ["filled", "canceled", "replaced", "new", "expired", "rejected"])
        // partially_filled was seen above; the filled order passed through it, as its fills show.
        let (_, activities) = try await server.send("GET", "/v2/account/activities", as: buyer)
        #expect((activities as? [[String: Any]])?.filter { $0["activity_type"] as? String == "FILL" }.map { $0["type"] as? String } == ["fill", "partial_fill"])
        await server.stop()
    }

    @Test("a key signs in for a bearer token that acts as the key until signed out; a wrong secret gets none")
    func sessions() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 2)
        let (wrong, wrongBody) = try await server.send("POST", "/v1/sessions", as: nil, body: #"{"key_id":"\#(trader.keyID)","secret":"nope"}"#)
        #expect(wrong == 401 && (wrongBody as? [String: Any])?["message"] as? String == "the key or its secret is wrong")
        let (missing, _) = try await server.send("POST", "/v1/sessions", as: nil, body: #"{"key_id":"\#(trader.keyID)"}"#)
        #expect(missing == 422)
        let (started, session) = try await server.send("POST", "/v1/sessions", as: nil, body: #"{"key_id":"\#(trader.keyID)","secret":"\#(trader.secret)"}"#)
        let token = (session as? [String: Any])?["token"] as? String ?? ""
        #expect(started == 200 && token.hasPrefix("bst_") && (session as? [String: Any])?["account"] as? String == "2")
        let (status, account) = try await server.send("GET", "/v2/account", as: nil, token: token)
        #expect(status == 200 && (account as? [String: Any])?["id"] as? String == AccountID(2).uuid)
        let (forged, _) = try await server.send("GET", "/v2/account", as: nil, token: token + "x")
        #expect(forged == 401)
        let (ended, _) = try await server.send("DELETE", "/v1/sessions", as: nil, token: token)
        #expect(ended == 204)
        let (after, _) = try await server.send("GET", "/v2/account", as: nil, token: token)
        #expect(after == 401)
        await server.stop()
    }

    @Test("a client order id is unique per account, even across racing requests and a restart, and finds its order")
    func idempotency() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1), other = server.key(account: 2)
        let fields = #""symbol":"MSFT","qty":"2","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"400.00""#
        let (placedStatus, placed) = try await server.order(trader, fields + #","client_order_id":"my-order-1""#)
        #expect(placedStatus == 200 && placed["client_order_id"] as? String == "my-order-1")
        let id = placed["id"] as? String ?? ""

        // A retry with the same id changes nothing.
        let (_, accountBefore) = try await server.send("GET", "/v2/account", as: trader)
        let (again, againBody) = try await server.order(trader, fields + #","client_order_id":"my-order-1""#)
        #expect(again == 422)
        #expect(againBody["message"] as? String == "client_order_id must be unique: my-order-1 names another order")
        let (_, accountAfter) = try await server.send("GET", "/v2/account", as: trader)
        #expect(NSDictionary(dictionary: accountAfter as? [String: Any] ?? [:]) == NSDictionary(dictionary: accountBefore as? [String: Any] ?? [:]))
        let (_, open) = try await server.send("GET", "/v2/orders", as: trader)
        #expect((open as? [[String: Any]])?.map { $0["client_order_id"] as? String } == ["my-order-1"])

        // Another account may use the same id; each finds its own order by it, and not the other's.
        let (otherStatus, otherPlaced) = try await server.order(other, fields + #","client_order_id":"my-order-1""#)
        #expect(otherStatus == 200)
        let (_, found) = try await server.send("GET", "/v2/orders:by_client_order_id?client_order_id=my-order-1", as: trader)
        #expect((found as? [String: Any])?["id"] as? String == id)
        let (_, foundOther) = try await server.send("GET", "/v2/orders:by_client_order_id?client_order_id=my-order-1", as: other)
        #expect((foundOther as? [String: Any])?["id"] as? String == otherPlaced["id"] as? String)
        let (missing, _) = try await server.send("GET", "/v2/orders:by_client_order_id?client_order_id=nope", as: trader)
        #expect(missing == 404)

        // Racing requests with one id: exactly one order is placed.
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { try await server.order(trader, fields + #","client_order_id":"race""#).0 } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1 && statuses.filter { $0 == 422 }.count == 15)

        // A replace may name the new order; the old id stays with the replaced order.
        let (replaced, replacement) = try await server.send("PATCH", "/v2/orders/\(id)", as: trader, body: #"{"qty":"1","client_order_id":"my-order-2"}"#)
        #expect(replaced == 200 && (replacement as? [String: Any])?["client_order_id"] as? String == "my-order-2")
        let newID = (replacement as? [String: Any])?["id"] as? String ?? ""
        let (reused, _) = try await server.send("PATCH", "/v2/orders/\(newID)", as: trader, body: #"{"qty":"1","client_order_id":"my-order-1"}"#)
        #expect(reused == 422)
        let ended = try await server.eventually("/v2/orders/\(id)", as: trader) { ($0 as? [String: Any])?["status"] as? String == "replaced" }
        #expect((ended as? [String: Any])?["client_order_id"] as? String == "my-order-1")
        await server.stop()

        // The ids are journaled with their orders: after a restart they are still taken and still find them.
        let restarted = try await Running(directory: directory)
        let (afterRestart, _) = try await restarted.order(trader, fields + #","client_order_id":"my-order-2""#)
        #expect(afterRestart == 422)
        let (_, stillFound) = try await restarted.send("GET", "/v2/orders:by_client_order_id?client_order_id=my-order-2", as: trader)
        #expect((stillFound as? [String: Any])?["id"] as? String == newID)
        #expect((stillFound as? [String: Any])?["client_order_id"] as? String == "my-order-2")
        let (_, raced) = try await restarted.send("GET", "/v2/orders:by_client_order_id?client_order_id=race", as: trader)
        #expect((raced as? [String: Any])?["status"] as? String == "new")
        await restarted.stop()
    }

    @Test("the market data stream sends trades and quotes of subscribed symbols only, as arrays of objects keyed by T; bars are served")
    func marketData() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        let received = Received()
        let traded = Mutex(false)
        try await server.webSocket("/v2/stream", received) { text, outbound in
            if text.contains(#""msg":"connected""#) {
                try await outbound.write(.text(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
            } else if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","trades":["AAPL"],"quotes":["AAPL"],"bars":["*"]}"#))
            } else if text.contains(#""T":"subscription""#) {
                // A bid that rests: the quote shows it.
                _ = try await server.order(buyer, #""symbol":"AAPL","qty":"2","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00""#)
            } else if text.contains(#""T":"q","S":"AAPL","#) && text.contains(#""bx":"BOURSE","bp":189.00,"bs":2"#) {
                // A trade in a symbol not subscribed to, then one in AAPL that takes the bid.
                _ = try await server.order(buyer, #""symbol":"MSFT","qty":"2","side":"buy","type":"limit","time_in_force":"day","limit_price":"420.00""#)
                _ = try await server.order(seller, #""symbol":"MSFT","qty":"2","side":"sell","type":"limit","time_in_force":"day","limit_price":"420.00""#)
                _ = try await server.order(seller, #""symbol":"AAPL","qty":"2","side":"sell","type":"limit","time_in_force":"day","limit_price":"189.00""#)
            } else if text.contains(#""T":"t""#) {
                traded.withLock { $0 = true }
            }
            // Done once the book's emptied top has been quoted after the trade.
            return traded.withLock { $0 } && received.all.contains { $0.contains(#""T":"q","S":"AAPL","#) && $0.contains(#""bx":"BOURSE","bp":0,"bs":0"#) }
        }
        let messages = received.all
        #expect(messages.contains { $0.contains(#""T":"subscription","trades":["AAPL"],"quotes":["AAPL"],"bars":["*"]"#) })
        #expect(messages.contains { $0.contains(#""T":"t","S":"AAPL","sq":1,"#) })
        let trades = messages.filter { $0.contains(#""T":"t""#) }
        #expect(trades.count == 1 && trades[0].contains(#""S":"AAPL""#) && trades[0].contains(#""p":189.00,"s":2"#))
        #expect(!messages.contains { $0.contains(#""T":"q","S":"MSFT""#) })

        // The trade is in the minute bar, still open; other timeframes fold it the same way.
        for timeframe in ["1Min", "1Hour", "1Day"] {
            let (status, body) = try await server.send("GET", "/v2/stocks/AAPL/bars?timeframe=\(timeframe)", as: buyer)
            let bars = (body as? [String: Any])?["bars"] as? [[String: Any]] ?? []
            #expect(status == 200 && bars.count == 1, "\(timeframe)")
            #expect(bars.first?["o"] as? Double == 189 && bars.first?["v"] as? Int == 2 && bars.first?["n"] as? Int == 1, "\(timeframe)")
        }
        // The open bar may change: not cacheable, but its ETag spares an unchanged answer; old bars are immutable.
        let (_, minuteBars, headers) = try await server.exchange("GET", "/v2/stocks/AAPL/bars?timeframe=1Min", as: buyer)
        let tag = headers["Etag"] as? String ?? headers["ETag"] as? String ?? ""
        #expect(!tag.isEmpty)
        // Open while its minute (and two seconds' grace) has not passed: on a slow machine the minute may end
        // before the answer, and then the bar is closed and cacheable by right.
        let start = ((minuteBars as? [String: Any])?["bars"] as? [[String: Any]])?.first?["t"] as? String
        let minuteEnd = try #require(start.flatMap(Server.parseRFC3339)) + 60_000_000_000
        if minuteEnd > wallClockNanos() - 2_000_000_000 {
            #expect(headers["Cache-Control"] as? String == "no-cache")
        } else {
            #expect(["no-cache", "public, max-age=31536000, immutable"].contains(headers["Cache-Control"] as? String ?? ""))
        }
        var conditional = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/v2/stocks/AAPL/bars?timeframe=1Min")!)
        conditional.setValue(buyer.keyID, forHTTPHeaderField: "APCA-API-KEY-ID")
        conditional.setValue(buyer.secret, forHTTPHeaderField: "APCA-API-SECRET-KEY")
        conditional.setValue(tag, forHTTPHeaderField: "If-None-Match")
        let (_, notModified) = try await URLSession.shared.data(for: conditional)
        #expect((notModified as? HTTPURLResponse)?.statusCode == 304)
        let (_, _, old) = try await server.exchange("GET", "/v2/stocks/AAPL/bars?timeframe=1Min&end=2020-01-01", as: buyer)
        #expect(old["Cache-Control"] as? String == "public, max-age=31536000, immutable")
        let (_, latest) = try await server.send("GET", "/v2/stocks/AAPL/trades/latest", as: buyer)
        let trade = (latest as? [String: Any])?["trade"] as? [String: Any]
        #expect(trade?["p"] as? Double == 189 && trade?["s"] as? Int == 2 && trade?["x"] as? String == "BOURSE")
        let (noTrade, _) = try await server.send("GET", "/v2/stocks/SPY/trades/latest", as: buyer)
        #expect(noTrade == 404)
        let (_, snapshot) = try await server.send("GET", "/v2/stocks/AAPL/snapshot", as: buyer)
        let snap = snapshot as? [String: Any] ?? [:]
        #expect((snap["latestTrade"] as? [String: Any])?["p"] as? Double == 189)
        #expect((snap["minuteBar"] as? [String: Any])?["v"] as? Int == 2 && (snap["dailyBar"] as? [String: Any])?["n"] as? Int == 1)
        #expect(snap["prevDailyBar"] is NSNull && (snap["latestQuote"] as? [String: Any])?["bx"] as? String == "BOURSE")
        let (badTimeframe, badBody) = try await server.send("GET", "/v2/stocks/AAPL/bars?timeframe=2Min", as: buyer)
        #expect(badTimeframe == 422 && (badBody as? [String: Any])?["message"] as? String == "timeframe must be 1Min, 5Min, 15Min, 1Hour, 1Day or 1Week, not \"2Min\"")
        let (badStart, _) = try await server.send("GET", "/v2/stocks/AAPL/bars?start=yesterday", as: buyer)
        #expect(badStart == 422)
        let (_, future) = try await server.send("GET", "/v2/stocks/AAPL/bars?start=2100-01-01", as: buyer)
        #expect(((future as? [String: Any])?["bars"] as? [Any])?.isEmpty == true)
        await server.stop()
    }
}

final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String] = []
    func append(_ text: String) { lock.withLock { texts.append(text) } }
    var all: [String] { lock.withLock { texts } }
}

@Suite("API formats")
struct APIFormatTests {
    @Test("times are RFC 3339 in UTC with nanoseconds, across leap days, centuries and 1970, and read back to the same instant")
    func times() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000000000Z"),
            (-1, "1969-12-31T23:59:59.999999999Z"),
            (951_782_400_000_000_001, "2000-02-29T00:00:00.000000001Z"),
            (1_795_333_992_323_837_639, "2026-11-22T07:53:12.323837639Z"),
            (4_107_542_399_999_999_999, "2100-02-28T23:59:59.999999999Z"),
            (.max, "2262-04-11T23:47:16.854775807Z"),
            (.min, "1677-09-21T00:12:43.145224192Z"),
        ]
        for (nanos, text) in cases {
            #expect(Server.rfc3339(Timestamp(nanos: nanos)) == text)
        }
        var generator = SplitMix64(seed: 11)
        for _ in 0..<10_000 {
            let nanos = Int64.random(in: -4_000_000_000_000_000_000...4_000_000_000_000_000_000, using: &generator)
            let text = Server.rfc3339(Timestamp(nanos: nanos))
            #expect(text.utf8.count == 30 && Server.parseRFC3339(text) == nanos, "\(nanos): \(text)")
        }
    }
}
