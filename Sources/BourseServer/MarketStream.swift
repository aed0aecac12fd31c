import BourseCore
import BourseEngine
import BourseFeeds
import BourseJournal
import BourseMarketData
import BourseNode
import Foundation
import Synchronization

/// The market data behind `/v2/stream` and the bars endpoint, from the venue's own books: trades as they
/// happen, quotes (the top of the book) after every change to it, and minute bars as each closes, as
/// arrays of objects keyed by `T`, to the connections that follow each symbol on that channel (or `*`).
final class MarketStream: Sendable {
    /// What one connection follows, per channel.
    struct Channels: Sendable {
        var trades: Set<String> = []
        var quotes: Set<String> = []
        var bars: Set<String> = []
        var nbbo: Set<String> = []

        func wants(_ channel: KeyPath<Channels, Set<String>>, _ symbol: String) -> Bool {
            let set = self[keyPath: channel]
            return set.contains(symbol) || set.contains("*")
        }
    }

    let hub = StreamHub<Channels>(name: "market data", queueMax: 8_192, errorMessage: MarketStream.error)

    private struct State {
        var bars = BarBook()
        /// Open orders' symbols, so that a cancel (which names only the order) tells which book changed.
        var symbolOf: [UInt64: Symbol] = [:]
        /// Books changed since the last quote read, and whether a read is under way.
        var touched: Set<Symbol> = []
        var reading = false
        var lastQuote: [Symbol: Quote] = [:]
        /// Each symbol's latest trade, as the stream writes it.
        var lastTrade: [Symbol: String] = [:]
    }

    struct Quote: Equatable, Sendable {
        var bid: DepthLevel?
        var ask: DepthLevel?
    }

    private let state = Mutex(State())
    /// Where the venue's own quotes go into the NBBO, once attached.
    private let feeds = Mutex<FeedHandler?>(nil)

    /// The venue's own quotes count in `handler`'s NBBO from now on.
    func attach(_ handler: FeedHandler) { feeds.withLock { $0 = handler } }

    /// Publishes a change of a stock's NBBO on the `nbbo` channel; the latest of a symbol replaces one
    /// still waiting in a connection's queue, as quotes do.
    func publishNBBO(_ stock: ITCH.Stock, _ best: NBBO.Best, name: (Int) -> String) {
        let symbol = stock.description
        let message = Self.nbboMessage(stock, best, name: name)
        hub.send(key: "n:" + symbol) { $0.wants(\.nbbo, symbol) ? message : nil }
    }

