import BourseCore
import Testing

@Suite("the exchange calendar")
struct ExchangeCalendarTests {
    let calendar = ExchangeCalendar.nyse

    func date(_ text: String) -> CivilDate { CivilDate(text)! }

    func closedDays(_ year: Int) -> [String] {
        (date("\(year)-01-01").daysSinceEpoch...date("\(year)-12-31").daysSinceEpoch)
            .map { CivilDate(daysSinceEpoch: $0) }
            .filter { !$0.isWeekend && calendar.session(on: $0) == nil }
            .map(\.description)
    }

    @Test("the NYSE holidays of 2026, Independence Day observed on Friday July 3")
    func holidays2026() {
        #expect(closedDays(2026) == ["2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19",
                                     "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"])
    }

    @Test("2025 with the national day of mourning of January 9 as an override, and its early closes")
    func year2025() {
        let withMourning = ExchangeCalendar(overrides: [date("2025-01-09"): .closed])
        let closed = (date("2025-01-01").daysSinceEpoch...date("2025-12-31").daysSinceEpoch)
            .map { CivilDate(daysSinceEpoch: $0) }
            .filter { !$0.isWeekend && withMourning.session(on: $0) == nil }
            .map(\.description)
        #expect(closed == ["2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19",
                           "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"])
        let early = calendar.sessions(from: date("2025-01-01"), through: date("2025-12-31")).filter(\.isEarlyClose).map(\.date.description)
        #expect(early == ["2025-07-03", "2025-11-28", "2025-12-24"])
    }

    @Test("New Year's Day on a Saturday is not observed on the Friday before; on a Sunday it moves to Monday")
    func newYear() {
        #expect(calendar.session(on: date("2021-12-31")) != nil)
        #expect(calendar.session(on: date("2023-01-02")) == nil)
    }

    @Test("sessions open at 09:30 New York time in UTC across daylight saving; early closes at 13:00")
    func times() {
        // 2026-03-06 is in standard time (UTC-5), 2026-03-09 in daylight time (UTC-4).
        #expect(UTC.text(calendar.session(on: date("2026-03-06"))!.open) == "2026-03-06T14:30")
        #expect(UTC.text(calendar.session(on: date("2026-03-09"))!.open) == "2026-03-09T13:30")
        #expect(UTC.text(calendar.session(on: date("2026-11-27"))!.close) == "2026-11-27T18:00")
        #expect(UTC.text(calendar.session(on: date("2026-11-02"))!.close) == "2026-11-02T21:00")
    }

    @Test("T+1 settlement skips weekends and holidays")
    func settlement() {
        #expect(calendar.tradingDay(after: date("2026-11-27")) == date("2026-11-30"))
        #expect(calendar.tradingDay(after: date("2026-12-24")) == date("2026-12-28"))
        #expect(calendar.tradingDay(after: date("2026-07-02")) == date("2026-07-06"))
    }

    @Test("the clock: open during a session; on a weekend the next open is Monday's")
    func clock() {
        let monday = calendar.session(on: date("2026-11-23"))!
        let during = calendar.clock(at: Timestamp(nanos: monday.open.nanos + 60_000_000_000))
        #expect(during.isOpen && during.nextClose == monday.close)
        let saturday = ExchangeCalendar.instant(date("2026-11-21"), minute: 12 * 60)
        let weekend = calendar.clock(at: saturday)
        #expect(!weekend.isOpen && weekend.nextOpen == monday.open)
        #expect(ExchangeCalendar.newYorkDate(Timestamp(nanos: monday.close.nanos + 5 * 3_600_000_000_000)) == date("2026-11-23"))
    }

    @Test("dates parse only when they exist, and weekdays are right before and after 1970")
    func dates() {
        #expect(CivilDate("2026-02-29") == nil && CivilDate("2024-02-29") != nil && CivilDate("2024-2-29") == nil)
        #expect(date("1969-12-27").weekday == 6 && date("1970-01-01").weekday == 4 && date("2026-11-22").weekday == 0)
    }
}

/// Minutes-precision UTC text of an instant, for readable expectations.
enum UTC {
    static func text(_ t: Timestamp) -> String {
        let minutes = Int(t.nanos / 60_000_000_000)
        let d = CivilDate(daysSinceEpoch: minutes / 1_440)
        let m = minutes % 1_440
        func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(d)T\(pad(m / 60)):\(pad(m % 60))"
    }
}

@Suite("dates read from outside")
struct SupportedDateTests {
    @Test("a date parses only when it exists and its instants fit a timestamp")
    func range() {
        #expect(CivilDate("1678-01-01") == CivilDate(year: 1678, month: 1, day: 1))
        #expect(CivilDate("2261-12-31") == CivilDate(year: 2261, month: 12, day: 31))
        for text in ["1677-12-31", "2262-01-01", "0000-01-01", "0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01",
                     "2026-1-01", "+026-01-01", "2026-01-01 ", "２０２６-01-01", ""] {
            #expect(CivilDate(text) == nil, "\(text)")
        }
    }

    @Test("every supported date's session instants are computed without overflow, a week either side included")
    func instantsFit() {
        for date in [CivilDate.supported.lowerBound, CivilDate.supported.upperBound.adding(days: 7)] {
            let calendar = ExchangeCalendar.nyse
            _ = calendar.sessions(from: date.adding(days: -7), through: date)
            _ = ExchangeCalendar.instant(date, minute: 24 * 60 - 1)
        }
    }
}
