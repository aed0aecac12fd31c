/// The days on which trades settle: days on which both the exchange and the banks are open, since
/// securities move at the depository only when the market's clearing house runs and cash moves only when
/// the Federal Reserve Banks do. It is not the trading calendar: Columbus Day and Veterans Day are trading
/// days without settlement. Bank holidays follow the Federal Reserve's rules (one on a Sunday is observed
/// the Monday after; one on a Saturday is not moved), computed here; overrides close or open days the rules
/// do not know.
public struct SettlementCalendar: Sendable {
    public enum Override: Hashable, Sendable {
        case closed
        /// A settlement day whatever the rules say (never a weekend day).
        case open
    }

    /// The longest settlement cycle taken, in settlement days after the trade date.
    public static let cycleMax = 30

    public var exchange: ExchangeCalendar
    public var overrides: [CivilDate: Override]

    public init(exchange: ExchangeCalendar = .nyse, overrides: [CivilDate: Override] = [:]) {
        self.exchange = exchange
        self.overrides = overrides
    }

    public static let us = SettlementCalendar()

    public func isSettlementDay(_ date: CivilDate) -> Bool {
        guard !date.isWeekend else { return false }
        switch overrides[date] {
        case .closed?: return false
        case .open?: return true
        case nil: return exchange.session(on: date) != nil && !Self.isBankHoliday(date)
        }
    }

    /// The settlement date of a trade on `tradeDate` that settles T+`cycle`: the `cycle`th settlement day
    /// after the trade date (T+0: the trade date if it is a settlement day, otherwise the next one). A
    /// trade on the Friday before Columbus Day settles T+1 on Tuesday, as does one on Columbus Day itself.
    public func settlementDate(tradeDate: CivilDate, cycle: Int) -> CivilDate {
        precondition((0...Self.cycleMax).contains(cycle), "a settlement cycle of \(cycle) days")
        if cycle == 0 { return isSettlementDay(tradeDate) ? tradeDate : settlementDay(after: tradeDate) }
        var day = tradeDate
        for _ in 0..<cycle { day = settlementDay(after: day) }
        return day
    }

    /// The first settlement day after `date`. Weekends alone bound the search to a few days; a run of
    /// closed overrides can lengthen it, never past the overrides' count.
    public func settlementDay(after date: CivilDate) -> CivilDate {
        var day = date.adding(days: 1)
        var looked = 0
        while !isSettlementDay(day) {
            looked += 1
            precondition(looked <= overrides.count + 14, "no settlement day within \(looked) days after \(date)")
            day = day.adding(days: 1)
        }
        return day
    }

    /// The Federal Reserve Banks' holidays: the eleven federal holidays, Juneteenth from 2021.
    static func isBankHoliday(_ d: CivilDate) -> Bool {
        let y = d.year
        typealias Rules = ExchangeCalendar
        let byWeekday: [CivilDate] = [
            Rules.nthWeekday(3, 1, 1, y),  // Martin Luther King Jr. Day: third Monday of January
            Rules.nthWeekday(3, 1, 2, y),  // Washington's Birthday: third Monday of February
            Rules.lastWeekday(1, 5, y),  // Memorial Day: last Monday of May
            Rules.nthWeekday(1, 1, 9, y),  // Labor Day: first Monday of September
            Rules.nthWeekday(2, 1, 10, y),  // Columbus Day: second Monday of October
            Rules.nthWeekday(4, 4, 11, y),  // Thanksgiving: fourth Thursday of November
        ]
        if byWeekday.contains(d) { return true }
        var fixed = [(1, 1), (7, 4), (11, 11), (12, 25)]
        if y >= 2021 { fixed.append((6, 19)) }
        // A Sunday holiday is observed on Monday; a Saturday one leaves the Friday before open.
        return fixed.contains { month, day in
            let holiday = CivilDate(year: y, month: month, day: day)
            return d == holiday || (holiday.weekday == 0 && d == holiday.adding(days: 1))
        }
    }
}
