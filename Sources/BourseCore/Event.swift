/// What happened. Every outcome of a command is an event; downstream state is built from them alone.
public enum Event: Hashable, Sendable {
    case symbolListed(Symbol)
    case tradingStateChanged(Symbol, TradingState)
    /// An admin command that could not be applied.
    case commandRejected(CommandRejectReason)
    /// The order as it was accepted. Orders accepted in pre-open wait for the open.
    case orderAccepted(NewOrder)
    case orderRejected(OrderID, AccountID, RejectReason)
    /// A list of orders was accepted. It follows the `orderAccepted` of the orders that work at once (an
    /// entry, or both orders of an `oco`); exits waiting for their entry are accepted when they are placed,
    /// or cancelled (with `orderCancelled`) if they never are.
    case orderListAccepted(OrderList)
    /// The order came to rest at the back of its price level, showing `shown` shares: a limit order with
    /// shares left after it traded, or an iceberg's new slice. A consumer that keeps the books needs no
    /// other rule to know when an order is on them.
    case orderRested(OrderID, AccountID, Symbol, Side, price: Price, shown: Quantity)
    /// The fill report for both orders: each side carries what it has left.
    case trade(Trade)
    case orderCancelled(OrderID, AccountID, leaves: Quantity, CancelReason)
    case orderExpired(OrderID, AccountID, leaves: Quantity)
    case orderReplaced(Replacement)
    case cancelRejected(OrderID, AccountID, RejectReason)
    case replaceRejected(OrderID, newOrderID: OrderID, AccountID, RejectReason)
    /// A stop order's trigger was reached by the last trade price; it now works as a market or limit order.
    case stopTriggered(OrderID, AccountID, lastTrade: Price)
    /// Self-trade prevention took `quantity` off an order without a trade.
    case selfTradeDecremented(OrderID, AccountID, quantity: Quantity, leaves: Quantity)
    case easyToBorrowChanged(Symbol, Bool)
    case feesChanged(Symbol, FeeSchedule)

    // Accounts: each of these that moves cash or shares is a ledger transaction.
    case accountOpened(AccountID, AccountNumber, AccountTerms)
    case cashDeposited(AccountID, Money)
    case cashWithdrawn(AccountID, Money)
    case securitiesTransferredIn(AccountID, Symbol, Quantity, costPerShare: Price)
    case securitiesTransferredOut(AccountID, Symbol, Quantity)
    case accountStateChanged(AccountID, AccountState)
    case accountLimitsChanged(AccountID, AccountLimits)
    case accountClosed(AccountID)
    /// Both sides posted; `basis` is the cost basis that moved with shares (zero for cash).
    case journalPosted(Journal, basis: Money)
    /// A transfer was queued or changed status; a rejected or cancelled one says why.
    case transferChanged(UInt64, TransferRequest, TransferStatus, TransferReason)

    // Post-trade. Every event a command makes belongs to the business date open when it was applied.
    /// The day `from` closed and `to` opened; what traded on the book today settles on `settlesOn`.
    /// The settlement cycle of `to` follows, as `obligationSettled` and `failMarked` events.
    case businessDateRolled(BusinessDateRoll)
    /// A trade executed away from the book was booked to its account, under the venue's id for it
    /// (numbered from 1), and is due on its settlement date. Its reference is in the command.
    case tradeCaptured(UInt64, TradeTerms)
    /// One obligation of a settlement cycle and what of it moved; the rest is carried forward as a fail.
    case obligationSettled(SettlementOutcome)
    /// A fail carried forward was revalued at the symbol's last price: `payment` moved now (positive to the
    /// participant), and the money due on delivery changed by as much the other way.
    case failMarked(CivilDate, AccountID, Symbol, price: Price, payment: Money)
    /// A trade was reversed: its reverse is booked and due on `dueOn` (its own settlement date when that
    /// has not come, where the two net to nothing; otherwise the open day's).
    case tradeCancelled(TradeCancellation, dueOn: CivilDate)
    case tradeCleared(TradeRef, reconciliation: UInt64)
    /// Numbered from 1 among the venue's corporate actions.
    case dividendDeclared(UInt64, Dividend)
    case splitDeclared(UInt64, Split)
    /// On the record date: the account held `shares` settled and is owed the dividend on them.
    case dividendRecorded(UInt64, AccountID, shares: Quantity)
    /// On the pay date: cash in from the issuer.
    case dividendPaid(UInt64, AccountID, Money)
    /// On the effective date: the account's position went from `from` shares to `to` (and what it has due
    /// and failing likewise), the new shares coming from the issuer (the outside world).
    case positionSplit(UInt64, AccountID, Symbol, from: Quantity, to: Quantity)

