/// Why an order, cancel or replace was refused. Each case has a stable code and a sentence.
public enum RejectReason: Hashable, Sendable, Error {
    case unknownSymbol(Symbol)
    case symbolHalted(Symbol)
    case symbolClosed(Symbol)
    case duplicateOrderID(OrderID)
    case quantityNotPositive
    case quantityBelowMinimum(Quantity, minimum: Quantity)
    case quantityAboveMaximum(Quantity, maximum: Quantity)
    case quantityNotMultipleOfLot(Quantity, lot: Quantity)
    case limitPriceRequired
    case limitPriceNotAllowed
    case stopPriceRequired
    case stopPriceNotAllowed
    case priceNotPositive(Price)
    case priceAboveMaximum(Price)
    case priceOffTick(Price, tick: Price)
    case trailingOffsetRequired
    case trailingOffsetNotAllowed
    case trailingOffsetInvalid
    case displayQuantityInvalid(Quantity)
    /// Market orders, IOC/FOK icebergs and post-only IOC/FOK make no sense together.
    case timeInForceNotAllowed(TimeInForce, OrderType)
    case icebergMustRest
    case postOnlyMustBeLimit
    case expireTimeRequired
    case expireTimeNotAllowed
    case expireTimeInPast(Timestamp)
    case wouldTakeLiquidity
    /// A trailing stop needs a last trade to trail from; risk fails closed without one.
    case noReferencePrice
    /// The order is not open: filled, cancelled, expired, another account's, or never known.
    case orderNotOpen(OrderID)
    case replaceQuantityNotAboveFilled(Quantity, filled: Quantity)
    case replaceChangesNothing
    case replaceNotAllowed(OrderType)
    case bookFull(Symbol)
    // Pre-trade risk: each names the figures that decided it.
    case unknownAccount(AccountID)
    case accountBlocked(AccountID)
    case accountClosed(AccountID)
    /// The account may only reduce positions, and this order would open or add to one.
    case reduceOnly(AccountID)
    case insufficientBuyingPower(needs: Money, available: Money)
    /// A sell beyond the shares held and not already reserved, or a buy beyond the short to cover.
    case insufficientPosition(Symbol, Side, needs: Quantity, available: Quantity)
    case notEasyToBorrow(Symbol)
    /// An order may not open a position on one side while an order opening the other side is open.
    case oppositeOrderOpen(Symbol, Side)
    /// Equity would not cover the maintenance requirement with this order filled.
    case maintenanceDeficit(equity: Money, requirement: Money)
    case accountQuantityLimit(Quantity, limit: Quantity)
    case notionalAboveLimit(Money, limit: Money)
    /// Price × quantity is beyond any amount the venue can hold.
    case notionalOverflow
    case openOrdersPerSymbolLimit(Symbol, limit: Int64)
    case openOrdersLimit(limit: Int64)
    case positionLimit(Symbol, would: Quantity, limit: Quantity)
    /// A buy above, or a sell below, the price collar around the reference price.
    case priceOutsideCollar(Price, limit: Price)
    /// A position's symbol has no price to value it at, so margin cannot be computed.
    case noMarkPrice(Symbol)
    // Order lists.
    /// The class needs members the list does not have (or has one it may not).
    case orderListIncomplete(OrderClass)
    case orderListTimeInForce(OrderClass, TimeInForce)
    case orderListEntryType(OrderClass, OrderType)
    /// An exit's price is on the wrong side of the entry's limit or of the other exit's price.
    case exitPriceOutOfOrder(ExitLeg, Price, bound: Price, mustBeAbove: Bool)
    /// An exit only closes: placed, it would open a position or add to one.
    case exitWouldOpen(Symbol)
    /// An exit's quantity follows what its entry filled; its prices may be replaced.
    case legQuantityFixed(OrderID)
    /// An exit waiting for its entry may be cancelled, not replaced.
    case legHeld(OrderID)

