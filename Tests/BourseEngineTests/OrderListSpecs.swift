import BourseCore
import BourseEngine
import Testing

/// Order classes: an entry whose exits wait for it (bracket, oto), and two exits where one cancels the other
/// (oco). Ids: the entry 10, its take-profit 11, its stop-loss 12; the market's orders below 10.
@Suite("order lists")
struct OrderListSpecs {
    /// A bracket buying 10 XYZ at 10.00 for account 1, taking profit at 10.50 and stopping the loss at 9.50.
    static func bracket(_ v: Given, qty: Int64 = 10, entry: OrderType = .limit, tif: TimeInForce = .gtc,
                        profit: String = "10.50", stop: String = "9.50", stopLimit: String? = nil) -> OrderList {
        OrderList(orderClass: .bracket, account: AccountID(1), symbol: v.symbol, side: .buy, timeInForce: tif,
                  quantity: Quantity(qty),
                  entry: .init(orderID: OrderID(10), type: entry, limitPrice: entry == .limit ? Price(dollars: "10.00") : nil),
                  takeProfit: .init(orderID: OrderID(11), limitPrice: Price(dollars: profit)!),
                  stopLoss: .init(orderID: OrderID(12), stopPrice: Price(dollars: stop)!,
                                  limitPrice: stopLimit.map { Price(dollars: $0)! }))
    }

    /// An oco selling 100 XYZ of account 1: take-profit 11 at 11.00, stop-loss 12 at 9.00.
    static func oco(_ v: Given, qty: Int64 = 100) -> OrderList {
        OrderList(orderClass: .oco, account: AccountID(1), symbol: v.symbol, side: .sell, timeInForce: .gtc,
                  quantity: Quantity(qty), entry: nil,
                  takeProfit: .init(orderID: OrderID(11), limitPrice: Price(dollars: "11.00")!),
                  stopLoss: .init(orderID: OrderID(12), stopPrice: Price(dollars: "9.00")!))
    }

    /// With accounts: 1 holds 100 XYZ and sends `oco`, 2 has $10,000, 3 holds 10 XYZ.
    static func holdingOCO() -> Given {
        let v = Given(rules: rules, accounts: true)
        v.open(1, shares: 100)
        v.open(2, cash: "10000")
        v.open(3, shares: 10)
        v.when(.newOrderList(oco(v)))
        return v
    }

    /// A previous close of 10.00 gives pre-trade risk its reference price.
    static let rules = InstrumentRules(previousClose: Price(dollars: "10.00")!)

    static func consistent(_ v: Given) -> Bool {
        let broken = v.engine.invariantViolations() + v.engine.accountViolations()
        #expect(broken.isEmpty, "\(broken)")
        return broken.isEmpty
    }

    /// The list's orders accepted (the market's, below 10, left out).
    static func accepted(_ events: [Event]) -> [String] {
        events.compactMap {
            guard case .orderAccepted(let o) = $0, o.orderID.rawValue >= 10 else { return nil }
            return "\(o.orderID) \(o.side.name) \(o.type.name) \(o.quantity)"
        }
    }

    // MARK: - Bracket and oto

