public enum Side: UInt8, Sendable, CaseIterable {
    case buy = 0
    case sell = 1

    @inlinable public var opposite: Side { self == .buy ? .sell : .buy }

    /// The word the API and the stores use.
    public var name: String { self == .buy ? "buy" : "sell" }
}

public enum OrderType: UInt8, Sendable, CaseIterable {
    case market = 0
    case limit = 1
    /// Becomes a market order when the last trade reaches the stop price.
    case stop = 2
    /// Becomes a limit order when the last trade reaches the stop price.
    case stopLimit = 3
    /// A stop whose stop price follows the best trade price reached since acceptance.
    case trailingStop = 4

    public var isStop: Bool { self == .stop || self == .stopLimit || self == .trailingStop }

    /// The word the API and the stores use.
    public var name: String {
        switch self {
        case .market: "market"
        case .limit: "limit"
        case .stop: "stop"
        case .stopLimit: "stop_limit"
        case .trailingStop: "trailing_stop"
        }
    }
}

public enum TimeInForce: UInt8, Sendable, CaseIterable {
    /// Expires when the symbol closes.
    case day = 0
    case gtc = 1
    /// Good till a date: expires when a timer command's time reaches the order's expiry time.
    case gtd = 2
    /// What does not fill at once is cancelled.
    case ioc = 3
    /// Fills completely at once, or nothing happens.
    case fok = 4

    public var rests: Bool { self == .day || self == .gtc || self == .gtd }

    /// The word the API and the stores use.
    public var name: String {
        switch self {
        case .day: "day"
        case .gtc: "gtc"
        case .gtd: "gtd"
        case .ioc: "ioc"
        case .fok: "fok"
        }
    }
}

/// What happens when an order would trade with a resting order of the same account. Opt-in per
/// order; the incoming order's mode decides.
public enum SelfTradePrevention: UInt8, Sendable, CaseIterable {
    case none = 0
    /// The incoming order's remainder is cancelled; the resting order stays.
    case cancelNewest = 1
    /// The resting order is cancelled and matching goes on.
    case cancelOldest = 2
    /// Both are cancelled.
    case cancelBoth = 3
    /// The smaller quantity is taken off both without a trade; an order left with nothing is cancelled.
    case decrement = 4
}

public enum TradingState: UInt8, Sendable, CaseIterable {
    /// Orders are accepted and held; they enter the book in arrival order at the open.
    case preOpen = 0
    case open = 1
    /// New orders and replaces are rejected; cancels are accepted.
    case halted = 2
    /// New orders and replaces are rejected; cancels are accepted. Entering it expires DAY orders.
    case closed = 3
}

/// How far a trailing stop's trigger trails the best trade price reached since acceptance.
public enum TrailingOffset: Hashable, Sendable {
    case amount(Price)
    /// In basis points of the best price: 100 is 1%.
    case basisPoints(Int64)
}
