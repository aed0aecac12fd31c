/// How a mark fixes a symbol's price. Every method falls back to the last trade, then the previous close,
/// where what it looks at is missing; a symbol with none of them has no price and is left out.
public enum MarkMethod: UInt8, Hashable, Sendable, CaseIterable {
    /// The last trade.
    case lastTrade = 0
    /// Halfway between the best bid and the best offer (rounded down to 1/10,000 dollar), when both are there.
    case mid = 1
    /// Halfway across the NBBO of the venues the feed handler follows, as the last `referenceQuote` for the
    /// symbol journaled it; where there is none, the venue's own `mid`.
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

    public init(method: MarkMethod, close: Bool) {
        self.method = method
        self.close = close
    }
}

/// The NBBO of the venues the feed handler follows for one of the venue's symbols, as seen outside the
/// engine and journaled so that a mark at its midpoint replays alike. Both prices zero: there is none now
/// (a side missing or the market crossed), and the mark falls back as the method says.
public struct ReferenceQuote: Hashable, Sendable {
    public var symbol: Symbol
    public var bid: Price
    public var ask: Price

    public init(symbol: Symbol, bid: Price, ask: Price) {
        self.symbol = symbol
        self.bid = bid
        self.ask = ask
    }

    /// None for the symbol.
    public static func none(_ symbol: Symbol) -> ReferenceQuote { ReferenceQuote(symbol: symbol, bid: .zero, ask: .zero) }

    /// Both sides positive, the bid at most the ask and the ask at most `Price.max`; or both zero.
    public var isValid: Bool {
        (bid.units == 0 && ask.units == 0) || (bid.units > 0 && bid.units <= ask.units && ask.units <= Price.max.units)
    }

    /// Halfway across, rounded down to 1/10,000 dollar as the venue's own mid is; 0 for none.
    public var mid: Int64 { (bid.units + ask.units) / 2 }
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
