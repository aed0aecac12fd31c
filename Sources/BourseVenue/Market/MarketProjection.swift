import BourseCore
import BourseEngine
import BourseFeeds
import BourseMarketData
import BourseNode
import BourseProjections
import Foundation
import Synchronization

/// The market data projection: the venue's own books rebuilt from its events (`VenueBooks`), never read
/// from the engine while it runs; each symbol's quote, day figures and sequence numbers; minute bars (the
/// one place bars are built) and each symbol's latest trade, kept in its store so that a restart starts
/// from them. After each batch of new entries it hands the gateways what changed (`MarketUpdate`), records
/// trades and quotes in the market history, evaluates price alerts and quotes the venue into the NBBO.
///
/// The books come from the engine at start (`seedBooks`); an entry read again (after a restart, in a
/// rebuild) only adds to the bars, the day's figures and the latest trade, and tells nothing.
public final class MarketProjection: Projection, @unchecked Sendable {
    public let name = "market"
    public let schema = MarketProjection.tables

    /// What someone follows, so that only that is written: levels 1, 2 and 3, and the top of the book as
    /// the conflated tier's level 2.
    public struct Interest: Sendable {
        public var levelOne = false
        public var levels = false
        public var orderChanges = false
        public var top = false

        public init(levelOne: Bool = false, levels: Bool = false, orderChanges: Bool = false, top: Bool = false) {
            self.levelOne = levelOne
            self.levels = levels
            self.orderChanges = orderChanges
            self.top = top
        }
    }

    /// Where the gateways are told: each batch's changes, each minute bar as it closes, each NBBO change.
    /// All run on the projection's thread (bars also on the bar timer's).
    public struct Listener: Sendable {
        public var interest: @Sendable () -> Interest
        public var update: @Sendable (MarketUpdate) -> Void
        public var bar: @Sendable (Symbol, Bar) -> Void
        public var nbbo: @Sendable (ITCH.Stock, NBBO.Best) -> Void

        public init(interest: @escaping @Sendable () -> Interest, update: @escaping @Sendable (MarketUpdate) -> Void,
                    bar: @escaping @Sendable (Symbol, Bar) -> Void, nbbo: @escaping @Sendable (ITCH.Stock, NBBO.Best) -> Void) {
            self.interest = interest
            self.update = update
            self.bar = bar
            self.nbbo = nbbo
        }
    }

    /// Levels a side in the top of the book.
    public static let topDepth = 10

    /// Price alerts, evaluated on every trade and NBBO change.
    public let alerts: Alerts?
    /// Where the trades and quotes told are recorded.
    public let history: MarketHistory?

    private struct State {
        var books = VenueBooks()
        var sequences: [Symbol: MarketSequences] = [:]
        var days: [Symbol: TradingDayFigures] = [:]
        var bars = BarBook()
        var lastQuote: [Symbol: MarketQuote] = [:]
        var lastTrade: [Symbol: TradePrint] = [:]
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
        var changedTrades: [Symbol: TradePrint] = [:]

        /// The trading day (days since the epoch) a trade at `t` belongs to, as bars count it.
        mutating func tradingDate(_ t: Timestamp) -> Int {
            if t.nanos >= tradingDay.from && t.nanos < tradingDay.until { return tradingDay.date }
            let date = ExchangeCalendar.newYorkDate(t)
            tradingDay = (ExchangeCalendar.instant(date, minute: 0).nanos, ExchangeCalendar.instant(date.adding(days: 1), minute: 0).nanos,
                          bars.calendar.tradingDate(of: t).daysSinceEpoch)
            return tradingDay.date
        }

        /// What an entry's trades add to the bars, the day's figures and the latest trade; the bars they closed.
        mutating func addTrades(_ published: Published, closed: inout [(Symbol, Bar)]) {
            for case .trade(let t) in published.events { addTrade(t, at: published.command.time, closed: &closed) }
        }

