/// What the engine answers about its state, as plain values: for the gateways and read models, which
/// read them without depending on the engine itself.

/// An account's balances and margin figures at current marks.
public struct AccountSummary: Hashable, Sendable {
    public var account: AccountID
    public var number: AccountNumber
    public var kind: AccountKind
    public var state: AccountState
    public var limits: AccountLimits
    public var cash: Money
    public var cashHold: Money
    public var settledCash: Money
    public var unsettledCash: Money
    /// What a new opening order may reserve: for a cash account its free cash, for a margin account its
    /// equity above the initial requirement, less holds. The figures from here to `unrealizedPnL` are nil
    /// when a position has no price to value it, or when a figure is beyond what Money can hold (risk
    /// computes them in 128 bits and is not limited by that).
    public var buyingPower: Money?
    public var equity: Money?
    public var longMarketValue: Money?
    public var shortMarketValue: Money?
    public var initialRequirement: Money?
    public var maintenanceRequirement: Money?
    public var realizedPnL: Money
    public var unrealizedPnL: Money?
    public var openOrders: Int
    /// What a withdrawal or a cash journal may take: cash no order holds and, for a margin account, no
    /// more than its buying power.
    public var withdrawable: Money = .zero

    public init(account: AccountID, number: AccountNumber, kind: AccountKind, state: AccountState, limits: AccountLimits, cash: Money,
                cashHold: Money, settledCash: Money, unsettledCash: Money, buyingPower: Money? = nil,
                equity: Money? = nil, longMarketValue: Money? = nil, shortMarketValue: Money? = nil,
                initialRequirement: Money? = nil, maintenanceRequirement: Money? = nil, realizedPnL: Money,
                unrealizedPnL: Money? = nil, openOrders: Int) {
        self.account = account
        self.number = number
        self.kind = kind
        self.state = state
        self.limits = limits
        self.cash = cash
        self.cashHold = cashHold
        self.settledCash = settledCash
        self.unsettledCash = unsettledCash
        self.buyingPower = buyingPower
        self.equity = equity
        self.longMarketValue = longMarketValue
        self.shortMarketValue = shortMarketValue
        self.initialRequirement = initialRequirement
        self.maintenanceRequirement = maintenanceRequirement
        self.realizedPnL = realizedPnL
        self.unrealizedPnL = unrealizedPnL
        self.openOrders = openOrders
    }
}

public struct PositionSummary: Hashable, Sendable {
    public var symbol: Symbol
    /// Positive long, negative short.
    public var quantity: Quantity
    /// Shares reserved by open orders that reduce the position.
    public var held: Quantity
    /// What the position cost (negative for a short: the proceeds), average-cost method.
    public var costBasis: Money
    /// Cost basis per share, rounded toward zero to a price unit; nil when flat.
    public var averageCost: Price?
    /// Last trade, else previous close.
    public var mark: Price?
    /// Nil without a mark, or beyond what Money can hold.
    public var marketValue: Money?
    public var unrealizedPnL: Money?
    public var realizedPnL: Money
    public var openOrders: Int

    public init(symbol: Symbol, quantity: Quantity, held: Quantity, costBasis: Money, averageCost: Price? = nil,
                mark: Price? = nil, marketValue: Money? = nil, unrealizedPnL: Money? = nil, realizedPnL: Money,
                openOrders: Int) {
        self.symbol = symbol
        self.quantity = quantity
        self.held = held
        self.costBasis = costBasis
        self.averageCost = averageCost
        self.mark = mark
        self.marketValue = marketValue
        self.unrealizedPnL = unrealizedPnL
        self.realizedPnL = realizedPnL
        self.openOrders = openOrders
    }
}

/// An open order as the engine holds it, for order queries.
public struct OpenOrder: Hashable, Sendable {
    public var orderID: OrderID
    public var account: AccountID
    public var symbol: Symbol
    public var side: Side
    public var type: OrderType
    public var timeInForce: TimeInForce
    public var quantity: Quantity
    public var leaves: Quantity
    public var limitPrice: Price?
    public var stopPrice: Price?
    /// Cash the order holds (zero for orders that reduce a position, which hold shares instead).
    public var cashHold: Money

    public init(orderID: OrderID, account: AccountID, symbol: Symbol, side: Side, type: OrderType,
                timeInForce: TimeInForce, quantity: Quantity, leaves: Quantity, limitPrice: Price? = nil,
                stopPrice: Price? = nil, cashHold: Money) {
        self.orderID = orderID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.type = type
        self.timeInForce = timeInForce
        self.quantity = quantity
        self.leaves = leaves
        self.limitPrice = limitPrice
        self.stopPrice = stopPrice
        self.cashHold = cashHold
    }
}

/// Read-only views of the engine's state, for summaries, tests and (later) read models.
public struct BookSummary: Hashable, Sendable {
    public var symbol: Symbol
    public var state: TradingState
    public var restingOrders: Int
    public var stopOrders: Int
    public var pendingOrders: Int
    public var bestBid: Price?
    public var bestAsk: Price?
    public var lastTrade: Price?
    public var easyToBorrow: Bool
    public var fees = FeeSchedule.zero

    public init(symbol: Symbol, state: TradingState, restingOrders: Int, stopOrders: Int, pendingOrders: Int,
                bestBid: Price? = nil, bestAsk: Price? = nil, lastTrade: Price? = nil, easyToBorrow: Bool,
                fees: FeeSchedule = FeeSchedule.zero) {
        self.symbol = symbol
        self.state = state
        self.restingOrders = restingOrders
        self.stopOrders = stopOrders
        self.pendingOrders = pendingOrders
        self.bestBid = bestBid
        self.bestAsk = bestAsk
        self.lastTrade = lastTrade
        self.easyToBorrow = easyToBorrow
        self.fees = fees
    }
}

public struct DepthLevel: Hashable, Sendable {
    public var price: Price
    public var visible: Quantity
    public var orders: Int

    public init(price: Price, visible: Quantity, orders: Int) {
        self.price = price
        self.visible = visible
        self.orders = orders
    }
}

public struct RestingOrder: Hashable, Sendable {
    public var orderID: OrderID
    public var account: AccountID
    public var side: Side
    public var price: Price
    public var leaves: Quantity
    public var visible: Quantity

    public init(orderID: OrderID, account: AccountID, side: Side, price: Price, leaves: Quantity, visible: Quantity) {
        self.orderID = orderID
        self.account = account
        self.side = side
        self.price = price
        self.leaves = leaves
        self.visible = visible
    }
}
