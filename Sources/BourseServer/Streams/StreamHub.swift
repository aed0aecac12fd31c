import Synchronization

/// What the WebSocket streams share: the connections, each with a bounded queue and an `Interest` (an
/// account, a set of symbols) that decides what it receives, fed by a projection's thread (so no connection
/// can slow the engine). Keyed messages (quotes) are conflated in a connection's queue; a connection that
/// lets its queue fill is cut off; when the projection stops or the venue does, every connection is told
/// why and new ones are refused until it resumes.
final class StreamHub<Interest: Sendable>: Sendable {
    final class Subscriber: Sendable {
        let outbox: Outbox
        let interest: Mutex<Interest>
        /// Set when its queue overflowed: the connection closes with an error.
        let overflowed = Atomic<Bool>(false)

        init(_ interest: Interest, _ outbox: Outbox) {
            self.interest = Mutex(interest)
            self.outbox = outbox
        }
    }

    struct Ended: Error {
        var reason: String
    }

    let name: String
    let queueMax: Int
    private let errorMessage: @Sendable (String) -> String
    private let subscribers = Mutex<[ObjectIdentifier: Subscriber]>([:])
    private let ended = Mutex<String?>(nil)
    private let dropCount = Atomic<Int>(0)

    /// Connections listening now.
    var subscriberCount: Int { subscribers.withLock { $0.count } }
    /// Connections cut off for letting their queue fill, since start.
    var drops: Int { dropCount.load(ordering: .relaxed) }

    init(name: String, queueMax: Int, errorMessage: @escaping @Sendable (String) -> String) {
        self.name = name
        self.queueMax = queueMax
        self.errorMessage = errorMessage
    }

    func subscribe(_ interest: Interest) -> Result<Subscriber, Ended> {
        let subscriber = Subscriber(interest, Outbox(capacity: queueMax))
        // Checked under the subscribers' lock, which `end` takes after setting `ended`.
        return subscribers.withLock { subscribers in
            if let reason = ended.withLock({ $0 }) { return .failure(Ended(reason: reason)) }
            subscribers[ObjectIdentifier(subscriber)] = subscriber
            return .success(subscriber)
        }
    }

    func unsubscribe(_ subscriber: Subscriber) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscriber)) }
        subscriber.outbox.finish()
    }

    /// Sends each subscriber what `message` makes of its interest, if anything; a message with a `key`
    /// replaces one of that key still waiting in a subscriber's queue.
    func send(key: String? = nil, _ message: (Interest) -> String?) {
        deliver { interest, push in
            if let text = message(interest) { _ = push(text, key) }
        }
    }

    /// Hands `body` each subscriber's interest and a `push(text, key)` for what it is to receive; a push
    /// that finds the queue full cuts the subscriber off and returns false.
    func deliver(_ body: (Interest, (String, String?) -> Bool) -> Void) {
        for subscriber in subscribers.withLock({ Array($0.values) }) {
            var open = true
            body(subscriber.interest.withLock { $0 }) { text, key in
                guard open else { return false }
                if subscriber.outbox.push(text, key: key) { return true }
                open = false
                subscriber.overflowed.store(true, ordering: .relaxed)
                dropCount.add(1, ordering: .relaxed)
                unsubscribe(subscriber)
                return false
            }
        }
    }

    /// Visits every subscriber's interest.
    func forEachInterest(_ body: (Interest) -> Void) {
        subscribers.withLock { for subscriber in $0.values { body(subscriber.interest.withLock { $0 }) } }
    }

    /// Why the hub stopped, if it has.
    var endReason: String? { ended.withLock { $0 } }

    /// Takes connections again (the projection resumed).
    func resume() {
        ended.withLock { $0 = nil }
    }

    /// Tells every connection why the stream ended and closes it; new ones are refused until `resume`.
    func end(_ reason: String) {
        ended.withLock { $0 = reason }
        let all = subscribers.withLock { subscribers in
            defer { subscribers.removeAll() }
            return Array(subscribers.values)
        }
        for subscriber in all {
            // Past the bound if need be: the last word a connection gets.
            subscriber.outbox.finish(with: errorMessage(reason))
        }
    }
}