        mutating func addTrade(_ t: Trade, at time: Timestamp, closed: inout [(Symbol, Bar)]) {
            if let bar = bars.add(t.symbol, price: t.price.units, quantity: t.quantity.shares, at: time.nanos) {
                changedBars[BarKey(symbol: t.symbol, start: bar.start)] = bar
                closed.append((t.symbol, bar))
            }
            if let current = bars.current[t.symbol] { changedBars[BarKey(symbol: t.symbol, start: current.start)] = current }
            days[t.symbol, default: TradingDayFigures()].add(price: t.price.units, size: t.quantity.shares, date: tradingDate(time))
            let print = TradePrint(id: t.executionID.rawValue, price: t.price.units, size: t.quantity.shares, time: time.nanos)
            lastTrade[t.symbol] = print
            changedTrades[t.symbol] = print
        }
    }

    private let state = Mutex(State())
    /// Where the venue's own quotes go into the NBBO, once attached.
    private let feeds = Mutex<FeedHandler?>(nil)
    private let listener = Mutex<Listener?>(nil)
    /// Set when the venue stops: the bar timer ends.
    let finished = Atomic<Bool>(false)

    public init(alerts: Alerts? = nil, history: MarketHistory? = nil) {
        self.alerts = alerts
        self.history = history
    }

    /// The gateways are told from now on.
    public func listen(_ body: Listener) { listener.withLock { $0 = body } }

    /// The venue's own quotes count in `handler`'s NBBO from now on.
    func attach(_ handler: FeedHandler) { feeds.withLock { $0 = handler } }

    /// The feed handler the NBBO comes from, once attached.
    public var feedHandler: FeedHandler? { feeds.withLock { $0 } }

    /// A change of a stock's NBBO: told to the gateways, and to the alerts that follow the NBBO ("above"
    /// alerts look at the best bid, "below" ones at the best offer).
    func nbboChanged(_ stock: ITCH.Stock, _ best: NBBO.Best) {
        listener.withLock { $0 }?.nbbo(stock, best)
        guard let alerts, let symbol = try? Symbol(validating: stock.description) else { return }
        let previousClose = state.withLock { $0.days[symbol]?.previousClose ?? 0 }
        let now = wallClockNanos()
        if let bid = best.bid { alerts.evaluate(symbol, source: .nbbo, price: bid.price, previousClose: previousClose, at: now, downward: false) }
        if let ask = best.ask { alerts.evaluate(symbol, source: .nbbo, price: ask.price, previousClose: previousClose, at: now, upward: false) }
    }

    /// Starts the books from the engine's state after recovery (its books, trading states and previous
    /// closes), before the runner opens the projection and loads the bars.
    func seedBooks(engine: MatchingEngine, sequence: UInt64, calendar: ExchangeCalendar, now: Int64) {
        state.withLock { s in
            s.sequence = sequence
            s.bars = BarBook(calendar: calendar)
            s.today = calendar.tradingDate(of: Timestamp(nanos: now)).daysSinceEpoch
            for symbol in engine.listedSymbols {
                s.books.seed(symbol, state: engine.tradingState(symbol) ?? .closed, orders: engine.openOrderStates(symbol))
                s.lastQuote[symbol] = MarketQuote(bid: s.books.depth(symbol, .buy, levels: 1).first, ask: s.books.depth(symbol, .sell, levels: 1).first)
                s.listedCloses[symbol] = engine.previousClose(of: symbol)?.units ?? 0
            }
        }
    }

    // MARK: Projection

