import BourseCore
import BourseProjections
@testable import BourseVenue
import Testing

@Suite("portfolio history")
struct PortfolioHistorySpecs {
    /// Money units of whole dollars.
    static func dollars(_ d: Int64) -> Int64 { d * 10_000 }

    @Test("given a deposit, shares moved in and a buy, then equity is cash plus holdings at each interval's price and profit leaves out what was brought in")
    func equityAndProfit() {
        let minute: Int64 = 60_000_000_000
        let intervals = (0..<4).map { (start: Int64($0) * minute, end: Int64($0 + 1) * minute) }
        let changes = [
            // Minute 0: nothing yet. Minute 1: $1,000 deposited and 5 XYZ moved in (worth $50 then).
            OrderQueries.Holding(time: minute + 1, symbol: nil, cash: Self.dollars(1_000), shares: 0, isFlow: true),
            OrderQueries.Holding(time: minute + 2, symbol: "XYZ", cash: 0, shares: 5, isFlow: true),
            // Minute 2: 10 XYZ bought at $10 with a $0.01 fee.
            OrderQueries.Holding(time: 2 * minute + 1, symbol: "XYZ", cash: -Self.dollars(100) - 100, shares: 10, isFlow: false),
        ]
        // XYZ is $10 until minute 3 ends at $12.
        let history = PortfolioHistory.series(intervals, changes, timeframe: .minute) { symbol, t, _ in
            symbol == "XYZ" ? Self.dollars(t >= 4 * minute ? 12 : 10) : nil
        }
        #expect(history.timestamps == [0, 60, 120, 180])
        #expect(history.equity == [0, Self.dollars(1_050), Self.dollars(1_050) - 100, Self.dollars(1_080) - 100].map { Optional($0) })
        #expect(history.baseValue == 0)
        // Brought in: $1,000 and 5 shares at $10. The only profit is 15 shares gaining $2, less the fee.
        #expect(history.profitLoss == [0, 0, -100, Self.dollars(30) - 100].map { Optional($0) })
        #expect(history.profitLossBasisPoints == [nil, nil, nil, nil])
    }

    @Test("a holding without a price leaves equity unknown rather than wrong")
    func unpriced() {
        let changes = [OrderQueries.Holding(time: 1, symbol: "NEW", cash: 0, shares: 3, isFlow: true)]
        let history = PortfolioHistory.series([(start: 0, end: 10)], changes, timeframe: .minute) { _, _, _ in nil }
        #expect(history.equity == [nil] && history.profitLoss == [nil])
    }
}
