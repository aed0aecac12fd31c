import BourseCore
import BourseEngine

/// Seeded random command streams that exercise every order type, time in force, replace, STP mode
/// and trading state on two symbols and three accounts, in a narrow price band so orders interact.
public struct CommandStream {
    public var rng: SplitMix64
    public var time: Int64 = 1_000_000
    var sequence: UInt64 = 0
    var nextOrderID: UInt64 = 1
    /// Ids handed out, open or not; cancels and replaces pick from these.
    var ids: [(id: UInt64, account: UInt32, symbol: Symbol)] = []
    public let symbols = [try! Symbol(validating: "AAA"), try! Symbol(validating: "BB.B")]
    /// Orders come from accounts 1 through this.
    public var accountCount: UInt32 = 3
    /// Whether some new orders come as order lists (the reference venue knows none).
    public var sendsLists = false

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    public mutating func stamp(_ c: Command) -> SequencedCommand {
        sequence += 1
        time += Int64.random(in: 0...2_000, using: &rng)
        return SequencedCommand(sequence: sequence, time: Timestamp(nanos: time), command: c)
    }

    /// Lists both symbols and opens them: AAA with a previous close, BB.B without and with lots of 10.
    public mutating func opening() -> [SequencedCommand] {
        [
            stamp(.listSymbol(symbols[0], InstrumentRules(previousClose: Price(units: 100_000)))),
            stamp(.listSymbol(symbols[1], InstrumentRules(tickTable: .halfPenny, lotSize: Quantity(10), orderQtyMax: Quantity(500)))),
            stamp(.setTradingState(symbols[0], .open)),
            stamp(.setTradingState(symbols[1], .open)),
        ]
    }

    mutating func price(_ symbol: Symbol) -> Price {
        // $9.90 to $10.10 in cents; BB.B also on half pennies.
        let step: Int64 = symbol == symbols[1] && Bool.random(using: &rng) ? 50 : 100
        return Price(units: 99_000 + step * Int64.random(in: 0...(20_000 / step), using: &rng))
    }

    mutating func quantity(_ symbol: Symbol) -> Quantity {
        let lot: Int64 = symbol == symbols[1] ? 10 : 1
        return Quantity(lot * Int64.random(in: 1...(Int.random(in: 0..<10, using: &rng) == 0 ? 60 : 12), using: &rng))
    }

    public mutating func next() -> SequencedCommand {
        let roll = Int.random(in: 0..<100, using: &rng)
        switch roll {
        case 34..<40 where sendsLists: return stamp(.newOrderList(orderList()))
        case 0..<40: return stamp(.newOrder(order(type: .limit)))
        case 40..<47: return stamp(.newOrder(order(type: .market)))
        case 47..<55: return stamp(.newOrder(order(type: Bool.random(using: &rng) ? .stop : .stopLimit)))
        case 55..<58: return stamp(.newOrder(order(type: .trailingStop)))
        case 58..<60: return stamp(.newOrder(invalidOrder()))
        case 60..<80:
            guard let pick = ids.randomElement(using: &rng) else { return stamp(.expireOrders) }
            let account = Int.random(in: 0..<20, using: &rng) == 0 ? pick.account % accountCount + 1 : pick.account
            return stamp(.cancel(CancelOrder(orderID: OrderID(pick.id), account: AccountID(account))))
        case 80..<93:
            guard let pick = ids.randomElement(using: &rng) else { return stamp(.expireOrders) }
            let newID = Int.random(in: 0..<4, using: &rng) == 0 ? pick.id : takeID(pick.account, pick.symbol)
            var r = ReplaceOrder(orderID: OrderID(pick.id), newOrderID: OrderID(newID), account: AccountID(pick.account),
                                 quantity: quantity(pick.symbol))
            if Bool.random(using: &rng) { r.limitPrice = price(pick.symbol) }
            if Int.random(in: 0..<4, using: &rng) == 0 { r.stopPrice = price(pick.symbol) }
            return stamp(.replace(r))
        case 93..<96:
            let states: [TradingState] = [.open, .open, .open, .halted, .preOpen, .closed]
            return stamp(.setTradingState(symbols.randomElement(using: &rng)!, states.randomElement(using: &rng)!))
        default:
            return stamp(.expireOrders)
        }
    }

