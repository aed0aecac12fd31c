import BourseCore
import BourseVenue
import BourseNode
import Foundation
import Hummingbird
import NIOCore
import HummingbirdWebSocket

/// `/v2/stream`, market data in Alpaca's shape: `auth` with `key` and `secret`, then `subscribe` and
/// `unsubscribe` with lists of symbols (or `*`) per channel: `trades`, `quotes` (the top of the book after
/// each change, conflated under load to the latest), `bars` (minute bars as each closes), `nbbo`, `l1`,
/// `l2` (changed price levels) and `l3` (order-level changes); see `MarketFeed` for the messages.
///
/// `/v2/stream?tier=conflated` is the conflated tier: at most one message per symbol and channel each
/// `conflationInterval`, always the latest, with level 2 as the top of the book; level 3 is real-time only.
struct MarketDataStream: Sendable {
    /// Nil for a replay, where any key and secret authenticate.
    let keys: KeyStore?
    let market: MarketFeed
    /// How long a connection's writer waits after a frame before taking what has queued since: a busy
    /// connection gets at most one frame a window, however many messages, which is what lets one tick
    /// reach many connections. An idle connection's next message goes at once.
    let batchWindow: Duration
    let conflationInterval: Duration

    private struct Message: Decodable {
        var action: String
        var key: String?
        var secret: String?
        /// A web session's bearer token, in place of the key.
        var token: String?
        var trades: [String]?
        var quotes: [String]?
        var bars: [String]?
        var nbbo: [String]?
        var l1: [String]?
        var l2: [String]?
        var l3: [String]?
    }

    func add(to router: Router<StreamRequestContext>) {
        router.ws("/v2/stream") { request, _ in
            switch request.uri.queryParameters.get("tier").map({ String($0) }) {
            case nil, "realtime", "conflated": .upgrade()
            default: .dontUpgrade
            }
        } onUpgrade: { inbound, outbound, context in
            // As Alpaca's: a client that sends `Content-Type: application/msgpack` with the upgrade gets
            // MessagePack in binary frames, and may send its own messages so.
            let msgpack = context.request.headers[.contentType]?.lowercased().hasPrefix("application/msgpack") == true
            let conflated = context.request.uri.queryParameters.get("tier").map { String($0) } == "conflated"
            try await serve(inbound, Connection(outbound: outbound, msgpack: msgpack, channel: context.requestContext.channel), conflated: conflated)
        }
    }

    /// Writes the stream's JSON messages as text, or as MessagePack in binary frames.
    struct Connection: Sendable {
        let outbound: WebSocketOutboundWriter
        let msgpack: Bool
        let channel: any Channel

        /// One message; one longer than a frame may be goes in fragments.
        func write(_ json: String) async throws {
            if msgpack, let bytes = MessagePack.encode(json: json) {
                try await outbound.writeBinaryMessage(ByteBuffer(bytes: bytes))
            } else {
                try await outbound.writeTextMessage(json)
            }
        }

        /// A request's JSON: a text frame's, or a binary frame's MessagePack read back into JSON.
        func json(_ message: WebSocketMessage) -> String? {
            switch message {
            case .text(let text): text
            case .binary(let buffer): MessagePack.decode(Array(buffer.readableBytesView)).map(MessagePack.json)
            }
        }
    }

    /// The largest frame sent when it can be helped: Hummingbird's default limit, and that of common
    /// client libraries, which close the connection on a larger frame.
    static let frameBytesMax = 1 << 14

    /// Several queued messages (each an array of objects) go as one array in one frame.
    static func merge(_ messages: [String]) -> String {
        messages.count == 1 ? messages[0] : "[" + messages.map { $0.dropFirst().dropLast() }.joined(separator: ",") + "]"
    }

    /// Queued messages merged, in order, into as few frames as keep within `bytesMax` each; a message
    /// longer than that goes alone (and in fragments).
    static func frames(_ messages: [String], bytesMax: Int = frameBytesMax) -> [String] {
        var frames: [String] = []
        var group: [String] = []
        var size = 0
        for message in messages {
            // Merged, a message loses its brackets and gains a comma; the group keeps one pair.
            let added = group.isEmpty ? message.utf8.count : message.utf8.count - 1
            if !group.isEmpty, size + added > bytesMax {
                frames.append(merge(group))
                group.removeAll(keepingCapacity: true)
                size = 0
            }
            size += group.isEmpty ? message.utf8.count : added
            group.append(message)
        }
        if !group.isEmpty { frames.append(merge(group)) }
        return frames
    }

