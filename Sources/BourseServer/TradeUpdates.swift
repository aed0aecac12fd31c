import BourseCore
import BourseEngine
import BourseNode
import Foundation
import Synchronization

/// Alpaca's `trade_updates` stream: every event of an account's orders, pushed to that account's
/// WebSocket connections. A consumer of the sequencer's published events feeds it on its own thread, so
/// no client can slow the engine. Each connection has a bounded queue; a connection that lets it fill is
/// cut off with a message saying so.
final class TradeUpdates: Sendable {
    /// Messages a connection may have waiting before it is cut off.
    static let queueMax = 4_096

    final class Subscriber: Sendable {
        let account: UInt32
        let continuation: AsyncStream<String>.Continuation
        /// Set when its queue overflowed: the connection closes with an error.
        let overflowed = Atomic<Bool>(false)

        init(account: UInt32, continuation: AsyncStream<String>.Continuation) {
            self.account = account
            self.continuation = continuation
        }
    }

    /// What the stream knows of each open order, to describe it in each update.
    struct Tracked {
        var order: NewOrder
        var filled: Int64 = 0
        var notional: Int128 = 0
    }

    private let subscribers = Mutex<[ObjectIdentifier: Subscriber]>([:])
    /// Why the stream stopped, once it has: the sequencer cut its consumer off, or stopped.
    private let ended = Mutex<String?>(nil)
    private let orders = Mutex<[UInt64: Tracked]>([:])
    let consumer = EventConsumer(name: "trade-updates", capacity: 1 << 18)

    /// Orders open before the stream started (after a restart), so their later events can be described.
    func seed(_ open: [OpenOrder]) {
        orders.withLock { orders in
            for o in open {
                let order = NewOrder(orderID: o.orderID, account: o.account, symbol: o.symbol, side: o.side, type: o.type,
                                     timeInForce: o.timeInForce, quantity: o.quantity, limitPrice: o.limitPrice,
                                     stopPrice: o.stopPrice)
                orders[o.orderID.rawValue] = Tracked(order: order, filled: o.quantity.shares - o.leaves.shares)
            }
        }
    }

