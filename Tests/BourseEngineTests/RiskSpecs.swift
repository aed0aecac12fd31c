import BourseCore
import BourseEngine
import Testing

/// XYZ with a previous close of $10.00, so collars and market orders have a reference.
let referenced = InstrumentRules(previousClose: Price(dollars: "10")!)

func money(_ dollars: String) -> Money { Money(dollars: dollars)! }

@Suite("buying power and holds")
struct BuyingPowerSpecs {
    @Test("a cash buy reserves limit × quantity plus the fee estimate: exactly enough accepts, $0.0001 less rejects")
    func cashBoundary() {
        let v = Given(rules: referenced, accounts: true)
        v.when(.setFees(v.symbol, FeeSchedule(makerPerShare: .zero, takerPerShare: Money(units: 30))))
        v.open(1, cash: "1000.30")
        v.open(2, cash: "1000.2999")
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 100, account: 1)))) == nil)
        #expect(v.account(1).cashHold == money("1000.30"))
        #expect(v.account(1).buyingPower == .zero)
        let reason = rejection(v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 2))))
        #expect(reason == .insufficientBuyingPower(needs: money("1000.30"), available: money("1000.2999")))
        #expect(reason.map { "\($0.code): \($0.message)" } == "insufficient_buying_power: needs 1,000.30, available 1,000.2999")
    }

    @Test("fills release the hold at the reserved price, cash moves at the trade price and fee, a cancel releases the rest")
    func holdsFollowFills() {
        let v = Given(rules: referenced, accounts: true)
        v.when(.setFees(v.symbol, FeeSchedule(makerPerShare: Money(units: -20), takerPerShare: Money(units: 30))))
        v.open(1, cash: "2000")
        v.open(2, shares: 100)
        v.resting(v.sell(1, "10.00", qty: 60, account: 2))
        let events = v.when(.newOrder(v.buy(2, "10.05", qty: 100, account: 1)))
        guard case .trade(let t)? = events.first(where: { if case .trade = $0 { true } else { false } }) else {
            Issue.record("no trade")
            return
        }
        #expect(t.takerFee == Money(units: 1_800) && t.makerFee == Money(units: -1_200))
        #expect(v.account(1).cashHold == Money(units: 40 * 100_530))
        #expect(v.account(1).cash == Money(units: 20_000_000 - 6_000_000 - 1_800))
        #expect(v.account(2).cash == Money(units: 6_000_000 + 1_200))
        #expect(v.engine.venueFeeBalance == Money(units: 600))
        #expect(v.position(2)?.quantity == Quantity(40) && v.position(2)?.held == .zero)
        v.when(v.cancel(2, account: 1))
        #expect(v.account(1).cashHold == .zero)
        #expect(v.position(1)?.quantity == Quantity(60) && v.position(1)?.costBasis == Money(units: 6_000_000))
        #expect(v.account(1).unsettledCash == Money(units: -6_001_800))
        #expect(v.account(1).settledCash == money("2000"))
    }

    @Test("a market buy reserves at its protection price and never trades above it")
    func marketReservesProtection() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1050")
        v.open(2, shares: 200)
        v.resting(v.sell(1, "10.50", qty: 100, account: 2), v.sell(2, "10.51", qty: 100, account: 2))
        // Protection: $10.00 + 5% = $10.50; 100 × 10.50 is exactly the cash.
        let events = v.when(.newOrder(v.order(3, .buy, .market, qty: 100, account: 1, tif: .ioc)))
        #expect(trades(events) == ["1<-3 100@10.50"])
        #expect(rejection(v.when(.newOrder(v.order(4, .buy, .market, qty: 1, account: 1, tif: .ioc)))) != nil)
    }

    @Test("without a reference price, market and limit orders are rejected: risk fails closed")
    func failsClosed() {
        let v = Given(accounts: true)
        v.open(1, cash: "1000")
        #expect(rejection(v.when(.newOrder(v.order(1, .buy, .market, qty: 1, account: 1, tif: .ioc)))) == .noReferencePrice)
        #expect(rejection(v.when(.newOrder(v.buy(2, "10.00", qty: 1, account: 1)))) == .noReferencePrice)
    }

    @Test("an order from an account that was never opened is rejected")
    func unknownAccount() {
        let v = Given(rules: referenced, accounts: true)
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 1, account: 9)))) == .unknownAccount(AccountID(9)))
    }

    @Test("a replace is assessed on its new terms: within buying power accepts, beyond rejects and keeps the old hold")
    func replaceReassessed() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000")
        v.resting(v.buy(1, "10.00", qty: 50, account: 1))
        #expect(v.account(1).cashHold == money("500"))
        let ok = v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(2), account: AccountID(1), quantity: Quantity(100))))
        #expect(rejection(ok) == nil)
        #expect(v.account(1).cashHold == money("1000"))
        let refused = v.when(.replace(ReplaceOrder(orderID: OrderID(2), newOrderID: OrderID(3), account: AccountID(1), quantity: Quantity(101))))
        #expect(rejection(refused) == .insufficientBuyingPower(needs: money("1010"), available: money("1000")))
        #expect(v.account(1).cashHold == money("1000"))
        v.when(.replace(ReplaceOrder(orderID: OrderID(2), newOrderID: OrderID(4), account: AccountID(1), quantity: Quantity(10))))
        #expect(v.account(1).cashHold == money("100"))
    }
}

