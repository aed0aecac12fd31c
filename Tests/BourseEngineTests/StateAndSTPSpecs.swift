import BourseCore
import BourseEngine
import Testing

@Suite("self-trade prevention")
struct SelfTradeSpecs {
    func venue() -> Given {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 10, account: 7), v.sell(2, "10.00", qty: 10, account: 8))
        return v
    }

    func taker(_ v: Given, _ mode: SelfTradePrevention, qty: Int64 = 15) -> Command {
        var o = v.buy(3, "10.00", qty: qty, account: 7)
        o.selfTradePrevention = mode
        return .newOrder(o)
    }

    @Test("without prevention an account may trade with itself")
    func off() {
        let v = venue()
        #expect(trades(v.when(taker(v, .none))) == ["1<-3 10@10.00", "2<-3 5@10.00"])
    }

    @Test("cancel-newest cancels the incoming order and leaves the resting one")
    func cancelNewest() {
        let v = venue()
        let events = v.when(taker(v, .cancelNewest))
        #expect(trades(events).isEmpty && cancels(events) == ["3:15 self_trade_prevention"])
        #expect(v.book(.sell) == ["10.00 1:10 2:10"])
    }

    @Test("cancel-oldest cancels the resting order and matching goes on")
    func cancelOldest() {
        let v = venue()
        let events = v.when(taker(v, .cancelOldest))
        #expect(cancels(events) == ["1:10 self_trade_prevention"])
        #expect(trades(events) == ["2<-3 10@10.00"])
        #expect(v.book(.buy) == ["10.00 3:5"])
    }

    @Test("cancel-both cancels both orders")
    func cancelBoth() {
        let v = venue()
        #expect(cancels(v.when(taker(v, .cancelBoth))) == ["1:10 self_trade_prevention", "3:15 self_trade_prevention"])
        #expect(v.book(.sell) == ["10.00 2:10"])
    }

    @Test("decrement takes the smaller quantity off both without a trade")
    func decrement() {
        let v = venue()
        let events = v.when(taker(v, .decrement))
        #expect(events.contains(.selfTradeDecremented(OrderID(3), AccountID(7), quantity: Quantity(10), leaves: Quantity(5))))
        #expect(cancels(events) == ["1:10 self_trade_prevention"])
        #expect(trades(events) == ["2<-3 5@10.00"])
    }

    @Test("a FOK order with prevention that would meet its own order is cancelled whole")
    func fokSelfTrade() {
        let v = venue()
        var o = v.buy(3, "10.00", qty: 5, account: 7, tif: .fok)
        o.selfTradePrevention = .cancelOldest
        #expect(cancels(v.when(.newOrder(o))) == ["3:5 self_trade_prevention"])
        #expect(v.book(.sell) == ["10.00 1:10 2:10"])
    }
}

@Suite("trading states")
struct TradingStateSpecs {
    @Test("halted and closed symbols reject new orders and replaces but accept cancels", arguments: [TradingState.halted, .closed])
    func haltedAndClosed(state: TradingState) {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10))
        v.when(.setTradingState(v.symbol, state))
        let reason: RejectReason = state == .halted ? .symbolHalted(v.symbol) : .symbolClosed(v.symbol)
        #expect(rejection(v.when(.newOrder(v.buy(2, "9.00", qty: 10)))) == reason)
        #expect(rejection(v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(1), account: AccountID(1),
                                                       quantity: Quantity(5))))) == reason)
        #expect(cancels(v.when(v.cancel(1))) == ["1:10 requested"])
    }

    @Test("orders accepted in pre-open wait, then enter in arrival order at the open")
    func preOpen() {
        let v = Given(state: .preOpen)
        v.resting(v.sell(1, "10.00", qty: 10), v.buy(2, "10.05", qty: 4, account: 2), v.buy(3, "10.10", qty: 4, account: 3))
        #expect(v.engine.summary(of: v.symbol)?.pendingOrders == 3)
        #expect(v.book(.sell).isEmpty)
        let events = v.when(.setTradingState(v.symbol, .open))
        #expect(trades(events) == ["1<-2 4@10.00", "1<-3 4@10.00"])
        #expect(v.book(.sell) == ["10.00 1:2"])
    }

    @Test("a post-only order held in pre-open that would trade at the open is cancelled")
    func preOpenPostOnly() {
        let v = Given(state: .preOpen)
        var post = v.buy(2, "10.00", qty: 4, account: 2)
        post.postOnly = true
        v.resting(v.sell(1, "10.00", qty: 10), post)
        #expect(cancels(v.when(.setTradingState(v.symbol, .open))) == ["2:4 would_take_liquidity"])
    }

    @Test("listing twice, unknown symbols and invalid rules are rejected admin commands")
    func adminRejections() {
        let v = Given()
        #expect(v.when(.listSymbol(v.symbol, .standard)) == [.commandRejected(.symbolAlreadyListed(v.symbol))])
        let other = try! Symbol(validating: "OTHER")
        #expect(v.when(.setTradingState(other, .open)) == [.commandRejected(.unknownSymbol(other))])
        #expect(v.when(.listSymbol(other, InstrumentRules(lotSize: Quantity(0)))) == [.commandRejected(.invalidRules(other))])
    }
}
