import BourseCore

/// What an order accepted by pre-trade risk reserves, fixed at acceptance (and at each replace).
struct Reservation {
    /// The position the order trades; -1 when it must be created on acceptance.
    var position: Int32
    /// The order reduces the position and reserves shares of it; otherwise it reserves cash.
    var closing: Bool
    /// Cash reserved per share of leaves: the reserve price (or its margin) plus the fee estimate.
    var holdPerShare: Int64
    /// The price the order is assumed to trade at: its limit, or for orders without one the worst
    /// price they may reach. A market-like buy never trades above it.
    var reserve: Int64
}

enum RiskDecision {
    case accept(Reservation)
    case reject(RejectReason)
}

/// An account's margin figures at current marks, in 128 bits so no valuation can overflow.
struct MarginFigures {
    var equity: Int128 = 0
    var longValue: Int128 = 0
    var shortValue: Int128 = 0
    var initial: Int128 = 0
    var maintenance: Int128 = 0

    /// Equity above the initial requirement of the positions, less what open orders hold.
    func buyingPower(hold: Int64) -> Int128 { equity - initial - Int128(hold) }
}

enum Valuation {
    case valued(MarginFigures)
    /// The position in this symbol has no price to value it at.
    case unvalued(Symbol)
}

/// The part of `value` (not negative) that `basisPoints` (at most 10,000) is, rounded up: requirements
/// are never understated. Values below 2^49 — $56 billion — take 64-bit arithmetic, where dividing by a
/// constant is a multiply; larger ones the exact 128-bit division.
@inline(__always) func requirement(_ value: Int128, _ basisPoints: Int64) -> Int128 {
    if value < 1 << 49 {
        return Int128((Int64(value) * basisPoints + 9_999) / 10_000)
    }
    return (value * Int128(basisPoints) + 9_999) / 10_000
}

extension MatchingEngine {
    /// The price positions are valued at: the last trade, else the previous close; 0 when neither.
    @inline(__always) func mark(_ book: Book) -> Int64 { referencePrice(book) }

    func marginFigures(_ a: Int32) -> Valuation {
        let account = accounts[a]
        var m = MarginFigures()
        m.equity = Int128(account.cash)
        var p = account.firstPosition
        while p >= 0 {
            let position = positions[p]
            p = position.next
            guard position.quantity != 0 else { continue }
            let book = books[Int(position.book)]
            let price = mark(book)
            guard price > 0 else { return .unvalued(book.symbol) }
            let value = Int128(position.quantity) * Int128(price)
            m.equity += value
            if value > 0 {
                m.longValue += value
                m.maintenance += requirement(value, account.margin.maintenanceLongBasisPoints)
            } else {
                m.shortValue -= value
                m.maintenance += requirement(-value, account.margin.maintenanceShortBasisPoints)
            }
            m.initial += requirement(value < 0 ? -value : value, account.margin.initialBasisPoints)
        }
        return .valued(m)
    }

    /// The most a fill of this symbol's orders can cost in fees per share: the larger fee, or nothing
    /// when both are rebates.
    @inline(__always) func feeEstimate(_ book: Book) -> Int64 {
        max(book.makerFee, book.takerFee, 0)
    }

    /// The price an order is assumed to trade at; nil when it has none and no reference to derive one.
    /// Buys use their limit, else the protection price above their trigger or the market. Sells use the
    /// highest of their price and the reference, which is what a short sale's margin must cover.
    func reservePrice(side: Side, type: OrderType, limit: Int64, stop: Int64, trail: TrailingOffset?,
                      _ book: Book) -> Int64? {
        let reference = referencePrice(book)
        if side == .sell {
            var price = max(type == .stop ? stop : limit, reference)
            if price == 0, type == .market { price = protectionPrice(.sell, book) ?? 0 }
            return price > 0 ? price : nil
        }
        switch type {
        case .limit, .stopLimit: return limit
        case .market: return protectionPrice(.buy, book)
        case .stop: return protectedAbove(stop, book)
        case .trailingStop:
            guard reference > 0, let trail else { return nil }
            // A buy trails above the lowest price reached, which is at most the reference.
            switch trail {
            case .amount(let amount): return protectedAbove(reference + amount.units, book)
            case .basisPoints(let bp): return protectedAbove(reference + (reference * bp + 9_999) / 10_000, book)
            }
        }
    }

