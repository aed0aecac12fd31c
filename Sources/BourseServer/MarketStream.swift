import BourseCore
import BourseEngine
import BourseFeeds
import BourseMarketData
import BourseNode
import BourseProjections
import Foundation
import Synchronization

/// The market data behind `/v2/stream`, the book snapshot and the bars endpoint, from the venue's own
/// books rebuilt from its event stream (`VenueBooks`), never from the engine while it runs: trades; quotes
/// (the top of the book) and level 1 (the top, the last trade and the day's figures) after each batch that
/// changed them; level 2 (changed price levels, absolute) after each batch; level 3 (every order-level
/// change); minute bars as each closes; and the NBBO. Messages are arrays of objects keyed by `T`, sent to
/// the connections that follow the symbol on that channel (or `*`).
///
/// Every trade, quote, level 1, level 2 and level 3 object carries `sq`, a sequence number per symbol and
/// channel, from 1 at each start. Level 2 and 3 are never conflated, so a jump in `sq` is a gap: the client
/// recovers with `GET /v1/book/{symbol}`, which answers the book with the sequence numbers it reflects.
/// Quotes and level 1 are whole states, conflated to the latest under load; their `sq` only orders them.
///
/// It is the market data projection: its runner feeds it, and it keeps the minute bars and each symbol's
/// latest trade in its store (the one place bars are built), so that a restart starts from them. The books
/// come from the engine at start (`seedBooks`); an entry read again (after a restart, in a rebuild) only
/// adds to the bars, the day's figures and the latest trade, and sends nothing.
final class MarketStream: Projection, @unchecked Sendable {
    let name = "market"
    let schema = MarketStream.tables
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
    /// Levels a side in the conflated tier's level 2 messages.
    static let conflatedDepth = 10

    /// Price alerts, evaluated on every trade and NBBO change.
    let alerts: Alerts?
    /// Where the trades and quotes sent are recorded.
    let history: MarketHistory?
    /// Sequence numbers of a replay (`MarketReplay`), which has no books.
    let replaying = Mutex<[String: Sequences]>([:])
    /// Symbols offered without a book here: those of a replayed day.
    let replayedSymbols = Mutex<Set<String>>([])

    /// Names this run of the stream: sequence numbers start from 1 in each, so a client that sees a new
    /// session (in the subscription's confirmation, or `GET /v1/book`) starts its books and sequences
    /// again from a snapshot. The time the stream started, which no earlier run can have had.
    let session: String

    init(queueMax: Int = 8_192, alerts: Alerts? = nil, history: MarketHistory? = nil) {
        session = API.time(Timestamp(nanos: wallClockNanos()))
        hub = StreamHub<Channels>(name: "market data", queueMax: queueMax, errorMessage: MarketStream.error)
        self.alerts = alerts
        self.history = history
    }

    /// Sequence numbers per symbol and channel.
    struct Sequences: Sendable {
        var trades: UInt64 = 0
        var quotes: UInt64 = 0
        var l1: UInt64 = 0
        var l2: UInt64 = 0
        var l3: UInt64 = 0
    }

    /// A symbol's trading day so far, for level 1: the trades day bars count (see `Timeframe`).
    struct Day: Sendable {
        /// The trading day, as days since the epoch.
        var date = Int.min
        var open: Int64 = 0
        var high: Int64 = 0
        var low: Int64 = 0
        var last: Int64 = 0
        var lastSize: Int64 = 0
        var volume: Int64 = 0
        var trades = 0
        /// The last price of the day before it traded, else the listing's previous close; 0 when neither.
        var previousClose: Int64 = 0

        mutating func add(price: Int64, size: Int64, date: Int) {
            if date != self.date {
                if last != 0 { previousClose = last }
                self = Day(date: date, open: price, high: price, low: price, last: price, lastSize: 0, volume: 0, trades: 0,
                           previousClose: previousClose)
            }
            high = max(high, price)
            low = min(low, price)
            last = price
            lastSize = size
            volume += size
            trades += 1
        }
    }

