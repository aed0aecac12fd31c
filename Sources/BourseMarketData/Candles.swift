import BourseCore

/// One OHLCV bar: its time is the start of its interval. Prices in 1/10,000 dollar; the notional (price ×
/// quantity summed) gives the volume-weighted average price exactly.
public struct Bar: Sendable, Equatable {
    public var start: Int64
    public var open: Int64
    public var high: Int64
    public var low: Int64
    public var close: Int64
    public var volume: Int64
    public var trades: Int
    public var notional: Int128

    public init(start: Int64, price: Int64, quantity: Int64) {
        self.start = start
        open = price
        high = price
        low = price
        close = price
        volume = quantity
        trades = 1
        notional = Int128(price) * Int128(quantity)
    }

    public mutating func add(price: Int64, quantity: Int64) {
        high = max(high, price)
        low = min(low, price)
        close = price
        volume += quantity
        trades += 1
        notional += Int128(price) * Int128(quantity)
    }

    /// Folds a later bar of the same interval into this one.
    public mutating func merge(_ later: Bar) {
        high = max(high, later.high)
        low = min(low, later.low)
        close = later.close
        volume += later.volume
        trades += later.trades
        notional += later.notional
    }

    public var vwap: Int64 { volume == 0 ? close : Int64(notional / Int128(volume)) }
}

/// The timeframes bars are built in. Intraday bars start on UTC boundaries (which are New York's too, its
/// offsets being whole hours) and take every trade of their interval. Day and week bars follow the exchange
/// calendar: a trade belongs to the trading day of its New York date, or, if that date is not a trading day
/// (an operator opened the market on a weekend or a holiday), to the next trading day, so no volume is lost;
/// a day bar starts at its trading day's New York midnight, and a week bar (the trading days of one
/// Monday-to-Sunday week) at the midnight of the week's first trading day.
public enum Timeframe: String, CaseIterable, Sendable {
    case minute = "1Min", fiveMinutes = "5Min", fifteenMinutes = "15Min", hour = "1Hour", day = "1Day", week = "1Week"

    static let minuteNanos: Int64 = 60_000_000_000

    /// The start of the bar that holds a trade at `nanos`.
    public func start(_ nanos: Int64, calendar: ExchangeCalendar = .nyse) -> Int64 {
        switch self {
        case .minute: floorMultiple(nanos, Self.minuteNanos)
        case .fiveMinutes: floorMultiple(nanos, 5 * Self.minuteNanos)
        case .fifteenMinutes: floorMultiple(nanos, 15 * Self.minuteNanos)
        case .hour: floorMultiple(nanos, 60 * Self.minuteNanos)
        case .day: ExchangeCalendar.instant(calendar.tradingDate(of: Timestamp(nanos: nanos)), minute: 0).nanos
        case .week: ExchangeCalendar.instant(calendar.firstTradingDay(ofWeekOf: calendar.tradingDate(of: Timestamp(nanos: nanos))), minute: 0).nanos
        }
    }

    /// The instant after which no trade can join the bar that starts at `start`.
    public func end(after start: Int64, calendar: ExchangeCalendar = .nyse) -> Int64 {
        switch self {
        case .minute: start + Self.minuteNanos
        case .fiveMinutes: start + 5 * Self.minuteNanos
        case .fifteenMinutes: start + 15 * Self.minuteNanos
        case .hour: start + 60 * Self.minuteNanos
        case .day:
            ExchangeCalendar.instant(ExchangeCalendar.newYorkDate(Timestamp(nanos: start)).adding(days: 1), minute: 0).nanos
        case .week:
            // Through the week's Sunday: a trade on its weekend belongs to the next week.
            ExchangeCalendar.instant(Self.monday(of: ExchangeCalendar.newYorkDate(Timestamp(nanos: start))).adding(days: 7), minute: 0).nanos
        }
    }

    static func monday(of date: CivilDate) -> CivilDate { date.adding(days: -((date.weekday + 6) % 7)) }

    private func floorMultiple(_ value: Int64, _ step: Int64) -> Int64 {
        let r = value % step
        return r < 0 ? value - r - step : value - r
    }
}

extension ExchangeCalendar {
    /// The trading day a trade at `t` belongs to: its New York date if that is a trading day, else the next.
    public func tradingDate(of t: Timestamp) -> CivilDate {
        let date = Self.newYorkDate(t)
        return session(on: date) != nil ? date : tradingDay(after: date)
    }

    /// The first trading day of the Monday-to-Sunday week that holds the trading day `date`.
    public func firstTradingDay(ofWeekOf date: CivilDate) -> CivilDate {
        let monday = Timeframe.monday(of: date)
        return session(on: monday) != nil ? monday : tradingDay(after: monday)
    }
}

