import Foundation
import Hummingbird
import HummingbirdWebSocket

/// `/v2/stream`, market data in Alpaca's shape: `auth` with `key` and `secret`, then `subscribe` and
/// `unsubscribe` with lists of symbols per channel. Only `trades` is served so far; asking for another
/// channel is answered with an error saying so.
struct MarketDataStream: Sendable {
    let keys: KeyStore
    let market: MarketStream

    private struct Message: Decodable {
        var action: String
        var key: String?
        var secret: String?
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
        var listening: (subscriber: StreamHub<Set<String>>.Subscriber, writer: Task<Void, Never>)?
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
                authenticated = keys.authenticate(keyID: request.key ?? "", secret: request.secret ?? "") != nil
                try await outbound.write(.text(authenticated ? #"[{"T":"success","msg":"authenticated"}]"#
                                                             : MarketStream.error("auth failed")))
            case "subscribe", "unsubscribe":
                guard authenticated else {
                    try await outbound.write(.text(MarketStream.error("not authenticated")))
                    continue
                }
                if !(request.quotes ?? []).isEmpty || !(request.bars ?? []).isEmpty {
                    try await outbound.write(.text(MarketStream.error("only the trades channel is served so far")))
                }
                if listening == nil {
                    switch market.hub.subscribe([]) {
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
                let symbols = listening!.subscriber.interest.withLock { set in
                    let named = Set(request.trades ?? [])
                    if request.action == "subscribe" { set.formUnion(named) } else { set.subtract(named) }
                    return set.sorted()
                }
                let list = symbols.map(API.quoted).joined(separator: ",")
                try await outbound.write(.text(#"[{"T":"subscription","trades":[\#(list)],"quotes":[],"bars":[]}]"#))
            default:
                try await outbound.write(.text(MarketStream.error("unknown action \(request.action)")))
            }
        }
    }
}
