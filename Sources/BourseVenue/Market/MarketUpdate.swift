import BourseCore
import BourseMarketData

/// What one batch of new journal entries changed in the market data, as values: the gateways write it
/// in their wire formats. Each item carries its sequence number per symbol and channel (from 1 at each
/// start of the node) and the time of the command that made it, in nanoseconds since the epoch.
public struct MarketUpdate: Sendable {
    public struct Trade: Sendable {
        public var symbol: Symbol
        public var sequence: UInt64
        public var print: TradePrint
    }

    /// A change of the level 3 feed.
    public struct OrderChange: Sendable {
        public var change: VenueBooks.Change
        public var sequence: UInt64
        public var time: Int64
    }

    /// Price levels of one symbol, absolute: in `levels`, the levels the batch changed (a level gone has
    /// nothing shown and no orders); in `top`, the best levels of each side, replacing the client's book.
    public struct Levels: Sendable {
        public var symbol: Symbol
        public var sequence: UInt64
        public var bids: [VenueBooks.Level]
        public var asks: [VenueBooks.Level]
        public var time: Int64
    }

    public struct QuoteChange: Sendable {
        public var symbol: Symbol
        public var sequence: UInt64
        public var quote: MarketQuote
        public var time: Int64
    }

    public struct LevelOne: Sendable {
        public var symbol: Symbol
        public var sequence: UInt64
        public var quote: MarketQuote
        public var day: TradingDayFigures
        public var time: Int64
    }

    public var trades: [Trade] = []
    /// Written only while the gateways say someone follows them (`MarketProjection.Interest`).
    public var orderChanges: [OrderChange] = []
    public var levels: [Levels] = []
    public var top: [Levels] = []
    public var levelOne: [LevelOne] = []
    public var quotes: [QuoteChange] = []

    public var isEmpty: Bool {
        trades.isEmpty && orderChanges.isEmpty && levels.isEmpty && top.isEmpty && levelOne.isEmpty && quotes.isEmpty
    }
}

/// A trade as the market data tells it.
public struct TradePrint: Sendable, Equatable {
    public var id: UInt64
    public var price: Int64
    public var size: Int64
    /// Nanoseconds since the epoch.
    public var time: Int64

    public init(id: UInt64, price: Int64, size: Int64, time: Int64) {
        self.id = id
        self.price = price
        self.size = size
        self.time = time
    }
}

/// The top of the venue's book.
public struct MarketQuote: Equatable, Sendable {
    public var bid: VenueBooks.Level?
    public var ask: VenueBooks.Level?

    public init(bid: VenueBooks.Level? = nil, ask: VenueBooks.Level? = nil) {
        self.bid = bid
        self.ask = ask
    }

    /// A recorded top: a price of 0 is an empty side.
    public init(price: Int64, size: Int64, askPrice: Int64, askSize: Int64) {
        bid = price > 0 ? VenueBooks.Level(price: Price(units: price), shown: Quantity(size), orders: 0) : nil
        ask = askPrice > 0 ? VenueBooks.Level(price: Price(units: askPrice), shown: Quantity(askSize), orders: 0) : nil
    }
}

/// A symbol's trading day so far, for level 1: the trades day bars count (see `Timeframe`).
public struct TradingDayFigures: Sendable {
    /// The trading day, as days since the epoch.
    public var date = Int.min
    public var open: Int64 = 0
    public var high: Int64 = 0
    public var low: Int64 = 0
    public var last: Int64 = 0
    public var lastSize: Int64 = 0
    public var volume: Int64 = 0
    public var trades = 0
    /// The last price of the day before it traded, else the listing's previous close; 0 when neither.
    public var previousClose: Int64 = 0

    public init() {}

    init(date: Int, open: Int64, high: Int64, low: Int64, last: Int64, volume: Int64, trades: Int, previousClose: Int64) {
        self.date = date
        self.open = open
        self.high = high
        self.low = low
        self.last = last
        self.volume = volume
        self.trades = trades
        self.previousClose = previousClose
    }

    mutating func add(price: Int64, size: Int64, date: Int) {
        if date != self.date {
            if last != 0 { previousClose = last }
            self = TradingDayFigures(date: date, open: price, high: price, low: price, last: price, volume: 0, trades: 0,
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

/// Sequence numbers per symbol and channel.
public struct MarketSequences: Sendable {
    public var trades: UInt64 = 0
    public var quotes: UInt64 = 0
    public var l1: UInt64 = 0
    public var l2: UInt64 = 0
    public var l3: UInt64 = 0

    public init() {}
}

/// A book as the market data has published it: the best levels a side, with the orders of each when
/// asked, and the sequence numbers it reflects.
public struct BookSnapshot: Sendable {
    public var state: TradingState
    public var bids: [VenueBooks.Level]
    public var asks: [VenueBooks.Level]
    public var bidOrders: [[VenueBooks.ShownOrder]]?
    public var askOrders: [[VenueBooks.ShownOrder]]?
    public var sequences: MarketSequences
    public var quote: MarketQuote
    public var day: TradingDayFigures
}