    mutating func takeID(_ account: UInt32, _ symbol: Symbol) -> UInt64 {
        defer { nextOrderID += 1 }
        ids.append((nextOrderID, account, symbol))
        if ids.count > 400 { ids.removeFirst(100) }
        return nextOrderID
    }

    public mutating func order(type: OrderType) -> NewOrder {
        let symbol = symbols.randomElement(using: &rng)!
        let account = UInt32.random(in: 1...accountCount, using: &rng)
        // Now and then reuse an id that may still be open, to exercise duplicate rejection.
        let id = Int.random(in: 0..<50, using: &rng) == 0 && !ids.isEmpty ? ids.last!.id : takeID(account, symbol)
        let side: Side = Bool.random(using: &rng) ? .buy : .sell
        let tifs: [TimeInForce] = type == .market ? [.day, .ioc, .fok] : [.day, .day, .gtc, .gtc, .gtd, .ioc, .fok]
        var o = NewOrder(orderID: OrderID(id), account: AccountID(account), symbol: symbol, side: side, type: type,
                         timeInForce: tifs.randomElement(using: &rng)!, quantity: quantity(symbol))
        if type == .limit || type == .stopLimit { o.limitPrice = price(symbol) }
        if type == .stop || type == .stopLimit { o.stopPrice = price(symbol) }
        if type == .trailingStop {
            o.trailingOffset = Bool.random(using: &rng)
                ? .amount(Price(units: 100 * Int64.random(in: 1...8, using: &rng)))
                : .basisPoints(Int64.random(in: 5...80, using: &rng))
        }
        if o.timeInForce == .gtd { o.expireTime = Timestamp(nanos: time + Int64.random(in: 1...60_000, using: &rng)) }
        if type == .limit, o.timeInForce.rests {
            if Int.random(in: 0..<8, using: &rng) == 0 {
                o.displayQuantity = Quantity(max(1, o.quantity.shares / Int64.random(in: 2...4, using: &rng)))
            }
            if Int.random(in: 0..<10, using: &rng) == 0 { o.postOnly = true }
        }
        if Int.random(in: 0..<4, using: &rng) == 0 {
            o.selfTradePrevention = SelfTradePrevention.allCases.randomElement(using: &rng)!
        }
        return o
    }

    /// A bracket, oto or oco around a random price, its exits mostly on the right sides of it.
    public mutating func orderList() -> OrderList {
        let entry = order(type: [.limit, .limit, .market, .stop].randomElement(using: &rng)!)
        let orderClass = OrderClass.allCases.randomElement(using: &rng)!
        let exitSide = orderClass == .oco ? entry.side : entry.side.opposite
        let middle = entry.limitPrice ?? entry.stopPrice ?? price(entry.symbol)
        let tick: Int64 = 100 * Int64.random(in: -1...6, using: &rng)
        let profit = Price(units: middle.units + (exitSide == .sell ? tick : -tick))
        let loss = Price(units: middle.units - (exitSide == .sell ? tick : -tick))
        let takeProfit = OrderList.TakeProfit(orderID: OrderID(takeID(entry.account.rawValue, entry.symbol)), limitPrice: profit)
        var stopLoss = OrderList.StopLoss(orderID: OrderID(takeID(entry.account.rawValue, entry.symbol)), stopPrice: loss)
        if Bool.random(using: &rng) { stopLoss.limitPrice = Price(units: loss.units + (exitSide == .sell ? -100 : 100)) }
        let oneExit = Bool.random(using: &rng)
        return OrderList(
            orderClass: orderClass, account: entry.account, symbol: entry.symbol, side: entry.side,
            timeInForce: [.day, .gtc, .gtc, .ioc].randomElement(using: &rng)!, quantity: entry.quantity,
            entry: orderClass == .oco ? nil : OrderList.Entry(orderID: entry.orderID, type: entry.type,
                                                               limitPrice: entry.limitPrice, stopPrice: entry.stopPrice),
            takeProfit: orderClass == .oto && oneExit ? nil : takeProfit,
            stopLoss: orderClass == .oto && !oneExit ? nil : stopLoss)
    }

