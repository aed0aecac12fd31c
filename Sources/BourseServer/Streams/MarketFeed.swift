import BourseCore
import BourseFeeds
import BourseMarketData
import BourseNode
import BourseVenue
import Foundation
import Synchronization

/// The market data behind `/v2/stream`, written from what the market projection tells (`MarketUpdate`):
/// trades; quotes (the top of the book) and level 1 (the top, the last trade and the day's figures) after
/// each batch that changed them; level 2 (changed price levels, absolute) after each batch; level 3 (every
/// order-level change); minute bars as each closes; and the NBBO. Messages are arrays of objects keyed by
/// `T`, sent to the connections that follow the symbol on that channel (or `*`).
///
/// Every trade, quote, level 1, level 2 and level 3 object carries `sq`, a sequence number per symbol and
/// channel, from 1 at each start. Level 2 and 3 are never conflated, so a jump in `sq` is a gap: the client
/// recovers with `GET /v1/book/{symbol}`, which answers the book with the sequence numbers it reflects.
/// Quotes and level 1 are whole states, conflated to the latest under load; their `sq` only orders them.
final class MarketFeed: Sendable {
    /// What one connection follows, per channel, and its tier.
    struct Channels: Sendable {
        var trades: Set<String> = []
        var quotes: Set<String> = []
        var bars: Set<String> = []
        var nbbo: Set<String> = []
        var l1: Set<String> = []
        var l2: Set<String> = []
        var l3: Set<String> = []
        /// The conflated tier: at most one message per symbol and channel waits in the queue, the latest,
        /// and level 2 comes as the top of the book (`"r":true`) rather than increments.
        var conflated = false

        func wants(_ channel: KeyPath<Channels, Set<String>>, _ symbol: String) -> Bool {
            let set = self[keyPath: channel]
            return set.contains(symbol) || set.contains("*")
        }
    }

    let hub: StreamHub<Channels>
    /// The projection told; nil for a replay, which has no books.
    let projection: MarketProjection?
    /// Sequence numbers of a replay (`MarketReplay`).
    let replaying = Mutex<[String: MarketSequences]>([:])
    /// Symbols offered without a book here: those of a replayed day.
    let replayedSymbols = Mutex<Set<String>>([])
    /// Conflated connections following level 2, which need the top of the book written for them.
    let conflatedDepthReaders = Atomic<Int>(0)

    /// Names this run of the stream: sequence numbers start from 1 in each, so a client that sees a new
    /// session (in the subscription's confirmation, or `GET /v1/book`) starts its books and sequences
    /// again from a snapshot. The time the stream started, which no earlier run can have had.
    let session: String

    init(queueMax: Int = 8_192, projection: MarketProjection? = nil) {
        session = API.time(Timestamp(nanos: wallClockNanos()))
        hub = StreamHub<Channels>(name: "market data", queueMax: queueMax, errorMessage: MarketFeed.error)
        self.projection = projection
        guard let projection else { return }
        projection.listen(.init(
            interest: { [self] in interest },
            update: { [self] in deliver(Self.batch($0)) },
            bar: { [self] in sendBar($0, $1) },
            nbbo: { [self] stock, best in
                let handler = projection.feedHandler
                publishNBBO(stock, best) { handler?.name(of: $0, own: "BOURSE") ?? "BOURSE" }
            }))
    }

    /// What the connections follow: levels 1, 2 and 3 are written only while someone does.
    private var interest: MarketProjection.Interest {
        var wanted = MarketProjection.Interest(top: conflatedDepthReaders.load(ordering: .relaxed) > 0)
        hub.forEachInterest { channels in
            wanted.levelOne = wanted.levelOne || !channels.l1.isEmpty
            wanted.levels = wanted.levels || !channels.l2.isEmpty
            wanted.orderChanges = wanted.orderChanges || !channels.l3.isEmpty
        }
        return wanted
    }