    /// The bars and latest trades the store holds; the day's figures from them.
    public func load(from store: any ProjectionStore) throws {
        var minutes: [Symbol: [Bar]] = [:]
        for row in try store.querySynchronously("SELECT DISTINCT symbol FROM bars", []) {
            guard let name = row.text("symbol"), let symbol = try? Symbol(validating: name) else { continue }
            minutes[symbol] = try store.querySynchronously("SELECT * FROM bars WHERE symbol = ? ORDER BY start DESC LIMIT ?",
                                                           [.text(name), .int(Int64(BarBook.minutesKept))]).map(Self.bar).reversed()
        }
        var trades: [Symbol: TradePrint] = [:]
        for row in try store.querySynchronously("SELECT * FROM latest_trades", []) {
            guard let name = row.text("symbol"), let symbol = try? Symbol(validating: name) else { continue }
            trades[symbol] = TradePrint(id: UInt64(bitPattern: row.int("execution_id")!), price: row.int("price")!, size: row.int("qty")!,
                                        time: row.int("time")!)
        }
        state.withLock { s in
            s.bars = BarBook(minutes, calendar: s.bars.calendar)
            s.lastTrade = trades
            s.gathered = []
            s.changedBars = [:]
            s.changedTrades = [:]
            s.days = [:]
            for (symbol, listedClose) in s.listedCloses {
                var day = TradingDayFigures()
                day.previousClose = listedClose
                for bar in s.bars.bars(symbol, .day, from: 0, to: .max, limit: .max).suffix(2) {
                    let date = ExchangeCalendar.newYorkDate(Timestamp(nanos: bar.start)).daysSinceEpoch
                    if date == s.today {
                        day = TradingDayFigures(date: date, open: bar.open, high: bar.high, low: bar.low, last: bar.close,
                                                volume: bar.volume, trades: bar.trades, previousClose: day.previousClose)
                    } else {
                        day.previousClose = bar.close
                    }
                }
                s.days[symbol] = day
            }
        }
    }

    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        state.withLock { $0.gathered.append((published, isNew)) }
    }

    /// Tells what the transaction's new entries changed, adds the entries read again to the bars and
    /// figures only, and writes the changed bars and latest trades.
    public func flush(writer: any StoreWriter) throws {
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
                tell(entries)
            } else {
                var closed: [(Symbol, Bar)] = []
                state.withLock { s in for published in entries { s.addTrades(published, closed: &closed) } }
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

    // MARK: Telling

    /// What a batch of new entries does beyond the books: bars closed, trades for the alerts, and the
    /// trades and quotes to record.
    private struct Effects {
        var closedBars: [(Symbol, Bar)] = []
        var ownQuotes: [(Symbol, MarketQuote)] = []
        /// Each trade's symbol, price, previous close and time, for the alerts.
        var ticks: [(Symbol, Int64, Int64, Int64)] = []
        var recordedTrades: [MarketHistory.TradeRow] = []
        var recordedQuotes: [MarketHistory.QuoteRow] = []
    }

    private func tell(_ published: [Published]) {
        let listener = listener.withLock { $0 }
        let interest = listener?.interest() ?? Interest()
        let (update, effects) = state.withLock { s in Self.apply(published, to: &s, interest: interest) }
        if let alerts {
            for (symbol, price, previousClose, time) in effects.ticks {
                alerts.evaluate(symbol, source: .trade, price: price, previousClose: previousClose, at: time)
            }
        }
        for (symbol, bar) in effects.closedBars { listener?.bar(symbol, bar) }
        history?.record(trades: effects.recordedTrades, quotes: effects.recordedQuotes)
        if let handler = feeds.withLock({ $0 }) {
            for (symbol, quote) in effects.ownQuotes {
                guard let stock = ITCH.Stock(symbol.description) else { continue }
                handler.ownQuote(stock, bid: quote.bid.map { ($0.price.units, $0.shown.shares) }, ask: quote.ask.map { ($0.price.units, $0.shown.shares) })
            }
        }
        if !update.isEmpty { listener?.update(update) }
    }

    private struct LevelKey: Hashable {
        var buy: Bool
        var price: Int64
    }

    /// Applies a batch to the books and figures; what changed, as far as someone follows it.
    private static func apply(_ batch: [Published], to s: inout State, interest: Interest) -> (MarketUpdate, Effects) {
        var out = MarketUpdate()
        var effects = Effects()
        /// Per symbol: the levels changed, a trade seen, the time of the last event touching it.
        var changedLevels: [Symbol: Set<LevelKey>] = [:]
        var traded: Set<Symbol> = []
        var stamp: [Symbol: Int64] = [:]
        for published in batch {
            s.sequence = published.command.sequence
            let nanos = published.command.time.nanos
            for change in s.books.apply(published.events) {
                let symbol = change.symbol
                changedLevels[symbol, default: []].insert(LevelKey(buy: change.side == .buy, price: change.price.units))
                stamp[symbol] = nanos
                s.sequences[symbol, default: MarketSequences()].l3 += 1
                if interest.orderChanges { out.orderChanges.append(.init(change: change, sequence: s.sequences[symbol]!.l3, time: nanos)) }
            }
            for event in published.events {
                switch event {
                case .trade(let t):
                    let symbol = t.symbol
                    s.sequences[symbol, default: MarketSequences()].trades += 1
                    let sequence = s.sequences[symbol]!.trades
                    s.addTrade(t, at: published.command.time, closed: &effects.closedBars)
                    effects.ticks.append((symbol, t.price.units, s.days[symbol]!.previousClose, nanos))
                    let print = s.lastTrade[symbol]!
                    effects.recordedTrades.append(.init(symbol: symbol.description, time: nanos, sequence: sequence,
                                                        id: print.id, price: print.price, size: print.size))
                    out.trades.append(.init(symbol: symbol, sequence: sequence, print: print))
                    traded.insert(symbol)
                    stamp[symbol] = nanos
                case .symbolListed(let symbol):
                    // The listing's previous close is the day's reference from the start, as after a restart.
                    if case .listSymbol(_, let rules) = published.command.command, let close = rules.previousClose {
                        s.listedCloses[symbol] = close.units
                        if s.days[symbol]?.previousClose ?? 0 == 0 { s.days[symbol, default: TradingDayFigures()].previousClose = close.units }
                    }
                    stamp[symbol] = stamp[symbol] ?? nanos
                case .tradingStateChanged(let symbol, _):
                    stamp[symbol] = stamp[symbol] ?? nanos
                    changedLevels[symbol, default: []] = changedLevels[symbol] ?? []
                default:
                    break
                }
            }
        }
        for symbol in Set(changedLevels.keys).union(traded).sorted(by: { $0.description < $1.description }) {
            let time = stamp[symbol]!
            let levels = changedLevels[symbol] ?? []
            if !levels.isEmpty {
                s.sequences[symbol, default: MarketSequences()].l2 += 1
                let sequence = s.sequences[symbol]!.l2
                if interest.levels {
                    func side(_ buy: Bool) -> [VenueBooks.Level] {
                        levels.filter { $0.buy == buy }.map(\.price).sorted(by: buy ? (>) : (<)).map { price in
                            s.books.level(symbol, buy ? .buy : .sell, price: Price(units: price))
                                ?? VenueBooks.Level(price: Price(units: price), shown: Quantity(0), orders: 0)
                        }
                    }
                    out.levels.append(.init(symbol: symbol, sequence: sequence, bids: side(true), asks: side(false), time: time))
                }
                if interest.top {
                    out.top.append(.init(symbol: symbol, sequence: sequence, bids: s.books.depth(symbol, .buy, levels: topDepth),
                                         asks: s.books.depth(symbol, .sell, levels: topDepth), time: time))
                }
            }
            let quote = MarketQuote(bid: s.books.depth(symbol, .buy, levels: 1).first, ask: s.books.depth(symbol, .sell, levels: 1).first)
            // A newly listed symbol's empty book is not news: its first quote is its first order.
            let quoteChanged = s.lastQuote[symbol] ?? MarketQuote() != quote
            s.lastQuote[symbol] = quote
            if quoteChanged {
                s.sequences[symbol, default: MarketSequences()].quotes += 1
                let sequence = s.sequences[symbol]!.quotes
                out.quotes.append(.init(symbol: symbol, sequence: sequence, quote: quote, time: time))
                effects.recordedQuotes.append(.init(symbol: symbol.description, time: time, sequence: sequence,
                                                    bidPrice: quote.bid?.price.units ?? 0, bidSize: quote.bid?.shown.shares ?? 0,
                                                    askPrice: quote.ask?.price.units ?? 0, askSize: quote.ask?.shown.shares ?? 0))
                effects.ownQuotes.append((symbol, quote))
            }
            if quoteChanged || traded.contains(symbol) {
                s.sequences[symbol, default: MarketSequences()].l1 += 1
                if interest.levelOne {
                    out.levelOne.append(.init(symbol: symbol, sequence: s.sequences[symbol]!.l1, quote: quote,
                                              day: s.days[symbol] ?? TradingDayFigures(), time: time))
                }
            }
        }
        return (out, effects)
    }

    // MARK: Bars

    /// Starts the timer that closes the minute bars of quiet symbols.
    func start() {
        Task.detached { [self] in
            while !finished.load(ordering: .relaxed) {
                try? await Task.sleep(for: .seconds(1))
                // A grace of two seconds for trades stamped before the minute ended but not yet told.
                closeBars(now: wallClockNanos() - 2_000_000_000)
            }
        }
    }

    /// Closes the bars whose minute has passed (called by a timer, so that a quiet symbol's bar still ends).
    public func closeBars(now nanos: Int64) {
        let ended = state.withLock { $0.bars.close(before: nanos) }
        guard let listener = listener.withLock({ $0 }) else { return }
        for (symbol, bar) in ended { listener.bar(symbol, bar) }
    }

    // MARK: Reading

    public func bars(_ symbol: Symbol, _ timeframe: Timeframe, from start: Int64, to end: Int64, limit: Int) -> [Bar] {
        state.withLock { $0.bars.bars(symbol, timeframe, from: start, to: end, limit: limit) }
    }

    /// The latest trade of a symbol, if it has traded.
    public func latestTrade(_ symbol: Symbol) -> TradePrint? { state.withLock { $0.lastTrade[symbol] } }

    /// The last command the market data has applied.
    public var sequence: UInt64 { state.withLock { $0.sequence } }

    /// Whether `symbol` is listed here or followed on a feed.
    /// The listing's previous close of a symbol (its reference before it trades); nil when it has none.
    public func listedClose(_ symbol: Symbol) -> Int64? {
        state.withLock { s in s.listedCloses[symbol].flatMap { $0 > 0 ? $0 : nil } }
    }

    public func offers(_ symbol: Symbol) -> Bool {
        if state.withLock({ $0.books.state(symbol) != nil }) { return true }
        return feeds.withLock { $0 }?.stocks.contains { $0.description == symbol.description } ?? false
    }

    /// The best `depth` levels a side, with the orders of each when `orders` is set; nil for a symbol not listed.
    public func book(_ symbol: Symbol, depth: Int, orders: Bool) -> BookSnapshot? {
        state.withLock { s in
            guard let tradingState = s.books.state(symbol) else { return nil }
            return BookSnapshot(
                state: tradingState, bids: s.books.depth(symbol, .buy, levels: depth), asks: s.books.depth(symbol, .sell, levels: depth),
                bidOrders: orders ? s.books.orders(symbol, .buy, levels: depth) : nil,
                askOrders: orders ? s.books.orders(symbol, .sell, levels: depth) : nil,
                sequences: s.sequences[symbol] ?? MarketSequences(), quote: s.lastQuote[symbol] ?? MarketQuote(),
                day: s.days[symbol] ?? TradingDayFigures())
        }
    }
}