    public var code: String {
        switch self {
        case .unknownSymbol: "unknown_symbol"
        case .symbolHalted: "symbol_halted"
        case .symbolClosed: "symbol_closed"
        case .duplicateOrderID: "duplicate_order_id"
        case .quantityNotPositive: "quantity_not_positive"
        case .quantityBelowMinimum: "quantity_below_minimum"
        case .quantityAboveMaximum: "quantity_above_maximum"
        case .quantityNotMultipleOfLot: "quantity_not_multiple_of_lot"
        case .limitPriceRequired: "limit_price_required"
        case .limitPriceNotAllowed: "limit_price_not_allowed"
        case .stopPriceRequired: "stop_price_required"
        case .stopPriceNotAllowed: "stop_price_not_allowed"
        case .priceNotPositive: "price_not_positive"
        case .priceAboveMaximum: "price_above_maximum"
        case .priceOffTick: "price_off_tick"
        case .trailingOffsetRequired: "trailing_offset_required"
        case .trailingOffsetNotAllowed: "trailing_offset_not_allowed"
        case .trailingOffsetInvalid: "trailing_offset_invalid"
        case .displayQuantityInvalid: "display_quantity_invalid"
        case .timeInForceNotAllowed: "time_in_force_not_allowed"
        case .icebergMustRest: "iceberg_must_rest"
        case .postOnlyMustBeLimit: "post_only_must_be_limit"
        case .expireTimeRequired: "expire_time_required"
        case .expireTimeNotAllowed: "expire_time_not_allowed"
        case .expireTimeInPast: "expire_time_in_past"
        case .wouldTakeLiquidity: "would_take_liquidity"
        case .noReferencePrice: "no_reference_price"
        case .orderNotOpen: "order_not_open"
        case .replaceQuantityNotAboveFilled: "replace_quantity_not_above_filled"
        case .replaceChangesNothing: "replace_changes_nothing"
        case .replaceNotAllowed: "replace_not_allowed"
        case .bookFull: "book_full"
        case .unknownAccount: "unknown_account"
        case .accountBlocked: "account_blocked"
        case .accountClosed: "account_closed"
        case .reduceOnly: "reduce_only"
        case .insufficientBuyingPower: "insufficient_buying_power"
        case .insufficientPosition: "insufficient_position"
        case .notEasyToBorrow: "not_easy_to_borrow"
        case .oppositeOrderOpen: "opposite_order_open"
        case .maintenanceDeficit: "maintenance_deficit"
        case .accountQuantityLimit: "account_quantity_limit"
        case .notionalAboveLimit: "notional_above_limit"
        case .notionalOverflow: "notional_overflow"
        case .openOrdersPerSymbolLimit: "open_orders_per_symbol_limit"
        case .openOrdersLimit: "open_orders_limit"
        case .positionLimit: "position_limit"
        case .priceOutsideCollar: "price_outside_collar"
        case .noMarkPrice: "no_mark_price"
        case .orderListIncomplete: "order_class_legs"
        case .orderListTimeInForce: "order_class_time_in_force"
        case .orderListEntryType: "order_class_type"
        case .exitPriceOutOfOrder: "exit_price_out_of_order"
        case .exitWouldOpen: "exit_would_open"
        case .legQuantityFixed: "leg_quantity_fixed"
        case .legHeld: "leg_held"
        }
    }