    /// Whether a subscription may name `name`: a symbol the venue lists or a feed follows, or one of a
    /// replayed day. What a connection subscribes to is bounded by these, not by what a client sends.
    func offers(_ name: String) -> Bool {
        guard let symbol = try? Symbol(validating: name) else { return false }
        return projection?.offers(symbol) == true || replayedSymbols.withLock { $0.contains(name) }
    }

    /// Publishes a change of a stock's NBBO on the `nbbo` channel; the latest of a symbol replaces one
    /// still waiting in a connection's queue, as quotes do.
    func publishNBBO(_ stock: ITCH.Stock, _ best: NBBO.Best, name: (Int) -> String) {
        let symbol = stock.description
        let message = Self.nbboMessage(stock, best, name: name)
        hub.send(key: "n:" + symbol) { $0.wants(\.nbbo, symbol) ? message : nil }
    }

    /// The NBBO of each of these symbols now, as messages: what a new subscriber starts from.
    func currentNBBO(_ symbols: [String]) -> [String] {
        guard let handler = projection?.feedHandler else { return [] }
        let names = symbols == ["*"] ? handler.stocks.map(\.description) : symbols
        return names.compactMap { name in
            guard let stock = ITCH.Stock(name), let best = handler.best(stock) else { return nil }
            return Self.nbboMessage(stock, best) { handler.name(of: $0, own: "BOURSE") }
        }
    }

    static func nbboMessage(_ stock: ITCH.Stock, _ best: NBBO.Best, name: (Int) -> String) -> String {
        let symbol = stock.description
        func side(_ s: NBBO.Side?, _ p: String, _ z: String, _ x: String) -> String {
            #""\#(p)":\#(s.map { API.decimal($0.price) } ?? "0"),"\#(z)":\#(s?.size ?? 0),"\#(x)":\#(s.map { API.quoted(name($0.venue)) } ?? "null")"#
        }
        let condition = switch best.condition { case .normal: "normal"; case .locked: "locked"; case .crossed: "crossed" }
        return #"[{"T":"n","S":"\#(symbol)",\#(side(best.bid, "bp", "bs", "bx")),\#(side(best.ask, "ap", "as", "ax")),"c":"\#(condition)","t":"\#(API.time(Timestamp(nanos: wallClockNanos())))"}]"#
    }

