import BourseCore

extension MatchingEngine {
    /// A positive fee never exceeds the fill's notional; a rebate is paid in full.
    @inline(__always) func fee(_ perShare: Int64, _ quantity: Int64, notional: Int64) -> Int64 {
        perShare > 0 ? min(perShare * quantity, notional) : perShare * quantity
    }

    /// Books one side of a fill: the order's reservation shrinks by the shares filled, cash moves by the
    /// notional and fee, the position by the shares. One ledger transaction per side; the venue, as
    /// central counterparty, nets to zero across the two, and the fee goes to the venue's account.
    /// Every amount is bounded by the order notional cap, so Swift's checked arithmetic never traps here.
    @inline(__always)
    func settle(_ o: UnsafeMutablePointer<OrderSlot>, _ s: Int32, price: Int64, quantity q: Int64, fee: Int64) {
        let pp = positions.pointer(o.pointee.position)
        let ap = accounts.pointer(pp.pointee.account)
        let isBuy = o.pointee.side == .buy
        if o.pointee.closing {
            pp.pointee.held -= q
        } else {
            ap.pointee.cashHold -= reservations[s].holdPerShare * q
            if isBuy { pp.pointee.openingBuys -= q } else { pp.pointee.openingSells -= q }
        }
        let notional = price * q
        let cash = isBuy ? -(notional + fee) : notional - fee
        ap.pointee.cash += cash
        pp.pointee.unsettled += cash
        venueFees += fee
        move(pp, by: isBuy ? q : -q, at: price)
        assert(ap.pointee.cashHold >= 0 && pp.pointee.held >= 0 && pp.pointee.held <= pp.pointee.quantity.magnitude,
               "a fill left a hold negative or beyond the position")
        assert(ap.pointee.kind == .margin || (ap.pointee.cash >= ap.pointee.cashHold && pp.pointee.quantity >= 0),
               "a fill took a cash account below its hold or short")
    }

    /// Moves a position by `delta` shares traded at `price` and books the P&L realized, by the
    /// average-cost method: a reduction takes its share of the cost basis out (exactly all of it when the
    /// position closes) and realizes the difference from the price; what goes beyond zero opens at the price.
    @inline(__always)
    func move(_ pp: UnsafeMutablePointer<PositionRecord>, by delta: Int64, at price: Int64) {
        let quantity = pp.pointee.quantity
        if quantity == 0 || (quantity > 0) == (delta > 0) {
            pp.pointee.quantity += delta
            pp.pointee.cost += price * delta
            return
        }
        let reduced = min(delta.magnitude, quantity.magnitude)
        let r = Int64(reduced)
        let removed = proportion(pp.pointee.cost, r, of: quantity)
        let realized = (quantity > 0 ? price * r : -price * r) - removed
        pp.pointee.cost -= removed
        pp.pointee.realized += realized
        let step = delta > 0 ? r : -r
        pp.pointee.quantity += step
        let rest = delta - step
        if rest != 0 {
            pp.pointee.quantity += rest
            pp.pointee.cost += price * rest
        }
    }
}