    /// The NBBO of each of these symbols now, as messages: what a new subscriber starts from.
    func currentNBBO(_ symbols: [String]) -> [String] {
        guard let handler = feeds.withLock({ $0 }) else { return [] }
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
    /// Quotes are sent from here, so that the sequencer thread only reads the tops of books.
    private let quoteQueue = DispatchQueue(label: "bourse-market-quotes")

    static func error(_ text: String) -> String { #"[{"T":"error","msg":\#(API.quoted(text))}]"# }

    /// Starts from the read models: the latest minute bars (the last still open), the open orders' symbols,
    /// and each symbol's latest trade.
    func seed(bars: [Symbol: [Bar]], open: [OrderRecord], trades: [Symbol: String]) {
        state.withLock { s in
            s.bars = BarBook(bars)
            s.lastTrade = trades
            for record in open { s.symbolOf[record.order.orderID.rawValue] = record.order.symbol }
        }
    }

    /// Starts following the event stream; quotes are read from `sequencer` between its batches.
    func start(_ sequencer: Sequencer) {
        hub.start(afterBatch: { [self] in requestQuotes(sequencer) }) { [self] published in publish(published) }
        Task.detached { [self] in
            while !hub.isEnded {
                try? await Task.sleep(for: .seconds(1))
                // A grace of two seconds for trades stamped before the minute ended but not yet published.
                closeBars(now: wallClockNanos() - 2_000_000_000)
            }
        }
    }

    /// Closes the bars whose minute has passed (called by a timer, so that a quiet symbol's bar still ends).
    func closeBars(now nanos: Int64) {
        let ended = state.withLock { $0.bars.close(before: nanos) }
        for (symbol, bar) in ended { sendBar(symbol, bar) }
    }

    func bars(_ symbol: Symbol, _ timeframe: Timeframe, from start: Int64, to end: Int64, limit: Int) -> [Bar] {
        state.withLock { $0.bars.bars(symbol, timeframe, from: start, to: end, limit: limit) }
    }

    /// The bars a command closed and its trades, with the books it changed marked for a quote.
    private static func apply(_ published: Published, to s: inout State) -> [(Symbol, Bar)] {
        var closed: [(Symbol, Bar)] = []
        for event in published.events {
            switch event {
            case .orderAccepted(let order):
                s.symbolOf[order.orderID.rawValue] = order.symbol
                s.touched.insert(order.symbol)
            case .trade(let t):
                s.touched.insert(t.symbol)
                if let bar = s.bars.add(t.symbol, price: t.price.units, quantity: t.quantity.shares, at: published.command.time.nanos) {
                    closed.append((t.symbol, bar))
                }
                if t.makerLeaves.shares == 0 { s.symbolOf[t.makerOrderID.rawValue] = nil }
                if t.takerLeaves.shares == 0 { s.symbolOf[t.takerOrderID.rawValue] = nil }
            case .orderCancelled(let id, _, _, _), .orderExpired(let id, _, _):
                if let symbol = s.symbolOf.removeValue(forKey: id.rawValue) { s.touched.insert(symbol) }
            case .orderReplaced(let r):
                if let symbol = s.symbolOf.removeValue(forKey: r.orderID.rawValue) {
                    s.symbolOf[r.newOrderID.rawValue] = symbol
                    s.touched.insert(symbol)
                }
            case .selfTradeDecremented(let id, _, _, _):
                if let symbol = s.symbolOf[id.rawValue] { s.touched.insert(symbol) }
            case .tradingStateChanged(let symbol, _):
                s.touched.insert(symbol)
            default:
                break
            }
        }
        return closed
    }

    private func publish(_ published: Published) {
        let closed = state.withLock { Self.apply(published, to: &$0) }
        for (symbol, bar) in closed { sendBar(symbol, bar) }
        var trades: [(String, String)] = []
        let time = API.time(published.command.time)
        var latest: [Symbol: String] = [:]
        for case .trade(let t) in published.events {
            let symbol = t.symbol.description
            let object = Self.trade(id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares, time: time)
            latest[t.symbol] = object
            trades.append((symbol, #"{"T":"t","S":"\#(symbol)",\#(object.dropFirst())"#.replacingOccurrences(of: #""c":["@"],"#, with: "") ))
        }
        guard !trades.isEmpty else { return }
        state.withLock { $0.lastTrade.merge(latest) { $1 } }
        // Most connections want the same trades: each distinct selection is written once and shared.
        let everything = "[" + trades.map(\.1).joined(separator: ",") + "]"
        var selections: [[Bool]: String] = [:]
        hub.send { channels in
            let wanted = trades.map { channels.wants(\.trades, $0.0) }
            if !wanted.contains(true) { return nil }
            if !wanted.contains(false) { return everything }
            if let text = selections[wanted] { return text }
            let text = "[" + zip(trades, wanted).filter(\.1).map(\.0.1).joined(separator: ",") + "]"
            selections[wanted] = text
            return text
        }
    }

    /// A trade as Alpaca's market data writes one (without its symbol).
    static func trade(id: UInt64, price: Int64, size: Int64, time: String) -> String {
        #"{"i":\#(id),"x":"BOURSE","p":\#(API.decimal(price)),"s":\#(size),"t":"\#(time)","c":["@"],"z":"C"}"#
    }

    /// The latest trade of a symbol, if it has traded.
    func latestTrade(_ symbol: Symbol) -> String? { state.withLock { $0.lastTrade[symbol] } }

    private func sendBar(_ symbol: Symbol, _ bar: Bar) {
        let name = symbol.description
        let message = "[" + bar.json.replacingOccurrences(of: #"{"t":"#, with: #"{"T":"b","S":"\#(name)","t":"#) + "]"
        hub.send { $0.wants(\.bars, name) ? message : nil }
    }

    /// After a batch: reads the tops of the books it changed, unless a read is already under way. The
    /// changes meanwhile wait for the next read, so quotes are conflated under load: each sent quote is
    /// the book's latest top, never a stale one.
    private func requestQuotes(_ sequencer: Sequencer) {
        let symbols: [Symbol]? = state.withLock { s in
            guard !s.reading, !s.touched.isEmpty else { return nil }
            s.reading = true
            defer { s.touched.removeAll() }
            return Array(s.touched)
        }
        guard let symbols else { return }
        do {
            try sequencer.read { [self] engine in
                guard let engine else { return }
                let time = engine.lastCommandTime
                let tops = symbols.map { ($0, Quote(bid: engine.depth($0, side: .buy, levels: 1).first,
                                                    ask: engine.depth($0, side: .sell, levels: 1).first)) }
                quoteQueue.async { [self] in
                    sendQuotes(tops, at: time)
                    state.withLock { $0.reading = false }
                    requestQuotes(sequencer)
                }
            }
        } catch {
            // Full or stopping: the symbols stay marked and the next batch asks again.
            state.withLock { s in
                s.reading = false
                s.touched.formUnion(symbols)
            }
        }
    }

    private func sendQuotes(_ tops: [(Symbol, Quote)], at time: Timestamp) {
        var quotes: [(String, String)] = []
        var changed: [(Symbol, Quote)] = []
        let stamp = API.time(time)
        state.withLock { s in
            for (symbol, quote) in tops.sorted(by: { $0.0.description < $1.0.description }) where s.lastQuote[symbol] != quote {
                s.lastQuote[symbol] = quote
                let name = symbol.description
                changed.append((symbol, quote))
                quotes.append((name, #"{"T":"q","S":"\#(name)","bx":"BOURSE","bp":\#(quote.bid.map { API.decimal($0.price) } ?? "0"),"bs":\#(quote.bid?.visible.shares ?? 0),"ax":"BOURSE","ap":\#(quote.ask.map { API.decimal($0.price) } ?? "0"),"as":\#(quote.ask?.visible.shares ?? 0),"t":"\#(stamp)","c":["R"],"z":"C"}"#))
            }
        }
        if let handler = feeds.withLock({ $0 }) {
            for (symbol, quote) in changed {
                guard let stock = ITCH.Stock(symbol.description) else { continue }
                handler.ownQuote(stock, bid: quote.bid.map { ($0.price.units, $0.visible.shares) }, ask: quote.ask.map { ($0.price.units, $0.visible.shares) })
            }
        }
        // Each quote on its own, keyed by its symbol: a connection's queue keeps only the latest per symbol.
        for (name, quote) in quotes {
            let message = "[" + quote + "]"
            hub.send(key: "q:" + name) { $0.wants(\.quotes, name) ? message : nil }
        }
    }
}