    /// An order that breaks one rule, picked at random.
    public mutating func invalidOrder() -> NewOrder {
        var o = order(type: .limit)
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: o.quantity = Quantity(0)
        case 1: o.limitPrice = Price(units: o.limitPrice!.units + 1)
        case 2: o.limitPrice = nil
        case 3: o.stopPrice = o.limitPrice
        case 4: o.symbol = try! Symbol(validating: "ZZZ")
        case 5: o.timeInForce = .gtd
        case 6: o.expireTime = Timestamp(nanos: time)
        case 7: o.displayQuantity = Quantity(o.quantity.shares + 1)
        case 8: o.type = .market; o.limitPrice = nil; o.timeInForce = .gtc
        default: o.quantity = Quantity(2_000_000)
        }
        return o
    }
}

/// Follows every order's quantity through the event stream alone and fails on any event that does
/// not add up: shares are conserved from acceptance to fill, cancel, expiry or decrement.
public struct QuantityLedger {
    public init() {}
    public struct Open { public var quantity: Int64; public var leaves: Int64 }
    public var open: [UInt64: Open] = [:]
    /// Exits of accepted lists that wait for their entry: each is later accepted (for at most this many
    /// shares) or cancelled for all of them.
    public var held: [UInt64: (shares: Int64, account: AccountID, entry: UInt64)] = [:]

    public mutating func apply(_ e: Event) -> String? {
        switch e {
        case .orderListAccepted(let list):
            for exit in [list.takeProfit?.orderID, list.stopLoss?.orderID].compactMap({ $0 }) where open[exit.rawValue] == nil {
                guard list.entry != nil, held[exit.rawValue] == nil else { return "list \(list.orderID) names a waiting id twice" }
                held[exit.rawValue] = (list.quantity.shares, list.account, list.entryID)
            }
        case .orderAccepted(let o):
            guard open[o.orderID.rawValue] == nil else { return "accepted an open id \(o.orderID)" }
            if let waiting = held.removeValue(forKey: o.orderID.rawValue)?.shares, o.quantity.shares > waiting {
                return "exit \(o.orderID) placed for \(o.quantity), its entry was for \(waiting)"
            }
            open[o.orderID.rawValue] = Open(quantity: o.quantity.shares, leaves: o.quantity.shares)
        case .trade(let t):
            guard t.quantity.shares > 0 else { return "empty trade" }
            for (id, leaves) in [(t.makerOrderID, t.makerLeaves), (t.takerOrderID, t.takerLeaves)] {
                guard var o = open[id.rawValue], o.leaves - t.quantity.shares == leaves.shares else {
                    return "trade \(t.executionID) does not add up for order \(id)"
                }
                o.leaves = leaves.shares
                open[id.rawValue] = leaves.shares == 0 ? nil : o
            }
        case .orderCancelled(let id, _, let leaves, _) where held[id.rawValue] != nil:
            guard held.removeValue(forKey: id.rawValue)?.shares == leaves.shares else { return "waiting exit \(id) cancelled for \(leaves)" }
        // An order naming a waiting id is refused as a duplicate and the exit waits on; any other refusal is
        // the exit's own, when it was to be placed.
        case .orderRejected(let id, let account, let reason) where held[id.rawValue]?.account == account
            && reason != .duplicateOrderID(id):
            held[id.rawValue] = nil
        case .orderCancelled(let id, _, let leaves, _), .orderExpired(let id, _, let leaves):
            guard open[id.rawValue]?.leaves == leaves.shares else { return "order \(id) ended with leaves \(leaves), ledger says \(open[id.rawValue]?.leaves ?? -1)" }
            open[id.rawValue] = nil
        case .orderReplaced(let r):
            // Waiting exits follow their entry's id and quantity.
            for (id, exit) in held where exit.entry == r.orderID.rawValue {
                held[id] = (r.quantity.shares, exit.account, r.newOrderID.rawValue)
            }
            guard let o = open.removeValue(forKey: r.orderID.rawValue),
                  r.leaves.shares == r.quantity.shares - (o.quantity - o.leaves) else { return "replace of \(r.orderID) does not add up" }
            open[r.newOrderID.rawValue] = Open(quantity: r.quantity.shares, leaves: r.leaves.shares)
        case .selfTradeDecremented(let id, _, let q, let leaves):
            guard var o = open[id.rawValue], o.leaves - q.shares == leaves.shares, leaves.shares > 0 else {
                return "decrement of \(id) does not add up"
            }
            o.leaves = leaves.shares
            o.quantity -= q.shares
            open[id.rawValue] = o
        default: break
        }
        return nil
    }
}