    @Test("a bracket's exits wait while its entry works, and are placed for its quantity when it fills")
    func bracketWaitsThenPlaces() {
        let v = Given()
        let list = Self.bracket(v)
        let first = v.when(.newOrderList(list))
        #expect(first == [.orderAccepted(list.entryOrder!), .orderListAccepted(list),
                          .orderRested(OrderID(10), AccountID(1), v.symbol, .buy, price: Price(dollars: "10.00")!, shown: Quantity(10))])
        #expect(v.book(.sell).isEmpty && v.engine.summary(of: v.symbol)?.stopOrders == 0)
        let fill = v.when(.newOrder(v.sell(1, "10.00", qty: 10, account: 2)))
        #expect(trades(fill) == ["10<-1 10@10.00"])
        #expect(Self.accepted(fill) == ["11 sell limit 10", "12 sell stop 10"])
        #expect(v.book(.sell) == ["10.50 11:10"])
        #expect(v.engine.summary(of: v.symbol)?.stopOrders == 1)
        #expect(Self.consistent(v))
    }

    @Test("partial fills of the entry place nothing; the exits are sized to the whole when it completes")
    func partialFillsOfTheEntry() {
        let v = Given()
        v.when(.newOrderList(Self.bracket(v)))
        let part = v.when(.newOrder(v.sell(1, "10.00", qty: 4, account: 2)))
        #expect(trades(part) == ["10<-1 4@10.00"] && Self.accepted(part).isEmpty)
        let rest = v.when(.newOrder(v.sell(2, "10.00", qty: 6, account: 2)))
        #expect(Self.accepted(rest) == ["11 sell limit 10", "12 sell stop 10"])
        #expect(Self.consistent(v))
    }

    @Test("an entry the engine ends after a partial fill places its exits for what filled")
    func exitsSizedToWhatFilled() {
        let v = Given()
        v.resting(v.sell(1, "10.00", qty: 4, account: 2))
        let events = v.when(.newOrderList(Self.bracket(v, entry: .market, tif: .day)))
        #expect(trades(events) == ["1<-10 4@10.00"])
        #expect(cancels(events).first == "10:6 no_liquidity")
        #expect(Self.accepted(events) == ["10 buy market 10", "11 sell limit 4", "12 sell stop 4"])
        #expect(Self.consistent(v))
    }

    @Test("cancelling the entry cancels its waiting exits, even after a partial fill; an unfilled IOC entry takes them too")
    func cancelledEntryCancelsExits() {
        let v = Given()
        v.when(.newOrderList(Self.bracket(v)))
        v.when(.newOrder(v.sell(1, "10.00", qty: 4, account: 2)))
        #expect(cancels(v.when(v.cancel(10))) == ["10:6 requested", "11:10 entry_ended", "12:10 entry_ended"])
        let w = Given()
        let events = w.when(.newOrderList(Self.bracket(w, entry: .market, tif: .day)))
        #expect(cancels(events) == ["10:10 no_liquidity", "11:10 entry_ended", "12:10 entry_ended"])
        #expect(Self.consistent(v) && Self.consistent(w))
    }

    @Test("a waiting exit can be cancelled (its partner with it) but not replaced; the entry works on alone")
    func waitingExit() {
        let v = Given()
        v.when(.newOrderList(Self.bracket(v)))
        let replace = ReplaceOrder(orderID: OrderID(11), newOrderID: OrderID(13), account: AccountID(1), quantity: Quantity(10),
                                   limitPrice: Price(dollars: "10.60"))
        #expect(rejection(v.when(.replace(replace))) == .legHeld(OrderID(11)))
        #expect(cancels(v.when(v.cancel(12))) == ["11:10 other_leg_cancelled", "12:10 requested"])
        let fill = v.when(.newOrder(v.sell(1, "10.00", qty: 10, account: 2)))
        #expect(trades(fill) == ["10<-1 10@10.00"] && Self.accepted(fill).isEmpty)
        #expect(Self.consistent(v))
    }

    @Test("an oto places its one exit when the entry fills")
    func oto() {
        let v = Given()
        var list = Self.bracket(v)
        list = OrderList(orderClass: .oto, account: list.account, symbol: list.symbol, side: .buy, timeInForce: .gtc,
                         quantity: list.quantity, entry: list.entry, takeProfit: nil, stopLoss: list.stopLoss)
        v.when(.newOrderList(list))
        let fill = v.when(.newOrder(v.sell(1, "10.00", qty: 10, account: 2)))
        #expect(Self.accepted(fill) == ["12 sell stop 10"])
        #expect(Self.consistent(v))
    }

    // MARK: - One cancels the other

    @Test("with accounts, the exits of a pair hold the shares once")
    func pairHoldsOnce() {
        let v = Given(rules: Self.rules, accounts: true)
        v.open(1, shares: 100)
        let events = v.when(.newOrderList(Self.oco(v)))
        #expect(Self.accepted(events) == ["11 sell limit 100", "12 sell stop 100"])
        #expect(v.position(1)?.held == Quantity(100))
        #expect(Self.consistent(v))
    }

    @Test("the first trade of the take-profit cancels the stop-loss in the same command")
    func takeProfitFillCancelsStopLoss() {
        let v = Self.holdingOCO()
        let events = v.when(.newOrder(v.buy(1, "11.00", qty: 30, account: 2)))
        #expect(trades(events) == ["11<-1 30@11.00"])
        #expect(cancels(events) == ["12:100 other_leg_filled"])
        #expect(v.book(.sell) == ["11.00 11:70"])
        #expect(v.position(1)?.held == Quantity(70))
        #expect(Self.consistent(v))
    }

    @Test("a triggered stop-loss cancels the take-profit and takes its hold, then trades")
    func stopLossTriggerCancelsTakeProfit() {
        let v = Self.holdingOCO()
        v.resting(v.buy(1, "9.00", qty: 100, account: 2))
        let events = v.when(.newOrder(v.order(2, .sell, .limit, "9.00", qty: 1, account: 3)))
        let order = events.compactMap { event -> String? in
            switch event {
            case .stopTriggered(let id, _, _): "triggered \(id)"
            case .orderCancelled(let id, _, _, let reason): "cancelled \(id) \(reason.code)"
            case .trade(let t): "trade \(t.takerOrderID) \(t.quantity)"
            default: nil
            }
        }
        #expect(order == ["trade 2 1", "triggered 12", "cancelled 11 other_leg_triggered", "trade 12 99",
                          "cancelled 12 no_liquidity"])
        #expect(v.position(1)?.quantity == Quantity(1) && v.position(1)?.held == Quantity(0))
        #expect(Self.consistent(v))
    }

    @Test("cancelling either order of a pair cancels both")
    func cancelEitherCancelsBoth() {
        let v = Self.holdingOCO()
        #expect(cancels(v.when(v.cancel(11))) == ["11:100 requested", "12:100 other_leg_cancelled"])
        #expect(v.position(1)?.held == Quantity(0) && v.account(1).openOrders == 0)
        #expect(Self.consistent(v))
    }

    @Test("an exit's prices may be replaced and it stays paired; its quantity may not")
    func replaceALeg() {
        let v = Self.holdingOCO()
        let moved = v.when(.replace(ReplaceOrder(orderID: OrderID(12), newOrderID: OrderID(13), account: AccountID(1),
                                                 quantity: Quantity(100), stopPrice: Price(dollars: "9.20"))))
        #expect(moved.count == 1 && rejection(moved) == nil)
        let bigger = v.when(.replace(ReplaceOrder(orderID: OrderID(11), newOrderID: OrderID(14), account: AccountID(1),
                                                  quantity: Quantity(120))))
        #expect(rejection(bigger) == .legQuantityFixed(OrderID(11)))
        // The pair follows the new id: cancelling the take-profit ends the replaced stop-loss.
        #expect(cancels(v.when(v.cancel(11))) == ["11:100 requested", "13:100 other_leg_cancelled"])
        #expect(Self.consistent(v))
    }

    @Test("an exit only closes: an oco with no position to close is refused")
    func exitMustClose() {
        let v = Given(rules: Self.rules, accounts: true)
        v.open(1, .margin, cash: "100000")
        #expect(rejection(v.when(.newOrderList(Self.oco(v)))) == .exitWouldOpen(v.symbol))
        #expect(Self.consistent(v))
    }

    // MARK: - Halts and the kill switch

    @Test("a halted symbol refuses new lists and keeps working exits; cancels still end both")
    func halt() {
        let v = Self.holdingOCO()
        v.when(.setTradingState(v.symbol, .halted))
        var other = Self.oco(v, qty: 10)
        other = OrderList(orderClass: .oco, account: AccountID(1), symbol: v.symbol, side: .sell, timeInForce: .gtc,
                          quantity: Quantity(10), entry: nil,
                          takeProfit: .init(orderID: OrderID(21), limitPrice: Price(dollars: "11.00")!),
                          stopLoss: .init(orderID: OrderID(22), stopPrice: Price(dollars: "9.00")!))
        #expect(rejection(v.when(.newOrderList(other))) == .symbolHalted(v.symbol))
        #expect(v.book(.sell) == ["11.00 11:100"])
        v.when(.setTradingState(v.symbol, .open))
        #expect(cancels(v.when(v.cancel(12))) == ["12:100 requested", "11:100 other_leg_cancelled"])
        #expect(Self.consistent(v))
    }

    @Test("the kill switch cancels an entry, its waiting exits and a working pair")
    func killSwitch() {
        let v = Given(rules: Self.rules, accounts: true)
        v.open(1, cash: "1000", shares: 100)
        v.when(.newOrderList(Self.oco(v)))
        var bracket = Self.bracket(v, qty: 5)
        bracket = OrderList(orderClass: .bracket, account: AccountID(1), symbol: v.symbol, side: .buy, timeInForce: .gtc,
                            quantity: Quantity(5), entry: .init(orderID: OrderID(20), type: .limit, limitPrice: Price(dollars: "10.00")),
                            takeProfit: .init(orderID: OrderID(21), limitPrice: Price(dollars: "10.50")!),
                            stopLoss: .init(orderID: OrderID(22), stopPrice: Price(dollars: "9.50")!))
        #expect(rejection(v.when(.newOrderList(bracket))) == nil)
        let events = v.when(.killSwitch(AccountID(1)))
        #expect(Set(cancels(events)) == ["11:100 kill_switch", "12:100 kill_switch", "20:5 kill_switch",
                                         "21:5 kill_switch", "22:5 kill_switch"])
        #expect(v.account(1).openOrders == 0)
        #expect(Self.consistent(v))
    }

    // MARK: - Terms

    @Test("a list missing a member, with another time in force, or with exits on the wrong side is refused by name")
    func terms() {
        let v = Given()
        var list = Self.bracket(v)
        list = OrderList(orderClass: .bracket, account: AccountID(1), symbol: v.symbol, side: .buy, timeInForce: .gtc,
                         quantity: Quantity(10), entry: list.entry, takeProfit: list.takeProfit, stopLoss: nil)
        #expect(rejection(v.when(.newOrderList(list))) == .orderListIncomplete(.bracket))
        #expect(rejection(v.when(.newOrderList(Self.bracket(v, tif: .ioc)))) == .orderListTimeInForce(.bracket, .ioc))
        #expect(rejection(v.when(.newOrderList(Self.bracket(v, profit: "9.90"))))
                == .exitPriceOutOfOrder(.takeProfit, Price(dollars: "9.90")!, bound: Price(dollars: "10.00")!, mustBeAbove: true))
        #expect(rejection(v.when(.newOrderList(Self.bracket(v, stop: "10.10"))))
                == .exitPriceOutOfOrder(.stopLoss, Price(dollars: "10.10")!, bound: Price(dollars: "10.00")!, mustBeAbove: false))
        v.resting(v.buy(5, "9.00", qty: 1, account: 2))
        #expect(rejection(v.when(.newOrderList(Self.bracket(v)))) == nil)
        #expect(rejection(v.when(.newOrder(v.sell(11, "10.00", qty: 1, account: 2)))) == .duplicateOrderID(OrderID(11)))
        #expect(Self.consistent(v))
    }

    @Test("a list is plain data no wider than a new order: commands and events keep their size, events are copied as bytes")
    func plainData() {
        #expect(MemoryLayout<OrderList>.size <= MemoryLayout<NewOrder>.size && _isPOD(OrderList.self))
        // The sizes they had before lists (docs/ARCHITECTURE.md): a wider command is measured before it is taken.
        // Commands hold a capture batch's arrays since `.captureTrades` (measured: BENCHMARKS.md, "Capture in batches").
        #expect(MemoryLayout<Command>.size == 121 && MemoryLayout<Event>.size == 113)
        #expect(_isPOD(Event.self))
    }

    @Test("lists in every stage survive a snapshot: the restored engine hashes the same and carries on identically")
    func snapshot() throws {
        let v = Given(rules: Self.rules, accounts: true)
        v.open(1, cash: "1000", shares: 100)
        v.open(2, cash: "10000")
        v.when(.newOrderList(Self.oco(v, qty: 50)))
        v.when(.newOrderList(OrderList(orderClass: .bracket, account: AccountID(1), symbol: v.symbol, side: .buy,
                                       timeInForce: .gtc, quantity: Quantity(5),
                                       entry: .init(orderID: OrderID(20), type: .limit, limitPrice: Price(dollars: "10.00")),
                                       takeProfit: .init(orderID: OrderID(21), limitPrice: Price(dollars: "10.50")!),
                                       stopLoss: .init(orderID: OrderID(22), stopPrice: Price(dollars: "9.50")!))))
        let restored = try restored(v.engine)
        #expect(restored.stateHash() == v.engine.stateHash())
        let next = [Command.newOrder(v.buy(1, "11.00", qty: 10, account: 2)), v.cancel(20), .killSwitch(AccountID(1))]
        for command in next {
            let stamped = SequencedCommand(sequence: 99, time: Timestamp(nanos: 5_000), command: command)
            #expect(restored.process(stamped) == v.engine.process(stamped))
        }
        #expect(restored.stateHash() == v.engine.stateHash())
        #expect(restored.invariantViolations().isEmpty && restored.accountViolations().isEmpty)
    }
}
