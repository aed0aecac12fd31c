/// How a mark fixes a symbol's price. Every method falls back to the last trade, then the previous close,
/// where what it looks at is missing; a symbol with none of them has no price and is left out.
public enum MarkMethod: UInt8, Hashable, Sendable, CaseIterable {
    /// The last trade.
    case lastTrade = 0
    /// Halfway between the best bid and the best offer (rounded down to 1/10,000 dollar), when both are there.
    case mid = 1
    /// Halfway across the NBBO of the feeds the venue follows and its own book, as the request carries it
    /// (`MarkRequest.quotes`, seen outside the engine); where it has no price, the venue's own `mid`.
    case nbboMid = 2

    /// The method as configuration files and the API name it.
    public init?(name: String) {
        switch name {
        case "last_trade": self = .lastTrade
        case "mid": self = .mid
        case "nbbo_mid": self = .nbboMid
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .lastTrade: "last_trade"
        case .mid: "mid"
        case .nbboMid: "nbbo_mid"
        }
    }
}

/// A mark: one price per symbol, fixed in the journal at the command's sequence, at which every account is
/// valued alike. An interval mark carries the prices that changed since the mark before; a close mark
/// carries every price, and the day's P&L is measured from the last close.
public struct MarkRequest: Hashable, Sendable {
    public var method: MarkMethod
    public var close: Bool
    /// For `nbboMid`: each symbol's NBBO midpoint when the request was made, by symbol, each symbol once and
    /// every price positive; empty for the other methods. In the command, so that a replay marks alike.
    public private(set) var quotes: [Quote]

    public struct Quote: Hashable, Sendable {
        public var symbol: Symbol
        public var mid: Price

        public init(symbol: Symbol, mid: Price) {
            self.symbol = symbol
            self.mid = mid
        }
    }

    public static let quotesMax = 10_000

    public init(method: MarkMethod, close: Bool) {
        self.method = method
        self.close = close
        quotes = []
    }

    /// An NBBO mark with the midpoints seen; nil when they break a rule above (which `problem` names).
    public init?(nbbo quotes: [Quote], close: Bool) {
        guard Self.problem(quotes) == nil else { return nil }
        self.init(method: .nbboMid, close: close)
        self.quotes = quotes.sorted { $0.symbol < $1.symbol }
    }

    /// What is wrong with NBBO midpoints for a mark, as a sentence; nil when nothing is.
    public static func problem(_ quotes: [Quote]) -> String? {
        guard quotes.count <= quotesMax else { return "a mark carries at most \(quotesMax) NBBO midpoints, not \(quotes.count)" }
        if let bad = quotes.first(where: { $0.mid.units <= 0 }) { return "the NBBO midpoint of \(bad.symbol) is \(bad.mid.units), not positive" }
        guard Set(quotes.map(\.symbol)).count == quotes.count else { return "a mark carries a symbol's NBBO midpoint twice" }
        return nil
    }

    /// What the `marked` event names: the method and whether it is a close (the prices fixed are the
    /// `markPrice` events before it).
    public var kind: MarkKind { MarkKind(method: method, close: close) }

    /// The midpoint carried for `symbol`, if any.
    public func quote(_ symbol: Symbol) -> Int64? {
        var (lo, hi) = (0, quotes.count)
        while lo < hi {
            let mid = (lo + hi) / 2
            if quotes[mid].symbol < symbol { lo = mid + 1 } else { hi = mid }
        }
        return lo < quotes.count && quotes[lo].symbol == symbol ? quotes[lo].mid.units : nil
    }
}

/// What kind of mark a `marked` event closes: its method and whether it was a close. Plain data, as every
/// event is (the midpoints an NBBO request carried stay in its command).
public struct MarkKind: Hashable, Sendable {
    public var method: MarkMethod
    public var close: Bool

    public init(method: MarkMethod, close: Bool) {
        self.method = method
        self.close = close
    }
}

/// A step of a margin call, sent by the risk desk from the figures of a mark: `open` when a margin
/// account's equity is below its house requirement, `met` when a later mark finds it covered again,
/// `liquidating` once the deadline has passed and the desk starts closing positions.
public struct MarginCallStep: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable, CaseIterable {
        case open = 0
        case met = 1
        case liquidating = 2

        public var name: String {
            switch self {
            case .open: "open"
            case .met: "met"
            case .liquidating: "liquidating"
            }
        }
    }

    public var kind: Kind
    public var account: AccountID
    /// The deficit the mark found (for `met`, zero).
    public var deficit: Money
    /// The mark whose figures the step follows.
    public var mark: UInt64
    /// For `open`: when the call must be met.
    public var deadline: Timestamp
    /// For `open`: the account may only reduce positions until the call is met.
    public var reduceOnly: Bool

    public init(kind: Kind, account: AccountID, deficit: Money = .zero, mark: UInt64, deadline: Timestamp = Timestamp(nanos: 0),
                reduceOnly: Bool = false) {
        self.kind = kind
        self.account = account
        self.deficit = deficit
        self.mark = mark
        self.deadline = deadline
        self.reduceOnly = reduceOnly
    }
}