    /// A new subscriber of the account's updates, or why there can be none.
    func subscribe(account: UInt32) -> Result<(Subscriber, AsyncStream<String>), StreamEnded> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.queueMax))
        let subscriber = Subscriber(account: account, continuation: continuation)
        // Checked under the subscribers' lock, which `disconnectAll` takes after setting `ended`.
        return subscribers.withLock { subscribers in
            if let reason = ended.withLock({ $0 }) { return .failure(StreamEnded(reason: reason)) }
            subscribers[ObjectIdentifier(subscriber)] = subscriber
            return .success((subscriber, stream))
        }
    }

    struct StreamEnded: Error {
        var reason: String
    }

    func unsubscribe(_ subscriber: Subscriber) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscriber)) }
        subscriber.continuation.finish()
    }

    /// Runs on its own thread until the sequencer closes the consumer.
    func start() {
        let thread = Thread { [self] in
            while true {
                switch consumer.next() {
                case .events(let batch):
                    for published in batch { publish(published) }
                case .overrun(let sequence):
                    // The sequencer cut this consumer off rather than wait for it: the stream can no longer
                    // tell every update, so it says so and ends until the server restarts.
                    disconnectAll("the trade updates stream fell behind at sequence \(sequence) and stopped; it resumes when the server restarts")
                    return
                case .closed:
                    disconnectAll("the venue is stopping")
                    return
                }
            }
        }
        thread.name = "bourse-trade-updates"
        thread.start()
    }

    private func disconnectAll(_ reason: String) {
        ended.withLock { $0 = reason }
        let all = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        for subscriber in all {
            subscriber.continuation.yield(Self.errorMessage(reason))
            subscriber.continuation.finish()
        }
    }

    static func errorMessage(_ text: String) -> String {
        #"{"stream":"error","data":{"message":"\#(text)"}}"#
    }

    /// Turns one command's events into updates for the accounts they concern.
    private func publish(_ published: Published) {
        let time = API.time(published.command.time)
        var updates: [(UInt32, String)] = []
        orders.withLock { orders in
            for event in published.events {
                switch event {
                case .orderAccepted(let order):
                    orders[order.orderID.rawValue] = Tracked(order: order)
                    updates.append((order.account.rawValue, Self.update("new", orders[order.orderID.rawValue]!, time, status: "new")))
                case .orderRejected(let id, let account, let reason):
                    if case .newOrder(let order) = published.command.command, order.orderID == id {
                        updates.append((account.rawValue, Self.update("rejected", Tracked(order: order), time, status: "rejected",
                                                                      extra: #","reason":"\#(reason.code)""#)))
                    }
                case .trade(let t):
                    for (id, leaves) in [(t.makerOrderID, t.makerLeaves), (t.takerOrderID, t.takerLeaves)] {
                        guard var tracked = orders[id.rawValue] else { continue }
                        tracked.filled += t.quantity.shares
                        tracked.notional += Int128(t.price.units) * Int128(t.quantity.shares)
                        let done = leaves.shares == 0
                        if done { orders[id.rawValue] = nil } else { orders[id.rawValue] = tracked }
                        let extra = #","price":"\#(API.decimal(t.price))","qty":"\#(t.quantity.shares)","execution_id":"\#(t.executionID.rawValue)""#
                        updates.append((tracked.order.account.rawValue,
                                        Self.update(done ? "fill" : "partial_fill", tracked, time,
                                                    status: done ? "filled" : "partially_filled", extra: extra)))
                    }
                case .orderCancelled(let id, let account, _, let reason):
                    if let tracked = orders.removeValue(forKey: id.rawValue) {
                        updates.append((account.rawValue, Self.update("canceled", tracked, time, status: "canceled",
                                                                      extra: #","reason":"\#(reason.code)""#)))
                    }
                case .orderExpired(let id, let account, _):
                    if let tracked = orders.removeValue(forKey: id.rawValue) {
                        updates.append((account.rawValue, Self.update("expired", tracked, time, status: "expired")))
                    }
                case .orderReplaced(let r):
                    guard var tracked = orders.removeValue(forKey: r.orderID.rawValue) else { continue }
                    updates.append((r.account.rawValue, Self.update("replaced", tracked, time, status: "replaced",
                                                                    extra: #","replaced_by":"\#(r.newOrderID.rawValue)""#)))
                    tracked.order.orderID = r.newOrderID
                    tracked.order.quantity = r.quantity
                    if let p = r.limitPrice { tracked.order.limitPrice = p }
                    if let p = r.stopPrice { tracked.order.stopPrice = p }
                    orders[r.newOrderID.rawValue] = tracked
                    updates.append((r.account.rawValue, Self.update("new", tracked, time,
                                                                    status: tracked.filled > 0 ? "partially_filled" : "new")))
                case .selfTradeDecremented(let id, _, let quantity, _):
                    orders[id.rawValue]?.order.quantity.shares -= quantity.shares
                default:
                    break
                }
            }
        }
        guard !updates.isEmpty else { return }
        let targets = subscribers.withLock { Array($0.values) }
        for (account, message) in updates {
            for subscriber in targets where subscriber.account == account {
                if case .dropped = subscriber.continuation.yield(message) {
                    subscriber.overflowed.store(true, ordering: .relaxed)
                    unsubscribe(subscriber)
                }
            }
        }
    }

    /// One `trade_updates` message.
    static func update(_ event: String, _ tracked: Tracked, _ time: String, status: String, extra: String = "") -> String {
        let o = tracked.order
        let average = tracked.filled > 0 ? "\"\(API.decimal(Int64(tracked.notional / Int128(tracked.filled))))\"" : "null"
        let limit = o.limitPrice.map { "\"\(API.decimal($0))\"" } ?? "null"
        let stop = o.stopPrice.map { "\"\(API.decimal($0))\"" } ?? "null"
        let order = #"{"id":"\#(o.orderID.rawValue)","client_order_id":"\#(o.orderID.rawValue)","symbol":"\#(o.symbol)","asset_class":"us_equity","qty":"\#(o.quantity.shares)","filled_qty":"\#(tracked.filled)","filled_avg_price":\#(average),"order_type":"\#(API.name(o.type))","type":"\#(API.name(o.type))","side":"\#(o.side == .buy ? "buy" : "sell")","time_in_force":"\#(API.name(o.timeInForce))","limit_price":\#(limit),"stop_price":\#(stop),"status":"\#(status)","updated_at":"\#(time)"}"#
        return #"{"stream":"trade_updates","data":{"event":"\#(event)","timestamp":"\#(time)"\#(extra),"order":\#(order)}}"#
    }
}
