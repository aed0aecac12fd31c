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

    private let subscribers = Mutex<[ObjectIdentifier: Subscriber]>([:])
    /// Why the stream stopped, once it has: the sequencer cut its consumer off, or stopped.
    private let ended = Mutex<String?>(nil)
    private let projection = Mutex(OrderProjection())
    let consumer = EventConsumer(name: "trade-updates", capacity: 1 << 18)

    /// Orders open before the stream started (after a restart), so their later events can be described.
    func seed(_ open: [OpenOrder], at time: Timestamp) {
        projection.withLock { $0.seed(open, at: time) }
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
        let changes = projection.withLock { $0.apply(published) }
        guard !changes.isEmpty else { return }
        let time = API.time(published.command.time)
        let targets = subscribers.withLock { Array($0.values) }
        for change in changes {
            let message = Self.update(change, time)
            for subscriber in targets where subscriber.account == change.account {
                if case .dropped = subscriber.continuation.yield(message) {
                    subscriber.overflowed.store(true, ordering: .relaxed)
                    unsubscribe(subscriber)
                }
            }
        }
    }

    /// One `trade_updates` message.
    static func update(_ change: OrderChange, _ time: String) -> String {
        let extra = change.extra.map { ",\"\($0.0)\":" + API.quoted($0.1) }.joined()
        return #"{"stream":"trade_updates","data":{"event":"\#(change.event)","timestamp":"\#(time)"\#(extra),"order":\#(change.record.api.json)}}"#
    }
}
