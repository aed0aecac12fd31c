import BourseCore
@testable import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import HummingbirdWSClient
import Hummingbird
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Levels 1, 2 and 3 over real WebSocket connections: a subscriber keeps the book from the increments,
/// detects a gap by its sequence numbers and recovers from `GET /v1/book`; the conflated tier; a client
/// too slow to read is cut off while the others are not.
@Suite("market depth on the stream")
struct MarketDepthTests {
    typealias Running = ServerTests.Running

    /// Price units of a JSON number or string as the API writes prices (exact to 1/10,000).
    static func units(_ value: Any?) -> Int64 {
        if let text = value as? String { return Int64((Double(text)! * 10_000).rounded()) }
        return Int64(((value as? NSNumber)?.doubleValue ?? -1) * 10_000).advanced(by: 0)
    }

    /// A subscriber's copy of one symbol's book, from level 2 and level 3 messages and snapshots.
    struct ClientBook: Sendable {
        struct Order: Equatable, Sendable { var id: UInt64; var size: Int64 }
        /// Level 3: per side ("B"/"S"), price → queue.
        var queues: [String: [Int64: [Order]]] = ["B": [:], "S": [:]]
        /// Level 2: per side, price → (size, orders).
        var levels: [String: [Int64: [Int64]]] = ["B": [:], "S": [:]]
        var l2Sequence: UInt64?
        var l3Sequence: UInt64?
        var gaps = 0
        var snapshots = 0

        mutating func load(_ snapshot: [String: Any]) {
            for (side, key) in [("B", "bids"), ("S", "asks")] {
                queues[side] = [:]
                levels[side] = [:]
                for level in snapshot[key] as? [[String: Any]] ?? [] {
                    let price = MarketDepthTests.units(level["price"])
                    levels[side]![price] = [Int64(level["size"] as? String ?? "") ?? -1, Int64(level["orders"] as? Int ?? -1)]
                    queues[side]![price] = (level["queue"] as? [[String: Any]] ?? []).map {
                        Order(id: ($0["id"] as? NSNumber)?.uint64Value ?? 0, size: ($0["size"] as? NSNumber)?.int64Value ?? 0)
                    }
                }
            }
            l2Sequence = (snapshot["l2_sequence"] as? NSNumber)?.uint64Value
            l3Sequence = (snapshot["l3_sequence"] as? NSNumber)?.uint64Value
            snapshots += 1
        }

        /// Applies a message; false when its sequence number shows a gap (the caller recovers).
        mutating func apply(_ object: [String: Any]) -> Bool {
            let type = object["T"] as? String ?? ""
            guard type == "l2" || type == "l3" else { return true }
            let sq = (object["sq"] as? NSNumber)?.uint64Value ?? 0
            let last = type == "l2" ? l2Sequence : l3Sequence
            guard let last else { return false }
            if sq <= last { return true }
            if sq != last + 1 {
                gaps += 1
                return false
            }
            if type == "l2" {
                l2Sequence = sq
                for (side, key) in [("B", "b"), ("S", "a")] {
                    for level in object[key] as? [[String: Any]] ?? [] {
                        let price = MarketDepthTests.units(level["p"])
                        let size = (level["s"] as? NSNumber)?.int64Value ?? -1
                        levels[side]![price] = size == 0 ? nil : [size, (level["n"] as? NSNumber)?.int64Value ?? -1]
                    }
                }
                return true
            }
            l3Sequence = sq
            let side = object["sd"] as? String ?? "", price = MarketDepthTests.units(object["p"])
            let id = (object["i"] as? NSNumber)?.uint64Value ?? 0, q = (object["q"] as? NSNumber)?.int64Value ?? 0
            var queue = queues[side]![price] ?? []
            let i = queue.firstIndex { $0.id == id }
            switch object["k"] as? String {
            case "a": queue.append(Order(id: id, size: q))
            case "e": if let i { queue[i].size -= q; if queue[i].size == 0 { queue.remove(at: i) } }
            case "m":
                if let i {
                    queue[i].size = q
                    if let n = (object["n"] as? NSNumber)?.uint64Value { queue[i].id = n }
                }
            case "d": if let i { queue.remove(at: i) }
            default: break
            }
            queues[side]![price] = queue.isEmpty ? nil : queue
            return true
        }
    }

