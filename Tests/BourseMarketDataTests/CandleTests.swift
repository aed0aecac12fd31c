import BourseCore
import BourseMarketData
import Testing

@Suite("candles")
struct CandleTests {
    let aapl = try! Symbol(validating: "AAPL")
    static let minute: Int64 = 60_000_000_000

    /// An instant in New York local time.
    static func ny(_ date: String, _ hour: Int, _ minute: Int = 0) -> Int64 {
        ExchangeCalendar.instant(CivilDate(date)!, minute: hour * 60 + minute).nanos
    }

    @Test("a trade at an interval's first nanosecond starts a new bar; one a nanosecond earlier is in the last")
    func boundaries() {
        let t = Self.ny("2026-11-20", 10, 15)
        for (timeframe, length) in [(Timeframe.minute, Self.minute), (.fiveMinutes, 5 * Self.minute), (.fifteenMinutes, 15 * Self.minute), (.hour, 60 * Self.minute)] {
            let boundary = timeframe == .hour ? Self.ny("2026-11-20", 11) : t
            #expect(timeframe.start(boundary) == boundary, "\(timeframe)")
            #expect(timeframe.start(boundary - 1) == boundary - length, "\(timeframe)")
            #expect(timeframe.end(after: boundary) == boundary + length)
        }
        var book = BarBook()
        _ = book.add(aapl, price: 100, quantity: 1, at: t - 1)
        _ = book.add(aapl, price: 200, quantity: 2, at: t)
        let fives = book.bars(aapl, .fiveMinutes, from: 0, to: .max, limit: 10)
        #expect(fives.map(\.start) == [t - 5 * Self.minute, t] && fives.map(\.volume) == [1, 2])
    }

    @Test("a day bar holds a trading day, pre-market and after-hours included; its start is New York midnight, across DST")
    func sessions() {
        var book = BarBook()
        // 2026-03-09 is the first Monday on daylight time: New York is at UTC−4.
        _ = book.add(aapl, price: 1_000_000, quantity: 7, at: Self.ny("2026-03-09", 12))
        for (hour, minute) in [(4, 0), (9, 30), (15, 59), (19, 59)] {
            _ = book.add(aapl, price: 1_000_000, quantity: 1, at: Self.ny("2026-11-20", hour, minute))
        }
        let days = book.bars(aapl, .day, from: 0, to: .max, limit: 10)
        #expect(days.map(\.volume) == [7, 4])
        #expect(days.map(\.start) == [Self.ny("2026-03-09", 0), Self.ny("2026-11-20", 0)])
        #expect(days[0].start % (3_600 * 1_000_000_000) == 0 && (days[0].start / 3_600_000_000_000) % 24 == 4)
        #expect((days[1].start / 3_600_000_000_000) % 24 == 5)
        #expect(book.bars(aapl, .minute, from: 0, to: .max, limit: 10).count == 5)
    }