    // Risk. A mark is its command's sequence: its prices, then `marked`.
    /// The mark's price for the symbol: for an interval mark only where it changed since the mark before.
    case markPrice(Symbol, Price)
    /// The mark is complete; `prices` of its `markPrice` events came before this.
    case marked(MarkRequest, prices: UInt32)
    /// The symbol's reference quote is now this; the next NBBO mark uses its midpoint.
    case referenceQuoted(ReferenceQuote)
    /// A margin call, numbered from 1, took a step; an account put in reduce-only by it, or back, follows
    /// as `accountStateChanged`.
    case marginCallChanged(UInt64, MarginCallStep)

    /// A rollover's settlement cycle stopped after a part of its obligations (at most
    /// `MatchingEngine.Limits.settlementOutcomesPerCommandMax` a command); `settleNext` applies the next.
    case settlementContinues(CivilDate, left: UInt32)

    // Leadership.
    /// The node that journals from here on leads under this term.
    case termBegan(UInt64)
}

public struct Trade: Hashable, Sendable {
    public var executionID: ExecutionID
    public var symbol: Symbol
    public var price: Price
    public var quantity: Quantity
    /// The aggressor's side; the maker is on the other side.
    public var takerSide: Side
    public var makerOrderID: OrderID
    public var makerAccount: AccountID
    public var makerLeaves: Quantity
    public var takerOrderID: OrderID
    public var takerAccount: AccountID
    public var takerLeaves: Quantity
    /// Fees charged to each side (negative for a rebate); zero where the engine keeps no accounts.
    public var makerFee: Money
    public var takerFee: Money

    public init(executionID: ExecutionID, symbol: Symbol, price: Price, quantity: Quantity, takerSide: Side,
                makerOrderID: OrderID, makerAccount: AccountID, makerLeaves: Quantity,
                takerOrderID: OrderID, takerAccount: AccountID, takerLeaves: Quantity,
                makerFee: Money = .zero, takerFee: Money = .zero) {
        self.executionID = executionID
        self.symbol = symbol
        self.price = price
        self.quantity = quantity
        self.takerSide = takerSide
        self.makerOrderID = makerOrderID
        self.makerAccount = makerAccount
        self.makerLeaves = makerLeaves
        self.takerOrderID = takerOrderID
        self.takerAccount = takerAccount
        self.takerLeaves = takerLeaves
        self.makerFee = makerFee
        self.takerFee = takerFee
    }

    public var buyerOrderID: OrderID { takerSide == .buy ? takerOrderID : makerOrderID }
    public var buyerAccount: AccountID { takerSide == .buy ? takerAccount : makerAccount }
    public var buyerFee: Money { takerSide == .buy ? takerFee : makerFee }
    public var sellerAccount: AccountID { takerSide == .buy ? makerAccount : takerAccount }
    public var sellerFee: Money { takerSide == .buy ? makerFee : takerFee }
}

public struct Replacement: Hashable, Sendable {
    public var orderID: OrderID
    public var newOrderID: OrderID
    public var account: AccountID
    public var quantity: Quantity
    public var leaves: Quantity
    public var limitPrice: Price?
    public var stopPrice: Price?
    public var keptPriority: Bool

    public init(orderID: OrderID, newOrderID: OrderID, account: AccountID, quantity: Quantity, leaves: Quantity,
                limitPrice: Price?, stopPrice: Price?, keptPriority: Bool) {
        self.orderID = orderID
        self.newOrderID = newOrderID
        self.account = account
        self.quantity = quantity
        self.leaves = leaves
        self.limitPrice = limitPrice
        self.stopPrice = stopPrice
        self.keptPriority = keptPriority
    }
}
