import BourseCore
@testable import BourseServer
@testable import BourseVenue
import BourseFeeds
import BourseMarketData
import BourseTestSupport
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import Testing

@Suite("stream queues and encodings")
struct StreamTests {
    @Test("a keyed message replaces the one of its key still waiting, in its place; others keep their order")
    func conflation() async {
        let outbox = Outbox(capacity: 8)
        #expect(outbox.push("t1"))
        #expect(outbox.push("q AAPL 1", key: "AAPL"))
        #expect(outbox.push("t2"))
        #expect(outbox.push("q MSFT 1", key: "MSFT"))
        #expect(outbox.push("q AAPL 2", key: "AAPL"))
        #expect(outbox.push("q AAPL 3", key: "AAPL"))
        #expect(outbox.waiting == 4)
        #expect(await outbox.next() == ["t1", "q AAPL 3", "t2", "q MSFT 1"])
        // Once taken, a key queues anew.
        #expect(outbox.push("q AAPL 4", key: "AAPL"))
        #expect(await outbox.next() == ["q AAPL 4"])
    }

    @Test("a full queue refuses what is not conflated; a finished one hands out what waits, its last word, then nil")
    func bounds() async {
        let outbox = Outbox(capacity: 3, takeMax: 2)
        for i in 0..<3 { #expect(outbox.push("m\(i)")) }
        #expect(!outbox.push("m3"))
        // A quote of a key already waiting still replaces it; a new key finds no room.
        #expect(!outbox.push("q", key: "AAPL"))
        outbox.finish(with: "closing")
        #expect(!outbox.push("late"))
        #expect(await outbox.next() == ["m0", "m1"])
        #expect(await outbox.next() == ["m2", "closing"])
        #expect(await outbox.next() == nil)
    }

    @Test("the queue is bounded in bytes too: a message that would pass the bound is refused, unless the queue is empty")
    func byteBound() async {
        let outbox = Outbox(capacity: 100, byteCapacity: 10)
        #expect(outbox.push("123456"))
        #expect(outbox.push("7890"))
        #expect(!outbox.push("x"))
        // A keyed message replaced in place counts its new size.
        #expect(await outbox.next() == ["123456", "7890"])
        #expect(outbox.push(String(repeating: "y", count: 50)))
        #expect(!outbox.push("z"))
        #expect(await outbox.next() == [String(repeating: "y", count: 50)])
        #expect(outbox.push("ab", key: "k") && outbox.push("abcdefgh", key: "k"))
        #expect(!outbox.push("123"))
        #expect(await outbox.next() == ["abcdefgh"])
    }

    @Test("a reader waiting on an empty queue wakes for the next message, and for the end")
    func waiting() async throws {
        let outbox = Outbox(capacity: 4)
        async let first = outbox.next()
        try await Task.sleep(for: .milliseconds(20))
        #expect(outbox.push("hello"))
        #expect(await first == ["hello"])
        async let second = outbox.next()
        try await Task.sleep(for: .milliseconds(20))
        outbox.finish()
        #expect(await second == nil)
    }

    @Test("a subscriber that lets its queue fill is cut off, counted, and told why last")
    func hubOverflow() async {
        let hub = StreamHub<Int>(name: "test", queueMax: 4, errorMessage: { "error: " + $0 })
        guard case .success(let slow) = hub.subscribe(1), case .success(let other) = hub.subscribe(2) else {
            Issue.record("subscribe failed")
            return
        }
        for i in 0..<5 { hub.send { $0 == 1 ? "m\(i)" : nil } }
        let overflowed = slow.overflowed.load(ordering: .relaxed)
        #expect(overflowed)
        #expect(hub.drops == 1 && hub.subscriberCount == 1)
        #expect(await slow.outbox.next() == ["m0", "m1", "m2", "m3"])
        #expect(await slow.outbox.next() == nil)
        let otherOverflowed = other.overflowed.load(ordering: .relaxed)
        #expect(!otherOverflowed)
    }

    @Test("queued messages merge, in order, into frames within the bound; a message over it goes alone")
    func frames() throws {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<300 {
            var messages: [String] = []
            for i in 0..<Int.random(in: 1...60, using: &generator) {
                var objects: [String] = []
                for j in 0..<Int.random(in: 1...4, using: &generator) {
                    let padding = String(repeating: "a", count: Int.random(in: 0...700, using: &generator))
                    objects.append(#"{"T":"t","i":\#(i),"j":\#(j),"x":"\#(padding)"}"#)
                }
                messages.append("[" + objects.joined(separator: ",") + "]")
            }
            let bound = Int.random(in: 100...4_000, using: &generator)
            let frames = MarketDataStream.frames(messages, bytesMax: bound)
            // Together they say what one merged frame would, in the same order.
            let objects = try frames.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any] ?? [] }
            let sent = messages.map { $0.components(separatedBy: #""T":"t""#).count - 1 }
            #expect(objects.map(\.count).reduce(0, +) == sent.reduce(0, +))
            #expect(MarketDataStream.merge(frames) == MarketDataStream.merge(messages))
            for frame in frames where frame.utf8.count > bound {
                // Only a message that alone passes the bound.
                #expect(messages.contains(frame))
            }
            // As few as the bound allows: no two neighbours would have fitted together.
            for (a, b) in zip(frames, frames.dropFirst()) {
                #expect(MarketDataStream.merge([a, b]).utf8.count > bound)
            }
        }
        #expect(MarketDataStream.frames([]) == [])
    }

    @Test("MessagePack: each type at its encoding boundaries, byte for byte, and back to the same JSON")
    func messagePackVectors() {
        let cases: [(String, [UInt8])] = [
            ("0", [0x00]), ("127", [0x7f]), ("128", [0xcc, 0x80]), ("255", [0xcc, 0xff]), ("256", [0xcd, 0x01, 0x00]),
            ("65535", [0xcd, 0xff, 0xff]), ("65536", [0xce, 0x00, 0x01, 0x00, 0x00]),
            ("4294967296", [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]), ("-1", [0xff]), ("-32", [0xe0]), ("-33", [0xd0, 0xdf]),
            ("-128", [0xd0, 0x80]), ("-129", [0xd1, 0xff, 0x7f]), ("-32769", [0xd2, 0xff, 0xff, 0x7f, 0xff]),
            ("-2147483649", [0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
            ("190.01", [0xcb] + withUnsafeBytes(of: (190.01).bitPattern.bigEndian) { Array($0) }),
            ("null", [0xc0]), ("true", [0xc3]), ("false", [0xc2]), ("\"\"", [0xa0]), ("\"T\"", [0xa1, 0x54]),
            ("[]", [0x90]), ("{}", [0x80]), (#"{"T":"t","s":2}"#, [0x82, 0xa1, 0x54, 0xa1, 0x74, 0xa1, 0x73, 0x02]),
            (#""\u00e9\ud83d\ude00""#, [0xa6, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]),
        ]
        for (json, bytes) in cases {
            #expect(MessagePack.encode(json: json) == bytes, "\(json)")
            #expect(MessagePack.decode(bytes) == MessagePack.value(json: json), "\(json)")
        }
        // A time under `t` is MessagePack's timestamp extension, as Alpaca sends it: 64 bits (30 of nanoseconds,
        // 34 of seconds) from 1970 to 2514, 96 bits before; it reads back as the same time.
        let stamp: UInt64 = 123_456_789 << 34 | 1_764_950_400
        let timed = #"{"t":"2025-12-05T16:00:00.123456789Z"}"#
        let timedBytes: [UInt8] = [0x81, 0xa1, 0x74, 0xd7, 0xff] + withUnsafeBytes(of: stamp.bigEndian) { Array($0) }
        #expect(MessagePack.encode(json: timed) == timedBytes)
        #expect(MessagePack.decode(timedBytes).map(MessagePack.json) == timed)
        let early = #"{"t":"1969-12-31T23:59:59.500000000Z"}"#
        let earlyBytes: [UInt8] = [0x81, 0xa1, 0x74, 0xc7, 12, 0xff, 0x1d, 0xcd, 0x65, 0x00] + withUnsafeBytes(of: Int64(-1).bigEndian) { Array($0) }
        #expect(MessagePack.encode(json: early) == earlyBytes)
        #expect(MessagePack.decode(earlyBytes).map(MessagePack.json) == early)
        // Only `t` holds a time: another key's time is a string still.
        #expect(MessagePack.encode(json: #"{"x":"2025-12-05T16:00:00Z"}"#)?.count == 3 + 21)
        for (count, header) in [(31, [UInt8(0xbf)]), (32, [0xd9, 32]), (255, [0xd9, 255]), (256, [0xda, 1, 0])] {
            let text = String(repeating: "x", count: count)
            #expect(MessagePack.encode(json: "\"\(text)\"") == header + Array(text.utf8))
        }
        for (count, header) in [(15, [UInt8(0x9f)]), (16, [0xdc, 0, 16])] {
            let array = "[" + Array(repeating: "1", count: count).joined(separator: ",") + "]"
            #expect(MessagePack.encode(json: array) == header + Array(repeating: 1, count: count))
        }
        let message = #"[{"T":"q","S":"AAPL","bp":189.5,"bs":2,"c":["R"],"z":"C"}]"#
        #expect(MessagePack.decode(MessagePack.encode(json: message)!).map(MessagePack.json) == message)
    }

    @Test("malformed JSON or MessagePack, and nesting past the limit, are refused rather than crashing")
    func messagePackMalformed() {
        for json in ["", "{", "[1,]", #"{"a" 1}"#, "tru", #""\x""#, #""\ud800""#, "1 2", String(repeating: "[", count: 40) + String(repeating: "]", count: 40)] {
            #expect(MessagePack.encode(json: json) == nil, "\(json)")
        }
        for bytes: [UInt8] in [[], [0xc1], [0xa3, 0x41], [0x92, 0x01], [0xdc, 0xff], [0xcd, 0x01], [0x81, 0x01, 0x02], [0x00, 0x00],
                               Array(repeating: 0x91, count: 40) + [0x00]] {
            #expect(MessagePack.decode(bytes) == nil, "\(bytes)")
        }
    }

    @Test("a client asking for MessagePack authenticates and subscribes in MessagePack and gets trades as MessagePack")
    func messagePackStream() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ServerTests.Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        let received = Received()
        let headers: HTTPFields = [.contentType: "application/msgpack"]
        @Sendable func frame(_ json: String) -> WebSocketOutboundWriter.OutboundFrame { .binary(ByteBuffer(bytes: MessagePack.encode(json: json)!)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/v2/stream", configuration: .init(additionalHeaders: headers),
                                                  logger: Logger(label: "test")) { inbound, outbound, _ in
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        guard case .binary(let buffer) = message, let value = MessagePack.decode(Array(buffer.readableBytesView)) else {
                            received.append("not MessagePack: \(message)")
                            return
                        }
                        let text = MessagePack.json(value)
                        received.append(text)
                        if text.contains(#""msg":"connected""#) {
                            try await outbound.write(frame(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
                        } else if text.contains(#""msg":"authenticated""#) {
                            try await outbound.write(frame(#"{"action":"subscribe","trades":["TSLA"]}"#))
                        } else if text.contains(#""T":"subscription""#) {
                            _ = try await server.order(buyer, #""symbol":"TSLA","qty":"3","side":"buy","type":"limit","time_in_force":"day","limit_price":"250.25""#)
                            _ = try await server.order(seller, #""symbol":"TSLA","qty":"3","side":"sell","type":"market","time_in_force":"ioc""#)
                        } else if text.contains(#""T":"t""#) {
                            return
                        }
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                throw CancellationError()
            }
            try await group.next()
            group.cancelAll()
        }
        let trade = received.all.last ?? ""
        #expect(trade.contains(#""T":"t","S":"TSLA""#) && trade.contains(#""p":250.25,"s":3"#), "\(received.all)")
        #expect(!received.all.contains { $0.hasPrefix("not MessagePack") })
        await server.stop()
    }
}

@Suite("NBBO on the market data stream")
struct NBBOStreamTests {
    @Test("a venue followed over SoupBinTCP and the venue's own book make the NBBO on the nbbo channel; a better own bid takes the bid side")
    func nbboChannel() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let venue = SimulatedVenue(name: "SIM1", stocks: [("AAPL", 1_900_000), ("MSFT", 4_200_000)], seed: 7)
        venue.generate(600)
        // The venue has quoted AAPL before anyone subscribes: a subscriber starts from the NBBO as it stands.
        let listening = AsyncStream.makeStream(of: Int.self)
        let served = Task { try await venue.serve { listening.continuation.yield($0) } }
        defer { served.cancel() }
        var ports = listening.stream.makeAsyncIterator()
        let port = await ports.next() ?? 0
        var configuration = VenueConfiguration.demo
        configuration.feeds = [.init(name: "SIM1", host: "127.0.0.1", port: port, username: nil, password: "secret")]
        let server = try await ServerTests.Running(directory: directory, configuration: configuration)
        let following = Task { await server.opened.node.feeds.run() }
        defer { following.cancel() }
        for _ in 0..<500 where server.opened.node.feeds.received(0) < venue.logCount { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.opened.node.feeds.received(0) == venue.logCount)
        let buyer = server.key(account: 1)
        let received = Received()
        let placed = Shared(false)
        try await server.webSocket("/v2/stream", received) { text, outbound in
            if text.contains(#""msg":"connected""#) {
                try await outbound.write(.text(#"{"action":"auth","key":"\#(buyer.keyID)","secret":"\#(buyer.secret)"}"#))
            } else if text.contains(#""msg":"authenticated""#) {
                try await outbound.write(.text(#"{"action":"subscribe","nbbo":["AAPL"]}"#))
            } else if text.contains(#""T":"n","S":"AAPL""#) && text.contains(#""bx":"SIM1""#) && !placed.withLock({ $0 }) {
                placed.withLock { $0 = true }
                // The venue bids at most $189.99 and offers at least $190.01: a round lot at $190.00 is the best bid.
                let (status, _) = try await server.order(buyer, #""symbol":"AAPL","qty":"100","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.00""#)
                #expect(status == 200)
            }
            return text.contains(#""T":"n","S":"AAPL","bp":190.00,"bs":100,"bx":"BOURSE""#)
        }
        let messages = received.all
        #expect(messages.contains { $0.contains(#""T":"subscription""#) && $0.contains(#""nbbo":["AAPL"]"#) })
        let last = messages.last ?? ""
        #expect(last.contains(#""bx":"BOURSE""#) && last.contains(#""ax":"SIM1""#) && last.contains(#""c":"normal""#), "\(last)")
        #expect(!messages.contains { $0.contains(#""S":"MSFT""#) })
        await server.stop()
    }

    @Test("a feed configured as MoldUDP64 is followed into the NBBO: the venue's datagrams to the configured port build its books")
    func moldUDP64Feed() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let venue = SimulatedVenue(name: "UDP1", stocks: [("AAPL", 1_900_000), ("MSFT", 4_200_000)], seed: 9)
        venue.generate(600)
        // A port free a moment ago: the server binds it for the venue's datagrams.
        let probe = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress?.port ?? 0
        try await probe.close()
        var configuration = VenueConfiguration.demo
        configuration.feeds = [.init(name: "UDP1", host: "127.0.0.1", port: port, transport: "moldudp64")]
        let server = try await ServerTests.Running(directory: directory, configuration: configuration)
        let following = Task { await server.opened.node.feeds.run() }
        defer { following.cancel() }
        try await Task.sleep(for: .milliseconds(100))
        let sending = Task { try await venue.serveMoldUDP64(to: port) { _ in } }
        defer { sending.cancel() }
        for _ in 0..<500 where server.opened.node.feeds.received(0) < venue.logCount { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.opened.node.feeds.received(0) == venue.logCount && server.opened.node.feeds.isLive(0))
        let best = try #require(server.opened.node.feeds.best(ITCH.Stock("AAPL")!))
        #expect(best.bid?.venue == 0 && best.ask?.venue == 0)
        await server.stop()
    }
}
