import BourseCore
import BourseRisk
import Testing

/// Margin calls: opened at a mark that finds a margin account below its house requirement, met when it
/// is covered, liquidated after the deadline; each step a journaled command the engine keeps.
@Suite("risk: margin calls")
struct MarginCallSpecs {
    let noon = Timestamp(nanos: 12 * 3_600_000_000_000)

    /// Account 1 ($1,000, margin) buys 190 XYZ at $10 from account 2; account 2 then sells 10 to account 3
    /// at $5, and a mark fixes $5.
    func fallen() -> RiskVenue {
        let v = RiskVenue()
        v.open(1, cash: "1000")
        v.open(2, cash: "1000")
        v.open(3, cash: "100000")
        v.when(.transferIn(AccountID(2), v.xyz, Quantity(1_000), costPerShare: Price(dollars: "10")!))
        v.trade(1, .buy, 190, at: "10", against: 2)
        v.trade(3, .buy, 10, at: "5", against: 2)
        v.mark()
        return v
    }

    func open(_ v: RiskVenue, deficit: String, deadline: Timestamp) -> MarginCallStep {
        MarginCallStep(kind: .open, account: AccountID(1), deficit: Money(dollars: deficit)!, mark: v.book.mark!.sequence, deadline: deadline,
                       reduceOnly: true)
    }

    @Test("given a fall to $5, then equity of $50 against a requirement of $237.50 opens a call for $187.50; opened, the account may only reduce")
    func opens() {
        let v = fallen()
        let f = v.figures(1)
        // Cash 1,000 − 1,900; 190 shares at $5; 25% of $950.
        #expect(f.equity == usd("50") && f.houseRequirement == usd("237.50") && f.excess == -usd("187.50"))
        #expect(v.book.marginActions(now: noon, liquidate: true) == [.open(AccountID(1), deficit: Int64(usd("187.50")))])
        let step = open(v, deficit: "187.50", deadline: Timestamp(nanos: noon.nanos + 3_600_000_000_000))
        #expect(v.when(.marginCall(step)) == [.marginCallChanged(1, step), .accountStateChanged(AccountID(1), .reduceOnly)])
        #expect(v.book.calls[AccountID(1)]?.id == 1 && v.book.calls[AccountID(1)]?.deficit == Int64(usd("187.50")))
        // Before the deadline nothing more is due; a second call is refused.
        #expect(v.book.marginActions(now: noon, liquidate: true).isEmpty)
        #expect(v.when(.marginCall(step)) == [.commandRejected(.marginCallOpen(AccountID(1)))])
        #expect(rejection(v.order(1, .buy, 1, at: "5")) != nil, "a reduce-only account opens nothing")
    }

    @Test("given an open call, when a deposit covers the deficit, then the call is met and the account is active again")
    func met() {
        let v = fallen()
        v.when(.marginCall(open(v, deficit: "187.50", deadline: Timestamp(nanos: noon.nanos + 1))))
        v.when(.deposit(AccountID(1), Money(dollars: "200")!))
        // Revalued at once, at the same mark: equity $250 against $237.50.
        #expect(v.figures(1).excess == usd("12.50"))
        #expect(v.book.marginActions(now: noon, liquidate: true) == [.met(AccountID(1))])
        let met = MarginCallStep(kind: .met, account: AccountID(1), mark: v.book.mark!.sequence)
        #expect(v.when(.marginCall(met)) == [.marginCallChanged(1, met), .accountStateChanged(AccountID(1), .active)])
        #expect(v.book.calls.isEmpty)
        #expect(v.when(.marginCall(met)) == [.commandRejected(.noMarginCall(AccountID(1)))])
    }

    @Test("given a call past its deadline, then the position is liquidated when enforced, once a round, and not otherwise")
    func liquidates() {
        let v = fallen()
        v.when(.marginCall(open(v, deficit: "187.50", deadline: noon)))
        #expect(v.book.marginActions(now: noon, liquidate: false).isEmpty)
        let due = v.book.marginActions(now: noon, liquidate: true)
        #expect(due == [.liquidate(AccountID(1), call: 1, closing: [.init(symbol: v.xyz, quantity: 190)])])
        v.when(.marginCall(MarginCallStep(kind: .liquidating, account: AccountID(1), mark: v.book.mark!.sequence)))
        #expect(v.book.calls[AccountID(1)]?.liquidationRounds == 1)
        // The next round waits for the last one's orders to trade.
        let soon = Timestamp(nanos: v.book.calls[AccountID(1)]!.lastRoundAt!.nanos + MarginCall.roundIntervalNanos - 1)
        #expect(v.book.marginActions(now: soon, liquidate: true).isEmpty)
    }

    @Test("given house rates of 60% on XYZ longs and 30% elsewhere, above the accounts' 25%, then each position takes the larger, and a call opens that the account's own rate would not")
    func houseRates() {
        let (xyz, abc) = (try! Symbol(validating: "XYZ"), try! Symbol(validating: "ABC"))
        let v = RiskVenue(house: HouseMargin(rates: .init(longBasisPoints: 3_000, shortBasisPoints: 3_000),
                                             symbols: [xyz: .init(longBasisPoints: 6_000, shortBasisPoints: 3_000)]))
        v.when(.listSymbol(abc, InstrumentRules(previousClose: Price(dollars: "50")!)))
        v.open(1, cash: "500")
        v.open(2, cash: "1000")
        v.open(3, cash: "100")
        v.when(.transferIn(AccountID(2), xyz, Quantity(1_000), costPerShare: Price(dollars: "10")!))
        v.when(.transferIn(AccountID(3), abc, Quantity(10), costPerShare: Price(dollars: "50")!))
        v.trade(1, .buy, 90, at: "10", against: 2)
        v.mark()
        // Account 1: cash 500 − 900, 90 XYZ at $10: equity $500; 60% of $900 is $540 where its own 25% is $225.
        let one = v.figures(1)
        #expect(one.equity == usd("500") && one.houseRequirement == usd("540") && one.excess == -usd("40"))
        #expect(one.regTRequirement == usd("450"), "Reg T stays the account's initial rate")
        // Account 3: 10 ABC at their $50 close, at the house's default 30%.
        #expect(v.figures(3).houseRequirement == usd("150"))
        #expect(v.book.marginActions(now: noon, liquidate: true) == [.open(AccountID(1), deficit: Int64(usd("40")))])
        // Without the house's rates the same book has no deficit.
        let own = RiskVenue()
        own.when(.listSymbol(abc, InstrumentRules(previousClose: Price(dollars: "50")!)))
        own.open(1, cash: "500")
        own.open(2, cash: "1000")
        own.when(.transferIn(AccountID(2), xyz, Quantity(1_000), costPerShare: Price(dollars: "10")!))
        own.trade(1, .buy, 90, at: "10", against: 2)
        own.mark()
        #expect(own.figures(1).houseRequirement == usd("225") && own.book.marginActions(now: noon, liquidate: true).isEmpty)
    }

    @Test("margin calls are for margin accounts, and a cash account's shortfall opens none")
    func cashAccounts() {
        let v = fallen()
        v.open(4, .cash, cash: "10")
        let step = MarginCallStep(kind: .open, account: AccountID(4), mark: 1)
        #expect(v.when(.marginCall(step)) == [.commandRejected(.notMarginAccount(AccountID(4)))])
    }
}

private func rejection(_ events: [Event]) -> RejectReason? {
    for case .orderRejected(_, _, let reason) in events { return reason }
    return nil
}