    static func objects(_ text: String) -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
    }

    @Test("a subscriber keeps levels 2 and 3 from the increments, finds a gap by the sequence numbers and recovers from the snapshot")
    func gapRecovery() async throws {
        let directory = makeTemporaryDirectory("bourse-depth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        @Sendable func order(_ key: IssuedKey, _ side: String, _ qty: Int, _ price: String, display: Int? = nil) async throws -> String {
            let extra = display.map { #","display_qty":"\#($0)""# } ?? ""
            let (status, body) = try await server.order(key, #""symbol":"AAPL","qty":"\#(qty)","side":"\#(side)","type":"limit","time_in_force":"day","limit_price":"\#(price)""# + extra)
            #expect(status == 200, "\(body)")
            return body["id"] as? String ?? ""
        }
        /// The book with its orders, as JSON text.
        @Sendable func snapshot() async throws -> String {
            let (status, body) = try await server.send("GET", "/v1/book/AAPL?depth=10000&orders=true", as: buyer)
            #expect(status == 200)
            return String(decoding: try JSONSerialization.data(withJSONObject: body ?? [:]), as: UTF8.self)
        }
        @Sendable func parsed(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        let book = Shared(ClientBook())
        let l1 = Shared([String]())
        let session = Shared("")
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/v2/stream", logger: Logger(label: "test")) { inbound, outbound, _ in
            var frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            /// Reads frames, keeping the book (recovering it from a snapshot at a gap), until `done` holds.
            func read(until done: ([String: Any]) -> Bool) async throws {
                while let frame = try await frames.next() {
                    guard case .text(let text) = frame else { continue }
                    for object in Self.objects(text) {
                        if object["T"] as? String == "l1" {
                            let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
                            l1.withLock { $0.append(text) }
                        }
                        if !book.withLock({ $0.apply(object) }) {
                            let loaded = parsed(try await snapshot())
                            book.withLock { $0.load(loaded) }
                            #expect(book.withLock { $0.apply(object) })
                        }
                        if done(object) { return }
                    }
                }
            }
            try await read { $0["msg"] as? String == "connected" }
            try await outbound.write(.text(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
            try await read { $0["msg"] as? String == "authenticated" }
            try await outbound.write(.text(#"{"action":"subscribe","l1":["AAPL"],"l2":["AAPL"],"l3":["AAPL"]}"#))
            try await read { object in
                session.withLock { $0 = object["session"] as? String ?? "" }
                return object["T"] as? String == "subscription"
            }

            // Bids at two prices, an iceberg offer, a trade that takes a slice, a cancel.
            _ = try await order(buyer, "buy", 10, "189.00")
            let second = try await order(buyer, "buy", 5, "189.00")
            _ = try await order(buyer, "buy", 4, "188.50")
            _ = try await order(seller, "sell", 30, "190.00", display: 10)
            _ = try await order(buyer, "buy", 12, "190.00")
            let (cancelled, _) = try await server.send("DELETE", "/v2/orders/\(second)", as: buyer)
            #expect(cancelled == 204)
            var target = parsed(try await snapshot())
            let first = (target["l3_sequence"] as? NSNumber)?.uint64Value ?? 0
            try await read { _ in book.withLock { $0.l3Sequence ?? 0 } >= first }

            // Away for a while: what happens meanwhile is missed, so the next message shows a gap.
            try await outbound.write(.text(#"{"action":"unsubscribe","l2":["AAPL"],"l3":["AAPL"]}"#))
            try await read { $0["T"] as? String == "subscription" }
            _ = try await order(seller, "sell", 6, "188.50")
            _ = try await order(seller, "sell", 2, "191.00")
            try await outbound.write(.text(#"{"action":"subscribe","l2":["AAPL"],"l3":["AAPL"]}"#))
            try await read { $0["T"] as? String == "subscription" }
            _ = try await order(buyer, "buy", 1, "187.00")
            target = parsed(try await snapshot())
            let (l2Target, l3Target) = ((target["l2_sequence"] as? NSNumber)?.uint64Value ?? 0, (target["l3_sequence"] as? NSNumber)?.uint64Value ?? 0)
            try await read { _ in book.withLock { ($0.l2Sequence ?? 0) >= l2Target && ($0.l3Sequence ?? 0) >= l3Target } }
            try await outbound.close(.normalClosure, reason: nil)
        }
        let final = parsed(try await snapshot())
        var expected = ClientBook()
        expected.load(final)
        let kept = book.withLock { $0 }
        #expect(kept.gaps >= 1, "the missed messages were not noticed")
        #expect(kept.snapshots >= 2)
        #expect(kept.queues == expected.queues, "level 3: \(kept.queues) against \(expected.queues)")
        #expect(kept.levels == expected.levels, "level 2: \(kept.levels) against \(expected.levels)")
        // Bids: 4 left @ 189.00 after the sell of 6, 4 @ 188.50, 1 @ 187.00. Offers: the iceberg's second
        // slice shows 8 after 12 were bought, and 2 @ 191.00.
        #expect(expected.levels["B"] == [1_890_000: [4, 1], 1_885_000: [4, 1], 1_870_000: [1, 1]])
        #expect(expected.levels["S"] == [1_900_000: [8, 1], 1_910_000: [2, 1]])

        // Level 1 carries the day's figures: trades of 10 and 2 at 190.00, then 6 at 189.00.
        let last = parsed(try #require(l1.withLock { $0 }.last))
        #expect(Self.units(last["lp"]) == 1_890_000 && Self.units(last["h"]) == 1_900_000 && Self.units(last["l"]) == 1_890_000)
        #expect((last["v"] as? NSNumber)?.intValue == 18 && (last["n"] as? NSNumber)?.intValue == 3)
        #expect(Self.units(last["bp"]) == 1_890_000 && (last["bs"] as? NSNumber)?.intValue == 4)

        // The sequence numbers belong to the stream's session, named in the confirmation and the snapshot;
        // after a restart the session is another, and the book the same.
        let first = session.withLock { $0 }
        #expect(!first.isEmpty && final["session"] as? String == first)
        await server.stop()
        let restarted = try await Running(directory: directory)
        let (status, body) = try await restarted.send("GET", "/v1/book/AAPL?depth=10000&orders=true", as: buyer)
        let again = body as? [String: Any] ?? [:]
        var reloaded = ClientBook()
        reloaded.load(again)
        #expect(status == 200 && again["session"] as? String != first && (again["session"] as? String)?.isEmpty == false)
        #expect(reloaded.levels == expected.levels && reloaded.queues == expected.queues)
        await restarted.stop()
    }

    @Test("the conflated tier sends at most one message per symbol and channel an interval, the latest, and level 2 as the top of the book")
    func conflated() async throws {
        let directory = makeTemporaryDirectory("bourse-depth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, conflationInterval: .milliseconds(400))
        let buyer = server.key(account: 1)
        let received = Received()
        let started = ContinuousClock.now
        try await server.webSocket("/v2/stream?tier=conflated", received) { text, outbound in
            if text.contains(#""msg":"connected""#) {
                try await outbound.write(.text(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
            } else if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","quotes":["AAPL"],"l2":["AAPL"],"l3":["AAPL"]}"#))
            } else if text.contains("l3 is not offered") {
                try await outbound.write(.text(#"{"action":"subscribe","quotes":["AAPL"],"l2":["AAPL"]}"#))
            } else if text.contains(#""tier":"conflated""#) {
                // Forty bids, each a cent better: forty changes of the top, as fast as the API takes them.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<40 {
                        group.addTask {
                            let price = String(format: "150.%02d", i)
                            _ = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            return received.all.contains { $0.contains(#""T":"q","S":"AAPL""#) && $0.contains(#""bp":150.39"#) }
                && received.all.contains { $0.contains(#""T":"l2""#) && $0.contains(#""b":[{"p":150.39,"s":1,"n":1}"#) }
        }
        let elapsed = ContinuousClock.now - started
        let quotes = received.all.filter { $0.contains(#""T":"q""#) }
        let depth = received.all.filter { $0.contains(#""T":"l2""#) }
        // One message of each per interval at most (and one at once on the first change).
        let allowed = Int(elapsed / .milliseconds(400)) + 2
        #expect(quotes.count <= allowed && depth.count <= allowed, "\(quotes.count) quotes, \(depth.count) depth in \(elapsed)")
        #expect(quotes.count < 40)
        #expect(depth.allSatisfy { $0.contains(#""r":true"#) })
        // The top ten only.
        let top = Self.objects(depth.last ?? "").last { $0["T"] as? String == "l2" } ?? [:]
        #expect((top["b"] as? [[String: Any]])?.count == 10)
        await server.stop()
    }

    /// Two 1-share trades at $400, submitted to the venue directly: each account sells once and buys
    /// once, so that neither runs out of cash or shares however many rounds run.
    static func twoTrades(_ venue: Venue, _ symbol: Symbol, buyer: IssuedKey, seller: IssuedKey) async throws {
        for (side, account) in [(Side.sell, seller.account), (.buy, buyer.account), (.sell, buyer.account), (.buy, seller.account)] {
            _ = try await venue.execute(.newOrder(NewOrder(
                orderID: venue.newOrderID(), account: AccountID(account), symbol: symbol, side: side, type: .limit,
                timeInForce: .day, quantity: Quantity(1), limitPrice: Price(units: 4_000_000))))
        }
    }

    @Test("what waits for a connection past a frame's size comes in frames a client with the usual 16 KiB limit accepts")
    func framesWithinTheLimit() async throws {
        let directory = makeTemporaryDirectory("bourse-depth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A long window: after the first trade's frame, the rest of the burst waits for the next one.
        let server = try await Running(directory: directory, streamWindow: .milliseconds(400))
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        let venue = server.opened.venue
        let trades = 150
        let received = Received()
        // 300 orders journaled one by one: on a loaded 2-core machine that took longer than the usual 20 s once.
        try await server.webSocket("/v2/stream", received, within: .seconds(60)) { text, outbound in
            if text.contains(#""msg":"connected""#) {
                try await outbound.write(.text(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
            } else if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","trades":["MSFT"]}"#))
            } else if text.contains(#""T":"subscription""#) {
                Task {
                    let symbol = try Symbol(validating: "MSFT")
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for _ in 0..<5 {
                            group.addTask {
                                for _ in 0..<(trades / 10) { try await Self.twoTrades(venue, symbol, buyer: buyer, seller: seller) }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
            return received.all.reduce(0) { $0 + $1.components(separatedBy: #""T":"t""#).count - 1 } == trades
        }
        let frames = received.all.filter { $0.contains(#""T":"t""#) }
        #expect(frames.reduce(0) { $0 + $1.components(separatedBy: #""T":"t""#).count - 1 } == trades)
        // The burst was larger than a frame, and came in several, each within the limit.
        #expect(frames.reduce(0) { $0 + $1.utf8.count } > MarketDataStream.frameBytesMax)
        #expect(frames.allSatisfy { $0.utf8.count <= MarketDataStream.frameBytesMax })
        await server.stop()
    }

    @Test("a client that stops reading is cut off with an error once its queue fills; a client that reads gets every trade")
    func slowClient() async throws {
        let directory = makeTemporaryDirectory("bourse-depth")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A queue of 1,024: the reading client, in this busy test process, never falls that far behind.
        // When it falls behind a little, what waits for it comes in frames no larger than its client
        // library accepts (16 KiB): one frame of everything waiting once made it close the connection.
        // Pinged every 10 minutes: a client that reads nothing answers no ping, and with the usual 30 s a
        // loaded machine closed it for that before its queue filled, without the error this test expects.
        let server = try await Running(directory: directory, streamQueueMax: 1_024, webSocketPing: .seconds(600))
        let buyer = server.key(account: 1), seller = server.key(account: 3)

        // The slow client: a small receive buffer, subscribed to everything, then never reading.
        let slow = try await blocking { [port = server.port] in
            let slow = try RawWebSocket(port: port, receiveBuffer: 4_096)
            try slow.send(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#)
            try slow.send(#"{"action":"subscribe","trades":["*"],"quotes":["*"],"l2":["*"],"l3":["*"]}"#)
            var greeting = ""
            while !greeting.contains("subscription") { greeting += try slow.receive() ?? "" }
            return slow
        }

        // Trades in MSFT in small rounds submitted to the venue directly, each round a few batches and so a few
        // messages for every connection, until the slow client is cut off (or a bound on the rounds).
        // The run would be the same over HTTP, only slower.
        let venue = server.opened.venue, market = server.opened.market
        let made = Shared(0), finished = Shared(false)
        let received = Received()
        // Reading at last, as soon as it is cut off: what was written before the cut, then the error, then the
        // close. The server gives a closing connection 15 s to take what is left, so this does not wait for the
        // reading client; it watches from a thread of its own, which busy task threads cannot delay.
        let cut = Task {
            try await blocking {
                let deadline = ContinuousClock.now + .seconds(120)
                while market.hub.drops == 0, ContinuousClock.now < deadline { usleep(1_000) }
                var rest: [String] = []
                while let message = try slow.receive() { rest.append(message) }
                return rest
            }
        }
        // The kernel's buffers fill before the queue does (thousands of messages): on a loaded 2-core machine
        // that takes longer than the usual 20 s.
        try await server.webSocket("/v2/stream", received, within: .seconds(90)) { text, outbound in
            if text.contains(#""msg":"connected""#) {
                try await outbound.write(.text(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
            } else if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","trades":["MSFT"],"quotes":["AAPL"]}"#))
            } else if text.contains(#""T":"subscription""#) {
                // From a task of its own, so that this client goes on reading meanwhile.
                Task {
                    let symbol = try Symbol(validating: "MSFT")
                    // One round more after the cut: trades the cut-off client can no longer hear. (The cut can
                    // come on a round's last message, so without it that client may have heard every trade.)
                    var roundsAfterCut = 0
                    for _ in 0..<5_000 where roundsAfterCut < 1 {
                        if market.hub.drops > 0 { roundsAfterCut += 1 }
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<8 {
                                group.addTask { try await Self.twoTrades(venue, symbol, buyer: buyer, seller: seller) }
                            }
                            try await group.waitForAll()
                        }
                        made.withLock { $0 += 16 }
                    }
                    finished.withLock { $0 = true }
                    // A quote after the last trade: this client hears that the run is over.
                    _ = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"100.00""#)
                }
            }
            let count = received.all.reduce(0) { $0 + $1.components(separatedBy: #""T":"t""#).count - 1 }
            return finished.withLock { $0 } && count == made.withLock { $0 }
        }
        #expect(market.hub.drops == 1)
        #expect(try await server.metrics().contains(#"bourse_websocket_drops_total{stream="market_data"} 1"#))
        let trades = made.withLock { $0 }

        let rest = try await cut.value
        #expect(rest.last?.contains("fell too far behind (1024 messages or 4 MiB waiting) and is closed") == true, "\(rest.suffix(2))")
        #expect(rest.joined().components(separatedBy: #""T":"t""#).count - 1 < trades)
        await server.stop()
    }
}

/// A WebSocket client on a blocking socket, so that a test can stop reading and let the kernel's buffers
/// fill, as a slow client's would. One caller uses it at a time.
final class RawWebSocket: @unchecked Sendable {
    private let socket: RawSocket

    init(port: Int, receiveBuffer: Int32) throws {
        struct Failed: Error { var what: String }
        socket = try RawSocket(port: port, receiveBuffer: receiveBuffer)
        let request = "GET /v2/stream HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try socket.write(Array(request.utf8))
        while !socket.buffer.containsSequence(Array("\r\n\r\n".utf8)) { guard try socket.fill() else { throw Failed(what: "handshake") } }
        let end = socket.buffer.firstRange(of: Array("\r\n\r\n".utf8))!.upperBound
        guard String(decoding: socket.buffer[..<end], as: UTF8.self).hasPrefix("HTTP/1.1 101") else { throw Failed(what: "upgrade") }
        socket.buffer.removeFirst(end)
    }

    /// Sends a masked text frame, as a client must.
    func send(_ text: String) throws {
        let payload = Array(text.utf8), mask: [UInt8] = [1, 2, 3, 4]
        var frame: [UInt8] = [0x81]
        if payload.count < 126 { frame.append(0x80 | UInt8(payload.count)) } else { frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try socket.write(frame)
    }

    /// The next text message; nil once the server closed.
    func receive() throws -> String? {
        while true {
            if let (opcode, payload) = nextFrame() {
                if opcode == 0x8 { return nil }
                if opcode == 0x1 { return String(decoding: payload, as: UTF8.self) }
                continue
            }
            guard try socket.fill() else { return nil }
        }
    }

    /// Takes a whole frame from what was read, if there is one.
    private func nextFrame() -> (opcode: UInt8, payload: [UInt8])? {
        guard socket.buffer.count >= 2 else { return nil }
        var length = Int(socket.buffer[1] & 0x7F), header = 2
        if length == 126, socket.buffer.count >= 4 { length = Int(socket.buffer[2]) << 8 | Int(socket.buffer[3]); header = 4 }
        else if length == 127, socket.buffer.count >= 10 { length = socket.buffer[2..<10].reduce(0) { $0 << 8 | Int($1) }; header = 10 }
        guard length < 126 || header > 2, socket.buffer.count >= header + length else { return nil }
        let frame = (socket.buffer[0] & 0x0F, Array(socket.buffer[header..<(header + length)]))
        socket.buffer.removeFirst(header + length)
        return frame
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ other: [UInt8]) -> Bool { firstRange(of: other) != nil }
}