    static func error(_ text: String) -> String { #"[{"T":"error","msg":\#(API.quoted(text))}]"# }

    /// What a batch gives each channel: per channel, (symbol, object) in order.
    struct Batch {
        var trades: [(String, String)] = []
        var quotes: [(String, String)] = []
        var l1: [(String, String)] = []
        var l2: [(String, String)] = []
        var l3: [(String, String)] = []
        /// The top of the book per changed symbol, for the conflated tier.
        var l2Top: [(String, String)] = []
        /// Quotes go keyed (a newer replaces one still waiting); a replay sends every one.
        var conflateQuotes = true
    }

    /// A projection's update as the stream's objects.
    static func batch(_ update: MarketUpdate) -> Batch {
        var out = Batch()
        out.trades = update.trades.map { t in
            let name = t.symbol.description
            return (name, tradeMessage(name, sequence: t.sequence, trade(t.print)))
        }
        out.l3 = update.orderChanges.map { ($0.change.symbol.description, l3Object($0.change, sequence: $0.sequence, time: API.time(Timestamp(nanos: $0.time)))) }
        out.l2 = update.levels.map { ($0.symbol.description, levelsObject($0, replaces: false)) }
        out.l2Top = update.top.map { ($0.symbol.description, levelsObject($0, replaces: true)) }
        out.quotes = update.quotes.map { q in
            let name = q.symbol.description
            return (name, quoteObject(name, q.quote, sequence: q.sequence, time: API.time(Timestamp(nanos: q.time))))
        }
        out.l1 = update.levelOne.map { l in
            let name = l.symbol.description
            return (name, levelOneObject(name, l.quote, l.day, sequence: l.sequence, time: API.time(Timestamp(nanos: l.time))))
        }
        return out
    }

    /// Level 2: the levels given, absolute; `replaces` when they are the whole top of the book (`"r":true`).
    static func levelsObject(_ levels: MarketUpdate.Levels, replaces: Bool) -> String {
        func side(_ levels: [VenueBooks.Level]) -> String {
            "[" + levels.map { #"{"p":\#(API.decimal($0.price)),"s":\#($0.shown.shares),"n":\#($0.orders)}"# }.joined(separator: ",") + "]"
        }
        return #"{"T":"l2","S":"\#(levels.symbol)","sq":\#(levels.sequence),"# + (replaces ? #""r":true,"# : "")
            + #""b":\#(side(levels.bids)),"a":\#(side(levels.asks)),"t":"\#(API.time(Timestamp(nanos: levels.time)))"}"#
    }

    static func l3Object(_ change: VenueBooks.Change, sequence: UInt64, time: String) -> String {
        let head = #"{"T":"l3","S":"\#(change.symbol)","sq":\#(sequence),"i":"\#(change.orderID.uuid)","sd":"\#(change.side == .buy ? "B" : "S")","p":\#(API.decimal(change.price)),"#
        let body = switch change.kind {
        case .add: #""k":"a","q":\#(change.quantity.shares)"#
        case .execute(let execution): #""k":"e","q":\#(change.quantity.shares),"x":\#(execution.rawValue)"#
        case .modify(let newID): #""k":"m","q":\#(change.quantity.shares)"# + (newID.map { #","n":"\#($0.uuid)""# } ?? "")
        case .delete: #""k":"d""#
        }
        return head + body + #","t":"\#(time)"}"#
    }

    static func quoteObject(_ name: String, _ quote: MarketQuote, sequence: UInt64, time: String) -> String {
        #"{"T":"q","S":"\#(name)","sq":\#(sequence),"bx":"BOURSE","bp":\#(quote.bid.map { API.decimal($0.price) } ?? "0"),"bs":\#(quote.bid?.shown.shares ?? 0),"ax":"BOURSE","ap":\#(quote.ask.map { API.decimal($0.price) } ?? "0"),"as":\#(quote.ask?.shown.shares ?? 0),"t":"\#(time)","c":["R"],"z":"C"}"#
    }

    /// Level 1: the top of the book, the last trade, the day's open, high, low, volume and trade count,
    /// the previous close and the change from it in percent (exact to the basis point, toward zero).
    static func levelOneObject(_ name: String, _ quote: MarketQuote, _ day: TradingDayFigures, sequence: UInt64, time: String) -> String {
        let traded = day.trades > 0
        func price(_ units: Int64) -> String { traded ? API.decimal(units) : "null" }
        let change: String
        if traded, day.previousClose > 0 {
            let bp = (day.last - day.previousClose) * 10_000 / day.previousClose
            change = (bp < 0 ? "-" : "") + String(abs(bp) / 100) + "." + String(format: "%02d", abs(bp) % 100)
        } else {
            change = "null"
        }
        return #"{"T":"l1","S":"\#(name)","sq":\#(sequence),"bp":\#(quote.bid.map { API.decimal($0.price) } ?? "0"),"bs":\#(quote.bid?.shown.shares ?? 0),"ap":\#(quote.ask.map { API.decimal($0.price) } ?? "0"),"as":\#(quote.ask?.shown.shares ?? 0),"lp":\#(price(day.last)),"ls":\#(day.lastSize),"o":\#(price(day.open)),"h":\#(price(day.high)),"l":\#(price(day.low)),"v":\#(day.volume),"n":\#(day.trades),"pc":\#(day.previousClose > 0 ? API.decimal(day.previousClose) : "null"),"cp":\#(change),"t":"\#(time)"}"#
    }

    /// Hands every connection its part of a batch: in the real-time tier, trades and levels 2 and 3 as one
    /// message per channel (each distinct selection written once and shared, as most connections want
    /// the same), quotes and level 1 one message per symbol, keyed so that a waiting one is replaced by
    /// the newer; in the conflated tier, everything keyed by channel and symbol.
    func deliver(_ batch: Batch) {
        let unkeyed: [(KeyPath<Channels, Set<String>>, [(String, String)])] = [(\.trades, batch.trades), (\.l2, batch.l2), (\.l3, batch.l3),
                                                                              (\.quotes, batch.conflateQuotes ? [] : batch.quotes)]
            .filter { !$0.1.isEmpty }
        let keyed: [(KeyPath<Channels, Set<String>>, String, [(String, String)])] = [(\.quotes, "q:", batch.conflateQuotes ? batch.quotes : []),
                                                                                      (\.l1, "l1:", batch.l1)]
            .filter { !$0.2.isEmpty }
        guard !unkeyed.isEmpty || !keyed.isEmpty else { return }
        let everything = unkeyed.map { "[" + $0.1.map(\.1).joined(separator: ",") + "]" }
        var selections: [[Bool]: String] = [:]
        let latestTrades = Self.latestPerSymbol(batch.trades)
        hub.deliver { channels, push in
            if channels.conflated {
                for (channel, prefix, objects) in [(\Channels.trades, "t:", latestTrades), (\.l2, "l2:", batch.l2Top)] + keyed {
                    for (symbol, object) in objects where channels.wants(channel, symbol) {
                        guard push("[" + object + "]", prefix + symbol) else { return }
                    }
                }
                return
            }
            for (i, (channel, objects)) in unkeyed.enumerated() {
                var wanted = objects.map { channels.wants(channel, $0.0) }
                if !wanted.contains(true) { continue }
                let text: String
                if !wanted.contains(false) {
                    text = everything[i]
                } else {
                    // Which channel, so that equal selections of different channels are not confused.
                    wanted.append(contentsOf: unkeyed.indices.map { $0 == i })
                    if let shared = selections[wanted] {
                        text = shared
                    } else {
                        text = "[" + zip(objects, wanted).filter(\.1).map(\.0.1).joined(separator: ",") + "]"
                        selections[wanted] = text
                    }
                }
                guard push(text, nil) else { return }
            }
            for (channel, prefix, objects) in keyed {
                for (symbol, object) in objects where channels.wants(channel, symbol) {
                    guard push("[" + object + "]", prefix + symbol) else { return }
                }
            }
        }
    }

    /// The last object of each symbol, in the order of their last appearance.
    private static func latestPerSymbol(_ objects: [(String, String)]) -> [(String, String)] {
        var seen = Set<String>()
        return objects.reversed().filter { seen.insert($0.0).inserted }.reversed()
    }

    /// A trade on the stream: its symbol and sequence number, then the trade as `trade` writes it.
    static func tradeMessage(_ symbol: String, sequence: UInt64, _ object: String) -> String {
        #"{"T":"t","S":"\#(symbol)","sq":\#(sequence),"# + object.dropFirst()
    }

    /// A trade as Alpaca's market data writes one (without its symbol).
    static func trade(_ t: TradePrint) -> String { trade(id: t.id, price: t.price, size: t.size, time: API.time(Timestamp(nanos: t.time))) }

    static func trade(id: UInt64, price: Int64, size: Int64, time: String) -> String {
        #"{"i":\#(id),"x":"BOURSE","p":\#(API.decimal(price)),"s":\#(size),"t":"\#(time)","c":["@"],"z":"C"}"#
    }

    func sendBar(_ symbol: Symbol, _ bar: Bar) {
        let name = symbol.description
        let message = "[" + bar.json.replacingOccurrences(of: #"{"t":"#, with: #"{"T":"b","S":"\#(name)","t":"#) + "]"
        hub.send { $0.wants(\.bars, name) ? message : nil }
    }
}
