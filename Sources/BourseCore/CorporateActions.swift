/// A booked trade, as a cancellation names it: a capture by the venue's id for it, or a fill on the book.
public enum TradeRef: Hashable, Sendable, CustomStringConvertible {
    case capture(UInt64)
    case fill(ExecutionID)

    public var description: String {
        switch self {
        case .capture(let id): "C-\(id)"
        case .fill(let id): "F-\(id.rawValue)"
        }
    }
}

/// Cancels a booked trade, settled or not, by booking its reverse: each side takes back what it took,
/// at the trade's price. The terms are the trade's as booked (for a capture, the engine checks them
/// against its record; for a fill, the gateway reads them from the journal's view): `terms` is the
/// capture's account, or a fill's buyer, and `counterparty` the street or the fill's seller.
public struct TradeCancellation: Hashable, Sendable {
    /// Calendar days after a trade's settlement date during which it may still be cancelled.
    public static let windowDays = 30

    public var trade: TradeRef
    public var terms: TradeTerms
    public var counterparty: AccountID

    public init(trade: TradeRef, terms: TradeTerms, counterparty: AccountID) {
        self.trade = trade
        self.terms = terms
        self.counterparty = counterparty
    }
}

/// A cash dividend: holders of settled shares at the end of the record date are owed `perShare` each,
/// paid on the pay date. Under T+1 the ex-date is the record date: a trade on the ex-date settles after it.
public struct Dividend: Hashable, Sendable {
    public var symbol: Symbol
    public var perShare: Money
    public var exDate: CivilDate
    public var recordDate: CivilDate
    public var payDate: CivilDate

    public init(symbol: Symbol, perShare: Money, exDate: CivilDate, recordDate: CivilDate, payDate: CivilDate) {
        self.symbol = symbol
        self.perShare = perShare
        self.exDate = exDate
        self.recordDate = recordDate
        self.payDate = payDate
    }
}

/// A forward stock split, `ratio` new shares for each one, effective when its date opens: positions and
/// what is due or failing in the symbol multiply, cost bases and money do not; the mark divides.
public struct Split: Hashable, Sendable {
    public static let ratioMax: Int64 = 100

    public var symbol: Symbol
    public var ratio: Int64
    public var effectiveDate: CivilDate

    public init(symbol: Symbol, ratio: Int64, effectiveDate: CivilDate) {
        self.symbol = symbol
        self.ratio = ratio
        self.effectiveDate = effectiveDate
    }
}
