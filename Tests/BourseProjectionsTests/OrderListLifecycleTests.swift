import BourseCore
import BourseEngine
import BourseNode
import BourseProjections
import Testing

/// What the order projection makes of order lists, from the engine's own events: an exit is a held order from
/// the moment its list is accepted, and keeps its list and parent through placement, fills and cancels.
@Suite("order lists in the order projection")
struct OrderListLifecycleTests {
    final class Venue {
        let engine = MatchingEngine()
        var lifecycle = OrderLifecycle()
        var sequence: UInt64 = 0
        let symbol = try! Symbol(validating: "XYZ")

        init() {
            send(.listSymbol(symbol, .standard))
            send(.setTradingState(symbol, .open))
        }

        @discardableResult
        func send(_ command: Command) -> [OrderChange] {
            sequence += 1
            let stamped = SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence) * 1_000), command: command)
            return lifecycle.apply(Published(command: stamped, events: engine.process(stamped)))
        }

        func order(_ id: UInt64, _ side: Side, _ price: String, qty: Int64, account: UInt32 = 2) -> Command {
            .newOrder(NewOrder(orderID: OrderID(id), account: AccountID(account), symbol: symbol, side: side, type: .limit,
                               timeInForce: .gtc, quantity: Quantity(qty), limitPrice: Price(dollars: price)))
        }

        /// Each open order as "id status class parent qty".
        var open: [String] {
            lifecycle.open.values.sorted { $0.order.orderID < $1.order.orderID }.map { r in
                "\(r.order.orderID) \(r.status.rawValue) \(r.orderClass?.name ?? "simple") \(r.parent.map(String.init(describing:)) ?? "-") \(r.order.quantity)"
            }
        }
    }

    static func bracket(_ v: Venue) -> OrderList {
        OrderList(orderClass: .bracket, account: AccountID(1), symbol: v.symbol, side: .buy, timeInForce: .gtc, quantity: Quantity(10),
                  entry: .init(orderID: OrderID(10), type: .limit, limitPrice: Price(dollars: "10.00")),
                  takeProfit: .init(orderID: OrderID(11), limitPrice: Price(dollars: "10.50")!),
                  stopLoss: .init(orderID: OrderID(12), stopPrice: Price(dollars: "9.50")!))
    }

    @Test("a bracket's exits are held orders of the list until the entry fills, then new, then one fills and the other is cancelled")
    func bracketLife() {
        let v = Venue()
        let accepted = v.send(.newOrderList(Self.bracket(v)))
        #expect(v.open == ["10 new bracket - 10", "11 held bracket 10 10", "12 held bracket 10 10"])
        // The held exits are rows, not news for the trading stream.
        #expect(accepted.filter(\.isTold).map(\.record.order.orderID) == [OrderID(10)])
        v.send(v.order(1, .sell, "10.00", qty: 10))
        #expect(v.open == ["11 new bracket 10 10", "12 new bracket 10 10"])
        let exit = v.send(v.order(2, .buy, "10.50", qty: 10, account: 3))
        #expect(exit.map { "\($0.record.order.orderID) \($0.event.rawValue)" } == ["2 new", "11 fill", "2 fill", "12 canceled"])
        #expect(v.open.isEmpty)
    }

    @Test("a replaced entry takes its held exits along: their parent and their quantity follow it")
    func replacedEntry() {
        let v = Venue()
        v.send(.newOrderList(Self.bracket(v)))
        v.send(.replace(ReplaceOrder(orderID: OrderID(10), newOrderID: OrderID(20), account: AccountID(1), quantity: Quantity(6))))
        #expect(v.open == ["11 held bracket 20 6", "12 held bracket 20 6", "20 new bracket - 6"])
        v.send(.cancel(CancelOrder(orderID: OrderID(20), account: AccountID(1))))
        #expect(v.open.isEmpty)
    }

    @Test("an oco's stop-loss is a leg of its take-profit, and a refused list is recorded as its first order, refused")
    func ocoAndRefusal() {
        let v = Venue()
        let oco = OrderList(orderClass: .oco, account: AccountID(1), symbol: v.symbol, side: .sell, timeInForce: .gtc,
                            quantity: Quantity(5), entry: nil,
                            takeProfit: .init(orderID: OrderID(30), limitPrice: Price(dollars: "11.00")!),
                            stopLoss: .init(orderID: OrderID(31), stopPrice: Price(dollars: "9.00")!))
        v.send(.newOrderList(oco))
        #expect(v.open == ["30 new oco - 5", "31 new oco 30 5"])
        var wrong = Self.bracket(v)
        wrong.timeInForce = .ioc
        let refused = v.send(.newOrderList(wrong))
        #expect(refused.map { "\($0.record.order.orderID) \($0.event.rawValue) \($0.record.orderClass?.name ?? "simple")" } == ["10 rejected bracket"])
    }
}
