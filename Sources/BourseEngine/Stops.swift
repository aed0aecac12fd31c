import BourseCore

extension MatchingEngine {
    func insertStop(_ t: Int32, _ book: Book) {
        let o = orders.pointer(t)
        let d = details.pointer(t)
        o.pointee.place = .stop
        book.stopCount += 1
        if o.pointee.type == .trailingStop {
            // Appending keeps priority order: a trailing stop's priority is its acceptance serial.
            book.trailing.append(t)
        } else if o.pointee.side == .buy {
            book.buyStops.insert(.init(price: d.pointee.stopPrice, priority: d.pointee.priority, slot: t))
        } else {
            book.sellStops.insert(.init(price: d.pointee.stopPrice, priority: d.pointee.priority, slot: t))
        }
    }

    func removeStop(_ s: Int32) {
        let o = orders[s]
        let d = details[s]
        let book = books[Int(o.book)]
        book.stopCount -= 1
        if o.type == .trailingStop {
            book.trailing.remove(at: book.trailing.firstIndex(of: s)!)
        } else if o.side == .buy {
            book.buyStops.remove(.init(price: d.stopPrice, priority: d.priority, slot: s))
        } else {
            book.sellStops.remove(.init(price: d.stopPrice, priority: d.priority, slot: s))
        }
    }

    /// Triggers stops reached by the last trade price, one at a time, each executed before the next
    /// is chosen so that cascades are deterministic: buy stops (lowest stop price first), then sell
    /// stops (highest first), equal prices by priority; then trailing stops in priority order.
    @inline(__always) func runStops(_ book: Book) {
        guard book.state == .open else { return }
        guard book.stopCount > 0 else {
            // Trailing stops accepted later must not follow trades from before they were accepted.
            book.passHigh = 0
            book.passLow = 0
            return
        }
        triggerStops(book)
    }

    private func triggerStops(_ book: Book) {
        while book.lastTrade != 0 {
            followTrades(book)
            let last = book.lastTrade
            let s: Int32
            if let e = book.buyStops.entries.last, last >= e.price {
                book.buyStops.entries.removeLast()
                s = e.slot
            } else if let e = book.sellStops.entries.last, last <= e.price {
                book.sellStops.entries.removeLast()
                s = e.slot
            } else if let i = book.trailing.firstIndex(where: { trailingTriggered(orders[$0].side, details[$0], last: last) }) {
                s = book.trailing.remove(at: i)
            } else {
                return
            }
            book.stopCount -= 1
            let sp = orders.pointer(s)
            sp.pointee.place = .working
            sp.pointee.type = sp.pointee.type == .stopLimit ? .limit : .market
            out.append(.stopTriggered(OrderID(sp.pointee.id), AccountID(sp.pointee.account), lastTrade: Price(units: last)))
            if sp.pointee.list == .rider { riderTriggered(s) }
            execute(s, book)
        }
    }

    /// Trailing stops follow the best trade price reached since they last looked.
    func followTrades(_ book: Book) {
        defer {
            book.passHigh = 0
            book.passLow = 0
        }
        guard !book.trailing.isEmpty, book.passHigh != 0 else { return }
        for s in book.trailing {
            let d = details.pointer(s)
            if orders[s].side == .sell {
                d.pointee.watermark = max(d.pointee.watermark, book.passHigh)
            } else {
                d.pointee.watermark = min(d.pointee.watermark, book.passLow)
            }
        }
    }

    /// A sell trails below its highest price, a buy above its lowest. Compared in integers: a
    /// percentage trail triggers when last × 10,000 crosses watermark × (10,000 ∓ bp).
    func trailingTriggered(_ side: Side, _ d: OrderDetail, last: Int64) -> Bool {
        let trail = d.trailMagnitude
        if d.trailInBasisPoints {
            return side == .sell
                ? last * 10_000 <= d.watermark * (10_000 - trail)
                : last * 10_000 >= d.watermark * (10_000 + trail)
        }
        return side == .sell ? last <= d.watermark - trail : last >= d.watermark + trail
    }

    // MARK: - Pre-open queue

    func appendPending(_ t: Int32, _ book: Book) {
        orders[t].place = .pending
        orders[t].prev = book.pendingTail
        orders[t].next = -1
        if book.pendingTail >= 0 { orders[book.pendingTail].next = t } else { book.pendingHead = t }
        book.pendingTail = t
    }

    func unlinkPending(_ s: Int32) {
        let book = books[Int(orders[s].book)]
        let prev = orders[s].prev
        let next = orders[s].next
        if prev >= 0 { orders[prev].next = next } else { book.pendingHead = next }
        if next >= 0 { orders[next].prev = prev } else { book.pendingTail = prev }
        orders[s].prev = -1
        orders[s].next = -1
    }

    /// At the open, orders held in pre-open arrive one by one in the order they were accepted; then
    /// stops already reached (replaced while the market was not open) trigger.
    func releasePending(_ book: Book) {
        while book.pendingHead >= 0 {
            let t = book.pendingHead
            unlinkPending(t)
            orders[t].place = .working
            arrive(t, book)
            runStops(book)
        }
        runStops(book)
    }

    // MARK: - Expiry

    /// Entering the closed state expires the book's DAY orders, in acceptance order.
    func expireDayOrders(_ book: Book) {
        var due: [(accepted: UInt64, slot: Int32)] = []
        forEachOrder(in: book) { s in
            if orders[s].tif == .day { due.append((details[s].accepted, s)) }
        }
        due.sort { $0.accepted < $1.accepted }
        // Expiring an order of a list may end the other of its pair first.
        for entry in due where orders[entry.slot].place != .free && details[entry.slot].accepted == entry.accepted {
            expire(entry.slot)
        }
    }

    /// Expires GTD orders whose time has come, by expiry time then acceptance.
    func expireDue() {
        while let top = gtd.top, top.expire <= now {
            gtd.pop()
            guard orders[top.slot].place != .free, details[top.slot].accepted == top.accepted else { continue }
            expire(top.slot)
        }
    }

    func expire(_ s: Int32) {
        unplace(s)
        let o = orders[s]
        out.append(.orderExpired(OrderID(o.id), AccountID(o.account), leaves: Quantity(o.leaves)))
        if o.list != .none { memberEnded(s, .expired) }
        release(s)
    }

    /// Visits every open order of a book: pending, bids best first, asks best first, stops, trailing.
    func forEachOrder(in book: Book, _ body: (Int32) -> Void) {
        var p = book.pendingHead
        while p >= 0 {
            let next = orders[p].next
            body(p)
            p = next
        }
        for side in [book.bids, book.asks] {
            for lh in side.handles.reversed() {
                var m = levels[lh].head
                while m >= 0 {
                    let next = orders[m].next
                    body(m)
                    m = next
                }
            }
        }
        for e in book.buyStops.entries.reversed() { body(e.slot) }
        for e in book.sellStops.entries.reversed() { body(e.slot) }
        for s in book.trailing { body(s) }
    }
}
