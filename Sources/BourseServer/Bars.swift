import BourseCore

/// One OHLCV bar: its time is the start of its interval. Prices in 1/10,000 dollar; the notional (price ×
/// quantity summed) gives the volume-weighted average price exactly.
struct Bar: Sendable, Equatable {
    var start: Int64
    var open: Int64
    var high: Int64
    var low: Int64
    var close: Int64
    var volume: Int64
    var trades: Int
    var notional: Int128

    init(start: Int64, price: Int64, quantity: Int64) {
        self.start = start
        open = price
        high = price
        low = price
        close = price
        volume = quantity
        trades = 1
        notional = Int128(price) * Int128(quantity)
    }

    mutating func add(price: Int64, quantity: Int64) {
        high = max(high, price)
        low = min(low, price)
        close = price
        volume += quantity
        trades += 1
        notional += Int128(price) * Int128(quantity)
    }

    /// Folds a later bar of the same interval into this one.
    mutating func merge(_ later: Bar) {
        high = max(high, later.high)
        low = min(low, later.low)
        close = later.close
        volume += later.volume
        trades += later.trades
        notional += later.notional
    }

    var vwap: Int64 { volume == 0 ? close : Int64(notional / Int128(volume)) }

    /// Alpaca's bar object; prices as exact JSON numbers.
    var json: String {
        #"{"t":"\#(API.time(Timestamp(nanos: start)))","o":\#(API.decimal(open)),"h":\#(API.decimal(high)),"l":\#(API.decimal(low)),"c":\#(API.decimal(close)),"v":\#(volume),"n":\#(trades),"vw":\#(API.decimal(vwap))}"#
    }
}

/// The timeframes bars are served in. Minute and hour bars start on UTC boundaries (which are New York's
/// too, its offsets being whole hours); a day bar starts at New York midnight, so it holds one trading day.
enum Timeframe: String, CaseIterable, Sendable {
    case minute = "1Min", fiveMinutes = "5Min", fifteenMinutes = "15Min", hour = "1Hour", day = "1Day"

    private static let minuteNanos: Int64 = 60_000_000_000

    /// The start of the interval that holds `nanos`.
    func start(_ nanos: Int64) -> Int64 {
        switch self {
        case .minute: floorMultiple(nanos, Self.minuteNanos)
        case .fiveMinutes: floorMultiple(nanos, 5 * Self.minuteNanos)
        case .fifteenMinutes: floorMultiple(nanos, 15 * Self.minuteNanos)
        case .hour: floorMultiple(nanos, 60 * Self.minuteNanos)
        case .day: ExchangeCalendar.instant(ExchangeCalendar.newYorkDate(Timestamp(nanos: nanos)), minute: 0).nanos
        }
    }

    /// How long the interval that starts at `start` lasts (a day bar: to the next New York midnight).
    func lengthAfter(_ start: Int64) -> Int64 {
        switch self {
        case .minute: Self.minuteNanos
        case .fiveMinutes: 5 * Self.minuteNanos
        case .fifteenMinutes: 15 * Self.minuteNanos
        case .hour: 60 * Self.minuteNanos
        case .day:
            ExchangeCalendar.instant(ExchangeCalendar.newYorkDate(Timestamp(nanos: start)).adding(days: 1), minute: 0).nanos - start
        }
    }

    private func floorMultiple(_ value: Int64, _ step: Int64) -> Int64 {
        let r = value % step
        return r < 0 ? value - r - step : value - r
    }
}

/// Minute bars per symbol, built from the venue's trades: every trade counts (the venue has no odd-lot or
/// out-of-session trade conditions yet). The current minute's bar is open until a trade of a later minute
/// or `close(before:)` closes it. Longer timeframes are folded from minute bars when asked for. Keeps the
/// last `minutesKept` minute bars a symbol.
struct BarBook: Sendable {
    static let minutesKept = 100_000
    private(set) var closed: [Symbol: [Bar]] = [:]
    private(set) var current: [Symbol: Bar] = [:]

    init() {}

    /// Minute bars kept elsewhere, oldest first: each symbol's last is taken as still open (a later trade
    /// or the timer closes it).
    init(_ minutes: [Symbol: [Bar]]) {
        for (symbol, bars) in minutes where !bars.isEmpty {
            closed[symbol] = Array(bars.dropLast().suffix(Self.minutesKept))
            current[symbol] = bars.last
        }
    }

    /// Adds a trade; returns the bar it closed, if it started a new minute.
    mutating func add(_ symbol: Symbol, price: Int64, quantity: Int64, at nanos: Int64) -> Bar? {
        let start = Timeframe.minute.start(nanos)
        guard var bar = current[symbol] else {
            current[symbol] = Bar(start: start, price: price, quantity: quantity)
            return nil
        }
        // The sequencer's time never goes backwards, so a trade is in the current minute or a later one.
        if bar.start == start {
            bar.add(price: price, quantity: quantity)
            current[symbol] = bar
            return nil
        }
        keep(symbol, bar)
        current[symbol] = Bar(start: start, price: price, quantity: quantity)
        return bar
    }

    /// Closes every current bar whose minute ended at or before `nanos`; returns them.
    mutating func close(before nanos: Int64) -> [(Symbol, Bar)] {
        let ended = current.filter { $0.value.start + 60_000_000_000 <= nanos }.sorted { $0.key.description < $1.key.description }
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
    func bars(_ symbol: Symbol, _ timeframe: Timeframe, from start: Int64, to end: Int64, limit: Int) -> [Bar] {
        var minutes = closed[symbol] ?? []
        if let open = current[symbol] { minutes.append(open) }
        var result: [Bar] = []
        for minute in minutes {
            let barStart = timeframe.start(minute.start)
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
