import BourseJournal
import Foundation
import Hummingbird
import HummingbirdWebSocket

/// `/v2/stream`, market data in Alpaca's shape: `auth` with `key` and `secret`, then `subscribe` and
/// `unsubscribe` with lists of symbols (or `*`) per channel: `trades`, `quotes` (the top of the book after
/// each change, conflated under load to the latest) and `bars` (minute bars as each closes).
struct MarketDataStream: Sendable {
    let keys: KeyStore
    let market: MarketStream

    private struct Message: Decodable {
        var action: String
        var key: String?
        var secret: String?
        /// A web session's bearer token, in place of the key.
        var token: String?
        var trades: [String]?
        var quotes: [String]?
        var bars: [String]?
    }

    func add(to router: Router<BasicWebSocketRequestContext>) {
        router.ws("/v2/stream") { _, _ in .upgrade() } onUpgrade: { inbound, outbound, _ in
            try await serve(inbound, outbound)
        }
    }

    private func serve(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(#"[{"T":"success","msg":"connected"}]"#))
        var authenticated = false
        var listening: (subscriber: StreamHub<MarketStream.Channels>.Subscriber, writer: Task<Void, Never>)?
        defer {
            if let listening {
                market.hub.unsubscribe(listening.subscriber)
                listening.writer.cancel()
            }
        }
        for try await message in inbound.messages(maxSize: 1 << 14) {
            guard case .text(let text) = message, let request = try? JSONDecoder().decode(Message.self, from: Data(text.utf8)) else {
                try await outbound.write(.text(MarketStream.error("messages are JSON objects with an action")))
                continue
            }
            switch request.action {
            case "auth":
                authenticated = if let token = request.token {
                    keys.authenticate(token: token, now: wallClockNanos()) != nil
                } else {
                    keys.authenticate(keyID: request.key ?? "", secret: request.secret ?? "") != nil
                }
                try await outbound.write(.text(authenticated ? #"[{"T":"success","msg":"authenticated"}]"#
                                                             : MarketStream.error("auth failed")))
            case "subscribe", "unsubscribe":
                guard authenticated else {
                    try await outbound.write(.text(MarketStream.error("not authenticated")))
                    continue
                }
                if listening == nil {
                    switch market.hub.subscribe(MarketStream.Channels()) {
                    case .success(let (subscriber, stream)):
                        let writer = Task {
                            for await batch in stream { try? await outbound.write(.text(batch)) }
                            if subscriber.overflowed.load(ordering: .relaxed) {
                                try? await outbound.write(.text(MarketStream.error(
                                    "this connection fell \(market.hub.queueMax) messages behind and is closed")))
                                try? await outbound.close(.policyViolation, reason: "too slow")
                            }
                        }
                        listening = (subscriber, writer)
                    case .failure(let ended):
                        try await outbound.write(.text(MarketStream.error(ended.reason)))
                        continue
                    }
                }
                let channels = listening!.subscriber.interest.withLock { channels in
                    for (named, channel) in [(request.trades, \MarketStream.Channels.trades), (request.quotes, \.quotes), (request.bars, \.bars)] {
                        let named = Set(named ?? [])
                        if request.action == "subscribe" { channels[keyPath: channel].formUnion(named) } else { channels[keyPath: channel].subtract(named) }
                    }
                    return channels
                }
                func list(_ set: Set<String>) -> String { "[" + set.sorted().map(API.quoted).joined(separator: ",") + "]" }
                try await outbound.write(.text(#"[{"T":"subscription","trades":\#(list(channels.trades)),"quotes":\#(list(channels.quotes)),"bars":\#(list(channels.bars))}]"#))
            default:
                try await outbound.write(.text(MarketStream.error("unknown action \(request.action)")))
            }
        }
    }
}
