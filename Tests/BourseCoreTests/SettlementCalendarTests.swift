import BourseCore
import Testing

@Suite("the settlement calendar")
struct SettlementCalendarTests {
    let calendar = SettlementCalendar.us

    func date(_ text: String) -> CivilDate { CivilDate(text)! }

    /// Weekdays of `year` that are not settlement days.
    func closedWeekdays(_ year: Int, _ calendar: SettlementCalendar = .us) -> [String] {
        (date("\(year)-01-01").daysSinceEpoch...date("\(year)-12-31").daysSinceEpoch)
            .map { CivilDate(daysSinceEpoch: $0) }
            .filter { !$0.isWeekend && !calendar.isSettlementDay($0) }
            .map(\.description)
    }

    @Test("2026: the exchange's holidays and the banks' (Columbus Day, Veterans Day); Good Friday and July 3 close the exchange")
    func year2026() {
        #expect(closedWeekdays(2026) == ["2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19",
                                         "2026-07-03", "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25"])
    }

    @Test("the banks' weekend rules: a Sunday holiday closes the Monday after, a Saturday one leaves the Friday before open")
    func weekendRules() {
        // 2022: New Year's Day on a Saturday (no day off), Juneteenth and Christmas on Sundays.
        #expect(closedWeekdays(2022) == ["2022-01-17", "2022-02-21", "2022-04-15", "2022-05-30", "2022-06-20", "2022-07-04",
                                         "2022-09-05", "2022-10-10", "2022-11-11", "2022-11-24", "2022-12-26"])
        // 2023: Veterans Day on a Saturday, so Friday November 10 settles.
        #expect(closedWeekdays(2023) == ["2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19",
                                         "2023-07-04", "2023-09-04", "2023-10-09", "2023-11-23", "2023-12-25"])
        #expect(calendar.isSettlementDay(date("2023-11-10")))
    }

    @Test("given a trade on the Friday before Columbus Day, when it settles T+1, then it settles on Tuesday")
    func columbusDay() {
        #expect(calendar.settlementDate(tradeDate: date("2026-10-09"), cycle: 1) == date("2026-10-13"))
        // Columbus Day is a trading day: its trades settle the same Tuesday.
        #expect(calendar.settlementDate(tradeDate: date("2026-10-12"), cycle: 1) == date("2026-10-13"))
        #expect(calendar.settlementDate(tradeDate: date("2026-10-09"), cycle: 2) == date("2026-10-14"))
    }

    @Test("T+0 settles on the trade date when it is a settlement day, otherwise on the next one")
    func sameDay() {
        #expect(calendar.settlementDate(tradeDate: date("2026-10-13"), cycle: 0) == date("2026-10-13"))
        #expect(calendar.settlementDate(tradeDate: date("2026-10-12"), cycle: 0) == date("2026-10-13"))
        #expect(calendar.settlementDate(tradeDate: date("2026-11-11"), cycle: 0) == date("2026-11-12"))
    }

    @Test("across Veterans Day, Thanksgiving and Good Friday")
    func holidays() {
        #expect(calendar.settlementDate(tradeDate: date("2026-11-10"), cycle: 1) == date("2026-11-12"))
        #expect(calendar.settlementDate(tradeDate: date("2026-11-25"), cycle: 1) == date("2026-11-27"))
        #expect(calendar.settlementDate(tradeDate: date("2026-11-25"), cycle: 2) == date("2026-11-30"))
        #expect(calendar.settlementDate(tradeDate: date("2026-04-02"), cycle: 1) == date("2026-04-06"))
        #expect(calendar.settlementDate(tradeDate: date("2026-12-24"), cycle: 1) == date("2026-12-28"))
    }

    @Test("overrides close a day the rules do not know and open one they close")
    func overrides() {
        let storm = SettlementCalendar(overrides: [date("2026-03-10"): .closed])
        #expect(storm.settlementDate(tradeDate: date("2026-03-09"), cycle: 1) == date("2026-03-11"))
        let open = SettlementCalendar(overrides: [date("2026-10-12"): .open, date("2026-10-10"): .open])
        #expect(open.settlementDate(tradeDate: date("2026-10-09"), cycle: 1) == date("2026-10-12"))
        // A weekend day stays closed whatever an override says.
        #expect(!open.isSettlementDay(date("2026-10-10")))
        // The exchange's own overrides close settlement too.
        let mourning = SettlementCalendar(exchange: ExchangeCalendar(overrides: [date("2025-01-09"): .closed]))
        #expect(mourning.settlementDate(tradeDate: date("2025-01-08"), cycle: 1) == date("2025-01-10"))
    }

    @Test("over 2,000 random trade dates and cycles: the settlement date is the cycle-th settlement day after the trade date")
    func property() {
        var random = SplitMix64(seed: 19)
        let first = date("2020-01-01").daysSinceEpoch, last = date("2030-12-31").daysSinceEpoch
        for _ in 0..<2_000 {
            let trade = CivilDate(daysSinceEpoch: Int.random(in: first...last, using: &random))
            let cycle = Int.random(in: 0...5, using: &random)
            let settles = calendar.settlementDate(tradeDate: trade, cycle: cycle)
            #expect(calendar.isSettlementDay(settles))
            let between = (trade.daysSinceEpoch + 1...max(trade.daysSinceEpoch + 1, settles.daysSinceEpoch))
                .filter { calendar.isSettlementDay(CivilDate(daysSinceEpoch: $0)) }.count
            if cycle == 0 {
                // The trade date itself, or the first settlement day after it.
                #expect(settles == trade || (settles > trade && between == 1), "\(trade) T+0 → \(settles)")
            } else {
                #expect(between == cycle, "\(trade) T+\(cycle) → \(settles): \(between) settlement days")
            }
        }
    }
}