    public var message: String {
        switch self {
        case .unknownSymbol(let s): "\(s) is not listed"
        case .symbolHalted(let s): "\(s) is halted: only cancels are accepted"
        case .symbolClosed(let s): "\(s) is closed: only cancels are accepted"
        case .duplicateOrderID(let id): "order id \(id) is already in use"
        case .quantityNotPositive: "quantity must be at least 1"
        case .quantityBelowMinimum(let q, let min): "quantity \(q) is below the minimum of \(min)"
        case .quantityAboveMaximum(let q, let max): "quantity \(q) is above the maximum of \(max)"
        case .quantityNotMultipleOfLot(let q, let lot): "quantity \(q) is not a multiple of the lot size \(lot)"
        case .limitPriceRequired: "this order type needs a limit price"
        case .limitPriceNotAllowed: "this order type takes no limit price"
        case .stopPriceRequired: "this order type needs a stop price"
        case .stopPriceNotAllowed: "this order type takes no stop price"
        case .priceNotPositive(let p): "price \(p) must be above zero"
        case .priceAboveMaximum(let p): "price \(p) is above the maximum of \(Price.max)"
        case .priceOffTick(let p, let tick): "price \(p) is not a multiple of the tick \(tick)"
        case .trailingOffsetRequired: "a trailing stop needs a trail amount or percent"
        case .trailingOffsetNotAllowed: "only trailing stops take a trail"
        case .trailingOffsetInvalid: "the trail must be above zero (a percent below 100)"
        case .displayQuantityInvalid(let q): "display quantity \(q) must be at least 1 and at most the order quantity"
        case .timeInForceNotAllowed(let tif, let type): "time in force \(tif) is not allowed for \(type) orders"
        case .icebergMustRest: "an iceberg order must be DAY, GTC or GTD"
        case .postOnlyMustBeLimit: "post-only applies to resting limit orders only"
        case .expireTimeRequired: "a GTD order needs an expire time"
        case .expireTimeNotAllowed: "only GTD orders take an expire time"
        case .expireTimeInPast(let t): "expire time \(t) has already passed"
        case .wouldTakeLiquidity: "a post-only order would trade on arrival"
        case .noReferencePrice: "no reference price: the symbol has no last trade and no previous close"
        case .orderNotOpen(let id): "order \(id) is not open (filled, cancelled, expired or unknown)"
        case .replaceQuantityNotAboveFilled(let q, let filled): "new quantity \(q) must be above the \(filled) already filled"
        case .replaceChangesNothing: "the replace changes nothing"
        case .replaceNotAllowed(let type): "\(type) orders cannot be replaced"
        case .bookFull(let s): "the book of \(s) holds as many orders as it may"
        case .unknownAccount(let a): "account \(a) does not exist"
        case .accountBlocked(let a): "account \(a) is blocked: only cancels are accepted"
        case .accountClosed(let a): "account \(a) is closed"
        case .reduceOnly(let a): "account \(a) is reduce-only and this order would open or add to a position"
        case .insufficientBuyingPower(let needs, let available):
            "needs \(needs.grouped), available \(available.grouped)"
        case .insufficientPosition(let s, let side, let needs, let available):
            side == .sell
                ? "sells \(needs) \(s), \(available) held and not reserved by other orders"
                : "buys \(needs) \(s) to cover, \(available) short and not reserved by other orders"
        case .notEasyToBorrow(let s): "\(s) is not on the easy-to-borrow list: it cannot be sold short"
        case .oppositeOrderOpen(let s, let side):
            side == .sell
                ? "cannot sell \(s) short while a buy order for it is open"
                : "cannot buy \(s) while a short sale of it is open"
        case .maintenanceDeficit(let equity, let requirement):
            "equity \(equity.grouped) would not cover the maintenance requirement of \(requirement.grouped)"
        case .accountQuantityLimit(let q, let limit): "quantity \(q) is above the account's limit of \(limit)"
        case .notionalAboveLimit(let n, let limit): "notional \(n.grouped) is above the account's limit of \(limit.grouped)"
        case .notionalOverflow: "price × quantity is beyond the largest amount the venue can hold"
        case .openOrdersPerSymbolLimit(let s, let limit): "the account already has \(limit) open orders in \(s)"
        case .openOrdersLimit(let limit): "the account already has \(limit) open orders"
        case .positionLimit(let s, let would, let limit): "the position in \(s) could reach \(would), above the limit of \(limit)"
        case .priceOutsideCollar(let p, let limit): "price \(p) is beyond the collar limit of \(limit)"
        case .noMarkPrice(let s): "\(s) has no last trade or previous close to value the position at"
        case .orderListIncomplete(let c):
            switch c {
            case .bracket: "a bracket order needs an entry, a take_profit and a stop_loss"
            case .oto: "an oto order needs an entry and one of take_profit or stop_loss"
            case .oco: "an oco order needs a take_profit and a stop_loss, and no entry of its own"
            }
        case .orderListTimeInForce(let c, let tif): "\(c.name) orders must be day or gtc, not \(tif.name)"
        case .orderListEntryType(let c, let type): "a \(c.name) order's entry cannot be a \(type.name) order"
        case .exitPriceOutOfOrder(let leg, let p, let bound, let above):
            "the \(leg.name)'s \(leg == .takeProfit ? "limit" : "stop") price \(p) must be \(above ? "above" : "below") \(bound)"
        case .exitWouldOpen(let s): "an exit only closes a position, and the account holds no \(s) to close on this side"
        case .legQuantityFixed(let id): "the quantity of order \(id) follows what its entry filled: replace only its prices"
        case .legHeld(let id): "order \(id) waits for its entry to fill: it can be cancelled, not replaced"
        }
    }
}