@Suite("positions and short sales")
struct PositionSpecs {
    @Test("a sell reserves shares: all that is held accepts, one more rejects")
    func sellReservesShares() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, shares: 100)
        #expect(rejection(v.when(.newOrder(v.sell(1, "10.00", qty: 60, account: 1)))) == nil)
        #expect(rejection(v.when(.newOrder(v.sell(2, "10.00", qty: 40, account: 1)))) == nil)
        #expect(v.position(1)?.held == Quantity(100))
        #expect(rejection(v.when(.newOrder(v.sell(3, "10.00", qty: 1, account: 1))))
                == .insufficientPosition(v.symbol, .sell, needs: Quantity(1), available: .zero))
    }

    @Test("a cash account cannot sell what it does not hold")
    func cashCannotShort() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "100000")
        #expect(rejection(v.when(.newOrder(v.sell(1, "10.00", qty: 1, account: 1))))
                == .insufficientPosition(v.symbol, .sell, needs: Quantity(1), available: .zero))
    }

    @Test("a margin account sells short only symbols on the easy-to-borrow list, reserving initial margin")
    func shortNeedsBorrow() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, .margin, cash: "500")
        #expect(rejection(v.when(.newOrder(v.sell(1, "10.00", qty: 100, account: 1)))) == .notEasyToBorrow(v.symbol))
        v.when(.setEasyToBorrow(v.symbol, true))
        #expect(rejection(v.when(.newOrder(v.sell(2, "10.00", qty: 100, account: 1)))) == nil)
        #expect(v.account(1).cashHold == money("500"))
    }

    @Test("an order cannot open one side while an order opening the other side is open")
    func oppositeOpening() {
        let v = Given(rules: referenced, accounts: true)
        v.when(.setEasyToBorrow(v.symbol, true))
        v.open(1, .margin, cash: "10000")
        v.resting(v.buy(1, "9.00", qty: 10, account: 1))
        #expect(rejection(v.when(.newOrder(v.sell(2, "10.50", qty: 10, account: 1)))) == .oppositeOrderOpen(v.symbol, .sell))
    }

    @Test("shares cannot be transferred in while a short sale is open: it would fill against them")
    func transferDuringShortSale() {
        let v = Given(rules: referenced, accounts: true)
        v.when(.setEasyToBorrow(v.symbol, true))
        v.open(1, .margin, cash: "10000")
        v.resting(v.sell(1, "10.50", qty: 10, account: 1))
        #expect(v.when(.transferIn(AccountID(1), v.symbol, Quantity(10), costPerShare: Price(dollars: "10")!))
                == [.commandRejected(.shortSaleOpen(v.symbol))])
        v.when(v.cancel(1))
        #expect(v.when(.transferIn(AccountID(1), v.symbol, Quantity(10), costPerShare: Price(dollars: "10")!))
                == [.securitiesTransferredIn(AccountID(1), v.symbol, Quantity(10), costPerShare: Price(dollars: "10")!)])
    }

    @Test("average cost: buys average the basis, a sale realizes price less average, the rest is unrealized at the mark")
    func averageCost() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "5000")
        v.open(2, shares: 300)
        v.open(3, cash: "5000")
        v.resting(v.sell(1, "10.00", qty: 100, account: 2))
        v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 1)))
        v.resting(v.sell(3, "10.20", qty: 100, account: 2))
        v.when(.newOrder(v.buy(4, "10.20", qty: 100, account: 1)))
        #expect(v.position(1)?.averageCost == Price(dollars: "10.10"))
        v.resting(v.sell(5, "10.50", qty: 50, account: 1))
        v.when(.newOrder(v.buy(6, "10.50", qty: 50, account: 3)))
        let position = v.position(1)!
        #expect(position.quantity == Quantity(150))
        #expect(position.realizedPnL == money("20"))
        #expect(position.costBasis == money("1515"))
        #expect(position.unrealizedPnL == money("60"))
        #expect(v.account(1).realizedPnL == money("20"))
    }
}

