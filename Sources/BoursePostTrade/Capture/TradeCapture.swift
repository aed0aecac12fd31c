import BourseCore

/// A trade executed away from the venue's book, as a capture gateway (the API, a dropped file, FIX's
/// TradeCaptureReport) hands it to post-trade. The gateway checks its form; post-trade checks it against
/// the venue (symbol and account known, quantity and price on the rules, trade date a business date),
/// computes what is missing (the settlement date) and journals it, or queues it for a retry.
public struct CapturedTrade: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case api(key: String)
        case file(name: String, row: Int)
        case fix(session: String)
    }

    /// The submitter's own id for the trade: a second capture with the same id is the same trade.
    public var tradeID: String
    public var account: AccountNumber
    public var symbol: Symbol
    public var side: Side
    public var quantity: Quantity
    public var price: Price
    public var tradeDate: CivilDate
    public var settlementDate: CivilDate?
    public var counterparty: String?
    public var venue: String?
    public var source: Source

    public init(tradeID: String, account: AccountNumber, symbol: Symbol, side: Side, quantity: Quantity, price: Price,
                tradeDate: CivilDate, settlementDate: CivilDate? = nil, counterparty: String? = nil, venue: String? = nil, source: Source) {
        self.tradeID = tradeID
        self.account = account
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.price = price
        self.tradeDate = tradeDate
        self.settlementDate = settlementDate
        self.counterparty = counterparty
        self.venue = venue
        self.source = source
    }
}

/// What became of a captured trade.
public enum CaptureOutcome: Sendable, Equatable {
    /// Journaled, under the venue's id for it.
    case accepted(id: String)
    /// Not yet valid, perhaps later (an account not yet open): in the retry queue an operator sees.
    case queued(reason: String)
    /// Invalid: nothing was recorded.
    case refused(reason: String)
}

/// Post-trade's capture gateway, the one entry point of the three ways in (the node's is `CaptureDesk`).
public protocol TradeCapture: Sendable {
    func capture(_ trade: CapturedTrade) async -> CaptureOutcome
}
