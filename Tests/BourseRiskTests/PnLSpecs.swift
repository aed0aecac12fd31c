import BourseCore
import BourseRisk
import Testing

/// P&L, exposure and margin with figures computed by hand. XYZ's taker fee is one cent a share; the maker
/// pays nothing. Account 1 trades; account 2 is the other side, resting every order.
@Suite("risk: P&L and margin at marks")
struct PnLSpecs {
    func venue() -> RiskVenue {
        let v = RiskVenue()
        v.when(.setFees(v.xyz, FeeSchedule(makerPerShare: .zero, takerPerShare: Money(dollars: "0.01")!)))
        v.open(1, cash: "100000")
        v.open(2, cash: "1000000")
        v.when(.transferIn(AccountID(2), v.xyz, Quantity(1_000), costPerShare: Price(dollars: "10")!))
        return v
    }

    @Test("given buys at $10 and $12 and a sale of 150 at $13, then the sale realizes against the average cost and the rest is valued at the mark")
    func buysAndPartialSale() {
        let v = venue()
        v.trade(1, .buy, 100, at: "10", against: 2)
        v.trade(1, .buy, 100, at: "12", against: 2)
        v.trade(1, .sell, 150, at: "13", against: 2)
        v.mark()
        let f = v.figures(1)
        // Average cost $11: 150 sold realize 150 × (13 − 11) = $300; 50 left cost $550 and are worth $650.
        #expect(f.realized == usd("300"))
        #expect(f.unrealized == usd("100"))
        #expect(f.fees == usd("3.50"))
        #expect(f.totalPnL == usd("396.50"))
        // Cash: 100,000 − 1,001 − 1,201 + 1,948.50.
        #expect(f.cash == usd("99746.50"))
        #expect(f.equity == usd("100396.50"))
        #expect(f.longValue == usd("650") && f.shortValue == 0 && f.grossExposure == usd("650") && f.netExposure == usd("650"))
        // Reg T: 50% of $650; house: the account's 25% maintenance on longs.
        #expect(f.regTRequirement == usd("325"))
        #expect(f.houseRequirement == usd("162.50"))
        #expect(f.excess == usd("100234"))
        // $650 of $100,396.50 equity is 64.74 basis points, truncated.
        #expect(f.concentrationBasisPoints == 64)
    }

    @Test("given a short at $14 covered at $12, then the cover realizes $200 and nothing is left to value")
    func shortAndCover() {
        let v = venue()
        v.trade(1, .sell, 100, at: "14", against: 2)
        v.mark()
        var f = v.figures(1)
        // Short 100 at $14: the proceeds are its basis; at the $14 mark it has made nothing yet.
        #expect(f.shortValue == usd("1400") && f.netExposure == -usd("1400") && f.unrealized == 0)
        // 30% maintenance on shorts; cash holds the proceeds less the $1 fee.
        #expect(f.houseRequirement == usd("420"))
        #expect(f.cash == usd("101399"))
        #expect(f.equity == usd("99999"))
        v.trade(1, .buy, 100, at: "12", against: 2)
        v.mark()
        f = v.figures(1)
        #expect(f.realized == usd("200") && f.unrealized == 0 && f.fees == usd("2") && f.totalPnL == usd("198"))
        #expect(f.shortValue == 0 && f.houseRequirement == 0 && f.equity == usd("100198"))
    }

    @Test("given a close mark, then the day's P&L is measured from the total at it")
    func dayPnL() {
        let v = venue()
        v.trade(1, .buy, 100, at: "10", against: 2)
        v.trade(1, .buy, 100, at: "12", against: 2)
        v.mark(close: true)
        // At the close: 200 shares cost $2,200 worth $2,400, less $2 of fees.
        #expect(v.figures(1).totalPnL == usd("198") && v.figures(1).dayPnL == 0)
        v.trade(1, .sell, 150, at: "13", against: 2)
        v.mark()
        #expect(v.figures(1).totalPnL == usd("396.50"))
        #expect(v.figures(1).dayPnL == usd("198.50"))
        #expect(v.book.lastClose?.sequence ?? 0 < v.book.mark!.sequence)
    }

    @Test("between marks a trade moves cash and positions, valued at the last mark's prices, not the trade's")
    func betweenMarks() {
        let v = venue()
        v.trade(1, .buy, 100, at: "10", against: 2)
        v.mark()
        v.trade(1, .buy, 100, at: "12", against: 2)
        // Still the $10 mark: 200 shares worth $2,000 against $2,200 of cost.
        #expect(v.figures(1).longValue == usd("2000"))
        #expect(v.figures(1).unrealized == -usd("200"))
        #expect(v.book.mark?.sequence == v.sequence - 2)
    }

    @Test("a margin account's figures at a last-trade mark equal the engine's own margin figures")
    func agreesWithEngine() {
        let v = venue()
        v.trade(1, .buy, 100, at: "10", against: 2)
        v.trade(1, .sell, 40, at: "11", against: 2)
        v.mark()
        let engine = v.engine.accountSummary(AccountID(1))!
        let f = v.figures(1)
        #expect(Int128(engine.equity!.units) == f.equity)
        #expect(Int128(engine.maintenanceRequirement!.units) == f.houseRequirement)
        #expect(Int128(engine.initialRequirement!.units) == f.regTRequirement)
        #expect(Int128(engine.unrealizedPnL!.units) == f.unrealized)
        #expect(Int128(engine.realizedPnL.units) == f.realized)
    }

    @Test("a position without a price is counted, and left out of value and P&L rather than guessed")
    func unpriced() {
        let v = venue()
        let abc = try! Symbol(validating: "ABC")
        v.when(.listSymbol(abc, .standard))
        v.when(.transferIn(AccountID(1), abc, Quantity(10), costPerShare: Price(dollars: "5")!))
        v.mark()
        #expect(v.figures(1).unpricedPositions == 1)
        #expect(v.figures(1).longValue == 0 && v.figures(1).unrealized == 0)
    }
}
