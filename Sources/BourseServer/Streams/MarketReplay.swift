import BourseCore
import BourseMarketData
import BourseProjections
import BourseVenue
import Foundation
import Hummingbird
import HummingbirdWebSocket

/// `bourse replay-market`: a stored day of the venue's trades and quotes, or an ITCH 5.0 file, streamed
/// through the same `/v2/stream` interface (trades and quotes channels, JSON or MessagePack) at 1× to
/// 100× speed or as fast as possible, for backtesting clients. Any key and secret authenticate.
public struct MarketReplay: Sendable {
    public enum Event: Sendable, Equatable {
        case trade(symbol: String, time: Int64, id: UInt64, price: Int64, size: Int64)
        case quote(symbol: String, time: Int64, bidPrice: Int64, bidSize: Int64, askPrice: Int64, askSize: Int64)

        public var time: Int64 {
            switch self {
            case .trade(_, let time, _, _, _), .quote(_, let time, _, _, _, _): time
            }
        }
    }

    public enum Failure: Error, CustomStringConvertible {
        case nothingStored(String)
        public var description: String {
            switch self { case .nothingStored(let what): what }
        }
    }

    let market = MarketFeed()
    let events: [Event]
    /// Replay speed: how many seconds of recorded time pass in one second; nil for as fast as possible.
    let speed: Double?

    public init(events: [Event], speed: Double?) {
        self.events = events
        self.speed = speed
        let symbols = events.map { event in
            switch event {
            case .trade(let symbol, _, _, _, _), .quote(let symbol, _, _, _, _, _): symbol
            }
        }
        market.replayedSymbols.withLock { $0 = Set(symbols) }
    }

