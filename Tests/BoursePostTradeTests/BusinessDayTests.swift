import BourseCore
import BoursePostTrade
import Testing

@Suite("business days and their cutoff")
struct BusinessDayTests {
    let days = BusinessDay()

    func date(_ text: String) -> CivilDate { CivilDate(text)! }
    /// An instant given in New York time.
    func at(_ text: String, _ hour: Int, _ minute: Int = 0) -> Timestamp { ExchangeCalendar.instant(date(text), minute: hour * 60 + minute) }

    @Test("given work at 10:00 on a business day, then it belongs to that day; at the cutoff and after, to the next")
    func cutoff() {
        #expect(days.businessDate(at: at("2026-10-08", 10)) == date("2026-10-08"))
        #expect(days.businessDate(at: at("2026-10-08", 17, 29)) == date("2026-10-08"))
        #expect(days.businessDate(at: at("2026-10-08", 17, 30)) == date("2026-10-09"))
        // Friday evening goes to Monday; Columbus Day trades, so it is a business day.
        #expect(days.businessDate(at: at("2026-10-09", 20)) == date("2026-10-12"))
    }

    @Test("work on a weekend or an exchange holiday belongs to the next business day")
    func closedDays() {
        #expect(days.businessDate(at: at("2026-10-10", 12)) == date("2026-10-12"))
        #expect(days.businessDate(at: at("2026-11-26", 12)) == date("2026-11-27"))
        #expect(days.businessDate(at: at("2026-04-03", 9)) == date("2026-04-06"))
        #expect(days.onOrAfter(date("2026-12-25")) == date("2026-12-28") && days.after(date("2026-12-24")) == date("2026-12-28"))
    }

    @Test("the rollover is due at the cutoff, in New York time across the change to standard time")
    func rollover() {
        #expect(!days.rolloverDue(current: date("2026-10-30"), at: at("2026-10-30", 17, 29)))
        #expect(days.rolloverDue(current: date("2026-10-30"), at: at("2026-10-30", 17, 30)))
        // November 2, 2026 is in standard time: 17:30 in New York is 22:30 UTC.
        #expect(days.cutoff(of: date("2026-11-02")) == Timestamp(nanos: Int64(date("2026-11-02").daysSinceEpoch) * 86_400_000_000_000 + 22 * 3_600_000_000_000 + 30 * 60_000_000_000))
        let early = BusinessDay(cutoffMinute: 16 * 60)
        #expect(early.businessDate(at: at("2026-10-08", 16, 30)) == date("2026-10-09"))
    }
}
