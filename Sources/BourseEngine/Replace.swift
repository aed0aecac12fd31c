import BourseCore

extension MatchingEngine {
    /// Cancel/replace. The same or a smaller quantity at unchanged prices keeps the order's place; any price
    /// change or a larger quantity sends it to the back, and a new limit price may trade at once.
    func replace(_ r: ReplaceOrder) {
        guard let s = index.find(r.orderID.rawValue), orders[s].account == r.account.rawValue else {
            let reason = listOf.isEmpty ? nil : listReplaceCheck(r, slot: nil)
            out.append(.replaceRejected(r.orderID, newOrderID: r.newOrderID, r.account, reason ?? .orderNotOpen(r.orderID)))
            return
        }
        let book = books[Int(orders[s].book)]
        if let reason = validateReplace(r, orders[s], details[s], book)
            ?? (orders[s].list != .none ? listReplaceCheck(r, slot: s) : nil) {
            out.append(.replaceRejected(r.orderID, newOrderID: r.newOrderID, r.account, reason))
            return
        }
        let o = orders[s]
        let d = details[s]
        let newLimit = r.limitPrice?.units ?? o.price
        let newStop = r.stopPrice?.units ?? d.stopPrice
        let keepsPriority = newLimit == o.price && newStop == d.stopPrice && r.quantity.shares <= d.quantity
        let newLeaves = r.quantity.shares - (d.quantity - o.leaves)
        // A rider holds nothing of its own: the order it is paired with holds for both.
        if o.position >= 0, o.list != .rider, let reason = reassess(s, r, book, newLeaves: newLeaves, limit: newLimit, stop: newStop,
                                                 onlyReduces: keepsPriority) {
            out.append(.replaceRejected(r.orderID, newOrderID: r.newOrderID, r.account, reason))
            return
        }

        if r.newOrderID != r.orderID {
            index.remove(o.id)
            index.insert(r.newOrderID.rawValue, s)
            orders[s].id = r.newOrderID.rawValue
        }
        if o.list != .none { memberReplaced(o.id, by: r.newOrderID.rawValue, quantity: r.quantity) }
        let place = o.place
        if keepsPriority {
            if place == .book {
                let lp = levels.pointer(o.level)
                let visible = d.display > 0 ? min(o.visible, newLeaves) : newLeaves
                lp.pointee.visible -= o.visible - visible
                lp.pointee.total -= o.leaves - newLeaves
                orders[s].visible = visible
            }
            details[s].quantity = r.quantity.shares
            orders[s].leaves = newLeaves
        } else {
            unplace(s)
            orders[s].price = newLimit
            orders[s].leaves = newLeaves
            details[s].stopPrice = newStop
            details[s].quantity = r.quantity.shares
            serial += 1
            details[s].priority = serial
        }
        let hasLimit = o.type == .limit || o.type == .stopLimit
        let hasStop = o.type == .stop || o.type == .stopLimit
        out.append(.orderReplaced(Replacement(
            orderID: r.orderID, newOrderID: r.newOrderID, account: r.account, quantity: r.quantity,
            leaves: Quantity(newLeaves), limitPrice: hasLimit ? Price(units: newLimit) : nil,
            stopPrice: hasStop ? Price(units: newStop) : nil, keptPriority: keepsPriority)))
        guard !keepsPriority else { return }
        switch place {
        case .pending:
            appendPending(s, book)
        case .stop:
            insertStop(s, book)
            runStops(book)
        case .book where book.state == .preOpen:
            // Nothing trades before the open: the order waits in the queue like a new one.
            appendPending(s, book)
        case .book:
            execute(s, book)
            runStops(book)
        case .working, .free:
            preconditionFailure("replacing an order that is not placed")
        }
    }

    /// Pre-trade risk for the replaced terms, as if the order were new but without counting it again:
    /// its reservation is taken off, the new terms assessed, and either the new reservation or (on a
    /// rejection) the old one put back. A replace that only reduces the quantity only reduces risk, so it
    /// is always allowed (a blocked or reduce-only account may still shrink its orders).
    private func reassess(_ s: Int32, _ r: ReplaceOrder, _ book: Book, newLeaves: Int64, limit: Int64,
                          stop: Int64, onlyReduces: Bool) -> RejectReason? {
        let o = orders[s]
        if onlyReduces {
            adjustHold(s, by: newLeaves - o.leaves)
            return nil
        }
        let a = positions[o.position].account
        adjustHold(s, by: -o.leaves)
        switch assess(account: a, book, bookIndex: o.book, side: o.side, type: o.type, quantity: r.quantity.shares,
                      leaves: newLeaves, limit: limit, stop: stop, trail: nil, isNew: false) {
        case .reject(let reason):
            adjustHold(s, by: o.leaves)
            return reason
        case .accept(let reservation):
            orders[s].closing = reservation.closing
            reservations[s] = OrderReservation(holdPerShare: reservation.holdPerShare, reserve: reservation.reserve)
            adjustHold(s, by: newLeaves)
            return nil
        }
    }

    func validateReplace(_ r: ReplaceOrder, _ o: OrderSlot, _ d: OrderDetail, _ book: Book) -> RejectReason? {
        switch book.state {
        case .halted: return .symbolHalted(book.symbol)
        case .closed: return .symbolClosed(book.symbol)
        case .preOpen, .open: break
        }
        if o.type == .market || o.type == .trailingStop { return .replaceNotAllowed(o.type) }
        if r.newOrderID != r.orderID, index.find(r.newOrderID.rawValue) != nil || listOf[r.newOrderID.rawValue] != nil {
            return .duplicateOrderID(r.newOrderID)
        }
        if let reason = checkQuantity(r.quantity, book) { return reason }
        let filled = Quantity(d.quantity - o.leaves)
        if r.quantity <= filled { return .replaceQuantityNotAboveFilled(r.quantity, filled: filled) }
        let hasLimit = o.type == .limit || o.type == .stopLimit
        let hasStop = o.type == .stop || o.type == .stopLimit
        if r.limitPrice != nil, !hasLimit { return .limitPriceNotAllowed }
        if r.stopPrice != nil, !hasStop { return .stopPriceNotAllowed }
        if let p = r.limitPrice, let reason = checkPrice(p, book) { return reason }
        if let p = r.stopPrice, let reason = checkPrice(p, book) { return reason }
        let newLimit = r.limitPrice?.units ?? o.price
        let newStop = r.stopPrice?.units ?? d.stopPrice
        if r.quantity.shares == d.quantity, newLimit == o.price, newStop == d.stopPrice, r.newOrderID == r.orderID {
            return .replaceChangesNothing
        }
        if o.postOnly, book.state == .open, o.place == .book, wouldCross(side: o.side, price: newLimit, book) {
            return .wouldTakeLiquidity
        }
        return nil
    }
}
