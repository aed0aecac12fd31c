import BourseCore
import BourseEngine
import Testing

@Suite("limit and market orders")
struct LimitAndMarketSpecs {
    @Test("a buy limit below the best ask rests at its price")
    func restsBelowAsk() {
        let v = Given()
        v.resting(v.sell(1, "10.05", qty: 100))
        let events = v.when(.newOrder(v.buy(2, "10.00", qty: 50)))
        #expect(events == [.orderAccepted(v.buy(2, "10.00", qty: 50)),
                           .orderRested(OrderID(2), AccountID(1), v.symbol, .buy, price: Price(dollars: "10.00")!, shown: Quantity(50))])
        #expect(v.book(.buy) == ["10.00 2:50"])
    }

    @Test("a crossing limit trades at the resting order's price, better prices first, FIFO within a level")
    func priceTimePriority() {
        let v = Given()
        v.resting(v.sell(1, "10.02", qty: 100), v.sell(2, "10.01", qty: 100), v.sell(3, "10.01", qty: 100))
        let events = v.when(.newOrder(v.buy(4, "10.05", qty: 250, account: 2)))
        #expect(trades(events) == ["2<-4 100@10.01", "3<-4 100@10.01", "1<-4 50@10.02"])
        #expect(v.book(.sell) == ["10.02 1:50"])
        #expect(v.book(.buy).isEmpty)
        if case .trade(let t)? = events.last {
            #expect(t.makerLeaves == Quantity(50) && t.takerLeaves == Quantity(0) && t.takerSide == .buy)
            #expect(t.executionID == ExecutionID(3))
        }
    }

    @Test("a limit order never fills beyond its price and rests the remainder")
    func noFillOutsideLimit() {
        let v = Given()
        v.resting(v.sell(1, "10.01", qty: 10), v.sell(2, "10.03", qty: 10))
        let events = v.when(.newOrder(v.buy(3, "10.02", qty: 30)))
        #expect(trades(events) == ["1<-3 10@10.01"])
        #expect(v.book(.buy) == ["10.02 3:20"])
    }

    @Test("a market order sweeps up to its protection price and cancels the rest with the reason")
    func marketProtection() {
        // Previous close $10.00, protection 5%: a buy may pay at most $10.50.
        let v = Given(rules: InstrumentRules(previousClose: Price(dollars: "10.00")))
        v.resting(v.sell(1, "10.40", qty: 10), v.sell(2, "10.50", qty: 10), v.sell(3, "10.51", qty: 10))
        let events = v.when(.newOrder(v.order(4, .buy, .market, qty: 50, tif: .day)))
        #expect(trades(events) == ["1<-4 10@10.40", "2<-4 10@10.50"])
        #expect(cancels(events) == ["4:30 protection_limit"])
        #expect(v.book(.sell) == ["10.51 3:10"])
    }

    @Test("a market order with nothing to trade against is cancelled for lack of liquidity")
    func marketNoLiquidity() {
        let v = Given()
        let events = v.when(.newOrder(v.order(1, .sell, .market, qty: 5, tif: .ioc)))
        #expect(cancels(events) == ["1:5 no_liquidity"])
        v.resting(v.buy(2, "9.99", qty: 3))
        #expect(cancels(v.when(.newOrder(v.order(3, .sell, .market, qty: 5, tif: .day)))) == ["3:2 no_liquidity"])
    }

    @Test("market orders may not be GTC or GTD")
    func marketTimeInForce() {
        let v = Given()
        #expect(rejection(v.when(.newOrder(v.order(1, .buy, .market, qty: 5, tif: .gtc)))) == .timeInForceNotAllowed(.gtc, .market))
    }
}

