/// A day in the proleptic Gregorian calendar, with conversions to and from days since 1970-01-01 by
/// Howard Hinnant's algorithms: integers only, no time zone database, the same on every machine.
public struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The dates read from outside (a client, a file, a flag): those whose instants fit a timestamp with
    /// room for the weeks a calendar computation looks ahead. Int64 nanoseconds since 1970 span 1677-09-21
    /// to 2262-04-11, so a date outside is refused where it is read, never computed with.
    public static let supported = CivilDate(year: 1678, month: 1, day: 1)...CivilDate(year: 2261, month: 12, day: 31)
    /// How a refusal names what is accepted.
    public static let supportedDescription = "a date as YYYY-MM-DD from 1678-01-01 to 2261-12-31"

    /// Parses "YYYY-MM-DD"; nil for anything else, a day that does not exist, or one outside `supported`.
    public init?(_ text: String) {
        // Read in place: files of trades parse a date a row.
        guard text.utf8.count == 10 else { return nil }
        var parts = (year: 0, month: 0, day: 0)
        for (i, c) in text.utf8.enumerated() {
            if i == 4 || i == 7 {
                guard c == 0x2d else { return nil }
                continue
            }
            guard (0x30...0x39).contains(c) else { return nil }
            let digit = Int(c - 0x30)
            if i < 4 { parts.year = parts.year * 10 + digit } else if i < 7 { parts.month = parts.month * 10 + digit } else { parts.day = parts.day * 10 + digit }
        }
        self.init(validYear: parts.year, month: parts.month, day: parts.day)
    }

    /// The date if it exists and is `supported`; nil otherwise.
    public init?(validYear year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        self.init(year: year, month: month, day: day)
        // A day past the end of its month comes back from the day count as another date.
        guard Self.supported.contains(self), CivilDate(daysSinceEpoch: daysSinceEpoch) == self else { return nil }
    }

    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 0 is Sunday, 6 is Saturday.
    public var weekday: Int {
        let d = daysSinceEpoch
        return d >= -4 ? (d + 4) % 7 : (d + 5) % 7 + 6
    }

    public var isWeekend: Bool { weekday == 0 || weekday == 6 }

    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days) }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    public var description: String {
        func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }
}

/// The New York Stock Exchange's trading calendar: regular sessions 09:30 to 16:00 New York time, the
/// full-day holidays with their weekend rules, the 13:00 early closes, and overrides for days the rules do
/// not know (a national day of mourning, a storm). New York time follows the US daylight saving rules in
/// force since 2007, computed here rather than read from the machine's time zone files.
public struct ExchangeCalendar: Sendable {
    /// One trading day: its open and close in nanoseconds since the epoch (UTC).
    public struct Session: Hashable, Sendable {
        public var date: CivilDate
        public var open: Timestamp
        public var close: Timestamp
        /// Minutes after midnight, New York time.
        public var openMinute: Int
        public var closeMinute: Int
        public var isEarlyClose: Bool { closeMinute < 16 * 60 }
    }

    public enum Override: Hashable, Sendable {
        case closed
        /// Open at 09:30, closing at this minute after midnight, New York time.
        case closesAt(minute: Int)
    }

    public var overrides: [CivilDate: Override]

    public init(overrides: [CivilDate: Override] = [:]) {
        self.overrides = overrides
    }

    public static let nyse = ExchangeCalendar()

    /// The session on `date`, or nil when the exchange is closed all day.
    public func session(on date: CivilDate) -> Session? {
        var close = 16 * 60
        switch overrides[date] {
        case .closed?: return nil
        case .closesAt(let minute)?: close = minute
        case nil:
            guard !date.isWeekend, !Self.isHoliday(date) else { return nil }
            if Self.isEarlyClose(date) { close = 13 * 60 }
        }
        let open = 9 * 60 + 30
        return Session(date: date, open: Self.instant(date, minute: open), close: Self.instant(date, minute: close),
                       openMinute: open, closeMinute: close)
    }

    /// Sessions from `start` through `end`, in order.
    public func sessions(from start: CivilDate, through end: CivilDate) -> [Session] {
        guard start <= end else { return [] }
        return (start.daysSinceEpoch...end.daysSinceEpoch).compactMap { session(on: CivilDate(daysSinceEpoch: $0)) }
    }

    /// The next trading day after `date`, `count` times: T+1 settlement is `tradingDay(after: tradeDate)`.
    public func tradingDay(after date: CivilDate, count: Int = 1) -> CivilDate {
        var day = date
        var left = count
        while left > 0 {
            day = day.adding(days: 1)
            if session(on: day) != nil { left -= 1 }
        }
        return day
    }

