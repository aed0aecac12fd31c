import BourseCore
import BourseEngine
import Testing

@Suite("stop orders")
struct StopSpecs {
    @Test("a buy stop waits until the last trade reaches its stop price, then trades as a market order")
    func buyStop() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 10), v.sell(2, "10.10", qty: 10))
        let stop = v.order(3, .buy, .stop, qty: 5, account: 2, stop: "10.00")
        #expect(v.when(.newOrder(stop)) == [.orderAccepted(stop)])
        let events = v.when(.newOrder(v.buy(4, "10.00", qty: 5, account: 3)))
        #expect(events.contains(.stopTriggered(OrderID(3), AccountID(2), lastTrade: Price(dollars: "10.00")!)))
        #expect(trades(events) == ["1<-4 5@10.00", "1<-3 5@10.00"])
    }

    @Test("a triggered stop-limit rests as a limit order when it cannot fill")
    func stopLimitRests() {
        let v = Given()
        v.resting(v.buy(1, "10.00", qty: 10), v.order(2, .sell, .stopLimit, "9.95", qty: 20, stop: "10.00"))
        let events = v.when(.newOrder(v.sell(3, "10.00", qty: 10, account: 2)))
        #expect(trades(events) == ["1<-3 10@10.00"])
        #expect(events.contains(.stopTriggered(OrderID(2), AccountID(1), lastTrade: Price(dollars: "10.00")!)))
        #expect(v.book(.sell) == ["9.95 2:20"])
    }

    @Test("a stop already reached at acceptance triggers at once")
    func immediateTrigger() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 10), v.buy(2, "10.00", qty: 5, account: 2), v.sell(3, "10.05", qty: 10))
        let events = v.when(.newOrder(v.order(4, .buy, .stop, qty: 5, account: 3, stop: "9.90")))
        #expect(events.contains(.stopTriggered(OrderID(4), AccountID(3), lastTrade: Price(dollars: "10.00")!)))
        #expect(trades(events) == ["1<-4 5@10.00"])
    }

    @Test("a cascade triggers one stop at a time, nearest the market first, each trading before the next is chosen")
    func cascade() {
        let v = Given()
        v.resting(
            v.sell(1, "10.00", qty: 5), v.sell(2, "10.01", qty: 5), v.sell(3, "10.02", qty: 5), v.sell(4, "10.03", qty: 5),
            v.order(10, .buy, .stop, qty: 5, account: 2, stop: "10.01"),
            v.order(11, .buy, .stop, qty: 5, account: 3, stop: "10.00"),
            v.order(12, .buy, .stop, qty: 5, account: 4, stop: "10.02"))
        let events = v.when(.newOrder(v.buy(5, "10.00", qty: 5, account: 5)))
        let order = events.compactMap { event -> String? in
            switch event {
            case .stopTriggered(let id, _, let last): "stop \(id) at \(last)"
            case .trade(let t): "trade \(t.takerOrderID) \(t.price)"
            default: nil
            }
        }
        #expect(order == ["trade 5 10.00", "stop 11 at 10.00", "trade 11 10.01", "stop 10 at 10.01", "trade 10 10.02",
                          "stop 12 at 10.02", "trade 12 10.03"])
    }

    @Test("a trailing sell stop follows the highest trade and triggers the set amount below it")
    func trailingAmount() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 1), v.buy(2, "10.00", qty: 1, account: 2))
        var trailing = v.order(3, .sell, .trailingStop, qty: 5, account: 3)
        trailing.trailingOffset = .amount(Price(dollars: "0.20")!)
        v.resting(trailing, v.buy(4, "9.70", qty: 10, account: 4))
        // Trades at 10.30 lift the trigger to 10.10; a trade at 10.15 does not reach it, 10.10 does.
        v.resting(v.sell(5, "10.30", qty: 1, account: 5), v.buy(6, "10.30", qty: 1, account: 6))
        #expect(v.engine.summary(of: v.symbol)?.stopOrders == 1)
        v.resting(v.sell(7, "10.15", qty: 1, account: 5), v.buy(8, "10.15", qty: 1, account: 6))
        #expect(v.engine.summary(of: v.symbol)?.stopOrders == 1)
        v.resting(v.buy(9, "10.10", qty: 1, account: 6))
        let events = v.when(.newOrder(v.sell(10, "10.10", qty: 1, account: 5)))
        #expect(events.contains(.stopTriggered(OrderID(3), AccountID(3), lastTrade: Price(dollars: "10.10")!)))
        #expect(trades(events) == ["9<-10 1@10.10", "4<-3 5@9.70"])
    }

    @Test("a trailing stop in percent compares exactly, and needs a reference price")
    func trailingPercent() {
        let v = Given()
        var early = v.order(1, .buy, .trailingStop, qty: 5)
        early.trailingOffset = .basisPoints(100)
        #expect(rejection(v.when(.newOrder(early))) == .noReferencePrice)
        v.resting(v.sell(2, "10.00", qty: 1), v.buy(3, "10.00", qty: 1, account: 2))
        var trailing = v.order(4, .buy, .trailingStop, qty: 5, account: 3)
        trailing.trailingOffset = .basisPoints(100)  // triggers at 1% above the lowest trade: 10.10 from 10.00
        v.resting(trailing, v.sell(5, "10.20", qty: 10, account: 4))
        v.resting(v.sell(6, "10.09", qty: 1, account: 5))
        let below = v.when(.newOrder(v.buy(7, "10.09", qty: 1, account: 6)))
        #expect(!below.contains { if case .stopTriggered = $0 { true } else { false } })
        v.resting(v.sell(8, "10.10", qty: 1, account: 5))
        let at = v.when(.newOrder(v.buy(9, "10.10", qty: 1, account: 6)))
        #expect(at.contains(.stopTriggered(OrderID(4), AccountID(3), lastTrade: Price(dollars: "10.10")!)))
    }
}