    private func protectedAbove(_ price: Int64, _ book: Book) -> Int64 {
        let raised = min(price + price * book.protectionBasisPoints / 10_000, Price.max.units)
        return book.tickTable.roundDown(Price(units: raised)).units
    }

    /// Pre-trade risk for an order of `quantity` (its total) with `leaves` to reserve. Checks run in a
    /// fixed order and the first that fails names the figures; nothing changes here. A replace passes
    /// `isNew: false` after its old reservation has been taken off.
    @inline(__always)
    func assess(account a: Int32, _ book: Book, bookIndex: Int32, side: Side, type: OrderType,
                quantity: Int64, leaves: Int64, limit: Int64, stop: Int64, trail: TrailingOffset?,
                isNew: Bool) -> RiskDecision {
        let account = accounts.pointer(a)
        switch account.pointee.state {
        case .active, .reduceOnly: break
        case .blocked: return .reject(.accountBlocked(AccountID(account.pointee.id)))
        case .closed: return .reject(.accountClosed(AccountID(account.pointee.id)))
        }
        let limits = account.pointee.limits
        if quantity > limits.orderQtyMax.shares {
            return .reject(.accountQuantityLimit(Quantity(quantity), limit: limits.orderQtyMax))
        }
        let p = positionIndex.find(positionKey(a, bookIndex))
        let position = p.map { positions[$0] } ?? PositionRecord()
        if isNew {
            if Int64(position.openOrders) >= limits.openOrdersPerSymbolMax {
                return .reject(.openOrdersPerSymbolLimit(book.symbol, limit: limits.openOrdersPerSymbolMax))
            }
            if account.pointee.openOrders >= limits.openOrdersMax {
                return .reject(.openOrdersLimit(limit: limits.openOrdersMax))
            }
        }
        guard let reserve = reservePrice(side: side, type: type, limit: limit, stop: stop, trail: trail, book) else {
            return .reject(.noReferencePrice)
        }
        let (notional, overflow) = reserve.multipliedReportingOverflow(by: quantity)
        if overflow { return .reject(.notionalOverflow) }
        if notional > limits.orderNotionalMax.units {
            return .reject(.notionalAboveLimit(Money(units: notional), limit: limits.orderNotionalMax))
        }
        if type == .limit || type == .stopLimit {
            // A stop-limit's limit is collared against its trigger, the reference it will meet.
            let reference = type == .limit ? referencePrice(book) : stop
            guard reference > 0 else { return .reject(.noReferencePrice) }
            let band = reference * limits.collarBasisPoints / 10_000
            if side == .buy, limit > reference + band {
                return .reject(.priceOutsideCollar(Price(units: limit), limit: Price(units: reference + band)))
            }
            if side == .sell, limit < reference - band {
                return .reject(.priceOutsideCollar(Price(units: limit), limit: Price(units: reference - band)))
            }
        }

        // An order either reduces its position or opens one, never both: a sell of a long must fit in the
        // shares not yet reserved, and an order cannot open one side while another opens the other.
        let closing: Bool
        if side == .sell {
            if position.quantity > 0 {
                closing = true
                let available = position.quantity - position.held
                if leaves > available {
                    return .reject(.insufficientPosition(book.symbol, .sell, needs: Quantity(leaves), available: Quantity(available)))
                }
            } else {
                closing = false
                if account.pointee.kind == .cash {
                    return .reject(.insufficientPosition(book.symbol, .sell, needs: Quantity(leaves), available: .zero))
                }
                if !book.easyToBorrow { return .reject(.notEasyToBorrow(book.symbol)) }
                if position.openingBuys > 0 { return .reject(.oppositeOrderOpen(book.symbol, .sell)) }
            }
        } else if position.quantity < 0 {
            closing = true
            let available = -position.quantity - position.held
            if leaves > available {
                return .reject(.insufficientPosition(book.symbol, .buy, needs: Quantity(leaves), available: Quantity(available)))
            }
        } else {
            closing = false
            if position.openingSells > 0 { return .reject(.oppositeOrderOpen(book.symbol, .buy)) }
        }
        guard !closing else {
            return .accept(Reservation(position: p ?? -1, closing: true, holdPerShare: 0, reserve: reserve))
        }
        if account.pointee.state == .reduceOnly { return .reject(.reduceOnly(AccountID(account.pointee.id))) }
        let opening = side == .buy ? position.openingBuys : position.openingSells
        let would = position.quantity.magnitude + UInt64(opening) + UInt64(leaves)
        if would > UInt64(limits.positionMax.shares) {
            return .reject(.positionLimit(book.symbol, would: Quantity(Int64(would)), limit: limits.positionMax))
        }

        let fee = feeEstimate(book)
        let kind = account.pointee.kind
        let holdPerShare = kind == .cash
            ? reserve + fee
            : Int64(requirement(Int128(reserve), account.pointee.margin.initialBasisPoints)) + fee
        let (needs, needsOverflow) = holdPerShare.multipliedReportingOverflow(by: leaves)
        if needsOverflow { return .reject(.notionalOverflow) }
        let hold = account.pointee.cashHold
        let available: Int128
        if kind == .cash {
            available = Int128(account.pointee.cash - hold)
        } else {
            let m: MarginFigures
            switch marginFigures(a) {
            case .valued(let figures): m = figures
            case .unvalued(let symbol): return .reject(.noMarkPrice(symbol))
            }
            let rate = side == .buy ? account.pointee.margin.maintenanceLongBasisPoints
                : account.pointee.margin.maintenanceShortBasisPoints
            let equityAfter = m.equity - Int128(fee) * Int128(leaves)
            let requiredAfter = m.maintenance + requirement(Int128(reserve) * Int128(leaves), rate)
            if equityAfter < requiredAfter {
                return .reject(.maintenanceDeficit(equity: Money(units: Int64(clamping: equityAfter)),
                                                   requirement: Money(units: Int64(clamping: requiredAfter))))
            }
            available = m.buyingPower(hold: hold)
        }
        if Int128(needs) > available {
            return .reject(.insufficientBuyingPower(needs: Money(units: needs), available: Money(units: Int64(clamping: available))))
        }
        return .accept(Reservation(position: p ?? -1, closing: false, holdPerShare: holdPerShare, reserve: reserve))
    }

