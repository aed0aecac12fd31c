/// Why an order, cancel or replace was refused. Each case has a stable code and a sentence.
public enum RejectReason: Hashable, Sendable {
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
        case .noReferencePrice: "no last trade price to trail from"
        case .orderNotOpen(let id): "order \(id) is not open (filled, cancelled, expired or unknown)"
        case .replaceQuantityNotAboveFilled(let q, let filled): "new quantity \(q) must be above the \(filled) already filled"
        case .replaceChangesNothing: "the replace changes nothing"
        case .replaceNotAllowed(let type): "\(type) orders cannot be replaced"
        case .bookFull(let s): "the book of \(s) holds as many orders as it may"
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

    public var code: String {
        switch self {
        case .requested: "requested"
        case .immediateOrCancel: "immediate_or_cancel"
        case .fillOrKill: "fill_or_kill"
        case .protectionLimit: "protection_limit"
        case .noLiquidity: "no_liquidity"
        case .selfTradePrevention: "self_trade_prevention"
        case .wouldTakeLiquidity: "would_take_liquidity"
        }
    }
}

public enum CommandRejectReason: Hashable, Sendable {
    case symbolAlreadyListed(Symbol)
    case unknownSymbol(Symbol)
    case invalidRules(Symbol)
    case tooManySymbols

    public var code: String {
        switch self {
        case .symbolAlreadyListed: "symbol_already_listed"
        case .unknownSymbol: "unknown_symbol"
        case .invalidRules: "invalid_rules"
        case .tooManySymbols: "too_many_symbols"
        }
    }
}
