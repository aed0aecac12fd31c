import BourseCore
import CBourseSupport

extension MatchingEngine {
    /// Matches a working order against the opposite side at prices no worse than `limit`, in
    /// price-time priority, each trade at the resting order's price. Returns false when self-trade
    /// prevention ended the taker (it is then released).
    func match(_ t: Int32, _ book: Book, limit: Int64) -> Bool {
        let tp = orders.pointer(t)
        let isBuy = tp.pointee.side == .buy
        while tp.pointee.leaves > 0 {
            guard let lh = isBuy ? book.asks.best : book.bids.best else { break }
            let lp = levels.pointer(lh)
            let price = lp.pointee.price
            if isBuy ? price > limit : price < limit { break }
            var m = lp.pointee.head
            // The level is freed when its last order leaves; `m` is then -1 and `lp` is not read again.
            while m >= 0, tp.pointee.leaves > 0 {
                let mp = orders.pointer(m)
                var next = mp.pointee.next
                // Queues are long and their orders cold: the next in line starts loading while this one trades.
                if next >= 0 { bourse_prefetch(orders.pointer(next)) }
                if tp.pointee.stp != .none, mp.pointee.account == tp.pointee.account {
                    guard preventSelfTrade(taker: t, maker: m) else { return false }
                    m = next
                    continue
                }
                let q = min(tp.pointee.leaves, mp.pointee.visible)
                mp.pointee.visible -= q
                mp.pointee.leaves -= q
                tp.pointee.leaves -= q
                lp.pointee.visible -= q
                lp.pointee.total -= q
                recordTrade(book, price: price, quantity: q, taker: tp, t, maker: mp, m)
                if mp.pointee.list != .none { memberTraded(m) }
                if tp.pointee.list != .none { memberTraded(t) }
                if mp.pointee.visible == 0 {
                    if mp.pointee.leaves > 0 {
                        replenish(m, lp)
                        reportRested(m, book)
                        if next < 0 { next = lp.pointee.head }
                    } else {
                        detach(m)
                        release(m)
                    }
                }
                m = next
            }
        }
        return true
    }

    @inline(__always)
    func recordTrade(_ book: Book, price: Int64, quantity: Int64,
                     taker: UnsafeMutablePointer<OrderSlot>, _ t: Int32, maker: UnsafeMutablePointer<OrderSlot>, _ m: Int32) {
        lastExecution += 1
        var makerFee: Int64 = 0
        var takerFee: Int64 = 0
        if maker.pointee.position >= 0 {
            let notional = price * quantity
            makerFee = fee(book.makerFee, quantity, notional: notional)
            takerFee = fee(book.takerFee, quantity, notional: notional)
            settle(maker, m, price: price, quantity: quantity, fee: makerFee)
            settle(taker, t, price: price, quantity: quantity, fee: takerFee)
            ledgerTransactions += 2
        }
        out.append(.trade(Trade(
            executionID: ExecutionID(lastExecution), symbol: book.symbol, price: Price(units: price),
            quantity: Quantity(quantity), takerSide: taker.pointee.side,
            makerOrderID: OrderID(maker.pointee.id), makerAccount: AccountID(maker.pointee.account),
            makerLeaves: Quantity(maker.pointee.leaves),
            takerOrderID: OrderID(taker.pointee.id), takerAccount: AccountID(taker.pointee.account),
            takerLeaves: Quantity(taker.pointee.leaves),
            makerFee: Money(units: makerFee), takerFee: Money(units: takerFee))))
        book.lastTrade = price
        if book.passHigh == 0 || price > book.passHigh { book.passHigh = price }
        if book.passLow == 0 || price < book.passLow { book.passLow = price }
    }

    /// Applies the taker's self-trade prevention mode to a resting order of the same account.
    /// Returns false when the taker is gone.
    func preventSelfTrade(taker t: Int32, maker m: Int32) -> Bool {
        switch orders[t].stp {
        case .none:
            preconditionFailure("self-trade prevention without a mode")
        case .cancelNewest:
            finish(t, cancelling: .selfTradePrevention)
            return false
        case .cancelOldest:
            detach(m)
            finish(m, cancelling: .selfTradePrevention)
            return true
        case .cancelBoth:
            detach(m)
            finish(m, cancelling: .selfTradePrevention)
            finish(t, cancelling: .selfTradePrevention)
            return false
        case .decrement:
            let mp = orders.pointer(m)
            let tp = orders.pointer(t)
            let d = min(tp.pointee.leaves, mp.pointee.leaves)
            if mp.pointee.leaves == d {
                detach(m)
                finish(m, cancelling: .selfTradePrevention)
            } else {
                if mp.pointee.position >= 0 { adjustHold(m, by: -d) }
                let lp = levels.pointer(mp.pointee.level)
                let visible = min(mp.pointee.visible, mp.pointee.leaves - d)
                lp.pointee.visible -= mp.pointee.visible - visible
                lp.pointee.total -= d
                mp.pointee.visible = visible
                mp.pointee.leaves -= d
                details[m].quantity -= d
                out.append(.selfTradeDecremented(OrderID(mp.pointee.id), AccountID(mp.pointee.account),
                                                 quantity: Quantity(d), leaves: Quantity(mp.pointee.leaves)))
            }
            if tp.pointee.leaves == d {
                finish(t, cancelling: .selfTradePrevention)
                return false
            }
            if tp.pointee.position >= 0 { adjustHold(t, by: -d) }
            tp.pointee.leaves -= d
            details[t].quantity -= d
            out.append(.selfTradeDecremented(OrderID(tp.pointee.id), AccountID(tp.pointee.account),
                                             quantity: Quantity(d), leaves: Quantity(tp.pointee.leaves)))
            return true
        }
    }

