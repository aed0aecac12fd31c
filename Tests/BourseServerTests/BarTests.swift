@testable import BourseServer
@testable import BourseVenue
import BourseCore
import BourseMarketData
import Testing

@Suite("bars")
struct BarTests {
    static let minute: Int64 = 60_000_000_000
    /// 2026-11-20 14:30 UTC, 09:30 in New York.
    static let open: Int64 = API.parseTime("2026-11-20T14:30:00Z")!
    let aapl = try! Symbol(validating: "AAPL")

    @Test("a minute bar takes every trade of its minute; a trade of a later minute closes it")
    func minuteBoundaries() {
        var book = BarBook()
        #expect(book.add(aapl, price: 1_900_000, quantity: 10, at: Self.open) == nil)
        #expect(book.add(aapl, price: 1_905_000, quantity: 5, at: Self.open + Self.minute - 1) == nil)
        #expect(book.add(aapl, price: 1_899_000, quantity: 5, at: Self.open + 30_000_000_000) == nil)
        let closed = book.add(aapl, price: 1_901_000, quantity: 1, at: Self.open + Self.minute)
        #expect(closed?.start == Self.open)
        #expect(closed?.open == 1_900_000 && closed?.high == 1_905_000 && closed?.low == 1_899_000 && closed?.close == 1_899_000)
        #expect(closed?.volume == 20 && closed?.trades == 3)
        // VWAP: (190.00×10 + 190.50×5 + 189.90×5) / 20 = 190.10, exactly.
        #expect(closed?.vwap == 1_901_000)
        #expect(closed?.json == #"{"t":"2026-11-20T14:30:00.000000000Z","o":190.00,"h":190.50,"l":189.90,"c":189.90,"v":20,"n":3,"vw":190.10}"#)
    }

    @Test("a quiet symbol's bar closes when its minute has passed, not before")
    func closeByTime() {
        var book = BarBook()
        _ = book.add(aapl, price: 1_900_000, quantity: 1, at: Self.open + 5)
        #expect(book.close(before: Self.open + Self.minute - 1).isEmpty)
        #expect(book.close(before: Self.open + Self.minute).map(\.1.start) == [Self.open])
        #expect(book.bars(aapl, .minute, from: 0, to: .max, limit: 10).count == 1)
    }

    @Test("longer timeframes fold minute bars; a day bar starts at New York midnight and holds one trading day")
    func folding() {
        var book = BarBook()
        // One trade a minute for two hours from the open, at 190.00 + a cent a minute.
        for i in 0..<120 { _ = book.add(aapl, price: 1_900_000 + Int64(i) * 100, quantity: 1, at: Self.open + Int64(i) * Self.minute) }
        let fives = book.bars(aapl, .fiveMinutes, from: 0, to: .max, limit: 1_000)
        #expect(fives.count == 24 && fives.allSatisfy { $0.volume == 5 && $0.trades == 5 })
        #expect(fives[1].open == 1_900_500 && fives[1].close == 1_900_900)
        let hours = book.bars(aapl, .hour, from: 0, to: .max, limit: 1_000)
        // 14:30–15:00 in the 14:00 hour, 15:00–16:00, and 16:00–16:30.
        #expect(hours.map(\.volume) == [30, 60, 30])
        #expect(hours[0].start == API.parseTime("2026-11-20T14:00:00Z"))
        let days = book.bars(aapl, .day, from: 0, to: .max, limit: 1_000)
        #expect(days.count == 1 && days[0].volume == 120)
        // New York is at UTC−5 on 20 November.
        #expect(days[0].start == API.parseTime("2026-11-20T05:00:00Z"))
        // start and end select by bar time; limit counts bars.
        #expect(book.bars(aapl, .fifteenMinutes, from: Self.open + 15 * Self.minute, to: .max, limit: 2).map(\.start)
                == [Self.open + 15 * Self.minute, Self.open + 30 * Self.minute])
        // In July New York is at UTC−4.
        #expect(Timeframe.day.start(API.parseTime("2026-07-01T03:59:59Z")!) == API.parseTime("2026-06-30T04:00:00Z"))
    }

    @Test("times parse from RFC 3339 with fractions and offsets, or a date; anything else is refused")
    func parsing() {
        #expect(API.parseTime("1970-01-01") == 0)
        #expect(API.parseTime("2026-11-20T14:30:00Z") == API.parseTime("2026-11-20T09:30:00-05:00"))
        #expect(API.parseTime("2026-11-20T14:30:00.5Z")! - API.parseTime("2026-11-20T14:30:00Z")! == 500_000_000)
        #expect(API.parseTime("2026-11-20T14:30:00.123456789Z")! % 1_000_000_000 == 123_456_789)
        #expect(API.parseTime("2024-02-29") != nil)
        for bad in ["2023-02-29", "2026-13-01", "2026-11-20T24:00:00Z", "2026-11-20T14:30:00", "2026-11-20T14:30:00.Z",
                    "2026-11-20T14:30:00.1234567891Z", "20261120", "2026-11-20 14:30:00Z", "2026-11-20T14:30:00+0500", ""] {
            #expect(API.parseTime(bad) == nil, "\(bad)")
        }
    }
}