@Suite("time in force")
struct TimeInForceSpecs {
    @Test("IOC trades what it can at once and cancels the rest")
    func ioc() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 30))
        let events = v.when(.newOrder(v.buy(2, "10.00", qty: 50, tif: .ioc)))
        #expect(trades(events) == ["1<-2 30@10.00"])
        #expect(cancels(events) == ["2:20 immediate_or_cancel"])
        #expect(v.book(.buy).isEmpty)
    }

    @Test("FOK that cannot fill completely does nothing but cancel itself")
    func fokUnfillable() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 30), v.sell(2, "10.01", qty: 30))
        let events = v.when(.newOrder(v.buy(3, "10.01", qty: 61, tif: .fok)))
        #expect(trades(events).isEmpty)
        #expect(cancels(events) == ["3:61 fill_or_kill"])
        #expect(v.book(.sell) == ["10.00 1:30", "10.01 2:30"])
    }

    @Test("FOK that can fill completely fills across levels")
    func fokFills() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 30), v.sell(2, "10.01", qty: 30))
        #expect(trades(v.when(.newOrder(v.buy(3, "10.01", qty: 60, tif: .fok)))) == ["1<-3 30@10.00", "2<-3 30@10.01"])
    }

    @Test("DAY orders expire at the close, GTC orders stay")
    func dayExpiresAtClose() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10, tif: .day), v.buy(2, "9.01", qty: 10, tif: .gtc), v.sell(3, "11.00", qty: 5, tif: .day))
        let events = v.when(.setTradingState(v.symbol, .closed))
        #expect(events == [.tradingStateChanged(v.symbol, .closed),
                           .orderExpired(OrderID(1), AccountID(1), leaves: Quantity(10)),
                           .orderExpired(OrderID(3), AccountID(1), leaves: Quantity(5))])
        #expect(v.book(.buy) == ["9.01 2:10"])
    }

    @Test("GTD orders expire at the first timer command at or after their expiry time")
    func gtdExpiry() {
        let v = Given()
        var o = v.buy(1, "9.00", qty: 10, tif: .gtd)
        o.expireTime = Timestamp(nanos: 5_000)
        v.resting(o)
        #expect(v.when(.expireOrders, at: 4_999).isEmpty)
        #expect(v.when(.expireOrders, at: 5_000) == [.orderExpired(OrderID(1), AccountID(1), leaves: Quantity(10))])
        #expect(v.book(.buy).isEmpty)
    }

    @Test("GTD needs an expiry time in the future; other orders take none")
    func gtdValidation() {
        let v = Given()
        #expect(rejection(v.when(.newOrder(v.buy(1, "9.00", qty: 10, tif: .gtd)))) == .expireTimeRequired)
        var past = v.buy(2, "9.00", qty: 10, tif: .gtd)
        past.expireTime = Timestamp(nanos: 10)
        #expect(rejection(v.when(.newOrder(past))) == .expireTimeInPast(Timestamp(nanos: 10)))
        var day = v.buy(3, "9.00", qty: 10, tif: .day)
        day.expireTime = Timestamp(nanos: 1_000_000)
        #expect(rejection(v.when(.newOrder(day))) == .expireTimeNotAllowed)
    }
}

@Suite("iceberg and post-only orders")
struct IcebergAndPostOnlySpecs {
    @Test("an iceberg shows its display quantity and a replenished slice goes to the back of its level")
    func iceberg() {
        let v = Given()
        var ice = v.sell(1, "10.00", qty: 100)
        ice.displayQuantity = Quantity(30)
        v.resting(ice, v.sell(2, "10.00", qty: 20))
        #expect(v.book(.sell) == ["10.00 1:100/30 2:20"])
        let events = v.when(.newOrder(v.buy(3, "10.00", qty: 40, account: 2)))
        // 30 from the slice, then the new slice waits behind order 2, which fills 10.
        #expect(trades(events) == ["1<-3 30@10.00", "2<-3 10@10.00"])
        #expect(v.book(.sell) == ["10.00 2:10 1:70/30"])
        // The new slice is reported as resting, right after the trade that used up the last one.
        let slice = Event.orderRested(OrderID(1), AccountID(1), v.symbol, .sell, price: Price(dollars: "10.00")!, shown: Quantity(30))
        #expect(events.firstIndex(of: slice) == 2)
    }

    @Test("a large taker meets an iceberg's hidden quantity slice by slice")
    func icebergSweep() {
        let v = Given()
        var ice = v.sell(1, "10.00", qty: 70)
        ice.displayQuantity = Quantity(30)
        v.resting(ice)
        #expect(trades(v.when(.newOrder(v.buy(2, "10.00", qty: 100, account: 2)))) == ["1<-2 30@10.00", "1<-2 30@10.00", "1<-2 10@10.00"])
        #expect(v.book(.buy) == ["10.00 2:30"])
    }

    @Test("icebergs must rest and show at least one share and at most their quantity")
    func icebergValidation() {
        let v = Given()
        var ioc = v.sell(1, "10.00", qty: 100, tif: .ioc)
        ioc.displayQuantity = Quantity(10)
        #expect(rejection(v.when(.newOrder(ioc))) == .icebergMustRest)
        var big = v.sell(2, "10.00", qty: 100)
        big.displayQuantity = Quantity(101)
        #expect(rejection(v.when(.newOrder(big))) == .displayQuantityInvalid(Quantity(101)))
    }