    enum FillOrKill { case fillable, insufficient, selfTrade }

    /// Whether a FOK order can fill completely within `limit`. With self-trade prevention, a level it
    /// would reach that holds an order of the same account makes it a self trade, whatever the mode.
    func fillOrKillCheck(_ t: Int32, _ book: Book, limit: Int64) -> FillOrKill {
        let o = orders[t]
        let side = o.side == .buy ? book.asks : book.bids
        var available: Int64 = 0
        for i in stride(from: side.handles.count - 1, through: 0, by: -1) {
            let level = levels[side.handles[i]]
            if o.side == .buy ? level.price > limit : level.price < limit { break }
            if o.stp != .none {
                var m = level.head
                while m >= 0 {
                    if orders[m].account == o.account { return .selfTrade }
                    m = orders[m].next
                }
            }
            available += level.total
            if available >= o.leaves { return .fillable }
        }
        return .insufficient
    }

    /// Puts a working limit order at the back of its price level.
    @inline(__always) func rest(_ t: Int32, _ book: Book) {
        let tp = orders.pointer(t)
        let price = tp.pointee.price
        let lh: Int32
        if let existing = tp.pointee.side == .buy ? book.bids.find(price) : book.asks.find(price) {
            lh = existing
        } else {
            lh = levels.allocate()
            levels[lh].price = price
            if tp.pointee.side == .buy {
                book.bids.insert(price: price, handle: lh)
            } else {
                book.asks.insert(price: price, handle: lh)
            }
        }
        let lp = levels.pointer(lh)
        let display = details[t].display
        tp.pointee.visible = display > 0 ? min(display, tp.pointee.leaves) : tp.pointee.leaves
        tp.pointee.level = lh
        tp.pointee.place = .book
        link(t, atTailOf: lp)
        lp.pointee.count += 1
        lp.pointee.visible += tp.pointee.visible
        lp.pointee.total += tp.pointee.leaves
        book.resting += 1
    }

    /// Says that an order came to rest (or showed a new slice) at the back of its level: what a consumer
    /// keeping the books would otherwise have to work out from these rules.
    @inline(__always) func reportRested(_ s: Int32, _ book: Book) {
        let o = orders.pointer(s)
        out.append(.orderRested(OrderID(o.pointee.id), AccountID(o.pointee.account), book.symbol, o.pointee.side,
                                price: Price(units: o.pointee.price), shown: Quantity(o.pointee.visible)))
    }

    @inline(__always) func link(_ s: Int32, atTailOf lp: UnsafeMutablePointer<Level>) {
        orders[s].prev = lp.pointee.tail
        orders[s].next = -1
        if lp.pointee.tail >= 0 { orders[lp.pointee.tail].next = s } else { lp.pointee.head = s }
        lp.pointee.tail = s
    }

    @inline(__always) func unlink(_ s: Int32, from lp: UnsafeMutablePointer<Level>) {
        let prev = orders[s].prev
        let next = orders[s].next
        if prev >= 0 { orders[prev].next = next } else { lp.pointee.head = next }
        if next >= 0 { orders[next].prev = prev } else { lp.pointee.tail = prev }
        orders[s].prev = -1
        orders[s].next = -1
    }

    /// An iceberg whose shown slice is gone shows a new one at the back of its level.
    func replenish(_ m: Int32, _ lp: UnsafeMutablePointer<Level>) {
        let mp = orders.pointer(m)
        mp.pointee.visible = min(details[m].display, mp.pointee.leaves)
        lp.pointee.visible += mp.pointee.visible
        if lp.pointee.tail != m {
            unlink(m, from: lp)
            link(m, atTailOf: lp)
        }
    }

    /// Takes a resting order off its level, removing the level when it empties.
    @inline(__always) func detach(_ s: Int32) {
        let sp = orders.pointer(s)
        let lh = sp.pointee.level
        let lp = levels.pointer(lh)
        unlink(s, from: lp)
        lp.pointee.count -= 1
        lp.pointee.visible -= sp.pointee.visible
        lp.pointee.total -= sp.pointee.leaves
        sp.pointee.level = -1
        sp.pointee.place = .working
        let book = books[Int(sp.pointee.book)]
        book.resting -= 1
        if lp.pointee.count == 0 {
            if sp.pointee.side == .buy {
                book.bids.remove(price: lp.pointee.price)
            } else {
                book.asks.remove(price: lp.pointee.price)
            }
            levels.free(lh)
        }
    }
}
