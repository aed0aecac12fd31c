import BourseNode
@testable import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import Glibc
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// What one client can hold of the server, tried with raw sockets on loopback: malformed HTTP is answered
/// and closed, idle and slow connections are closed, one address has a share, and a client that sends
/// without reading is slowed to the pace it reads at.
@Suite("connections are bounded")
struct ConnectionTests {
    typealias Running = ServerTests.Running

    /// Sends `bytes` on a new connection and reads until the server closes it (a reset, when it closed with
    /// the request unread, counts); nil if it stays open for `seconds`. The wait is long against the pauses
    /// of a loaded machine (the suite runs many servers at once on two cores); only a failure waits it out.
    static func answerAndClose(port: Int, _ bytes: [UInt8], seconds: Int = 20) async throws -> String? {
        try await blocking {
            let socket = try RawSocket(port: port, receiveTimeoutSeconds: seconds)
            try? socket.write(bytes)
            do {
                while try socket.fill() {}
            } catch POSIXError.ETIMEDOUT {
                return nil
            } catch {}
            return String(decoding: socket.buffer, as: UTF8.self)
        }
    }

    /// A request on a new connection: its answer's status, nil when the connection was closed instead.
    static func status(port: Int) async throws -> Int? {
        try await blocking {
            let socket = try RawSocket(port: port, receiveTimeoutSeconds: 5)
            try? socket.write(Array(OrderEntryTests.request("GET", "/healthz", as: nil).utf8))
            do { return try OrderEntryTests.answer(socket)?.status } catch POSIXError.ETIMEDOUT { throw POSIXError(.ETIMEDOUT) } catch { return nil }
        }
    }