    private struct State {
        var books = VenueBooks()
        var sequences: [Symbol: Sequences] = [:]
        var days: [Symbol: Day] = [:]
        var bars = BarBook()
        var lastQuote: [Symbol: Quote] = [:]
        /// Each symbol's latest trade, as the stream writes it.
        var lastTrade: [Symbol: String] = [:]
        /// The last command applied.
        var sequence: UInt64 = 0
        /// The trading day of the New York date last seen, so that the calendar is asked once a day.
        var tradingDay: (from: Int64, until: Int64, date: Int) = (0, 0, 0)
        /// Each listed symbol's previous close as its listing gave it, and the trading day at start: what
        /// the day's figures start from before the bars add to them.
        var listedCloses: [Symbol: Int64] = [:]
        var today = 0
        /// Entries applied since the last flush, and whether each is new.
        var gathered: [(Published, Bool)] = []
        /// Minute bars and latest trades changed since the last flush, to write.
        var changedBars: [BarKey: Bar] = [:]
        var changedTrades: [Symbol: TradeRow] = [:]

        /// The trading day (days since the epoch) a trade at `t` belongs to, as bars count it.
        mutating func tradingDate(_ t: Timestamp) -> Int {
            if t.nanos >= tradingDay.from && t.nanos < tradingDay.until { return tradingDay.date }
            let date = ExchangeCalendar.newYorkDate(t)
            tradingDay = (ExchangeCalendar.instant(date, minute: 0).nanos, ExchangeCalendar.instant(date.adding(days: 1), minute: 0).nanos,
                          bars.calendar.tradingDate(of: t).daysSinceEpoch)
            return tradingDay.date
        }
    }

    struct Quote: Equatable, Sendable {
        var bid: VenueBooks.Level?
        var ask: VenueBooks.Level?

        init(bid: VenueBooks.Level? = nil, ask: VenueBooks.Level? = nil) {
            self.bid = bid
            self.ask = ask
        }

        /// A recorded top: a price of 0 is an empty side.
        init(price: Int64, size: Int64, askPrice: Int64, askSize: Int64) {
            bid = price > 0 ? VenueBooks.Level(price: Price(units: price), shown: Quantity(size), orders: 0) : nil
            ask = askPrice > 0 ? VenueBooks.Level(price: Price(units: askPrice), shown: Quantity(askSize), orders: 0) : nil
        }
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