public enum CancelReason: UInt8, Hashable, Sendable, CaseIterable {
    case requested = 0
    /// The unfilled part of an IOC order.
    case immediateOrCancel = 1
    /// A FOK order that could not fill completely.
    case fillOrKill = 2
    /// A market order's remainder that would have traded beyond its protection price.
    case protectionLimit = 3
    /// A market order's remainder with nothing left to trade against.
    case noLiquidity = 4
    case selfTradePrevention = 5
    /// A post-only order held in pre-open that would have traded at the open.
    case wouldTakeLiquidity = 6
    case killSwitch = 7
    /// The other order of its one-cancels-other pair traded.
    case otherLegFilled = 8
    /// The other order of its pair, a stop-loss, was triggered and now works alone.
    case otherLegTriggered = 9
    /// The other order of its pair was cancelled or expired.
    case otherLegCancelled = 10
    /// An exit waiting for its entry: the entry was cancelled, expired or ended without a fill.
    case entryEnded = 11
    /// A split of the symbol took effect.
    case corporateAction = 12

    public var code: String {
        switch self {
        case .requested: "requested"
        case .immediateOrCancel: "immediate_or_cancel"
        case .fillOrKill: "fill_or_kill"
        case .protectionLimit: "protection_limit"
        case .noLiquidity: "no_liquidity"
        case .selfTradePrevention: "self_trade_prevention"
        case .wouldTakeLiquidity: "would_take_liquidity"
        case .killSwitch: "kill_switch"
        case .otherLegFilled: "other_leg_filled"
        case .otherLegTriggered: "other_leg_triggered"
        case .otherLegCancelled: "other_leg_cancelled"
        case .entryEnded: "entry_ended"
        case .corporateAction: "corporate_action"
        }
    }

    /// Why the order was cancelled, as a sentence for the one who sent it.
    public var message: String {
        switch self {
        case .requested: "cancelled as requested"
        case .immediateOrCancel: "the part that did not trade at once was cancelled (ioc)"
        case .fillOrKill: "the order could not fill completely at once (fok)"
        case .protectionLimit: "the rest would have traded beyond the market order's protection price"
        case .noLiquidity: "nothing was left on the other side of the book to trade against"
        case .selfTradePrevention: "it would have traded with an order of the same account"
        case .wouldTakeLiquidity: "a post-only order would have taken liquidity at the open"
        case .killSwitch: "the account's kill switch cancelled it"
        case .otherLegFilled: "the other order of its one-cancels-other pair traded"
        case .otherLegTriggered: "the other order of its pair, the stop-loss, was triggered"
        case .otherLegCancelled: "the other order of its one-cancels-other pair was cancelled or expired"
        case .entryEnded: "its entry order was cancelled, expired or ended without a fill, so it was never placed"
        case .corporateAction: "a split of the symbol took effect; orders in it are cancelled, to be entered again at the new prices"
        }
    }
}

/// The exits of an order list, as reasons name them.
public enum ExitLeg: UInt8, Hashable, Sendable {
    case takeProfit = 0
    case stopLoss = 1

    public var name: String { self == .takeProfit ? "take_profit" : "stop_loss" }
}

