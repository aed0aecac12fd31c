import BourseCore
import BourseVenue
import BourseNode
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// `/stream`, Alpaca's trading stream: authenticate, listen to `trade_updates` (and `alerts`), then receive
/// every update of the key's account (and its fired price alerts). Messages are JSON text frames.
struct TradeStream: Sendable {
    let keys: KeyStore
    let updates: TradeUpdates
    let risk: RiskUpdates

    private struct Message: Decodable {
        struct Data: Decodable {
            var key_id: String?
            var secret_key: String?
            /// A web session's bearer token, in place of the key.
            var token: String?
            var streams: [String]?
            /// For risk and admin keys: the accounts whose figures the `risk` stream follows (a trader's is its own).
            var risk_accounts: [String]?
        }
        var action: String
        var data: Data?
    }

    func add(to router: Router<StreamRequestContext>) {
        router.ws("/stream") { _, _ in .upgrade() } onUpgrade: { inbound, outbound, context in
            try await serve(inbound, outbound, context.requestContext.channel)
        }
    }

    private func serve(_ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, _ channel: any Channel) async throws {
        var key: StoredKey?
        var listening: (subscriber: StreamHub<TradeUpdates.Listener>.Subscriber, writer: Task<Void, Never>)?
        var riskWriter: Task<Void, Never>?
        // The stream closes when the session it signed in with ends or its key is revoked.
        var watching: KeyStore.Watch?
        defer {
            if let watching { keys.unwatch(watching) }
            if let listening {
                updates.hub.unsubscribe(listening.subscriber)
                listening.writer.cancel()
            }
        }
        for try await message in inbound.messages(maxSize: 1 << 14) {
            if case .text(let text) = message, let problem = StrictJSON.problem(Array(text.utf8)) {
                try await outbound.write(.text(TradeUpdates.errorMessage(problem)))
                continue
            }
            guard case .text(let text) = message,
                  let request = try? JSONDecoder().decode(Message.self, from: Data(text.utf8)) else {
                try await outbound.write(.text(TradeUpdates.errorMessage("messages are JSON objects with an action")))
                continue
            }
            switch request.action {
            case "authenticate", "auth":
                if let token = request.data?.token {
                    key = keys.authenticate(token: token, now: wallClockNanos(), closing: channel, watching: &watching)
                } else {
                    key = keys.authenticate(keyID: request.data?.key_id ?? "", secret: request.data?.secret_key ?? "", closing: channel, watching: &watching)
                }
                let status = key == nil ? "unauthorized" : "authorized"
                try await outbound.write(.text(#"{"stream":"authorization","data":{"status":"\#(status)","action":"authenticate"}}"#))
            case "listen":
                guard let key else {
                    try await outbound.write(.text(TradeUpdates.errorMessage("authenticate before listening")))
                    continue
                }
                // As Alpaca's: the streams named are the ones listened to from now on.
                let streams = request.data?.streams ?? []
                var listener = TradeUpdates.Listener(account: key.account)
                listener.tradeUpdates = streams.contains("trade_updates")
                listener.alerts = streams.contains("alerts")
                if let listening { listening.subscriber.interest.withLock { $0 = listener } }
                if listener.tradeUpdates || listener.alerts, listening == nil {
                    let subscriber: StreamHub<TradeUpdates.Listener>.Subscriber
                    switch updates.hub.subscribe(listener) {
                    case .success(let subscription): subscriber = subscription
                    case .failure(let ended):
                        try await outbound.write(.text(TradeUpdates.errorMessage(ended.reason)))
                        continue
                    }
                    let writer = Task {
                        // Order updates are never conflated or merged: each goes in its own frame.
                        writing: while let updates = await subscriber.outbox.next() {
                            // A client that stops reading leaves its queue to fill, not NIO's buffers.
                            guard await channel.writable(givingUp: { subscriber.overflowed.load(ordering: .relaxed) }) else { break }
                            for update in updates {
                                do { try await outbound.write(.text(update)) } catch { break writing }
                            }
                        }
                        if subscriber.overflowed.load(ordering: .relaxed) {
                            try? await outbound.write(.text(TradeUpdates.errorMessage(
                                "this connection fell too far behind (\(updates.hub.queueMax) updates or 4 MiB waiting) and is closed")))
                            try? await outbound.close(.policyViolation, reason: "too slow")
                        }
                    }
                    listening = (subscriber, writer)
                }
                riskWriter?.cancel()
                riskWriter = nil
                if streams.contains("risk") {
                    switch riskFollowed(key, request.data?.risk_accounts) {
                    case .success(let (accounts, firm)):
                        riskWriter = Task { [risk] in await risk.run(accounts: accounts, firm: firm, outbound: outbound) }
                    case .failure(let refusal):
                        try await outbound.write(.text(TradeUpdates.errorMessage(refusal.message)))
                    }
                }
                var names = (listening == nil ? [] : [listener.tradeUpdates ? "trade_updates" : nil, listener.alerts ? "alerts" : nil].compactMap { $0 })
                if riskWriter != nil { names.append("risk") }
                let namesText = names.map { "\"\($0)\"" }.joined(separator: ",")
                try await outbound.write(.text(#"{"stream":"listening","data":{"streams":[\#(namesText)]}}"#))
            default:
                try await outbound.write(.text(TradeUpdates.errorMessage("unknown action \(request.action)")))
            }
        }
    }

    struct Refusal: Error {
        var message: String
    }

    /// The accounts a key's `risk` stream follows, and whether it gets the firm's figures too.
    private func riskFollowed(_ key: StoredKey, _ named: [String]?) -> Result<([AccountID], Bool), Refusal> {
        switch key.role {
        case .risk, .admin:
            let names = named ?? []
            guard names.count <= RiskUpdates.accountsMax else { return .failure(Refusal(message: "risk_accounts names at most \(RiskUpdates.accountsMax) accounts")) }
            var accounts: [AccountID] = []
            for name in names {
                guard let id = AccountID(uuid: name) else { return .failure(Refusal(message: "risk_accounts: \(name) is not an account id")) }
                accounts.append(id)
            }
            return .success((accounts, true))
        case .trader:
            guard named == nil else { return .failure(Refusal(message: "a trader key's risk stream is its own account's: risk_accounts is for risk and admin keys")) }
            return .success(([AccountID(key.account)], false))
        default:
            return .failure(Refusal(message: "the risk stream is for trader, risk and admin keys, not \(key.role.rawValue) keys"))
        }
    }
}
