import BourseCore
import BourseMarketData
import BourseProjections

/// An account's equity over time, as Alpaca's `/v2/account/portfolio/history` reports it, computed from the
/// order projection's record of every fill and transfer and the market's bars: at the end of each interval,
/// cash plus each holding at the last price traded before then (the listing's previous close before the
/// first trade). Profit and loss is counted from the equity at the start, less the cash deposited or
/// withdrawn since, so a deposit is not a gain.
public struct PortfolioHistory: Sendable, Equatable {
    /// Intervals in one answer; a request for more is refused with the count.
    public static let pointsMax = 10_000

    public enum Timeframe: String, CaseIterable, Sendable {
        case minute = "1Min", fiveMinutes = "5Min", fifteenMinutes = "15Min", hour = "1H", day = "1D"

        var nanos: Int64 {
            switch self {
            case .minute: 60_000_000_000
            case .fiveMinutes: 300_000_000_000
            case .fifteenMinutes: 900_000_000_000
            case .hour: 3_600_000_000_000
            case .day: 86_400_000_000_000
            }
        }
    }

    /// Each interval's start, in seconds since the epoch.
    public var timestamps: [Int64] = []
    /// Money units at each interval's end; nil where a holding had no price yet.
    public var equity: [Int64?] = []
    public var profitLoss: [Int64?] = []
    /// Basis points of the base value.
    public var profitLossBasisPoints: [Int64?] = []
    public var baseValue: Int64?
    public var timeframe: Timeframe

    public enum Refusal: Error, Equatable {
        case tooManyPoints(Int)
    }

    /// The history from `start` to `end` (nanoseconds) in intervals of `timeframe`; day intervals are the
    /// calendar's trading days, each valued at its close.
    public static func compute(account: UInt32, from start: Int64, to end: Int64, timeframe: Timeframe, orders: OrderQueries,
                               market: MarketProjection, calendar: ExchangeCalendar) async throws -> PortfolioHistory {
        var intervals: [(start: Int64, end: Int64)] = []
        if timeframe == .day {
            let first = ExchangeCalendar.newYorkDate(Timestamp(nanos: start)), last = ExchangeCalendar.newYorkDate(Timestamp(nanos: end))
            guard last.daysSinceEpoch - first.daysSinceEpoch < pointsMax else { throw Refusal.tooManyPoints(last.daysSinceEpoch - first.daysSinceEpoch + 1) }
            intervals = calendar.sessions(from: first, through: last).map { (ExchangeCalendar.instant($0.date, minute: 0).nanos, min($0.close.nanos, end)) }
        } else {
            let step = timeframe.nanos
            let first = start - ((start % step) + step) % step
            let count = (end - first + step - 1) / step
            guard count <= pointsMax else { throw Refusal.tooManyPoints(Int(count)) }
            intervals = (0..<count).map { (first + $0 * step, min(first + ($0 + 1) * step, end)) }
        }
        let changes = try await orders.holdings(account: account, until: end)
        // Prices per symbol, from minute bars (or day bars for day intervals), loaded once each.
        var series: [String: [Bar]] = [:]
        let span = timeframe == .day ? BourseMarketData.Timeframe.day : .minute
        return Self.series(intervals, changes, timeframe: timeframe) { name, t, closedOnly in
            guard let symbol = try? Symbol(validating: name) else { return nil }
            let bars = series[name] ?? {
                let loaded = market.bars(symbol, span, from: 0, to: end, limit: .max)
                series[name] = loaded
                return loaded
            }()
            let last = closedOnly ? bars.last { span.end(after: $0.start, calendar: calendar) <= t } : bars.last { $0.start < t }
            return last?.close ?? market.listedClose(symbol)
        }
    }

    /// The history over `intervals` of an account whose cash and holdings change as `changes` (oldest first)
    /// say, valued at `price(symbol, time, closedOnly)`: at each interval's end the last price before it, and
    /// shares moved in or out at the last closed bar's price before they moved (the moment's own bar may hold
    /// trades after it), so that like cash deposited they count as the owner's money, not as profit.
    public static func series(_ intervals: [(start: Int64, end: Int64)], _ changes: [OrderQueries.Holding], timeframe: Timeframe,
                              price: (String, Int64, Bool) -> Int64?) -> PortfolioHistory {
        var history = PortfolioHistory(timeframe: timeframe)
        var next = 0
        var cash: Int64 = 0
        var flows: Int64? = 0
        var shares: [String: Int64] = [:]
        var baseFlows: Int64? = 0
        for interval in intervals {
            while next < changes.count, changes[next].time < interval.end {
                let change = changes[next]
                cash += change.cash
                if change.isFlow {
                    let moved = change.symbol.flatMap { symbol in change.shares == 0 ? 0 : price(symbol, change.time, true).map { $0 * change.shares } }
                    flows = flows.flatMap { f in change.symbol == nil || change.shares == 0 ? f + change.cash : moved.map { f + change.cash + $0 } }
                }
                if let symbol = change.symbol, change.shares != 0 { shares[symbol, default: 0] += change.shares }
                next += 1
            }
            var value: Int64? = cash
            for (symbol, quantity) in shares where quantity != 0 {
                guard let p = price(symbol, interval.end, false), let current = value else { value = nil; break }
                value = current + p * quantity
            }
            if history.baseValue == nil, let value {
                history.baseValue = value
                baseFlows = flows
            }
            history.timestamps.append(interval.start / 1_000_000_000)
            history.equity.append(value)
            let pnl = value.flatMap { v in history.baseValue.flatMap { base in flows.flatMap { f in baseFlows.map { v - base - (f - $0) } } } }
            history.profitLoss.append(pnl)
            history.profitLossBasisPoints.append(pnl.flatMap { p in history.baseValue.flatMap { $0 > 0 ? p * 10_000 / $0 : nil } })
        }
        return history
    }
}