public enum CommandRejectReason: Hashable, Sendable {
    case symbolAlreadyListed(Symbol)
    case unknownSymbol(Symbol)
    case invalidRules(Symbol)
    case tooManySymbols
    /// An account command sent to an engine that keeps no accounts.
    case accountsNotKept
    case unknownAccount(AccountID)
    case accountExists(AccountID)
    case accountNumberTaken(AccountNumber)
    case accountClosed(AccountID)
    case tooManyAccounts
    case invalidAccountTerms
    case amountNotPositive(Money)
    case insufficientCash(needs: Money, available: Money)
    case insufficientPosition(Symbol, needs: Quantity, available: Quantity)
    /// The deposit would take a balance or the venue's total past `Money.balanceLimit`.
    case balanceLimit(Money)
    case quantityInvalid(Quantity)
    case costInvalid(Price)
    case positionLimit(Symbol, would: Quantity, limit: Quantity)
    case accountNotEmpty(AccountID)
    case feesInvalid(Symbol)
    case shortSaleOpen(Symbol)
    /// Shares cannot be transferred into a short position: it is covered by buying.
    case positionShort(Symbol)
    /// Taking the shares out would leave a margin account's equity below its initial requirement.
    case insufficientEquity(needs: Money, available: Money)
    case journalToSelf(AccountID)
    case unknownTransfer(UInt64)
    /// A transfer moves forward only, and is cancelled only while queued.
    case transferStatus(UInt64, from: TransferStatus, to: TransferStatus)
    /// The account has as many transfers pending as it may (`TransferRequest.pendingPerAccountMax`).
    case tooManyTransfers(AccountID)
    case transfersPending(AccountID)

    // Business dates and captured trades.
    /// A rollover that closes a day other than the venue's current one: sent twice, or out of turn.
    case businessDateMismatch(current: CivilDate?, closing: CivilDate?)
    /// A new business date at or before the current one.
    case businessDateNotAfter(CivilDate, current: CivilDate)
    case settlementBeforeTrade(settles: CivilDate, traded: CivilDate)
    /// Trades are captured into an open business day; the venue has not had its first rollover.
    case noBusinessDate
    /// A captured trade dated after the business day that is open.
    case tradeDateAhead(CivilDate, current: CivilDate)
    case tradeReferenceEmpty
    /// Off the symbol's tick table or lot size, or beyond the venue's order limits.
    case tradeTermsInvalid(Symbol, Price, Quantity)
    /// The same reference with the same terms: the trade was captured before, under this id.
    case tradeAlreadyCaptured(UInt64)
    /// The same reference with other terms.
    case tradeReferenceReused
    /// The venue holds as many references of recent captures as it may (`Clearing.referencesMax`).
    case tooManyCaptures
    case accountIDReserved(AccountID)
    case unknownTrade(TradeRef)
    case tradeAlreadyCancelled(TradeRef)
    /// The terms a cancellation gives are not the trade's as booked.
    case tradeTermsMismatch(TradeRef)
    /// Settled more than `TradeCancellation.windowDays` ago.
    case tradeTooOldToCancel(TradeRef)
    /// A dividend's amount, or its dates (ex on or before record, record after today, pay on or after record).
    case dividendInvalid(Symbol)
    /// A split's ratio (2 to `Split.ratioMax` new shares for one) or its date (after today).
    case splitInvalid(Symbol)
    /// Corporate actions pending at once, at most `corporateActionsMax`.
    case tooManyCorporateActions
    case tradeAlreadyCleared(TradeRef)
    /// Margin calls are for margin accounts.
    case notMarginAccount(AccountID)
    case marginCallOpen(AccountID)
    case noMarginCall(AccountID)
    /// A reference quote needs both sides, the bid at most the ask, within `Price.max`; or both zero for none.
    case referenceQuoteInvalid(Symbol, bid: Price, ask: Price)
    /// A rollover's settlement cycle is still being applied, a part at a time; what would change what it
    /// settles (a rollover, a capture, a cancellation, clearing, a corporate action) waits for its end.
    case settlementInProgress(CivilDate, left: UInt32)
    /// A `settleNext` for a date whose settlement is not in progress.
    case noSettlementInProgress(CivilDate)