/// Minute bars per symbol, built streaming from trades: every trade of the venue counts (Bourse has no
/// odd-lot, out-of-session or corrected trade conditions that would exclude one). The current minute's
/// bar is open until a trade of a later minute or `close(before:)` closes it. Longer timeframes are
/// folded from minute bars when asked for. Keeps the last `minutesKept` minute bars a symbol.
public struct BarBook: Sendable {
    public static let minutesKept = 100_000
    public let calendar: ExchangeCalendar
    public private(set) var closed: [Symbol: [Bar]] = [:]
    public private(set) var current: [Symbol: Bar] = [:]

    public init(calendar: ExchangeCalendar = .nyse) { self.calendar = calendar }

    /// Minute bars kept elsewhere, oldest first: each symbol's last is taken as still open (a later trade
    /// or the timer closes it).
    public init(_ minutes: [Symbol: [Bar]], calendar: ExchangeCalendar = .nyse) {
        self.calendar = calendar
        for (symbol, bars) in minutes where !bars.isEmpty {
            closed[symbol] = Array(bars.dropLast().suffix(Self.minutesKept))
            current[symbol] = bars.last
        }
    }

    /// Adds a trade; returns the bar it closed, if it started a new minute.
    public mutating func add(_ symbol: Symbol, price: Int64, quantity: Int64, at nanos: Int64) -> Bar? {
        let start = Timeframe.minute.start(nanos)
        // The sequencer's time never goes backwards, so a trade is in the current minute or a later one.
        let ended: Bar? = current.withValue(for: symbol) { bar in
            guard let open = bar else {
                bar = Bar(start: start, price: price, quantity: quantity)
                return nil
            }
            if open.start == start {
                bar!.add(price: price, quantity: quantity)
                return nil
            }
            bar = Bar(start: start, price: price, quantity: quantity)
            return open
        }
        if let ended { keep(symbol, ended) }
        return ended
    }

    /// Closes every current bar whose minute ended at or before `nanos`; returns them.
    public mutating func close(before nanos: Int64) -> [(Symbol, Bar)] {
        let ended = current.filter { $0.value.start + Timeframe.minuteNanos <= nanos }.sorted { $0.key.description < $1.key.description }
        for (symbol, bar) in ended {
            keep(symbol, bar)
            current[symbol] = nil
        }
        return ended
    }

    private mutating func keep(_ symbol: Symbol, _ bar: Bar) {
        closed[symbol, default: []].append(bar)
        if closed[symbol]!.count > Self.minutesKept + Self.minutesKept / 4 {
            closed[symbol]!.removeFirst(closed[symbol]!.count - Self.minutesKept)
        }
    }

    /// Bars of `timeframe` starting from `start` up to `end` (both inclusive, in nanoseconds), oldest first,
    /// at most `limit`; the bar still open is included, so its figures may change.
    public func bars(_ symbol: Symbol, _ timeframe: Timeframe, from start: Int64, to end: Int64, limit: Int) -> [Bar] {
        var minutes = closed[symbol] ?? []
        if let open = current[symbol] { minutes.append(open) }
        var result: [Bar] = []
        // Day and week starts need the calendar: worked out once per New York date, not per minute.
        var cachedDate: (from: Int64, until: Int64, start: Int64)?
        for minute in minutes {
            let barStart: Int64
            if timeframe == .day || timeframe == .week {
                if let c = cachedDate, minute.start >= c.from, minute.start < c.until {
                    barStart = c.start
                } else {
                    let date = ExchangeCalendar.newYorkDate(Timestamp(nanos: minute.start))
                    barStart = timeframe.start(minute.start, calendar: calendar)
                    cachedDate = (ExchangeCalendar.instant(date, minute: 0).nanos, ExchangeCalendar.instant(date.adding(days: 1), minute: 0).nanos, barStart)
                }
            } else {
                barStart = timeframe.start(minute.start)
            }
            guard barStart >= start && barStart <= end else { continue }
            if result.last?.start == barStart {
                result[result.count - 1].merge(minute)
            } else {
                guard result.count < limit else { break }
                var bar = minute
                bar.start = barStart
                result.append(bar)
            }
        }
        return result
    }
}

extension Dictionary {
    /// Runs `body` on the value for `key` in place (nil when absent; setting nil removes it), hashing once.
    @inlinable mutating func withValue<R>(for key: Key, _ body: (inout Value?) -> R) -> R {
        body(&self[key])
    }
}
