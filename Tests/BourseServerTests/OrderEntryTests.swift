import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import Glibc
import Testing

/// `POST /v2/orders` is taken on the connection's event loop when it can be, and by the router
/// otherwise: clients must not be able to tell the two apart, but by the metrics.
@Suite("order entry on the event loop")
struct OrderEntryTests {
    typealias Running = ServerTests.Running

    /// One HTTP/1.1 request as bytes: keep-alive unless `close`.
    static func request(_ method: String, _ path: String, as key: IssuedKey?, body: String? = nil, close: Bool = false) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let key { text += "APCA-API-KEY-ID: \(key.keyID)\r\nAPCA-API-SECRET-KEY: \(key.secret)\r\n" }
        if close { text += "Connection: close\r\n" }
        if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + (body ?? "")
    }

    struct Answer: Sendable {
        /// The status line, whole.
        var line: String
        var status: Int
        var headers: [String: String]
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    /// The next whole response on the connection (its body by `Content-Length`); nil once it closed.
    static func answer(_ socket: RawSocket) throws -> Answer? {
        let separator = Array("\r\n\r\n".utf8)
        while socket.buffer.firstRange(of: separator) == nil { guard try socket.fill() else { return nil } }
        let end = socket.buffer.firstRange(of: separator)!.upperBound
        let lines = String(decoding: socket.buffer[..<(end - 4)], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while socket.buffer.count < end + length { guard try socket.fill() else { return nil } }
        let body = String(decoding: socket.buffer[end..<(end + length)], as: UTF8.self)
        socket.buffer.removeFirst(end + length)
        return Answer(line: lines[0], status: Int(lines[0].split(separator: " ")[1]) ?? 0, headers: headers, body: body)
    }

    /// Sends `requests` at once on a new connection and reads the answers: `count` of them, or all until
    /// the server closes the connection.
    static func answers(port: Int, to requests: String, count: Int = .max) async throws -> [Answer] {
        try await blocking {
            let socket = try RawSocket(port: port)
            try socket.write(Array(requests.utf8))
            var answers: [Answer] = []
            while answers.count < count, let answer = try Self.answer(socket) { answers.append(answer) }
            return answers
        }
    }

    /// A series' value in the `/metrics` exposition (gauges are written as floating point: 2.0).
    static func counter(_ metrics: String, _ series: String) -> Int {
        metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) } ?? 0
    }

    @Test("requests sent together on one connection are answered in order, orders on the event loop and all else alike")
    func pipelined() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        var wrong = trader
        wrong.secret = String(wrong.secret.reversed())
        let order = #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"189.00""#
        let requests = [
            Self.request("POST", "/v2/orders", as: trader, body: "{\(order),\"client_order_id\":\"pipelined-1\"}"),
            Self.request("GET", "/v2/orders", as: trader),
            // An escape in a string: not a plain body, so the router reads it.
            Self.request("POST", "/v2/orders", as: trader, body: "{\(order),\"client_order_id\":\"\\u0070ipelined-3\"}"),
            Self.request("POST", "/v2/orders", as: wrong, body: "{\(order)}"),
            Self.request("POST", "/v2/orders", as: trader, body: #"{"symbol":"AAPL","qty":"1.5","side":"buy","type":"market","time_in_force":"day"}"#),
            Self.request("GET", "/v2/orders", as: trader),
            Self.request("POST", "/v2/orders", as: trader, body: "{\(order),\"client_order_id\":\"pipelined-7\"}", close: true),
        ]
        let answers = try await Self.answers(port: server.port, to: requests.joined())

        #expect(answers.map(\.status) == [200, 200, 200, 401, 422, 200, 200])
        guard answers.count == 7 else { return await server.stop() }
        func clientIDs(_ answer: Answer) -> [String] {
            (answer.json as? [[String: Any]] ?? []).compactMap { $0["client_order_id"] as? String }.sorted()
        }
        #expect((answers[0].json as? [String: Any])?["client_order_id"] as? String == "pipelined-1")
        #expect(answers[0].headers["content-type"] == "application/json" && answers[0].headers["server"] == "bourse"
                && answers[0].headers["date"]?.hasSuffix(" GMT") == true)
        // Each answer was written only after the one before it: the listings see the orders placed before them.
        #expect(clientIDs(answers[1]) == ["pipelined-1"])
        #expect((answers[2].json as? [String: Any])?["client_order_id"] as? String == "pipelined-3")
        #expect((answers[3].json as? [String: Any])?["message"] as? String == "request is not authorized")
        #expect((answers[4].json as? [String: Any])?["message"] as? String == "qty 1.5 is fractional: Bourse trades whole shares")
        #expect(clientIDs(answers[5]) == ["pipelined-1", "pipelined-3"])
        #expect((answers[6].json as? [String: Any])?["client_order_id"] as? String == "pipelined-7")

        let metrics = try await server.metrics()
        // The plain order only; the invalid one was handed on to the router, which answered it.
        #expect(Self.counter(metrics, #"bourse_order_requests_total{path="event_loop"}"#) == 1)
        #expect(Self.counter(metrics, #"bourse_order_requests_total{path="router"}"#) == 3)
        // Answered 200 on whichever route, by either path.
        let ok = metrics.split(separator: "\n").filter { $0.hasPrefix("bourse_http_requests_total{") && $0.contains(#"status="200""#) }
            .compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(ok >= 5)
        await server.stop()
    }

    @Test("an order taken on the event loop gets the router's answer, word for word")
    func sameAnswers() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let trader = server.key(account: 1)
        _ = try await server.order(trader, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"180.00","client_order_id":"taken""#)
        let bodies = [
            #"{"symbol":"AAPL","qty":"2","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.50","client_order_id":"CLIENT"}"#,
            #"{"symbol":"AAPL","qty":"3","side":"sell","type":"limit","time_in_force":"gtc","limit_price":"195.00","display_qty":"1"}"#,
            #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"180.00","client_order_id":"taken"}"#,
            #"{"symbol":"ZZZZ","qty":"1","side":"buy","type":"market","time_in_force":"day"}"#,
            #"{"symbol":"AAPL","qty":"0","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.00"}"#,
            #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.001"}"#,
            #"{"symbol":"AAPL","qty":"10000","side":"buy","type":"limit","time_in_force":"day","limit_price":"200.00"}"#,
            #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"250.00"}"#,
            #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtd","limit_price":"189.00"}"#,
            #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00","stop_pryce":"188.00"}"#,
        ]
        // Ids and times differ from one order to the next; everything else must not.
        func comparable(_ answer: Answer?) -> String {
            guard let answer else { return "no answer" }
            guard var object = answer.json as? [String: Any] else { return "\(answer.line) \(answer.body)" }
            for key in ["id", "created_at", "updated_at", "submitted_at"] { object[key] = nil }
            if object["client_order_id"] as? String != "CLIENT" { object["client_order_id"] = nil }
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let headers = ["content-type", "server"].map { answer.headers[$0] ?? "" } + [answer.headers["date"].map { _ in "date" } ?? ""]
            return "\(answer.line) \(headers) " + String(decoding: data ?? Data(), as: UTF8.self)
        }
        let kept = try await blocking { [port = server.port] in try RawSocket(port: port) }
        for (i, body) in bodies.enumerated() {
            // A client order id is taken once an order has it: each path gets its own.
            let routed = body.replacingOccurrences(of: "CLIENT", with: "router-\(i)")
            let fast = body.replacingOccurrences(of: "CLIENT", with: "loop-\(i)")
            let (onLoop, byRouter) = try await blocking { [port = server.port] in
                try kept.write(Array(Self.request("POST", "/v2/orders", as: trader, body: fast).utf8))
                let onLoop = try Self.answer(kept)
                let closing = try RawSocket(port: port)
                try closing.write(Array(Self.request("POST", "/v2/orders", as: trader, body: routed, close: true).utf8))
                return (onLoop, try Self.answer(closing))
            }
            #expect(comparable(onLoop).replacingOccurrences(of: "loop-\(i)", with: "X")
                    == comparable(byRouter).replacingOccurrences(of: "router-\(i)", with: "X"), "\(body)")
        }
        let metrics = try await server.metrics()
        // The first order's, and eight of the ten here: the gtd order without expire_at and the misspelt field
        // were handed on to the router, which found what was wrong with them.
        #expect(Self.counter(metrics, #"bourse_order_requests_total{path="event_loop"}"#) == 9)
        #expect(Self.counter(metrics, #"bourse_order_requests_total{path="router"}"#) == 12)
        await server.stop()
    }

    @Test("orders over a key's rate limit are refused with 429 and Retry-After")
    func rateLimited() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, rateLimit: 1, rateBurst: 3)
        let trader = server.key(account: 1)
        let order = Self.request("POST", "/v2/orders", as: trader,
                                 body: #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"189.00"}"#)
        let started = ContinuousClock.now
        let answers = try await Self.answers(port: server.port, to: String(repeating: order, count: 6), count: 6)
        // The burst of three passes, and one more for each second that went by on a loaded machine; the
        // rest are refused.
        let seconds = Int((ContinuousClock.now - started).components.seconds)
        let passed = answers.filter { $0.status == 200 }.count
        #expect(answers.count == 6 && (3...(4 + seconds)).contains(passed), "\(answers.map(\.status)) in \(seconds) s")
        for refused in answers where refused.status != 200 {
            #expect(refused.status == 429)
            #expect((refused.json as? [String: Any])?["message"] as? String == "rate limit exceeded: 1 requests a second for each key")
            #expect(refused.headers["retry-after"] == "1")
        }
        await server.stop()
    }
}