@Suite("margin")
struct MarginSpecs {
    @Test("a margin buy needs initial margin of its notional: exactly enough accepts, $0.0001 less rejects")
    func initialMargin() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, .margin, cash: "500")
        v.open(2, .margin, cash: "499.9999")
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 100, account: 1)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 2))))
                == .insufficientBuyingPower(needs: money("500"), available: money("499.9999")))
    }

    @Test("an order that would leave equity below maintenance is rejected: at the requirement accepts, below rejects")
    func maintenance() {
        let rates = MarginRates(initialBasisPoints: 2_000, maintenanceLongBasisPoints: 3_000)
        let v = Given(rules: referenced, accounts: true)
        v.open(1, .margin, cash: "300", margin: rates)
        v.open(2, .margin, cash: "299.9999", margin: rates)
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 100, account: 1)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 2))))
                == .maintenanceDeficit(equity: money("299.9999"), requirement: money("300")))
    }

    @Test("an account in deficit after the price falls may reduce its position but not add to it")
    func deficitAllowsReducing() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, .margin, cash: "500")
        v.open(2, shares: 1_000, limits: AccountLimits(collarBasisPoints: 5_000))
        v.open(3, cash: "100000", limits: AccountLimits(collarBasisPoints: 5_000))
        v.resting(v.sell(1, "10.00", qty: 100, account: 2))
        v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 1)))
        // Equity 500, long 1,000. A trade at $6.00 marks it to 600: equity 100, maintenance 150.
        v.resting(v.sell(3, "6.00", qty: 1, account: 2))
        v.when(.newOrder(v.buy(4, "6.00", qty: 1, account: 3)))
        #expect(v.account(1).equity == money("100") && v.account(1).maintenanceRequirement == money("150"))
        #expect(rejection(v.when(.newOrder(v.buy(5, "6.00", qty: 1, account: 1))))
                == .maintenanceDeficit(equity: money("100"), requirement: money("151.50")))
        #expect(rejection(v.when(.newOrder(v.sell(6, "6.00", qty: 100, account: 1)))) == nil)
    }
}

