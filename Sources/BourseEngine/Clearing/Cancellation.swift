import BourseCore

extension MatchingEngine {
    /// Reverses a booked trade: each side takes back what it took, at the trade's price, through the same
    /// booking a capture makes, due on the trade's own settlement date when its cycle has not come (where
    /// the two net to nothing) or otherwise on the open day's. A cash account that no longer holds the
    /// shares (or the cash) to give back is refused, as a capture would be. Fees a fill charged stay charged.
    func cancelTrade(_ c: TradeCancellation) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        if let refusal = settlementRefusal() { return reject(refusal) }
        guard let today = clearing.businessDate, let settlesOn = clearing.settlesOn else { return reject(.noBusinessDate) }
        guard clearing.cancelled[c.trade] == nil else { return reject(.tradeAlreadyCancelled(c.trade)) }
        switch c.trade {
        case .capture(let id):
            guard let booked = clearing.captures[id] else { return reject(.unknownTrade(c.trade)) }
            guard booked == c.terms, c.counterparty == .street else { return reject(.tradeTermsMismatch(c.trade)) }
        case .fill(let execution):
            guard execution.rawValue >= 1, execution.rawValue <= lastExecution else { return reject(.unknownTrade(c.trade)) }
            guard c.terms.side == .buy, c.counterparty != .street, c.counterparty != c.terms.account else { return reject(.tradeTermsMismatch(c.trade)) }
        }
        guard c.terms.settlementDate >= today.adding(days: -TradeCancellation.windowDays) else { return reject(.tradeTooOldToCancel(c.trade)) }
        let t = c.terms
        guard let bookIndex = symbolIndex.find(t.symbol.packed) else { return reject(.unknownSymbol(t.symbol)) }
        let q = t.quantity.shares
        let (notional, overflow) = q.multipliedReportingOverflow(by: t.price.units)
        guard q > 0, !overflow, notional <= Money.orderNotionalLimit.units else { return reject(.tradeTermsMismatch(c.trade)) }
        // The reverse of each side: the account gives back what it took.
        var sides = [(account: t.account, side: t.side == .buy ? Side.sell : .buy)]
        if case .fill = c.trade { sides.append((c.counterparty, .buy)) }
        var handles: [Int32] = []
        for side in sides {
            guard let a = usableAccount(side.account) else { return }
            if let reason = captureMayBook(a, bookIndex, side.side, q, notional) { return reject(reason) }
            handles.append(a)
        }
        let dueOn = t.settlementDate > today ? t.settlementDate : settlesOn
        for (side, a) in zip(sides, handles) {
            bookAway(a, bookIndex, side.side, q, price: t.price.units, dueOn: dueOn, againstStreet: c.counterparty == .street)
        }
        clearing.cancelled[c.trade] = t.settlementDate
        out.append(.tradeCancelled(c, dueOn: dueOn))
    }

    /// Marks a capture cleared: a reconciliation found the counterparty's record of it equal to the venue's.
    /// A fill needs none (the venue is its counterparty); a trade cancelled or cleared before is refused.
    func clearTrade(_ trade: TradeRef, reconciliation: UInt64) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        guard case .capture(let id) = trade, clearing.captures[id] != nil else { return reject(.unknownTrade(trade)) }
        guard clearing.cancelled[trade] == nil else { return reject(.tradeAlreadyCancelled(trade)) }
        guard clearing.cleared.insert(id).inserted else { return reject(.tradeAlreadyCleared(trade)) }
        out.append(.tradeCleared(trade, reconciliation: reconciliation))
    }

    /// Books a trade made away from the book (a capture, a cancellation's reverse) to the account, as a fill
    /// would: trade-date cash and position at average cost, unsettled cash, due on `dueOn`; against the street
    /// when it is the other side, which then owes the reverse.
    func bookAway(_ a: Int32, _ bookIndex: Int32, _ side: Side, _ q: Int64, price: Int64, dueOn: CivilDate, againstStreet: Bool) {
        // The handle first: making a position may move the pool that `pointer` reads.
        let p = positionIndex.find(positionKey(a, bookIndex)) ?? makePosition(a, bookIndex)
        let pp = positions.pointer(p)
        let isBuy = side == .buy
        let moved = Clearing.Amount(shares: isBuy ? q : -q, money: isBuy ? -(q * price) : q * price)
        accounts[a].cash += moved.money
        pp.pointee.unsettled += moved.money
        move(pp, by: moved.shares, at: price)
        clearing.base[p, default: .zero] += moved
        let symbol = books[Int(bookIndex)].symbol
        clearing.due[dueOn, default: [:]][Netting.Key(account: AccountID(accounts[a].id), symbol: symbol), default: .zero] += moved
        if againstStreet { clearing.due[dueOn, default: [:]][Netting.Key(account: .street, symbol: symbol), default: .zero] += -moved }
        ledgerTransactions += 1
    }
}