    public var code: String {
        switch self {
        case .symbolAlreadyListed: "symbol_already_listed"
        case .unknownSymbol: "unknown_symbol"
        case .invalidRules: "invalid_rules"
        case .tooManySymbols: "too_many_symbols"
        case .accountsNotKept: "accounts_not_kept"
        case .unknownAccount: "unknown_account"
        case .accountExists: "account_exists"
        case .accountNumberTaken: "account_number_taken"
        case .accountClosed: "account_closed"
        case .tooManyAccounts: "too_many_accounts"
        case .invalidAccountTerms: "invalid_account_terms"
        case .amountNotPositive: "amount_not_positive"
        case .insufficientCash: "insufficient_cash"
        case .insufficientPosition: "insufficient_position"
        case .balanceLimit: "balance_limit"
        case .quantityInvalid: "quantity_invalid"
        case .costInvalid: "cost_invalid"
        case .positionLimit: "position_limit"
        case .accountNotEmpty: "account_not_empty"
        case .feesInvalid: "fees_invalid"
        case .shortSaleOpen: "short_sale_open"
        case .positionShort: "position_short"
        case .insufficientEquity: "insufficient_equity"
        case .journalToSelf: "journal_to_self"
        case .unknownTransfer: "unknown_transfer"
        case .transferStatus: "transfer_status"
        case .tooManyTransfers: "too_many_transfers"
        case .transfersPending: "transfers_pending"
        case .businessDateMismatch: "business_date_mismatch"
        case .businessDateNotAfter: "business_date_not_after"
        case .settlementBeforeTrade: "settlement_before_trade"
        case .noBusinessDate: "no_business_date"
        case .tradeDateAhead: "trade_date_ahead"
        case .tradeReferenceEmpty: "trade_reference_empty"
        case .tradeTermsInvalid: "trade_terms_invalid"
        case .tradeAlreadyCaptured: "trade_already_captured"
        case .tradeReferenceReused: "trade_reference_reused"
        case .tooManyCaptures: "too_many_captures"
        case .accountIDReserved: "account_id_reserved"
        case .unknownTrade: "unknown_trade"
        case .tradeAlreadyCancelled: "trade_already_cancelled"
        case .tradeTermsMismatch: "trade_terms_mismatch"
        case .tradeTooOldToCancel: "trade_too_old_to_cancel"
        case .dividendInvalid: "dividend_invalid"
        case .splitInvalid: "split_invalid"
        case .tooManyCorporateActions: "too_many_corporate_actions"
        case .tradeAlreadyCleared: "trade_already_cleared"
        case .notMarginAccount: "not_margin_account"
        case .marginCallOpen: "margin_call_open"
        case .noMarginCall: "no_margin_call"
        case .referenceQuoteInvalid: "reference_quote_invalid"
        case .settlementInProgress: "settlement_in_progress"
        case .noSettlementInProgress: "no_settlement_in_progress"
        }
    }

