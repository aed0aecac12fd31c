import BourseCore
import BourseEngine
import Testing

@Suite("netting and delivery versus payment")
struct SettlementTests {
    let aapl = try! Symbol(validating: "AAPL")
    let a = AccountID(1)
    let b = AccountID(2)
    let c = AccountID(3)

    func trade(_ account: AccountID, _ side: Side, _ shares: Int64, at dollars: Int64, _ symbol: Symbol? = nil) -> Netting.DueTrade {
        Netting.DueTrade(account: account, symbol: symbol ?? aapl, side: side, quantity: Quantity(shares), money: Money(units: shares * dollars * 10_000))
    }

    func obligation(_ account: AccountID, _ shares: Int64, _ money: Int64) -> Netting.Obligation {
        Netting.Obligation(account: account, symbol: aapl, shares: shares, money: money)
    }

    @Test("""
        given A buying 100 at $10 and selling 30 at $11, B selling 100 at $10 and C buying 30 at $11, when they net, \
        then A receives 70 and pays $670, B delivers 100 for $1,000, C receives 30 for $330
        """)
    func netting() throws {
        let due = [trade(a, .buy, 100, at: 10), trade(a, .sell, 30, at: 11), trade(b, .sell, 100, at: 10), trade(c, .buy, 30, at: 11)]
        let expected = [obligation(a, 70, -6_700_000), obligation(b, -100, 10_000_000), obligation(c, 30, -3_300_000)]
        #expect(try Netting.net(due, carried: []) == expected)
        #expect(try Netting.net(due.reversed(), carried: []) == expected)
        #expect(Netting.money(expected) == [a: -6_700_000, b: 10_000_000, c: -3_300_000])
        // Trades that cancel out leave no obligation; a round trip at a profit leaves money alone.
        #expect(try Netting.net([trade(a, .buy, 10, at: 10), trade(a, .sell, 10, at: 10)], carried: []) == [])
        #expect(try Netting.net([trade(a, .buy, 10, at: 10), trade(a, .sell, 10, at: 12)], carried: []) == [obligation(a, 0, 200_000)])
    }

    @Test("""
        given B short of 40 shares, when the cycle settles, then B delivers 60, A receives them and pays in proportion, \
        the rest fails; marked at $12 and settled the next cycle, every participant has moved exactly what it owed
        """)
    func failCarriedForward() throws {
        let obligations = [obligation(a, 70, -6_700_000), obligation(b, -100, 10_000_000), obligation(c, 30, -3_300_000)]
        let first = Delivery.settle(obligations, available: [Netting.Key(account: b, symbol: aapl): 60])
        #expect(first.outcomes[obligations[1]]?.settledShares == -60 && first.outcomes[obligations[1]]?.settledMoney == 6_000_000)
        #expect(first.outcomes[obligations[0]]?.settledShares == 60 && first.outcomes[obligations[0]]?.settledMoney == -5_742_857)
        #expect(first.outcomes[obligations[2]]?.settledShares == 0)
        let fails = obligations.compactMap { first.outcomes[$0]?.fail }
        #expect(fails == [obligation(a, 10, -957_143), obligation(b, -40, 4_000_000), obligation(c, 30, -3_300_000)])
        #expect(first.undistributed.isEmpty)

        let marked = try fails.map { try Delivery.markToMarket($0, price: Price(units: 120_000)) }
        #expect(marked.map(\.payment) == [242_857, -800_000, 300_000])
        let carried = marked.map(\.fail)
        #expect(carried == [obligation(a, 10, -1_200_000), obligation(b, -40, 4_800_000), obligation(c, 30, -3_600_000)])

        let next = try Netting.net([], carried: carried)
        let second = Delivery.settle(next, available: [Netting.Key(account: b, symbol: aapl): 40])
        #expect(next.allSatisfy { second.outcomes[$0]?.fail == nil })
        // A: 5,742,857 paid, 242,857 received at the mark, 1,200,000 paid: $670 in all.
        #expect(-5_742_857 + 242_857 - 1_200_000 == -6_700_000)
        #expect(second.outcomes[next[0]]?.settledMoney == -1_200_000 && second.outcomes[next[1]]?.settledMoney == 4_800_000)
    }

    @Test("money alone settles whole; an owed delivery with nothing available fails whole")
    func edges() {
        let money = obligation(a, 0, 200_000)
        let settled = Delivery.settle([money], available: [:]).outcomes[money]
        #expect(settled?.settledShares == 0 && settled?.settledMoney == 200_000 && settled?.fail == nil)
        let short = obligation(b, -5, 500_000)
        #expect(Delivery.settle([short], available: [:]).outcomes[short]?.fail == short)
    }

