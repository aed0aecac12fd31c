import BourseCore
import BourseVenue
import BourseNode
import BourseProjections
import Synchronization

/// Alpaca's `trade_updates` stream: every event of an account's orders, pushed to that account's
/// connections, each with its order as it now stands; and the account's fired price alerts (`alerts`).
/// The order projection tells it each change as it applies a new entry.
final class TradeUpdates: Sendable {
    /// What one connection listens to.
    struct Listener: Sendable {
        var account: UInt32
        var tradeUpdates = false
        var alerts = false
    }

    let hub = StreamHub<Listener>(name: "trade updates", queueMax: 4_096, errorMessage: TradeUpdates.errorMessage)

    static func errorMessage(_ text: String) -> String {
        #"{"stream":"error","data":{"message":\#(API.quoted(text))}}"#
    }

    /// Turns one command's changes to orders into updates for the accounts they concern.
    func publish(_ published: Published, _ changes: [OrderChange]) {
        guard !changes.isEmpty else { return }
        let time = API.time(published.command.time)
        for change in changes where change.isTold {
            // Written only if someone listens to the account: most orders have no one on the stream.
            var message: String?
            hub.send { listener in
                guard listener.tradeUpdates, listener.account == change.account else { return nil }
                if message == nil { message = Self.update(change, time) }
                return message
            }
        }
    }

    /// A fired alert, to its account's connections that listen to `alerts`.
    func push(_ alert: Alerts.Alert) {
        let message = #"{"stream":"alerts","data":\#(alert.json)}"#
        hub.send { listener in listener.alerts && listener.account == alert.account ? message : nil }
    }

    /// One `trade_updates` message.
    static func update(_ change: OrderChange, _ time: String) -> String {
        let extra = API.extra(change).map { ",\"\($0.0)\":" + API.quoted($0.1) }.joined()
        return #"{"stream":"trade_updates","data":{"event":"\#(change.event.rawValue)","timestamp":"\#(time)"\#(extra),"order":\#(API.order(change.record).json)}}"#
    }
}