    /// The New York calendar date of an instant.
    public static func newYorkDate(_ t: Timestamp) -> CivilDate {
        let utcDate = CivilDate(daysSinceEpoch: Int(floorDiv(t.nanos, 86_400_000_000_000)))
        // Try the UTC date and the day before: the one whose local midnight is at or before `t`.
        let candidate = instant(utcDate, minute: 0) <= t ? utcDate : utcDate.adding(days: -1)
        return instant(candidate.adding(days: 1), minute: 0) <= t ? candidate.adding(days: 1) : candidate
    }

    /// Whether the regular session is on at `t`, and the next open and close after it.
    public func clock(at t: Timestamp) -> (isOpen: Bool, nextOpen: Timestamp, nextClose: Timestamp) {
        var date = Self.newYorkDate(t)
        if let today = session(on: date), t >= today.open, t < today.close {
            var next = date.adding(days: 1)
            while session(on: next) == nil { next = next.adding(days: 1) }
            return (true, session(on: next)!.open, today.close)
        }
        if let today = session(on: date), t < today.open { return (false, today.open, today.close) }
        repeat { date = date.adding(days: 1) } while session(on: date) == nil
        let next = session(on: date)!
        return (false, next.open, next.close)
    }

    // MARK: - Rules

    static func isHoliday(_ d: CivilDate) -> Bool {
        let y = d.year
        var holidays: [CivilDate] = [
            nthWeekday(3, 1, 1, y),  // Martin Luther King Jr. Day: third Monday of January
            nthWeekday(3, 1, 2, y),  // Washington's Birthday: third Monday of February
            easter(y).adding(days: -2),  // Good Friday
            lastWeekday(1, 5, y),  // Memorial Day: last Monday of May
            nthWeekday(1, 1, 9, y),  // Labor Day: first Monday of September
            nthWeekday(4, 4, 11, y),  // Thanksgiving: fourth Thursday of November
        ]
        // New Year's Day on a Sunday is observed Monday; on a Saturday it is not moved to the Friday before.
        let newYear = CivilDate(year: y, month: 1, day: 1)
        if newYear.weekday != 6 { holidays.append(observed(newYear)) }
        if y >= 2022 { holidays.append(observed(CivilDate(year: y, month: 6, day: 19))) }  // Juneteenth
        holidays.append(observed(CivilDate(year: y, month: 7, day: 4)))
        holidays.append(observed(CivilDate(year: y, month: 12, day: 25)))
        return holidays.contains(d)
    }

    /// 13:00 closes: July 3 when it is a trading day before the holiday, the day after Thanksgiving, and
    /// December 24 when it is a trading day.
    static func isEarlyClose(_ d: CivilDate) -> Bool {
        if d.month == 7, d.day == 3, CivilDate(year: d.year, month: 7, day: 4).weekday != 0 { return true }
        if d == nthWeekday(4, 4, 11, d.year).adding(days: 1) { return true }
        if d.month == 12, d.day == 24 { return true }
        return false
    }

    /// A Saturday holiday is observed the Friday before, a Sunday one the Monday after.
    static func observed(_ d: CivilDate) -> CivilDate {
        switch d.weekday {
        case 6: d.adding(days: -1)
        case 0: d.adding(days: 1)
        default: d
        }
    }

    /// The `n`th `weekday` (0 Sunday) of `month`.
    static func nthWeekday(_ n: Int, _ weekday: Int, _ month: Int, _ year: Int) -> CivilDate {
        let first = CivilDate(year: year, month: month, day: 1)
        return first.adding(days: (weekday - first.weekday + 7) % 7 + 7 * (n - 1))
    }

    static func lastWeekday(_ weekday: Int, _ month: Int, _ year: Int) -> CivilDate {
        let last = CivilDate(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1).adding(days: -1)
        return last.adding(days: -((last.weekday - weekday + 7) % 7))
    }

    /// Easter Sunday (Western), by the anonymous Gregorian algorithm.
    static func easter(_ year: Int) -> CivilDate {
        let a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4
        let f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CivilDate(year: year, month: month, day: day)
    }

    /// The UTC instant of `minute` after midnight New York time on `date`. Daylight time runs from 02:00
    /// on the second Sunday of March to 02:00 on the first Sunday of November.
    public static func instant(_ date: CivilDate, minute: Int) -> Timestamp {
        let dstStart = nthWeekday(2, 0, 3, date.year)
        let dstEnd = nthWeekday(1, 0, 11, date.year)
        let inDaylight = (date > dstStart || (date == dstStart && minute >= 120))
            && (date < dstEnd || (date == dstEnd && minute < 60))
        let offsetMinutes = inDaylight ? 4 * 60 : 5 * 60
        let utcMinutes = Int64(date.daysSinceEpoch) * 1_440 + Int64(minute + offsetMinutes)
        return Timestamp(nanos: utcMinutes * 60_000_000_000)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
