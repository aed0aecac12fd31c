/// An open order as a consumer of the event stream needs it to continue from the engine's state.
public struct OpenOrderState: Hashable, Sendable {
    public enum Place: Hashable, Sendable {
        /// Held in pre-open, in arrival order.
        case pending
        /// On the book, in time priority.
        case book
        /// Waiting for its trigger.
        case stop
    }

    public var orderID: OrderID
    public var side: Side
    public var place: Place
    /// A stop not yet triggered (a triggered one works as a market or limit order).
    public var isStop: Bool
    public var limitPrice: Price?
    public var displayQuantity: Quantity?
    public var leaves: Quantity
    public var visible: Quantity

    public init(orderID: OrderID, side: Side, place: Place, isStop: Bool, limitPrice: Price?, displayQuantity: Quantity?,
                leaves: Quantity, visible: Quantity) {
        self.orderID = orderID
        self.side = side
        self.place = place
        self.isStop = isStop
        self.limitPrice = limitPrice
        self.displayQuantity = displayQuantity
        self.leaves = leaves
        self.visible = visible
    }
}
