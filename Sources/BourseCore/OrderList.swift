/// Orders that depend on each other: Alpaca's order classes, FIX's contingency types.
public enum OrderClass: UInt8, Sendable, CaseIterable {
    /// An entry whose take-profit and stop-loss wait for it to fill, then one cancels the other.
    case bracket = 1
    /// An entry with one exit (a take-profit or a stop-loss) that waits for it to fill.
    case oto = 2
    /// A take-profit and a stop-loss working at once, for a position already held: one cancels the other.
    case oco = 3

    /// The word the API and the stores use.
    public var name: String {
        switch self {
        case .bracket: "bracket"
        case .oto: "oto"
        case .oco: "oco"
        }
    }
}

/// A list of orders accepted together: an entry with exits that wait for it (`bracket`, `oto`), or two exits
/// where one cancels the other (`oco`). Every member's id is chosen by the gateway, as every order id is.
///
/// Plain data no wider than `NewOrder`, so `Command` keeps its size and stays trivially copyable: prices are
/// stored as units (0 for none) and an absent member's id is 0; the optional views below are what to read.
public struct OrderList: Hashable, Sendable {
    public var orderClass: OrderClass
    /// The entry's side; for `oco`, the side of both exits.
    public var side: Side
    /// The entry's type (market, limit, stop or stop-limit); `limit` for `oco`, whose first order is its take-profit.
    public var type: OrderType
    /// Every member's: DAY or GTC.
    public var timeInForce: TimeInForce
    public var account: AccountID
    public var symbol: Symbol
    /// The entry's quantity; for `oco`, each exit's.
    public var quantity: Quantity
    /// Members' ids in raw form, 0 where the list has no such member.
    public internal(set) var entryID: UInt64
    var entryLimit: Int64
    var entryStop: Int64
    public internal(set) var takeProfitID: UInt64
    var takeProfitLimit: Int64
    public internal(set) var stopLossID: UInt64
    var stopLossStop: Int64
    var stopLossLimit: Int64

    public struct Entry: Hashable, Sendable {
        public var orderID: OrderID
        public var type: OrderType
        public var limitPrice: Price?
        public var stopPrice: Price?
        public init(orderID: OrderID, type: OrderType, limitPrice: Price? = nil, stopPrice: Price? = nil) {
            self.orderID = orderID
            self.type = type
            self.limitPrice = limitPrice
            self.stopPrice = stopPrice
        }
    }

    /// A limit order on the exit side.
    public struct TakeProfit: Hashable, Sendable {
        public var orderID: OrderID
        public var limitPrice: Price
        public init(orderID: OrderID, limitPrice: Price) {
            self.orderID = orderID
            self.limitPrice = limitPrice
        }
    }

    /// A stop, or with a limit a stop-limit, order on the exit side.
    public struct StopLoss: Hashable, Sendable {
        public var orderID: OrderID
        public var stopPrice: Price
        public var limitPrice: Price?
        public init(orderID: OrderID, stopPrice: Price, limitPrice: Price? = nil) {
            self.orderID = orderID
            self.stopPrice = stopPrice
            self.limitPrice = limitPrice
        }
    }

    /// `entry` is nil for `oco` (its `side` is then the exits' side); the class says which exits it needs,
    /// which the engine checks.
    public init(orderClass: OrderClass, account: AccountID, symbol: Symbol, side: Side, timeInForce: TimeInForce,
                quantity: Quantity, entry: Entry?, takeProfit: TakeProfit?, stopLoss: StopLoss?) {
        self.orderClass = orderClass
        self.side = side
        self.type = entry?.type ?? .limit
        self.timeInForce = timeInForce
        self.account = account
        self.symbol = symbol
        self.quantity = quantity
        entryID = entry?.orderID.rawValue ?? 0
        entryLimit = entry?.limitPrice?.units ?? 0
        entryStop = entry?.stopPrice?.units ?? 0
        takeProfitID = takeProfit?.orderID.rawValue ?? 0
        takeProfitLimit = takeProfit?.limitPrice.units ?? 0
        stopLossID = stopLoss?.orderID.rawValue ?? 0
        stopLossStop = stopLoss?.stopPrice.units ?? 0
        stopLossLimit = stopLoss?.limitPrice?.units ?? 0
    }

    public var entry: Entry? {
        guard entryID != 0 else { return nil }
        return Entry(orderID: OrderID(entryID), type: type, limitPrice: entryLimit != 0 ? Price(units: entryLimit) : nil,
                     stopPrice: entryStop != 0 ? Price(units: entryStop) : nil)
    }

    public var takeProfit: TakeProfit? {
        guard takeProfitID != 0 else { return nil }
        return TakeProfit(orderID: OrderID(takeProfitID), limitPrice: Price(units: takeProfitLimit))
    }

    public var stopLoss: StopLoss? {
        guard stopLossID != 0 else { return nil }
        return StopLoss(orderID: OrderID(stopLossID), stopPrice: Price(units: stopLossStop),
                        limitPrice: stopLossLimit != 0 ? Price(units: stopLossLimit) : nil)
    }

    /// The order the list is known by: its entry, or an `oco`'s take-profit (Alpaca's parent).
    public var orderID: OrderID { OrderID(entryID != 0 ? entryID : takeProfitID) }

    /// The side the exits trade: against the entry, or an `oco`'s own.
    public var exitSide: Side { entryID != 0 ? side.opposite : side }

    /// Every member's id, entry first.
    public var orderIDs: [OrderID] {
        [entryID, takeProfitID, stopLossID].filter { $0 != 0 }.map(OrderID.init)
    }

    /// The entry as an order of its own; nil for `oco`.
    public var entryOrder: NewOrder? {
        entry.map {
            NewOrder(orderID: $0.orderID, account: account, symbol: symbol, side: side, type: $0.type,
                     timeInForce: timeInForce, quantity: quantity, limitPrice: $0.limitPrice, stopPrice: $0.stopPrice)
        }
    }

    /// The take-profit as an order of `quantity` shares.
    public func takeProfitOrder(quantity: Quantity) -> NewOrder? {
        takeProfit.map {
            NewOrder(orderID: $0.orderID, account: account, symbol: symbol, side: exitSide, type: .limit,
                     timeInForce: timeInForce, quantity: quantity, limitPrice: $0.limitPrice)
        }
    }

    /// The stop-loss as an order of `quantity` shares.
    public func stopLossOrder(quantity: Quantity) -> NewOrder? {
        stopLoss.map {
            NewOrder(orderID: $0.orderID, account: account, symbol: symbol, side: exitSide,
                     type: $0.limitPrice == nil ? .stop : .stopLimit, timeInForce: timeInForce, quantity: quantity,
                     limitPrice: $0.limitPrice, stopPrice: $0.stopPrice)
        }
    }

    /// Follows a member's replace: the list names its members by their current ids.
    public mutating func rename(_ old: OrderID, to new: OrderID) {
        if entryID == old.rawValue { entryID = new.rawValue }
        if takeProfitID == old.rawValue { takeProfitID = new.rawValue }
        if stopLossID == old.rawValue { stopLossID = new.rawValue }
    }
}
