import Synchronization

/// One connection's bounded outbound queue. Messages with a key (a symbol's quote) are conflated: one that
/// is not yet taken is replaced by a newer one of its key, in its place in the queue, so a reader always
/// gets the latest. Messages without a key (trades, bars, order updates) are never dropped or merged: when
/// `capacity` of them wait, or `byteCapacity` bytes (one message alone may exceed it), `push` fails and
/// the connection is to be closed.
final class Outbox: Sendable {
    private enum Item {
        case message(String)
        case latest(String)
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var latest: [String: String] = [:]
        var bytes = 0
        var waiter: CheckedContinuation<[String]?, Never>?
        var finished = false

        var count: Int { items.count - head }

        /// Takes up to `max` waiting messages, oldest first.
        mutating func take(_ max: Int) -> [String] {
            var taken: [String] = []
            while head < items.count, taken.count < max {
                switch items[head] {
                case .message(let text):
                    taken.append(text)
                    bytes -= text.utf8.count
                case .latest(let key):
                    if let text = latest.removeValue(forKey: key) {
                        taken.append(text)
                        bytes -= text.utf8.count
                    }
                }
                head += 1
            }
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 4_096 {
                items.removeFirst(head)
                head = 0
            }
            return taken
        }
    }

    let capacity: Int
    let byteCapacity: Int
    /// At most this many messages are handed to the writer at once.
    let takeMax: Int
    private let state = Mutex(State())

    init(capacity: Int, byteCapacity: Int = 4 << 20, takeMax: Int = 1_024) {
        self.capacity = capacity
        self.byteCapacity = byteCapacity
        self.takeMax = takeMax
    }

    /// Queues a message; false when the queue is full or finished (the message is not queued).
    func push(_ text: String, key: String? = nil) -> Bool {
        var woken: (CheckedContinuation<[String]?, Never>, [String])?
        let accepted: Bool = state.withLock { s in
            guard !s.finished else { return false }
            let size = text.utf8.count
            if let key, let old = s.latest[key] {
                s.latest[key] = text
                s.bytes += size - old.utf8.count
                return true
            }
            guard s.count < capacity, s.count == 0 || s.bytes + size <= byteCapacity else { return false }
            s.bytes += size
            if let key {
                s.latest[key] = text
                s.items.append(.latest(key))
            } else {
                s.items.append(.message(text))
            }
            if let waiter = s.waiter {
                s.waiter = nil
                woken = (waiter, s.take(takeMax))
            }
            return true
        }
        if let (waiter, taken) = woken { waiter.resume(returning: taken) }
        return accepted
    }

    /// No more messages (but a last one, if given, even past the bound): once what waits is taken, `next`
    /// returns nil.
    func finish(with last: String? = nil) {
        let woken: (CheckedContinuation<[String]?, Never>, [String])? = state.withLock { s in
            if let last, !s.finished {
                s.items.append(.message(last))
                s.bytes += last.utf8.count
            }
            s.finished = true
            guard let waiter = s.waiter else { return nil }
            s.waiter = nil
            return (waiter, s.take(takeMax))
        }
        if let (waiter, taken) = woken { waiter.resume(returning: taken.isEmpty ? nil : taken) }
    }

    /// Waits for messages and takes those waiting (at most `takeMax`); nil once finished and empty.
    func next() async -> [String]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[String]?, Never>) in
            let ready: [String]?? = state.withLock { s in
                if s.count > 0 { return .some(s.take(takeMax)) }
                if s.finished { return .some(nil) }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    var waiting: Int { state.withLock { $0.count } }
}