    @Test("an obligation past the limits is refused, not overflowed")
    func limits() {
        let huge = Netting.Obligation(account: a, symbol: aapl, shares: Netting.sharesMax, money: -Netting.moneyMax)
        #expect(throws: Netting.Refusal.self) { try Netting.net([trade(a, .buy, 1, at: 1)], carried: [huge]) }
        #expect(throws: Netting.Refusal.self) { try Delivery.markToMarket(huge, price: Price.max) }
    }

    @Test("over random trades, fails and prices: settled plus failed is each obligation; shares and cash are conserved; all settles in the end")
    func property() throws {
        var random = SplitMix64(seed: 2_026)
        let symbols = try ["AAPL", "MSFT", "IBM"].map { try Symbol(validating: $0) }
        for _ in 0..<200 {
            let participants = (1...UInt32.random(in: 2...6, using: &random)).map(AccountID.init)
            var owed: [Netting.Key: (shares: Int64, money: Int64)] = [:]
            var moved: [Netting.Key: (shares: Int64, money: Int64)] = [:]
            var carried: [Netting.Obligation] = []
            var counterpartyCash: Int64 = 0
            let days = Int.random(in: 1...4, using: &random)
            for day in 0...days + 3 {
                var due: [Netting.DueTrade] = []
                if day < days {
                    for _ in 0..<Int.random(in: 0...12, using: &random) {
                        let buyer = participants.randomElement(using: &random)!, seller = participants.randomElement(using: &random)!
                        let symbol = symbols.randomElement(using: &random)!
                        let shares = Int64.random(in: 1...500, using: &random), price = Int64.random(in: 1...2_000_000, using: &random)
                        due.append(Netting.DueTrade(account: buyer, symbol: symbol, side: .buy, quantity: Quantity(shares), money: Money(units: shares * price)))
                        due.append(Netting.DueTrade(account: seller, symbol: symbol, side: .sell, quantity: Quantity(shares), money: Money(units: shares * price)))
                    }
                }
                for t in due {
                    let key = Netting.Key(account: t.account, symbol: t.symbol)
                    owed[key, default: (0, 0)].shares += t.side == .buy ? t.quantity.shares : -t.quantity.shares
                    owed[key, default: (0, 0)].money += t.side == .buy ? -t.money.units : t.money.units
                }
                // Fails are marked at a new price before they net again.
                var marked: [Netting.Obligation] = []
                for fail in carried {
                    let (revalued, payment) = try Delivery.markToMarket(fail, price: Price(units: Int64.random(in: 1...2_000_000, using: &random)))
                    moved[Netting.Key(account: fail.account, symbol: fail.symbol), default: (0, 0)].money += payment
                    counterpartyCash -= payment
                    marked.append(revalued)
                }
                let obligations = try Netting.net(due, carried: marked)
                // Some days some participants hold only part of what they owe; the last days everyone has enough.
                var available: [Netting.Key: Int64] = [:]
                for o in obligations where o.shares < 0 {
                    available[Netting.Key(account: o.account, symbol: o.symbol)] = day >= days + 2 ? -o.shares : Int64.random(in: 0...(-o.shares), using: &random)
                }
                let cycle = Delivery.settle(obligations, available: available)
                #expect(cycle.undistributed.isEmpty, "trades with both sides inside leave the counterparty no shares")
                var delivered: [Symbol: Int64] = [:]
                carried = []
                for o in obligations {
                    let outcome = try #require(cycle.outcomes[o])
                    let rest = outcome.fail ?? Netting.Obligation(account: o.account, symbol: o.symbol, shares: 0, money: 0)
                    #expect(outcome.settledShares + rest.shares == o.shares && outcome.settledMoney + rest.money == o.money)
                    delivered[o.symbol, default: 0] += outcome.settledShares
                    moved[Netting.Key(account: o.account, symbol: o.symbol), default: (0, 0)].shares += outcome.settledShares
                    moved[Netting.Key(account: o.account, symbol: o.symbol), default: (0, 0)].money += outcome.settledMoney
                    counterpartyCash -= outcome.settledMoney
                    if let fail = outcome.fail { carried.append(fail) }
                }
                #expect(delivered.values.allSatisfy { $0 == 0 }, "shares received equal shares delivered in each security")
            }
            #expect(carried.isEmpty, "with enough shares everything settles")
            #expect(counterpartyCash == 0, "the counterparty ends with no cash of its own")
            for (key, total) in owed where total.shares != 0 || total.money != 0 {
                let done = moved[key] ?? (0, 0)
                #expect(done.shares == total.shares && done.money == total.money, "\(key.account) in \(key.symbol)")
            }
        }
    }
}