    @Test("day and week bars follow the calendar: a holiday's or weekend's trades go to the next trading day; a week starts on its first trading day")
    func calendar() {
        var book = BarBook()
        let trades: [(String, Int64)] = [
            ("2026-01-16", 1),  // Friday
            ("2026-01-19", 2),  // Martin Luther King Jr. Day: the market is closed
            ("2026-01-20", 4),  // Tuesday
            ("2026-11-25", 8),  // Wednesday before Thanksgiving
            ("2026-11-26", 16), // Thanksgiving
            ("2026-11-27", 32), // the early close
            ("2026-11-28", 64), // Saturday
            ("2026-11-29", 128), // Sunday
            ("2026-11-30", 256), // Monday
        ]
        for (date, quantity) in trades { _ = book.add(aapl, price: 1_000_000, quantity: quantity, at: Self.ny(date, 12)) }
        let days = book.bars(aapl, .day, from: 0, to: .max, limit: 100)
        #expect(days.map(\.start) == ["2026-01-16", "2026-01-20", "2026-11-25", "2026-11-27", "2026-11-30"].map { Self.ny($0, 0) })
        let dayVolumes: [Int64] = [1, 6, 8, 48, 448]
        #expect(days.map(\.volume) == dayVolumes)
        let weeks = book.bars(aapl, .week, from: 0, to: .max, limit: 100)
        // The week of 19 January starts on Tuesday the 20th; the week of 23 November on Monday the 23rd.
        #expect(weeks.map(\.start) == ["2026-01-12", "2026-01-20", "2026-11-23", "2026-11-30"].map { Self.ny($0, 0) })
        let weekVolumes: [Int64] = [1, 6, 56, 448]
        #expect(weeks.map(\.volume) == weekVolumes)
        #expect(Timeframe.week.end(after: Self.ny("2026-01-20", 0)) == Self.ny("2026-01-26", 0))
        #expect(Timeframe.day.end(after: Self.ny("2026-11-27", 0)) == Self.ny("2026-11-28", 0))
        // A calendar with an extra closure moves that day's trades too.
        var closed = BarBook(calendar: ExchangeCalendar(overrides: [CivilDate("2026-11-25")!: .closed]))
        _ = closed.add(aapl, price: 1_000_000, quantity: 8, at: Self.ny("2026-11-25", 12))
        #expect(closed.bars(aapl, .day, from: 0, to: .max, limit: 10).map(\.start) == [Self.ny("2026-11-27", 0)])
    }

    @Test("random trades over weeks: every timeframe's bars equal a direct computation, and volume and notional are conserved")
    func property() {
        var rng = SplitMix64(seed: 0xCA_11DE)
        let calendar = ExchangeCalendar.nyse
        for round in 0..<20 {
            var book = BarBook()
            var time = Self.ny("2026-10-30", 0) + Int64.random(in: 0..<86_400_000_000_000, using: &rng)
            var trades: [(Int64, Int64, Int64)] = []
            for _ in 0..<2_000 {
                // Gaps from a microsecond to a day and a half, so that bars of every length start and end.
                time += Int64.random(in: 1_000...(Bool.random(using: &rng) ? 600_000_000_000 : 129_600_000_000_000), using: &rng)
                let trade = (time, Int64.random(in: 1...2_000_000, using: &rng), Int64.random(in: 1...500, using: &rng))
                trades.append(trade)
                _ = book.add(aapl, price: trade.1, quantity: trade.2, at: trade.0)
            }
            for timeframe in Timeframe.allCases {
                // Directly: each trade's bar from the rules, days by walking the calendar.
                var expected: [Bar] = []
                for (t, price, quantity) in trades {
                    let start: Int64
                    switch timeframe {
                    case .day, .week:
                        var date = ExchangeCalendar.newYorkDate(Timestamp(nanos: t))
                        while calendar.session(on: date) == nil { date = date.adding(days: 1) }
                        if timeframe == .week {
                            var first = date
                            while first.weekday != 1 { first = first.adding(days: -1) }
                            while calendar.session(on: first) == nil { first = first.adding(days: 1) }
                            date = first
                        }
                        start = ExchangeCalendar.instant(date, minute: 0).nanos
                    default:
                        let length: Int64 = [Timeframe.minute: 1, .fiveMinutes: 5, .fifteenMinutes: 15, .hour: 60][timeframe]! * Self.minute
                        start = t - t % length
                    }
                    if expected.last?.start == start {
                        expected[expected.count - 1].add(price: price, quantity: quantity)
                    } else {
                        expected.append(Bar(start: start, price: price, quantity: quantity))
                    }
                }
                let built = book.bars(aapl, timeframe, from: 0, to: .max, limit: .max)
                #expect(built == expected, "round \(round) \(timeframe)")
                #expect(built.reduce(0) { $0 + $1.volume } == trades.reduce(0) { $0 + $1.2 })
                #expect(built.reduce(Int128(0)) { $0 + $1.notional } == trades.reduce(Int128(0)) { $0 + Int128($1.1) * Int128($1.2) })
            }
        }
    }
}