    /// The trades and quotes a venue recorded on one New York day, from its `market-history.sqlite`.
    public static func day(history path: String, date: CivilDate) throws -> [Event] {
        let history = try MarketHistory(path: path, retentionDays: 3_650)
        let start = ExchangeCalendar.instant(date, minute: 0).nanos
        let end = ExchangeCalendar.instant(date.adding(days: 1), minute: 0).nanos - 1
        let trades = try history.trades(nil, from: start, to: end, limit: .max).map {
            Event.trade(symbol: $0.symbol, time: $0.time, id: $0.id, price: $0.price, size: $0.size)
        }
        let quotes = try history.quotes(nil, from: start, to: end, limit: .max).map {
            Event.quote(symbol: $0.symbol, time: $0.time, bidPrice: $0.bidPrice, bidSize: $0.bidSize, askPrice: $0.askPrice, askSize: $0.askSize)
        }
        guard !trades.isEmpty || !quotes.isEmpty else { throw Failure.nothingStored("\(path) holds no trades or quotes on \(date)") }
        // Stable: a command's trades come before the quote it left, as they were sent.
        return (trades + quotes).enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    /// The trades (executions and non-cross trade messages) and every change of a stock's top of book in an
    /// ITCH 5.0 file of length-prefixed messages; its timestamps are read as times of `date` in New York.
    public static func itch(_ bytes: [UInt8], date: CivilDate) throws -> [Event] {
        let midnight = ExchangeCalendar.instant(date, minute: 0).nanos
        var books = ITCHBooks()
        var tops: [UInt16: (UInt32, Int64, UInt32, Int64)] = [:]
        var events: [Event] = []
        try bytes.withUnsafeBytes { buffer in
            try ITCH.forEachMessage(in: buffer) { message in
                var trade: (ITCH.Header, UInt32, UInt32, UInt64)?
                switch message {
                case .orderExecuted(let h, let reference, let shares, let match):
                    if let order = books.order(reference) { trade = (h, order.price, shares, match) }
                case .orderExecutedWithPrice(let h, _, let shares, let match, let printable, let price):
                    if printable { trade = (h, price, shares, match) }
                case .trade(let h, let t):
                    trade = (h, t.price, t.shares, t.match)
                default:
                    break
                }
                if let (h, price, shares, match) = trade, let stock = books.book(locate: h.locate)?.stock {
                    events.append(.trade(symbol: stock.description, time: midnight + Int64(h.timestamp), id: match, price: Int64(price), size: Int64(shares)))
                }
                let changed: ITCH.Header?
                switch message {
                case .addOrder(let h, _), .orderExecuted(let h, _, _, _), .orderExecutedWithPrice(let h, _, _, _, _, _),
                     .orderCancel(let h, _, _), .orderDelete(let h, _), .orderReplace(let h, _, _, _, _):
                    changed = h
                default:
                    changed = nil
                }
                guard let locate = books.apply(message), let h = changed, let book = books.book(locate: locate) else { return }
                let bid = book.bestBid, ask = book.bestAsk
                let top = (bid?.price ?? 0, bid?.shares ?? 0, ask?.price ?? 0, ask?.shares ?? 0)
                if let last = tops[locate], last == top { return }
                tops[locate] = top
                events.append(.quote(symbol: book.stock.description, time: midnight + Int64(h.timestamp),
                                     bidPrice: Int64(top.0), bidSize: top.1, askPrice: Int64(top.2), askSize: top.3))
            }
        }
        return events
    }

    /// How long after the replay's start an event recorded at `time` is due.
    static func due(_ time: Int64, first: Int64, speed: Double) -> Duration {
        .nanoseconds(Int64(Double(time - first) / speed))
    }

    /// Streams every event once, paced by its recorded time, to the connections subscribed at the time;
    /// then tells them the replay has finished.
    public func run() async {
        guard let first = events.first?.time else { return }
        let clock = ContinuousClock()
        let start = clock.now
        var batch: [Event] = []
        for event in events {
            if let speed {
                let due = start + Self.due(event.time, first: first, speed: speed)
                if due > clock.now {
                    market.replay(batch)
                    batch.removeAll()
                    try? await Task.sleep(until: due, clock: clock)
                }
            }
            batch.append(event)
            if batch.count >= 1_024 {
                market.replay(batch)
                batch.removeAll()
                await Task.yield()
            }
        }
        market.replay(batch)
        market.hub.send { _ in #"[{"T":"success","msg":"replay finished"}]"# }
    }

    /// A server answering `/v2/stream` (and `/healthz`) for the replay.
    public func application(host: String, port: Int, window: Duration = .milliseconds(10),
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in #"{"status":"ok"}"# }
        let webSocketRouter = Router(context: StreamRequestContext.self)
        MarketDataStream(keys: nil, market: market, batchWindow: window, conflationInterval: .seconds(1)).add(to: webSocketRouter)
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: webSocketRouter),
            configuration: .init(address: .hostname(host, port: port), serverName: "bourse-replay"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) })
    }

    /// Connections listening now.
    public var subscribers: Int { market.hub.subscriberCount }
}

extension MarketFeed {
    /// Sends replayed trades and quotes as the live stream would, numbering them per symbol.
    func replay(_ events: [MarketReplay.Event]) {
        guard !events.isEmpty else { return }
        var batch = Batch()
        batch.conflateQuotes = false
        replaying.withLock { sequences in
            for event in events {
                switch event {
                case .trade(let symbol, let time, let id, let price, let size):
                    sequences[symbol, default: MarketSequences()].trades += 1
                    let object = Self.trade(id: id, price: price, size: size, time: API.time(Timestamp(nanos: time)))
                    batch.trades.append((symbol, Self.tradeMessage(symbol, sequence: sequences[symbol]!.trades, object)))
                case .quote(let symbol, let time, let bidPrice, let bidSize, let askPrice, let askSize):
                    sequences[symbol, default: MarketSequences()].quotes += 1
                    let quote = MarketQuote(price: bidPrice, size: bidSize, askPrice: askPrice, askSize: askSize)
                    batch.quotes.append((symbol, Self.quoteObject(symbol, quote, sequence: sequences[symbol]!.quotes,
                                                                 time: API.time(Timestamp(nanos: time)))))
                }
            }
        }
        deliver(batch)
    }
}