    @Test("garbage, an unknown HTTP version and oversized headers get 400, 505 and 431 with a message, and the connection closes")
    func malformedHTTP() async throws {
        let directory = makeTemporaryDirectory("bourse-connections")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let cases: [([UInt8], String)] = [
            (Array("GARBAGE\r\n\r\n".utf8), "HTTP/1.1 400 Bad Request"),
            (Array("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".utf8), "HTTP/1.1 505 HTTP Version Not Supported"),
            (Array(("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n").utf8),
             "HTTP/1.1 431 Request Header Fields Too Large"),
        ]
        for (request, status) in cases {
            let answer = try await Self.answerAndClose(port: server.port, request)
            #expect(answer?.hasPrefix(status) == true && answer?.contains(#""message":"#) == true,
                    "\(status): \(answer ?? "left open")")
        }
        #expect(try await server.send("GET", "/healthz", as: nil).0 == 200)
        await server.stop()
    }

    @Test("a request read whole keeps its connection however long its answer takes; once answered, the time to send the next runs")
    func answerOwedKeepsTheConnection() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let table = ConnectionTable(limits: .init(requestTimeout: .seconds(2)), metrics: Metrics(registry: MetricsRegistry()))
        let connectionGuard = ConnectionGuard(table: table)
        // The server's order: the guard on bytes, the codec, then the tracker on HTTP parts.
        try channel.pipeline.syncOperations.addHandlers([
            connectionGuard, HTTPResponseEncoder(), ByteToMessageHandler(HTTPRequestDecoder()), AnswerTracker(connectionGuard),
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        // Given a request read whole, whose handler is slow (a loaded machine, a read waiting on a projection),
        try channel.writeInbound(ByteBuffer(string: "GET /v2/orders HTTP/1.1\r\nHost: x\r\n\r\n"))
        // when twice the time to send a request passes, then the connection is still open for its answer;
        loop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        // once answered, the client has the whole time again for its next request, and no longer.
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "0"])))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        loop.advanceTime(by: .milliseconds(1_900))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }

    @Test("once a connection switches protocols, the tracker of answers lets WebSocket bytes through both ways")
    func upgradedBytesPass() throws {
        let channel = EmbeddedChannel(loop: EmbeddedEventLoop())
        let table = ConnectionTable(limits: .init(requestTimeout: .seconds(2)), metrics: Metrics(registry: MetricsRegistry()))
        let connectionGuard = ConnectionGuard(table: table)
        try channel.pipeline.syncOperations.addHandlers([connectionGuard, AnswerTracker(connectionGuard)])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        // As the upgrader does: the 101's head passes the tracker, then the HTTP codec leaves the pipeline.
        var head = HTTPResponseHead(version: .http1_1, status: .switchingProtocols)
        head.headers.add(name: "Upgrade", value: "websocket")
        try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder(), position: .after(connectionGuard))
        try channel.writeOutbound(HTTPServerResponsePart.head(head))
        let encoder = try channel.pipeline.syncOperations.handler(type: HTTPResponseEncoder.self)
        try channel.pipeline.syncOperations.removeHandler(encoder).wait()
        // A frame each way.
        try channel.writeInbound(ByteBuffer(bytes: [0x81, 0x80, 1, 2, 3, 4]))
        try channel.writeOutbound(ByteBuffer(bytes: [0x81, 0x00]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [0x81, 0x80, 1, 2, 3, 4]))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test("a connection that sends no whole request in time is closed: idle, and a header a byte at a time")
    func slowClientsAreClosed() async throws {
        let directory = makeTemporaryDirectory("bourse-connections")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Two seconds: long enough that a client slowed by a loaded machine still sends its request in time,
        // short against the slow sender's twenty seconds and the twenty this test waits for a close.
        let server = try await Running(directory: directory, connectionLimits: .init(requestTimeout: .seconds(2)))
        let port = server.port
        // Idle from the start.
        #expect(try await Self.answerAndClose(port: port, []) == "")
        // A slow sender: a byte every 100 ms never finishes its head in time.
        let closed = try await blocking {
            let socket = try RawSocket(port: port, receiveTimeoutSeconds: 5)
            for byte in Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 200) {
                guard (try? socket.write([byte])) != nil else { return true }
                usleep(100_000)
                if socket.closedByPeer() { return true }
            }
            return false
        }
        #expect(closed)
        // Idle after an answer: kept alive for the timeout, then closed.
        let afterAnswer = try await Self.answerAndClose(port: port, Array(OrderEntryTests.request("GET", "/healthz", as: nil).utf8))
        #expect(afterAnswer?.hasPrefix("HTTP/1.1 200") == true, "\(afterAnswer ?? "left open")")
        let metrics = try await server.metrics()
        #expect(OrderEntryTests.counter(metrics, #"bourse_connections_closed_total{reason="request_timeout"}"#) >= 3)
        await server.stop()
    }

    @Test("one address holds at most its share of connections; the next is closed at once and a free place is taken again")
    func perAddressShare() async throws {
        let directory = makeTemporaryDirectory("bourse-connections")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, connectionLimits: .init(connectionsPerAddressMax: 8))
        let port = server.port
        let held = try await blocking { try (0..<8).map { _ in try RawSocket(port: port, receiveTimeoutSeconds: 5) } }
        // Each of the eight is served.
        let first = try await blocking { () -> Bool in
            try held[0].write(Array(OrderEntryTests.request("GET", "/healthz", as: nil).utf8))
            return try OrderEntryTests.answer(held[0])?.status == 200
        }
        #expect(first)
        let refused = try await Self.answerAndClose(port: port, Array(OrderEntryTests.request("GET", "/healthz", as: nil).utf8))
        #expect(refused == "", "\(refused ?? "left open")")
        #expect(try await Self.status(port: port) == nil)
        // A place given back is taken again.
        try await blocking { held[7].shutdownBoth() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await Self.status(port: port) == 200)
        try await blocking { held.forEach { $0.shutdownBoth() } }
        try await Task.sleep(for: .milliseconds(200))
        let metrics = try await server.metrics()
        #expect(OrderEntryTests.counter(metrics, #"bourse_connections_refused_total{reason="per_address"}"#) == 2)
        await server.stop()
    }

    @Test("a client that pipelines orders without reading the answers is read from no faster than it reads")
    func pipeliningWithoutReading() async throws {
        let directory = makeTemporaryDirectory("bourse-connections")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, rateLimit: 1_000_000, rateBurst: 1_000_000)
        let trader = server.key(account: 1)
        let port = server.port
        let order = OrderEntryTests.request("POST", "/v2/orders", as: trader,
                                            body: #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"1.00"}"#)
        let orders = 200_000
        // Sent for two seconds at most without reading a byte: a server that keeps reading takes them all.
        let socket = try RawSocket(port: port, receiveBuffer: 4_096, sendTimeoutMillis: 200)
        let sent = try await blocking { () -> Int in
            let bytes = Array(String(repeating: order, count: orders).utf8)
            let deadline = Date().addingTimeInterval(2)
            var offset = 0
            while offset < bytes.count, Date() < deadline {
                offset += socket.sendSome(bytes[offset...])
            }
            return offset / order.utf8.count
        }
        func taken() async throws -> Int {
            let metrics = try await server.metrics()
            return OrderEntryTests.counter(metrics, #"bourse_order_requests_total{path="event_loop"}"#)
                + OrderEntryTests.counter(metrics, #"bourse_order_requests_total{path="router"}"#)
        }
        // Once the answers fill what the connection buffers, the server stops reading: what it has taken
        // stops growing, far below what waits unread in the socket.
        var previous = -1, current = try await taken()
        for _ in 0..<40 where current != previous {
            try await Task.sleep(for: .milliseconds(500))
            (previous, current) = (current, try await taken())
        }
        #expect(current == previous && current * 2 < sent, "taken \(current) (half a second before: \(previous)) of \(sent) sent")
        socket.shutdownBoth()
        #expect(try await server.send("GET", "/healthz", as: nil).0 == 200)
        await server.stop()
    }
}