    @Test("a post-only order that would trade is rejected; one that would not rests")
    func postOnly() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 10))
        var crossing = v.buy(2, "10.00", qty: 5)
        crossing.postOnly = true
        #expect(rejection(v.when(.newOrder(crossing))) == .wouldTakeLiquidity)
        var passive = v.buy(3, "9.99", qty: 5)
        passive.postOnly = true
        #expect(v.when(.newOrder(passive)) == [.orderAccepted(passive),
                                               .orderRested(OrderID(3), AccountID(1), v.symbol, .buy, price: Price(dollars: "9.99")!, shown: Quantity(5))])
        #expect(v.book(.sell) == ["10.00 1:10"])
    }
}

@Suite("validation")
struct ValidationSpecs {
    @Test("off-tick, lot, size and price rules each reject with their own reason")
    func rules() {
        let v = Given(rules: InstrumentRules(lotSize: Quantity(100), orderQtyMin: Quantity(100), orderQtyMax: Quantity(10_000)))
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.005", qty: 100)))) == .priceOffTick(Price(dollars: "10.005")!, tick: Price(dollars: "0.01")!))
        #expect(rejection(v.when(.newOrder(v.buy(2, "0.5001", qty: 100)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(3, "10.00", qty: 150)))) == .quantityNotMultipleOfLot(Quantity(150), lot: Quantity(100)))
        #expect(rejection(v.when(.newOrder(v.buy(4, "10.00", qty: 0)))) == .quantityNotPositive)
        #expect(rejection(v.when(.newOrder(v.buy(5, "10.00", qty: 10_100)))) == .quantityAboveMaximum(Quantity(10_100), maximum: Quantity(10_000)))
        #expect(rejection(v.when(.newOrder(v.order(6, .buy, .limit, qty: 100)))) == .limitPriceRequired)
        #expect(rejection(v.when(.newOrder(v.order(7, .buy, .market, "10.00", qty: 100, tif: .day)))) == .limitPriceNotAllowed)
        #expect(rejection(v.when(.newOrder(v.order(8, .buy, .stop, qty: 100)))) == .stopPriceRequired)
        #expect(rejection(v.when(.newOrder(v.buy(9, "0", qty: 100)))) == .priceNotPositive(.zero))
        #expect(rejection(v.when(.newOrder(v.buy(10, "10000000.01", qty: 100)))) == .priceAboveMaximum(Price(dollars: "10000000.01")!))
    }

    @Test("a half-penny table accepts half pennies and nothing finer")
    func halfPenny() {
        let v = Given(rules: InstrumentRules(tickTable: .halfPenny))
        #expect(rejection(v.when(.newOrder(v.buy(1, "10.005", qty: 1)))) == nil)
        #expect(rejection(v.when(.newOrder(v.buy(2, "10.0025", qty: 1)))) == .priceOffTick(Price(dollars: "10.0025")!, tick: Price(dollars: "0.005")!))
    }

    @Test("an id already open is refused; an unknown symbol is refused; rejected orders change nothing")
    func duplicatesAndSymbols() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10))
        // The engine's clock is part of its state: the rejected orders come at the same instant.
        let before = v.engine.stateHash()
        #expect(rejection(v.when(.newOrder(v.sell(1, "9.00", qty: 10)), at: v.time)) == .duplicateOrderID(OrderID(1)))
        var elsewhere = v.buy(2, "9.00", qty: 10)
        elsewhere.symbol = try! Symbol(validating: "NOPE")
        #expect(rejection(v.when(.newOrder(elsewhere), at: v.time)) == .unknownSymbol(elsewhere.symbol))
        #expect(v.engine.stateHash() == before)
    }

    @Test("extreme prices and quantities are rejected with a reason, never trapped or wrapped")
    func extremes() {
        let v = Given(rules: InstrumentRules(orderQtyMax: Quantity.max))
        #expect(rejection(v.when(.newOrder(v.order(1, .buy, .limit, nil, qty: Int64.max).with(price: Price(units: Int64.max))))) == .quantityAboveMaximum(Quantity(Int64.max), maximum: Quantity.max))
        #expect(rejection(v.when(.newOrder(v.buy(2, "1", qty: 1).with(price: Price(units: Int64.max))))) == .priceAboveMaximum(Price(units: Int64.max)))
        #expect(rejection(v.when(.newOrder(v.buy(3, "1", qty: 1).with(price: Price(units: Int64.min))))) == .priceNotPositive(Price(units: Int64.min)))
        // The largest valid order against the largest valid price trades without overflow.
        v.resting(v.sell(4, "1", qty: Quantity.max.shares).with(price: Price.max))
        let events = v.when(.newOrder(v.buy(5, "1", qty: Quantity.max.shares, account: 2).with(price: Price.max)))
        #expect(trades(events) == ["4<-5 1000000000@10000000.00"])
    }
}

extension NewOrder {
    func with(price: Price) -> NewOrder {
        var copy = self
        copy.limitPrice = price
        return copy
    }
}