    /// Attaches an accepted order to its position and takes its reservation.
    @inline(__always) func reserve(_ s: Int32, _ r: Reservation, account a: Int32) {
        let p = r.position >= 0 ? r.position : makePosition(a, orders[s].book)
        orders[s].position = p
        orders[s].closing = r.closing
        reservations[s] = OrderReservation(holdPerShare: r.holdPerShare, reserve: r.reserve)
        adjustHold(s, by: orders[s].leaves)
        positions[p].openOrders += 1
        accounts[a].openOrders += 1
    }

    /// Moves an order's reservation by `leaves` shares (negative to release).
    @inline(__always) func adjustHold(_ s: Int32, by leaves: Int64) {
        let o = orders.pointer(s)
        let pp = positions.pointer(o.pointee.position)
        if o.pointee.closing {
            pp.pointee.held += leaves
            assert(pp.pointee.held >= 0 && pp.pointee.held <= pp.pointee.quantity.magnitude, "shares held beyond the position")
            return
        }
        accounts[pp.pointee.account].cashHold += reservations[s].holdPerShare * leaves
        if o.pointee.side == .buy { pp.pointee.openingBuys += leaves } else { pp.pointee.openingSells += leaves }
        assert(accounts[pp.pointee.account].cashHold >= 0 && pp.pointee.openingBuys >= 0 && pp.pointee.openingSells >= 0,
               "a hold went negative")
    }

    /// An order that ends gives back what its leaves reserved.
    @inline(__always) func unreserve(_ s: Int32) {
        let o = orders.pointer(s)
        let p = o.pointee.position
        guard p >= 0 else { return }
        adjustHold(s, by: -o.pointee.leaves)
        let pp = positions.pointer(p)
        pp.pointee.openOrders -= 1
        accounts[pp.pointee.account].openOrders -= 1
        o.pointee.position = -1
    }
}