    private func serve(_ inbound: WebSocketInboundStream, _ connection: Connection, conflated: Bool) async throws {
        let outbound = connection
        try await outbound.write(#"[{"T":"success","msg":"connected"}]"#)
        var authenticated = false
        var listening: (subscriber: StreamHub<MarketFeed.Channels>.Subscriber, writer: Task<Void, Never>)?
        var readsDepth = false
        // The stream closes when the session it signed in with ends or its key is revoked.
        var watching: KeyStore.Watch?
        defer {
            if let watching { keys?.unwatch(watching) }
            if let listening {
                market.hub.unsubscribe(listening.subscriber)
                listening.writer.cancel()
            }
            if readsDepth { market.conflatedDepthReaders.subtract(1, ordering: .relaxed) }
        }
        for try await message in inbound.messages(maxSize: 1 << 14) {
            guard let text = connection.json(message) else {
                try await outbound.write(MarketFeed.error("messages are JSON objects (or MessagePack maps) with an action"))
                continue
            }
            if let problem = StrictJSON.problem(Array(text.utf8)) {
                try await outbound.write(MarketFeed.error(problem))
                continue
            }
            guard let request = try? JSONDecoder().decode(Message.self, from: Data(text.utf8)) else {
                try await outbound.write(MarketFeed.error("messages are JSON objects (or MessagePack maps) with an action"))
                continue
            }
            switch request.action {
            case "auth":
                authenticated = if let keys {
                    if let token = request.token {
                        keys.authenticate(token: token, now: wallClockNanos(), closing: connection.channel, watching: &watching) != nil
                    } else {
                        keys.authenticate(keyID: request.key ?? "", secret: request.secret ?? "", closing: connection.channel, watching: &watching) != nil
                    }
                } else {
                    true
                }
                try await outbound.write(authenticated ? #"[{"T":"success","msg":"authenticated"}]"#
                                                             : MarketFeed.error("auth failed"))
            case "subscribe", "unsubscribe":
                guard authenticated else {
                    try await outbound.write(MarketFeed.error("not authenticated"))
                    continue
                }
                if conflated, let named = request.l3, !named.isEmpty, request.action == "subscribe" {
                    try await outbound.write(MarketFeed.error("l3 is not offered in the conflated tier"))
                    continue
                }
                // A name the venue does not offer is refused, and the subscription stays as it was.
                let named = [request.trades, request.quotes, request.bars, request.nbbo, request.l1, request.l2, request.l3].compactMap { $0 }.joined()
                if request.action == "subscribe", let unknown = named.first(where: { $0 != "*" && !market.offers($0) }) {
                    try await outbound.write(MarketFeed.error("symbol \(unknown.prefix(16)) is not offered"))
                    continue
                }
                if listening == nil {
                    var initial = MarketFeed.Channels()
                    initial.conflated = conflated
                    switch market.hub.subscribe(initial) {
                    case .success(let subscriber):
                        let pause = conflated ? conflationInterval : batchWindow
                        let writer = Task {
                            while let batch = await subscriber.outbox.next() {
                                // A client that stops reading leaves its queue to fill, not NIO's buffers.
                                guard await connection.channel.writable(givingUp: { subscriber.overflowed.load(ordering: .relaxed) }) else { break }
                                do { for frame in Self.frames(batch) { try await outbound.write(frame) } } catch { break }
                                try? await Task.sleep(for: pause)
                            }
                            if subscriber.overflowed.load(ordering: .relaxed) {
                                try? await outbound.write(MarketFeed.error(
                                    "this connection fell too far behind (\(market.hub.queueMax) messages or 4 MiB waiting) and is closed"))
                                try? await connection.outbound.close(.policyViolation, reason: "too slow")
                            }
                        }
                        listening = (subscriber, writer)
                    case .failure(let ended):
                        try await outbound.write(MarketFeed.error(ended.reason))
                        continue
                    }
                }
                let channels = listening!.subscriber.interest.withLock { channels in
                    for (named, channel) in [(request.trades, \MarketFeed.Channels.trades), (request.quotes, \.quotes), (request.bars, \.bars),
                                             (request.nbbo, \.nbbo), (request.l1, \.l1), (request.l2, \.l2), (request.l3, \.l3)] {
                        let named = Set(named ?? [])
                        if request.action == "subscribe" { channels[keyPath: channel].formUnion(named) } else { channels[keyPath: channel].subtract(named) }
                    }
                    return channels
                }
                if conflated, !readsDepth, !channels.l2.isEmpty {
                    readsDepth = true
                    market.conflatedDepthReaders.add(1, ordering: .relaxed)
                }
                func list(_ set: Set<String>) -> String { "[" + set.sorted().map(API.quoted).joined(separator: ",") + "]" }
                try await outbound.write(#"[{"T":"subscription","trades":\#(list(channels.trades)),"quotes":\#(list(channels.quotes)),"bars":\#(list(channels.bars)),"nbbo":\#(list(channels.nbbo)),"l1":\#(list(channels.l1)),"l2":\#(list(channels.l2)),"l3":\#(list(channels.l3)),"tier":"\#(conflated ? "conflated" : "realtime")","session":"\#(market.session)"}]"#)
                // The NBBO changes seldom for a quiet symbol: a new subscriber starts from where it is now.
                if request.action == "subscribe", let named = request.nbbo, !named.isEmpty {
                    for message in market.currentNBBO(named) { try await outbound.write(message) }
                }
            default:
                try await outbound.write(MarketFeed.error("unknown action \(request.action)"))
            }
        }
    }
}
