import BourseCore

extension MatchingEngine {
    /// The first rule a new order breaks, checked in a fixed order; nil when it may be accepted.
    func validate(_ o: NewOrder, _ book: Book) -> RejectReason? {
        switch book.state {
        case .halted: return .symbolHalted(book.symbol)
        case .closed: return .symbolClosed(book.symbol)
        case .preOpen, .open: break
        }
        if index.find(o.orderID.rawValue) != nil { return .duplicateOrderID(o.orderID) }
        if !listOf.isEmpty, listOf[o.orderID.rawValue] != nil { return .duplicateOrderID(o.orderID) }
        if let reason = checkQuantity(o.quantity, book) { return reason }
        // Most orders are plain limit orders with none of the optional terms. Only the checks below that
        // can fail for such an order are made, in the same order, so the first reason is the same.
        if o.type == .limit, let price = o.limitPrice, o.stopPrice == nil, o.trailingOffset == nil,
           o.displayQuantity == nil, !o.postOnly, o.expireTime == nil, o.timeInForce != .gtd {
            if let reason = checkPrice(price, book) { return reason }
            return orders.live >= limits.ordersMax ? .bookFull(book.symbol) : nil
        }

        let needsLimit = o.type == .limit || o.type == .stopLimit
        let needsStop = o.type == .stop || o.type == .stopLimit
        if needsLimit, o.limitPrice == nil { return .limitPriceRequired }
        if !needsLimit, o.limitPrice != nil { return .limitPriceNotAllowed }
        if needsStop, o.stopPrice == nil { return .stopPriceRequired }
        if !needsStop, o.stopPrice != nil { return .stopPriceNotAllowed }
        if o.type == .trailingStop, o.trailingOffset == nil { return .trailingOffsetRequired }
        if o.type != .trailingStop, o.trailingOffset != nil { return .trailingOffsetNotAllowed }
        if let p = o.limitPrice, let reason = checkPrice(p, book) { return reason }
        if let p = o.stopPrice, let reason = checkPrice(p, book) { return reason }
        switch o.trailingOffset {
        case .amount(let amount)?:
            if amount.units <= 0 || amount > Price.max { return .trailingOffsetInvalid }
        case .basisPoints(let bp)?:
            if !(1...9_999).contains(bp) { return .trailingOffsetInvalid }
        case nil: break
        }

        if o.type == .market, o.timeInForce == .gtc || o.timeInForce == .gtd {
            return .timeInForceNotAllowed(o.timeInForce, o.type)
        }
        if o.timeInForce == .gtd {
            guard let expire = o.expireTime else { return .expireTimeRequired }
            if expire.nanos <= now { return .expireTimeInPast(expire) }
        } else if o.expireTime != nil {
            return .expireTimeNotAllowed
        }
        if let display = o.displayQuantity {
            if o.type != .limit || display.shares < 1 || display > o.quantity { return .displayQuantityInvalid(display) }
            if !o.timeInForce.rests { return .icebergMustRest }
        }
        if o.postOnly {
            if o.type != .limit || !o.timeInForce.rests { return .postOnlyMustBeLimit }
            if book.state == .open, wouldCross(side: o.side, price: o.limitPrice!.units, book) {
                return .wouldTakeLiquidity
            }
        }
        if o.type == .trailingStop, referencePrice(book) == 0 { return .noReferencePrice }
        if orders.live >= limits.ordersMax { return .bookFull(book.symbol) }
        return nil
    }

    @inline(__always) func checkQuantity(_ q: Quantity, _ book: Book) -> RejectReason? {
        if q.shares <= 0 { return .quantityNotPositive }
        if q.shares < book.orderQtyMin { return .quantityBelowMinimum(q, minimum: Quantity(book.orderQtyMin)) }
        if q.shares > book.orderQtyMax { return .quantityAboveMaximum(q, maximum: Quantity(book.orderQtyMax)) }
        if q.shares % book.lotSize != 0 { return .quantityNotMultipleOfLot(q, lot: Quantity(book.lotSize)) }
        return nil
    }

    @inline(__always) func checkPrice(_ p: Price, _ book: Book) -> RejectReason? {
        if p.units <= 0 { return .priceNotPositive(p) }
        if p.units > Price.max.units { return .priceAboveMaximum(p) }
        if !book.isOnTick(p.units) { return .priceOffTick(p, tick: book.tickTable.tick(at: p)) }
        return nil
    }
}
