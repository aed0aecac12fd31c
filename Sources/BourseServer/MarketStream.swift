import BourseCore
import BourseNode
import Foundation
import Synchronization

/// The market data stream at `/v2/stream` in the shape of Alpaca's: after `auth`, a client subscribes to
/// trades by symbol (or `*`) and receives each trade as it happens, in arrays of objects keyed by `T`.
/// Fed, like the trading stream, by its own consumer of the published events; each connection has a
/// bounded queue and is cut off, with a message, when it lets it fill.
final class MarketStream: Sendable {
    static let queueMax = 8_192

    final class Subscriber: Sendable {
        let continuation: AsyncStream<String>.Continuation
        let symbols = Mutex<Set<String>>([])
        let overflowed = Atomic<Bool>(false)
        init(continuation: AsyncStream<String>.Continuation) { self.continuation = continuation }

        func wants(_ symbol: String) -> Bool { symbols.withLock { $0.contains(symbol) || $0.contains("*") } }
    }

    private let subscribers = Mutex<[ObjectIdentifier: Subscriber]>([:])
    private let ended = Mutex<String?>(nil)
    let consumer = EventConsumer(name: "market-data", capacity: 1 << 18)

    func subscribe() -> Result<(Subscriber, AsyncStream<String>), TradeUpdates.StreamEnded> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(Self.queueMax))
        let subscriber = Subscriber(continuation: continuation)
        return subscribers.withLock { subscribers in
            if let reason = ended.withLock({ $0 }) { return .failure(TradeUpdates.StreamEnded(reason: reason)) }
            subscribers[ObjectIdentifier(subscriber)] = subscriber
            return .success((subscriber, stream))
        }
    }

    func unsubscribe(_ subscriber: Subscriber) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscriber)) }
        subscriber.continuation.finish()
    }

    func start() {
        let thread = Thread { [self] in
            while true {
                switch consumer.next() {
                case .events(let batch):
                    for published in batch { publish(published) }
                case .overrun(let sequence):
                    end("the market data stream fell behind at sequence \(sequence) and stopped; it resumes when the server restarts")
                    return
                case .closed:
                    end("the venue is stopping")
                    return
                }
            }
        }
        thread.name = "bourse-market-data"
        thread.start()
    }

    private func end(_ reason: String) {
        ended.withLock { $0 = reason }
        let all = subscribers.withLock { s in
            defer { s.removeAll() }
            return Array(s.values)
        }
        for subscriber in all {
            subscriber.continuation.yield(Self.error(reason))
            subscriber.continuation.finish()
        }
    }

    static func error(_ text: String) -> String { #"[{"T":"error","msg":\#(API.quoted(text))}]"# }

    /// One message per subscriber per command: the trades of the symbols it follows, in order.
    private func publish(_ published: Published) {
        var trades: [(String, String)] = []
        let time = API.time(published.command.time)
        for case .trade(let t) in published.events {
            let symbol = t.symbol.description
            trades.append((symbol, #"{"T":"t","S":"\#(symbol)","i":\#(t.executionID.rawValue),"x":"BOURSE","p":\#(API.decimal(t.price)),"s":\#(t.quantity.shares),"t":"\#(time)","tks":"\#(t.takerSide == .buy ? "B" : "S")","z":"C"}"#))
        }
        guard !trades.isEmpty else { return }
        for subscriber in subscribers.withLock({ Array($0.values) }) {
            let wanted = trades.filter { subscriber.wants($0.0) }.map(\.1)
            guard !wanted.isEmpty else { continue }
            if case .dropped = subscriber.continuation.yield("[" + wanted.joined(separator: ",") + "]") {
                subscriber.overflowed.store(true, ordering: .relaxed)
                unsubscribe(subscriber)
            }
        }
    }
}