@Suite("account limits")
struct AccountLimitSpecs {
    func venue(_ limits: AccountLimits, shares: Int64 = 0) -> Given {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "100000", shares: shares, limits: limits)
        return v
    }

    @Test("order quantity: at the limit accepts, one share more rejects")
    func quantity() {
        let v = venue(AccountLimits(orderQtyMax: Quantity(100)))
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 100)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "10.00", qty: 101)))) == .accountQuantityLimit(Quantity(101), limit: Quantity(100)))
    }

    @Test("order notional: at the limit accepts, a tick more rejects")
    func notional() {
        let v = venue(AccountLimits(orderNotionalMax: money("1000")))
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 100)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "10.01", qty: 100)))) == .notionalAboveLimit(money("1001"), limit: money("1000")))
    }

    @Test("open orders per symbol and in total: up to the limit accepts, one more rejects, a cancel makes room")
    func openOrders() {
        let v = venue(AccountLimits(openOrdersPerSymbolMax: 2))
        v.resting(v.buy(1, "9.00", qty: 1), v.buy(2, "9.00", qty: 1))
        #expect(rejection(v.when(.newOrder(v.buy(3, "9.00", qty: 1)))) == .openOrdersPerSymbolLimit(v.symbol, limit: 2))
        v.when(v.cancel(1))
        #expect(rejection(v.when(.newOrder(v.buy(4, "9.00", qty: 1)))) == nil)
        let w = venue(AccountLimits(openOrdersMax: 2))
        w.resting(w.buy(1, "9.00", qty: 1), w.buy(2, "9.00", qty: 1))
        #expect(rejection(w.when(.newOrder(w.buy(3, "9.00", qty: 1)))) == .openOrdersLimit(limit: 2))
    }

    @Test("position: what is held plus open buys plus the order may reach the limit, not pass it")
    func position() {
        let v = venue(AccountLimits(positionMax: Quantity(150)), shares: 100)
        #expect(rejection(v.when(.newOrder(v.buy(1, "9.00", qty: 50)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "9.00", qty: 1)))) == .positionLimit(v.symbol, would: Quantity(151), limit: Quantity(150)))
    }

    @Test("price collar: 10% from the previous close, then from the last trade; at the bound accepts, a tick beyond rejects")
    func collar() {
        let v = venue(AccountLimits(), shares: 200)
        #expect(rejection(v.when(.newOrder(v.buy(1, "11.00", qty: 1)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "11.01", qty: 1)))) == .priceOutsideCollar(Price(dollars: "11.01")!, limit: Price(dollars: "11")!))
        v.when(v.cancel(1))
        #expect(rejection(v.when(.newOrder(v.sell(3, "9.00", qty: 1)))) == nil)
        #expect(rejection(v.when(.newOrder(v.sell(4, "8.99", qty: 1)))) == .priceOutsideCollar(Price(dollars: "8.99")!, limit: Price(dollars: "9")!))
        v.open(2, cash: "100")
        v.when(.newOrder(v.buy(5, "9.00", qty: 1, account: 2)))
        // The last trade, $9.00, is now the reference: the buy bound is $9.90.
        #expect(rejection(v.when(.newOrder(v.buy(6, "9.91", qty: 1, account: 2)))) == .priceOutsideCollar(Price(dollars: "9.91")!, limit: Price(dollars: "9.90")!))
    }
}

@Suite("account states and the kill switch")
struct AccountStateSpecs {
    @Test("reduce-only accepts orders that reduce the position and rejects those that would add")
    func reduceOnly() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000", shares: 100)
        v.when(.setAccountState(AccountID(1), .reduceOnly))
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 1)))) == .reduceOnly(AccountID(1)))
        #expect(rejection(v.when(.newOrder(v.sell(2, "10.00", qty: 100)))) == nil)
    }

    @Test("a blocked account's new orders are rejected; its cancels are accepted")
    func blocked() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000")
        v.resting(v.buy(1, "9.00", qty: 10))
        v.when(.setAccountState(AccountID(1), .blocked))
        #expect(rejection(v.when(.newOrder(v.buy(2, "9.00", qty: 1)))) == .accountBlocked(AccountID(1)))
        #expect(cancels(v.when(v.cancel(1))) == ["1:10 requested"])
    }

    @Test("the kill switch cancels every open order of the account and blocks it in one step")
    func killSwitch() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000", shares: 50)
        v.open(2, cash: "1000")
        v.resting(v.buy(1, "9.00", qty: 10), v.buy(2, "9.50", qty: 10), v.sell(3, "10.50", qty: 50),
                  v.buy(4, "9.00", qty: 10, account: 2))
        let events = v.when(.killSwitch(AccountID(1)))
        #expect(cancels(events) == ["2:10 kill_switch", "1:10 kill_switch", "3:50 kill_switch"])
        #expect(events.last == .accountStateChanged(AccountID(1), .blocked))
        #expect(v.account(1).cashHold == .zero && v.position(1)?.held == .zero && v.account(1).openOrders == 0)
        #expect(v.account(2).openOrders == 1)
        #expect(rejection(v.when(.newOrder(v.buy(5, "9.00", qty: 1)))) == .accountBlocked(AccountID(1)))
    }
}