    /// An NBBO change, for the alerts that follow the NBBO: "above" alerts look at the best bid, "below"
    /// ones at the best offer.
    func evaluateAlerts(_ stock: ITCH.Stock, _ best: NBBO.Best) {
        guard let alerts, let symbol = try? Symbol(validating: stock.description) else { return }
        let previousClose = state.withLock { $0.days[symbol]?.previousClose ?? 0 }
        let now = wallClockNanos()
        if let bid = best.bid { alerts.evaluate(symbol, source: .nbbo, price: bid.price, previousClose: previousClose, at: now, downward: false) }
        if let ask = best.ask { alerts.evaluate(symbol, source: .nbbo, price: ask.price, previousClose: previousClose, at: now, upward: false) }
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
    static func error(_ text: String) -> String { #"[{"T":"error","msg":\#(API.quoted(text))}]"# }

    /// Starts the books from the engine's state after recovery (its books, trading states and previous
    /// closes), before the runner opens the projection and loads the bars.
    func seedBooks(engine: MatchingEngine, sequence: UInt64, calendar: ExchangeCalendar, now: Int64) {
        state.withLock { s in
            s.sequence = sequence
            s.bars = BarBook(calendar: calendar)
            s.today = calendar.tradingDate(of: Timestamp(nanos: now)).daysSinceEpoch
            for symbol in engine.listedSymbols {
                s.books.seed(symbol, state: engine.tradingState(symbol) ?? .closed, orders: engine.openOrderStates(symbol))
                s.lastQuote[symbol] = Quote(bid: s.books.depth(symbol, .buy, levels: 1).first, ask: s.books.depth(symbol, .sell, levels: 1).first)
                s.listedCloses[symbol] = engine.previousClose(of: symbol)?.units ?? 0
            }
        }
    }

    /// The bars and latest trades the store holds; the day's figures from them.
    func load(from store: any ProjectionStore) throws {
        var minutes: [Symbol: [Bar]] = [:]
        for row in try store.querySynchronously("SELECT DISTINCT symbol FROM bars", []) {
            guard let name = row.text("symbol"), let symbol = try? Symbol(validating: name) else { continue }
            minutes[symbol] = try store.querySynchronously("SELECT * FROM bars WHERE symbol = ? ORDER BY start DESC LIMIT ?",
                                                           [.text(name), .int(Int64(BarBook.minutesKept))]).map(Self.bar).reversed()
        }
        var trades: [Symbol: String] = [:]
        for row in try store.querySynchronously("SELECT * FROM latest_trades", []) {
            guard let name = row.text("symbol"), let symbol = try? Symbol(validating: name) else { continue }
            trades[symbol] = Self.trade(id: UInt64(bitPattern: row.int("execution_id")!), price: row.int("price")!, size: row.int("qty")!,
                                        time: API.time(Timestamp(nanos: row.int("time")!)))
        }
        state.withLock { s in
            s.bars = BarBook(minutes, calendar: s.bars.calendar)
            s.lastTrade = trades
            s.gathered = []
            s.changedBars = [:]
            s.changedTrades = [:]
            s.days = [:]
            for (symbol, listedClose) in s.listedCloses {
                var day = Day()
                day.previousClose = listedClose
                for bar in s.bars.bars(symbol, .day, from: 0, to: .max, limit: .max).suffix(2) {
                    let date = ExchangeCalendar.newYorkDate(Timestamp(nanos: bar.start)).daysSinceEpoch
                    if date == s.today {
                        day = Day(date: date, open: bar.open, high: bar.high, low: bar.low, last: bar.close, lastSize: 0,
                                  volume: bar.volume, trades: bar.trades, previousClose: day.previousClose)
                    } else {
                        day.previousClose = bar.close
                    }
                }
                s.days[symbol] = day
            }
        }
    }

    func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        state.withLock { $0.gathered.append((published, isNew)) }
    }

    /// Publishes what the transaction's new entries give each channel, adds the entries read again to the
    /// bars and figures only, and writes the changed bars and latest trades.
    func flush(writer: any StoreWriter) throws {
        let gathered = state.withLock { s in
            defer { s.gathered.removeAll(keepingCapacity: true) }
            return s.gathered
        }
        var start = gathered.startIndex
        while start < gathered.endIndex {
            let isNew = gathered[start].1
            let end = gathered[start...].firstIndex { $0.1 != isNew } ?? gathered.endIndex
            let entries = gathered[start..<end].map(\.0)
            if isNew {
                publish(entries)
            } else {
                state.withLock { s in for published in entries { Self.addTrades(published, to: &s) } }
            }
            start = end
        }
        let (bars, trades) = state.withLock { s in
            defer {
                s.changedBars.removeAll(keepingCapacity: true)
                s.changedTrades.removeAll(keepingCapacity: true)
            }
            return (s.changedBars.sorted { ($0.key.symbol.description, $0.key.start) < ($1.key.symbol.description, $1.key.start) },
                    s.changedTrades.sorted { $0.key.description < $1.key.description })
        }
        for (key, bar) in bars {
            try writer.execute(Self.upsertBar, [.text(key.symbol.description), .int(bar.start), .int(bar.open), .int(bar.high), .int(bar.low),
                                                .int(bar.close), .int(bar.volume), .int(Int64(bar.trades)), .text(String(bar.notional))])
        }
        for (symbol, t) in trades {
            try writer.execute(Self.upsertTrade, [.text(symbol.description), .int(Int64(bitPattern: t.id)), .int(t.price), .int(t.size), .int(t.time)])
        }
    }

    /// What an entry read again adds: its trades to the bars, the day's figures and the latest trade.
    private static func addTrades(_ published: Published, to s: inout State) {
        let nanos = published.command.time.nanos
        for case .trade(let t) in published.events {
            addBar(t, nanos, &s)
            let date = s.tradingDate(published.command.time)
            s.days[t.symbol, default: Day()].add(price: t.price.units, size: t.quantity.shares, date: date)
            s.lastTrade[t.symbol] = trade(id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares,
                                          time: API.time(published.command.time))
            s.changedTrades[t.symbol] = TradeRow(id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares, time: nanos)
        }
    }

    /// Adds a trade to its minute bar; returns the bar it closed, if any. Both are written at the flush.
    @discardableResult
    private static func addBar(_ t: Trade, _ nanos: Int64, _ s: inout State) -> Bar? {
        let closed = s.bars.add(t.symbol, price: t.price.units, quantity: t.quantity.shares, at: nanos)
        if let closed { s.changedBars[BarKey(symbol: t.symbol, start: closed.start)] = closed }
        if let current = s.bars.current[t.symbol] { s.changedBars[BarKey(symbol: t.symbol, start: current.start)] = current }
        return closed
    }

    /// Set when the venue stops: the bar timer ends.
    let finished = Atomic<Bool>(false)

    /// Starts the timer that closes the minute bars of quiet symbols.
    func start() {
        Task.detached { [self] in
            while !finished.load(ordering: .relaxed) {
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

    /// What a batch gives each channel: per channel, (symbol, object) in order.
    struct Batch {
        var trades: [(String, String)] = []
        var quotes: [(String, String)] = []
        var l1: [(String, String)] = []
        var l2: [(String, String)] = []
        var l3: [(String, String)] = []
        /// The top of the book per changed symbol, for the conflated tier.
        var l2Top: [(String, String)] = []
        var closedBars: [(Symbol, Bar)] = []
        var ownQuotes: [(Symbol, Quote)] = []
        var latestTrades: [Symbol: String] = [:]
        /// Each trade's symbol, price, previous close and time, for the alerts.
        var ticks: [(Symbol, Int64, Int64, Int64)] = []
        /// Quotes go keyed (a newer replaces one still waiting); a replay sends every one.
        var conflateQuotes = true
        var recordedTrades: [MarketHistory.TradeRow] = []
        var recordedQuotes: [MarketHistory.QuoteRow] = []
    }

    /// Conflated connections following level 2, which need the top of the book written for them.
    let conflatedDepthReaders = Atomic<Int>(0)

    private func publish(_ published: [Published]) {
        let wantsTop = conflatedDepthReaders.load(ordering: .relaxed) > 0
        // Level 1, 2 and 3 objects are written only while someone follows them.
        var wanted = Wanted(l1: false, l2: false, l3: false)
        hub.forEachInterest { channels in
            wanted.l1 = wanted.l1 || !channels.l1.isEmpty
            wanted.l2 = wanted.l2 || !channels.l2.isEmpty
            wanted.l3 = wanted.l3 || !channels.l3.isEmpty
        }
        let batch = state.withLock { s in Self.apply(published, to: &s, top: wantsTop, wanted: wanted) }
        if let alerts {
            for (symbol, price, previousClose, time) in batch.ticks {
                alerts.evaluate(symbol, source: .trade, price: price, previousClose: previousClose, at: time)
            }
        }
        for (symbol, bar) in batch.closedBars { sendBar(symbol, bar) }
        history?.record(trades: batch.recordedTrades, quotes: batch.recordedQuotes)
        if let handler = feeds.withLock({ $0 }) {
            for (symbol, quote) in batch.ownQuotes {
                guard let stock = ITCH.Stock(symbol.description) else { continue }
                handler.ownQuote(stock, bid: quote.bid.map { ($0.price.units, $0.shown.shares) }, ask: quote.ask.map { ($0.price.units, $0.shown.shares) })
            }
        }
        deliver(batch)
    }

    /// Applies a batch to the books and figures, and writes what each channel is to send.
    struct Wanted {
        var l1: Bool
        var l2: Bool
        var l3: Bool
    }

    private static func apply(_ batch: [Published], to s: inout State, top wantsTop: Bool, wanted: Wanted) -> Batch {
        var out = Batch()
        /// Per symbol: the levels changed, the book touched, a trade seen.
        var changedLevels: [Symbol: Set<LevelKey>] = [:]
        var traded: Set<Symbol> = []
        var stamp: [Symbol: String] = [:]
        var stampNanos: [Symbol: Int64] = [:]
        for published in batch {
            s.sequence = published.command.sequence
            let time = API.time(published.command.time)
            let nanos = published.command.time.nanos
            for change in s.books.apply(published.events) {
                let symbol = change.symbol
                changedLevels[symbol, default: []].insert(LevelKey(buy: change.side == .buy, price: change.price.units))
                stamp[symbol] = time
                stampNanos[symbol] = nanos
                s.sequences[symbol, default: Sequences()].l3 += 1
                if wanted.l3 { out.l3.append((symbol.description, l3Object(change, sequence: s.sequences[symbol]!.l3, time: time))) }
            }
            for event in published.events {
                switch event {
                case .trade(let t):
                    let symbol = t.symbol
                    if let bar = addBar(t, nanos, &s) { out.closedBars.append((symbol, bar)) }
                    s.changedTrades[symbol] = TradeRow(id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares, time: nanos)
                    let date = s.tradingDate(published.command.time)
                    s.days[symbol, default: Day()].add(price: t.price.units, size: t.quantity.shares, date: date)
                    out.ticks.append((symbol, t.price.units, s.days[symbol]!.previousClose, nanos))
                    s.sequences[symbol, default: Sequences()].trades += 1
                    out.recordedTrades.append(.init(symbol: symbol.description, time: nanos, sequence: s.sequences[symbol]!.trades,
                                                    id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares))
                    let object = trade(id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares, time: time)
                    out.latestTrades[symbol] = object
                    let name = symbol.description
                    out.trades.append((name, tradeMessage(name, sequence: s.sequences[symbol]!.trades, object)))
                    traded.insert(symbol)
                    stamp[symbol] = time
                    stampNanos[symbol] = nanos
                case .tradingStateChanged(let symbol, _), .symbolListed(let symbol):
                    stamp[symbol] = stamp[symbol] ?? time
                    stampNanos[symbol] = stampNanos[symbol] ?? nanos
                    changedLevels[symbol, default: []] = changedLevels[symbol] ?? []
                default:
                    break
                }
            }
        }
        s.lastTrade.merge(out.latestTrades) { $1 }
        for symbol in Set(changedLevels.keys).union(traded).sorted(by: { $0.description < $1.description }) {
            let name = symbol.description
            let time = stamp[symbol]!
            let levels = changedLevels[symbol] ?? []
            if !levels.isEmpty {
                s.sequences[symbol, default: Sequences()].l2 += 1
                func side(_ buy: Bool) -> String {
                    let keys = levels.filter { $0.buy == buy }.map(\.price).sorted(by: buy ? (>) : (<))
                    return "[" + keys.map { price in
                        let level = s.books.level(symbol, buy ? .buy : .sell, price: Price(units: price))
                        return #"{"p":\#(API.decimal(price)),"s":\#(level?.shown.shares ?? 0),"n":\#(level?.orders ?? 0)}"#
                    }.joined(separator: ",") + "]"
                }
                if wanted.l2 {
                    out.l2.append((name, #"{"T":"l2","S":"\#(name)","sq":\#(s.sequences[symbol]!.l2),"b":\#(side(true)),"a":\#(side(false)),"t":"\#(time)"}"#))
                }
                if wantsTop {
                    out.l2Top.append((name, topObject(s.books, symbol, levels: conflatedDepth, sequence: s.sequences[symbol]!.l2, time: time)))
                }
            }
            let quote = Quote(bid: s.books.depth(symbol, .buy, levels: 1).first, ask: s.books.depth(symbol, .sell, levels: 1).first)
            // A newly listed symbol's empty book is not news: its first quote is its first order.
            let quoteChanged = s.lastQuote[symbol] ?? Quote() != quote
            s.lastQuote[symbol] = quote
            if quoteChanged {
                s.sequences[symbol, default: Sequences()].quotes += 1
                out.quotes.append((name, quoteObject(name, quote, sequence: s.sequences[symbol]!.quotes, time: time)))
                out.recordedQuotes.append(.init(symbol: name, time: stampNanos[symbol]!, sequence: s.sequences[symbol]!.quotes,
                                                bidPrice: quote.bid?.price.units ?? 0, bidSize: quote.bid?.shown.shares ?? 0,
                                                askPrice: quote.ask?.price.units ?? 0, askSize: quote.ask?.shown.shares ?? 0))
                out.ownQuotes.append((symbol, quote))
            }
            if quoteChanged || traded.contains(symbol) {
                s.sequences[symbol, default: Sequences()].l1 += 1
                if wanted.l1 {
                    out.l1.append((name, levelOneObject(name, quote, s.days[symbol] ?? Day(), sequence: s.sequences[symbol]!.l1, time: time)))
                }
            }
        }
        return out
    }

    struct LevelKey: Hashable {
        var buy: Bool
        var price: Int64
    }

    static func l3Object(_ change: VenueBooks.Change, sequence: UInt64, time: String) -> String {
        let head = #"{"T":"l3","S":"\#(change.symbol)","sq":\#(sequence),"i":\#(change.orderID.rawValue),"sd":"\#(change.side == .buy ? "B" : "S")","p":\#(API.decimal(change.price)),"#
        let body = switch change.kind {
        case .add: #""k":"a","q":\#(change.quantity.shares)"#
        case .execute(let execution): #""k":"e","q":\#(change.quantity.shares),"x":\#(execution.rawValue)"#
        case .modify(let newID): #""k":"m","q":\#(change.quantity.shares)"# + (newID.map { #","n":\#($0.rawValue)"# } ?? "")
        case .delete: #""k":"d""#
        }
        return head + body + #","t":"\#(time)"}"#
    }

    static func quoteObject(_ name: String, _ quote: Quote, sequence: UInt64, time: String) -> String {
        #"{"T":"q","S":"\#(name)","sq":\#(sequence),"bx":"BOURSE","bp":\#(quote.bid.map { API.decimal($0.price) } ?? "0"),"bs":\#(quote.bid?.shown.shares ?? 0),"ax":"BOURSE","ap":\#(quote.ask.map { API.decimal($0.price) } ?? "0"),"as":\#(quote.ask?.shown.shares ?? 0),"t":"\#(time)","c":["R"],"z":"C"}"#
    }

    /// Level 1: the top of the book, the last trade, the day's open, high, low, volume and trade count,
    /// the previous close and the change from it in percent (exact to the basis point, toward zero).
    static func levelOneObject(_ name: String, _ quote: Quote, _ day: Day, sequence: UInt64, time: String) -> String {
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

    /// The best `levels` of each side as a level 2 message that replaces the client's book (`"r":true`).
    static func topObject(_ books: VenueBooks, _ symbol: Symbol, levels: Int, sequence: UInt64, time: String) -> String {
        func side(_ side: Side) -> String {
            "[" + books.depth(symbol, side, levels: levels).map { #"{"p":\#(API.decimal($0.price)),"s":\#($0.shown.shares),"n":\#($0.orders)}"# }.joined(separator: ",") + "]"
        }
        return #"{"T":"l2","S":"\#(symbol)","sq":\#(sequence),"r":true,"b":\#(side(.buy)),"a":\#(side(.sell)),"t":"\#(time)"}"#
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
    static func trade(id: UInt64, price: Int64, size: Int64, time: String) -> String {
        #"{"i":\#(id),"x":"BOURSE","p":\#(API.decimal(price)),"s":\#(size),"t":"\#(time)","c":["@"],"z":"C"}"#
    }

    /// The latest trade of a symbol, if it has traded.
    func latestTrade(_ symbol: Symbol) -> String? { state.withLock { $0.lastTrade[symbol] } }

    /// The last command the market data has applied.
    var sequence: UInt64 { state.withLock { $0.sequence } }

    /// A book as the stream has published it: the best `depth` levels a side, with the orders of each when
    /// `orders` is set, and the sequence numbers it reflects; nil for a symbol not listed.
    struct BookSnapshot: Sendable {
        var state: TradingState
        var bids: [VenueBooks.Level]
        var asks: [VenueBooks.Level]
        var bidOrders: [[VenueBooks.ShownOrder]]?
        var askOrders: [[VenueBooks.ShownOrder]]?
        var sequences: Sequences
        var quote: Quote
        var day: Day
    }

    /// Whether a subscription may name `name`: a symbol the venue lists or a feed follows. What a connection
    /// subscribes to is bounded by these, not by what a client sends.
    func offers(_ name: String) -> Bool {
        guard let symbol = try? Symbol(validating: name) else { return false }
        if state.withLock({ $0.books.state(symbol) != nil }) || replayedSymbols.withLock({ $0.contains(name) }) { return true }
        return feeds.withLock { $0 }?.stocks.contains { $0.description == name } ?? false
    }

    func book(_ symbol: Symbol, depth: Int, orders: Bool) -> BookSnapshot? {
        state.withLock { s in
            guard let tradingState = s.books.state(symbol) else { return nil }
            return BookSnapshot(
                state: tradingState, bids: s.books.depth(symbol, .buy, levels: depth), asks: s.books.depth(symbol, .sell, levels: depth),
                bidOrders: orders ? s.books.orders(symbol, .buy, levels: depth) : nil,
                askOrders: orders ? s.books.orders(symbol, .sell, levels: depth) : nil,
                sequences: s.sequences[symbol] ?? Sequences(), quote: s.lastQuote[symbol] ?? Quote(), day: s.days[symbol] ?? Day())
        }
    }

    private func sendBar(_ symbol: Symbol, _ bar: Bar) {
        let name = symbol.description
        let message = "[" + bar.json.replacingOccurrences(of: #"{"t":"#, with: #"{"T":"b","S":"\#(name)","t":"#) + "]"
        hub.send { $0.wants(\.bars, name) ? message : nil }
    }
}