@Suite("cancel and replace")
struct ReplaceSpecs {
    @Test("cancelling reports the leaves; cancelling again, or another account's order, is rejected")
    func cancel() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10))
        #expect(v.when(v.cancel(1, account: 2)) == [.cancelRejected(OrderID(1), AccountID(2), .orderNotOpen(OrderID(1)))])
        #expect(cancels(v.when(v.cancel(1))) == ["1:10 requested"])
        #expect(rejection(v.when(v.cancel(1))) == .orderNotOpen(OrderID(1)))
    }

    @Test("reducing the quantity keeps time priority")
    func reduceKeepsPriority() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10), v.buy(2, "9.00", qty: 10))
        let events = v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(11), account: AccountID(1), quantity: Quantity(4))))
        #expect(events == [.orderReplaced(Replacement(orderID: OrderID(1), newOrderID: OrderID(11), account: AccountID(1), quantity: Quantity(4),
                                                      leaves: Quantity(4), limitPrice: Price(dollars: "9.00"), stopPrice: nil, keptPriority: true))])
        #expect(v.book(.buy) == ["9.00 11:4 2:10"])
    }

    @Test("a replace that only renames the order keeps its place; the same under its own id changes nothing")
    func renameKeepsPriority() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10), v.buy(2, "9.00", qty: 10))
        let events = v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(11), account: AccountID(1), quantity: Quantity(10))))
        #expect(events == [.orderReplaced(Replacement(orderID: OrderID(1), newOrderID: OrderID(11), account: AccountID(1), quantity: Quantity(10),
                                                      leaves: Quantity(10), limitPrice: Price(dollars: "9.00"), stopPrice: nil, keptPriority: true))])
        #expect(v.book(.buy) == ["9.00 11:10 2:10"])
        #expect(rejection(v.when(.replace(ReplaceOrder(orderID: OrderID(11), newOrderID: OrderID(11), account: AccountID(1), quantity: Quantity(10)))))
                == .replaceChangesNothing)
    }

    @Test("increasing the quantity or changing the price loses time priority")
    func increaseLosesPriority() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10), v.buy(2, "9.00", qty: 10))
        v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(1), account: AccountID(1), quantity: Quantity(12))))
        #expect(v.book(.buy) == ["9.00 2:10 1:12"])
        v.when(.replace(ReplaceOrder(orderID: OrderID(2), newOrderID: OrderID(2), account: AccountID(1), quantity: Quantity(10),
                                     limitPrice: Price(dollars: "9.01"))))
        #expect(v.book(.buy) == ["9.01 2:10", "9.00 1:12"])
    }

    @Test("a new price that crosses trades at once; the quantity is the new total including fills")
    func replaceCrosses() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 5), v.buy(2, "9.90", qty: 10, account: 2))
        v.resting(v.sell(3, "9.90", qty: 4, account: 3))  // order 2 has 4 filled, 6 left
        let events = v.when(.replace(ReplaceOrder(orderID: OrderID(2), newOrderID: OrderID(20), account: AccountID(2),
                                                  quantity: Quantity(12), limitPrice: Price(dollars: "10.00"))))
        #expect(trades(events) == ["1<-20 5@10.00"])
        #expect(v.book(.buy) == ["10.00 20:3"])
    }

    @Test("replacing a filled or cancelled order, or below the filled quantity, is rejected with a reason")
    func replaceRejections() {
        let v = Given()
        v.resting(v.buy(1, "9.00", qty: 10), v.sell(2, "9.00", qty: 4, account: 2))
        #expect(rejection(v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(1), account: AccountID(1), quantity: Quantity(4)))))
                == .replaceQuantityNotAboveFilled(Quantity(4), filled: Quantity(4)))
        #expect(rejection(v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(1), account: AccountID(1), quantity: Quantity(10)))))
                == .replaceChangesNothing)
        v.resting(v.sell(3, "9.00", qty: 6, account: 2))
        #expect(rejection(v.when(.replace(ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(9), account: AccountID(1), quantity: Quantity(20)))))
                == .orderNotOpen(OrderID(1)))
        v.resting(v.buy(4, "8.00", qty: 1))
        v.when(v.cancel(4))
        #expect(rejection(v.when(.replace(ReplaceOrder(orderID: OrderID(4), newOrderID: OrderID(5), account: AccountID(1), quantity: Quantity(2)))))
                == .orderNotOpen(OrderID(4)))
    }
}