@Suite("account commands and limits of the numbers")
struct AccountCommandSpecs {
    @Test("a withdrawal may take the free cash and no more, and says how much was available")
    func withdraw() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "1000")
        v.resting(v.buy(1, "10.00", qty: 10))
        #expect(v.when(.withdraw(AccountID(1), money("900.0001")))
                == [.commandRejected(.insufficientCash(needs: money("900.0001"), available: money("900")))])
        #expect(v.when(.withdraw(AccountID(1), money("900"))) == [.cashWithdrawn(AccountID(1), money("900"))])
    }

    @Test("a margin account may transfer out only what its buying power covers; a short is not covered by a transfer")
    func marginTransfers() {
        let v = Given(rules: referenced, accounts: true)
        v.when(.setEasyToBorrow(v.symbol, true))
        v.open(1, .margin, shares: 100)
        // 100 shares at $10 and no loan: equity 1,000, initial requirement 500, buying power 500. Moving
        // all of them out uses 1,000 - 500 = 500 of it: exactly what there is.
        #expect(v.when(.transferOut(AccountID(1), v.symbol, Quantity(100)))
                == [.securitiesTransferredOut(AccountID(1), v.symbol, Quantity(100))])
        v.open(2, .margin, cash: "100")
        v.resting(v.sell(1, "10.00", qty: 20, account: 2))
        v.open(3, cash: "1000")
        v.when(.newOrder(v.buy(2, "10.00", qty: 20, account: 3)))
        #expect(v.position(2)?.quantity == Quantity(-20))
        #expect(v.when(.transferIn(AccountID(2), v.symbol, Quantity(20), costPerShare: Price(dollars: "10")!))
                == [.commandRejected(.positionShort(v.symbol))])
        // Account 4 bought 100 on margin with 600 of its own: equity 600, requirement 500, buying power
        // 100. Each share out uses $5 of it: 20 shares is exactly enough, 21 is not.
        v.open(4, .margin, cash: "600")
        v.open(5, shares: 200)
        v.resting(v.sell(3, "10.00", qty: 100, account: 5))
        v.when(.newOrder(v.buy(4, "10.00", qty: 100, account: 4)))
        #expect(v.when(.transferOut(AccountID(4), v.symbol, Quantity(21)))
                == [.commandRejected(.insufficientEquity(needs: money("105"), available: money("100")))])
        #expect(v.when(.transferOut(AccountID(4), v.symbol, Quantity(20)))
                == [.securitiesTransferredOut(AccountID(4), v.symbol, Quantity(20))])
    }

    @Test("an account closes only when it holds nothing, and then takes no more commands")
    func close() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1, cash: "10")
        #expect(v.when(.closeAccount(AccountID(1))) == [.commandRejected(.accountNotEmpty(AccountID(1)))])
        v.when(.withdraw(AccountID(1), money("10")))
        #expect(v.when(.closeAccount(AccountID(1))) == [.accountClosed(AccountID(1))])
        #expect(v.when(.deposit(AccountID(1), money("1"))) == [.commandRejected(.accountClosed(AccountID(1)))])
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.00", qty: 1)))) == .accountClosed(AccountID(1)))
    }

    @Test("deposits up to the venue's balance limit are accepted; one unit more is rejected, nothing wraps")
    func depositLimit() {
        let v = Given(rules: referenced, accounts: true)
        v.open(1)
        #expect(v.when(.deposit(AccountID(1), Money.balanceLimit)) == [.cashDeposited(AccountID(1), Money.balanceLimit)])
        #expect(v.when(.deposit(AccountID(1), Money(units: 1))) == [.commandRejected(.balanceLimit(Money(units: 1)))])
        v.open(2)
        #expect(v.when(.deposit(AccountID(2), Money(units: 1))) == [.commandRejected(.balanceLimit(Money(units: 1)))])
        #expect(v.when(.deposit(AccountID(2), Money(units: .max))) == [.commandRejected(.balanceLimit(Money(units: .max)))])
        #expect(v.when(.deposit(AccountID(2), Money(units: 0))) == [.commandRejected(.amountNotPositive(.zero))])
    }

    @Test("the largest price times the largest quantity is rejected as beyond any amount, not trapped or wrapped")
    func notionalOverflow() {
        let v = Given(rules: InstrumentRules(orderQtyMax: Quantity.max, previousClose: Price.max), accounts: true)
        var limits = AccountLimits(orderQtyMax: Quantity.max, orderNotionalMax: Money.orderNotionalLimit, positionMax: Quantity.max)
        limits.collarBasisPoints = 5_000
        v.open(1, .margin, cash: "1000", limits: limits)
        #expect(rejection(v.when(.newOrder(v.buy(1, Price.max.description, qty: Quantity.max.shares)))) == .notionalOverflow)
        #expect(rejection(v.when(.newOrder(v.buy(2, Price.max.description, qty: 10_001))))
                == .notionalAboveLimit(Money(units: 100_000_000_000 * 10_001), limit: Money.orderNotionalLimit))
        // A transfer whose value is beyond the balance limit is refused with the figure.
        #expect(v.when(.transferIn(AccountID(1), v.symbol, Quantity.max, costPerShare: Price.max))
                == [.commandRejected(.balanceLimit(Money(units: .max)))])
    }

    @Test("margin is computed in 128 bits: a position worth more than Int64 holds is valued without a trap")
    func hugeValuation() {
        let v = Given(rules: InstrumentRules(orderQtyMax: Quantity.max, previousClose: Price.max), accounts: true)
        v.open(1, .margin, cash: "1000", limits: AccountLimits(orderNotionalMax: Money.orderNotionalLimit, positionMax: Quantity.max))
        // 500 million shares at $10,000,000 each: $5 × 10^15, beyond Int64 in price units.
        v.when(.transferIn(AccountID(1), v.symbol, Quantity(500_000_000), costPerShare: Price(units: 1)))
        #expect(rejection(v.when(.newOrder(v.buy(1, Price.max.description, qty: 1)))) == nil)
        #expect(v.account(1).equity == nil)
        #expect(v.position(1)?.marketValue == nil)
    }
}

@Suite("account storage")
struct AccountStorageSpecs {
    @Test("thousands of accounts and positions grow their storage without losing a balance, and survive a snapshot")
    func manyAccounts() throws {
        let v = Given(rules: referenced, accounts: true)
        for a in 1...3_000 as ClosedRange<UInt32> {
            v.open(a, a % 2 == 0 ? .margin : .cash, cash: "\(a)", shares: Int64(a))
        }
        #expect(v.engine.accountViolations().isEmpty)
        #expect(v.account(2_999).cash == money("2999") && v.position(2_999)?.quantity == Quantity(2_999))
        let restored = try restored(v.engine)
        #expect(restored.stateHash() == v.engine.stateHash())
        #expect(restored.positions(of: AccountID(1_234)) == v.engine.positions(of: AccountID(1_234)))
    }
}