    public var message: String {
        switch self {
        case .symbolAlreadyListed(let s): "\(s) is already listed"
        case .unknownSymbol(let s): "\(s) is not listed"
        case .invalidRules(let s): "the rules given for \(s) are not valid"
        case .tooManySymbols: "the venue lists as many symbols as it may"
        case .accountsNotKept: "this engine keeps no accounts"
        case .unknownAccount(let a): "account \(a) does not exist"
        case .accountExists(let a): "account \(a) already exists"
        case .accountNumberTaken(let n): "another account has the number \(n)"
        case .accountClosed(let a): "account \(a) is closed"
        case .tooManyAccounts: "the venue holds as many accounts as it may"
        case .invalidAccountTerms: "the account's limits or margin rates are out of range"
        case .amountNotPositive(let m): "amount \(m.grouped) must be above zero"
        case .insufficientCash(let needs, let available): "needs \(needs.grouped), available \(available.grouped)"
        case .insufficientPosition(let s, let needs, let available): "moves \(needs) \(s), \(available) available"
        case .balanceLimit(let m): "\(m.grouped) would take a balance past the venue's limit of \(Money.balanceLimit.grouped)"
        case .quantityInvalid(let q): "quantity \(q) must be between 1 and \(Quantity.max)"
        case .costInvalid(let p): "cost per share \(p) must be above zero and at most \(Price.max)"
        case .positionLimit(let s, let would, let limit): "the position in \(s) would reach \(would), above the limit of \(limit)"
        case .accountNotEmpty(let a): "account \(a) still holds cash, positions or open orders"
        case .shortSaleOpen(let s): "cannot take \(s) in while a short sale of it is open"
        case .positionShort(let s): "the account is short \(s): it is covered by buying, not by a transfer"
        case .insufficientEquity(let needs, let available):
            "the transfer uses \(needs.grouped) of buying power, available \(available.grouped)"
        case .feesInvalid(let s): "fees for \(s) must be at most \(FeeSchedule.perShareMax.grouped) a share either way"
        case .journalToSelf(let a): "a journal moves between two accounts, not from account \(a) to itself"
        case .unknownTransfer(let id): "no transfer \(id) is pending"
        case .transferStatus(let id, let from, let to): "transfer \(id) is \(from.name); it cannot become \(to.name)"
        case .tooManyTransfers(let a): "account \(a) has \(TransferRequest.pendingPerAccountMax) transfers pending, as many as it may"
        case .transfersPending(let a): "account \(a) has transfers pending"
        case .businessDateMismatch(let current, let closing):
            "the rollover closes \(closing.map { "\($0)" } ?? "no business date"), but the venue's business date is \(current.map { "\($0)" } ?? "not set")"
        case .businessDateNotAfter(let date, let current): "business date \(date) does not come after the current one, \(current)"
        case .settlementBeforeTrade(let settles, let traded): "settlement date \(settles) comes before trade date \(traded)"
        case .noBusinessDate: "no business day is open yet: trades are captured after the first rollover"
        case .tradeDateAhead(let date, let current): "trade date \(date) comes after the open business date, \(current)"
        case .tradeReferenceEmpty: "a captured trade needs a reference"
        case .tradeTermsInvalid(let s, let p, let q): "\(q) \(s) at \(p) is off the symbol's tick table or lot size, or beyond the venue's order limits"
        case .tradeAlreadyCaptured(let id): "the trade was captured before, as trade \(id)"
        case .tradeReferenceReused: "the reference was captured before with other terms"
        case .tooManyCaptures: "the venue holds as many recent captures as it may"
        case .accountIDReserved(let a): "account id \(a) is reserved"
        case .unknownTrade(let t): "no trade \(t) is booked (or it is past the window in which trades are cancelled)"
        case .tradeAlreadyCancelled(let t): "trade \(t) is already cancelled"
        case .tradeTermsMismatch(let t): "the terms given are not those trade \(t) was booked with"
        case .tradeTooOldToCancel(let t): "trade \(t) settled more than \(TradeCancellation.windowDays) days ago"
        case .dividendInvalid(let s): "a dividend on \(s) needs an amount above zero, an ex-date on or before its record date, a record date after today and a pay date on or after it"
        case .splitInvalid(let s): "a split of \(s) takes 2 to \(Split.ratioMax) new shares for each one and a date after today"
        case .tooManyCorporateActions: "the venue holds as many pending corporate actions as it may"
        case .tradeAlreadyCleared(let t): "trade \(t) is already cleared"
        case .notMarginAccount(let a): "account \(a) is a cash account: margin calls are for margin accounts"
        case .marginCallOpen(let a): "account \(a) already has a margin call open"
        case .noMarginCall(let a): "account \(a) has no margin call open"
        case .referenceQuoteInvalid(let s, let bid, let ask):
            "a reference quote for \(s) of \(bid) to \(ask) must have a bid above zero and at most the ask, and an ask at most \(Price.max) (or both zero for none)"
        case .settlementInProgress(let date, let left): "the settlement cycle of \(date) is being applied (\(left) obligations left); retry when it ends"
        case .noSettlementInProgress(let date): "no settlement cycle of \(date) is in progress"
        }
    }
}
