import BourseCore

extension MatchingEngine {
    /// Books a trade executed away from the book to its account, as a fill would (trade-date cash and
    /// position, average cost, unsettled cash), and makes it due on its settlement date against the street.
    /// A reference captured before answers with the trade it made. A cash account is not taken short or
    /// below its cash on hold: the capture is refused, and post-trade may retry it when that changes.
    func captureTrade(_ report: TradeReport) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        if let refusal = settlementRefusal() { return reject(refusal) }
        guard let today = clearing.businessDate else { return reject(.noBusinessDate) }
        guard !report.reference.isEmpty else { return reject(.tradeReferenceEmpty) }
        let r = report.terms
        if let known = clearing.references[report.reference] {
            return reject(clearing.captures[known] == r ? .tradeAlreadyCaptured(known) : .tradeReferenceReused)
        }
        guard let a = usableAccount(r.account) else { return }
        guard let bookIndex = symbolIndex.find(r.symbol.packed) else { return reject(.unknownSymbol(r.symbol)) }
        let book = books[Int(bookIndex)]
        let q = r.quantity.shares
        let (notional, overflow) = q.multipliedReportingOverflow(by: r.price.units)
        guard q > 0, r.quantity <= Quantity.max, q % book.lotSize == 0, checkPrice(r.price, book) == nil,
              !overflow, notional <= Money.orderNotionalLimit.units else {
            return reject(.tradeTermsInvalid(r.symbol, r.price, r.quantity))
        }
        guard r.tradeDate <= today else { return reject(.tradeDateAhead(r.tradeDate, current: today)) }
        guard r.settlementDate >= r.tradeDate else { return reject(.settlementBeforeTrade(settles: r.settlementDate, traded: r.tradeDate)) }
        guard clearing.references.count < Clearing.referencesMax, clearing.captures.count < Clearing.capturesMax else { return reject(.tooManyCaptures) }
        if let reason = captureMayBook(a, bookIndex, r.side, q, notional) { return reject(reason) }

        bookAway(a, bookIndex, r.side, q, price: r.price.units, dueOn: r.settlementDate, againstStreet: true)
        clearing.lastCapture += 1
        clearing.references[report.reference] = clearing.lastCapture
        clearing.captures[clearing.lastCapture] = r
        out.append(.tradeCaptured(clearing.lastCapture, r))
    }

    /// Books each trade of the batch as `captureTrade` would alone, in order; each is answered by exactly one
    /// event, which readers of the journal count on to pair events with trades.
    func captureTrades(_ batch: CaptureBatch) {
        for report in batch.reports {
            let before = out.count
            captureTrade(report)
            precondition(out.count == before + 1, "a capture answered with \(out.count - before) events")
        }
    }

    /// Why the account cannot take the trade, if it cannot: a position past its limit, a balance past the
    /// venue's, shares that open orders hold, or, for a cash account, shares it does not hold free or
    /// cash it does not have free.
    func captureMayBook(_ a: Int32, _ bookIndex: Int32, _ side: Side, _ q: Int64, _ notional: Int64) -> CommandRejectReason? {
        let symbol = books[Int(bookIndex)].symbol
        let account = accounts[a]
        let position = positionIndex.find(positionKey(a, bookIndex)).map { positions[$0] } ?? PositionRecord()
        let after = side == .buy ? position.quantity + q : position.quantity - q
        let limit = account.limits.positionMax.shares
        guard after.magnitude <= limit.magnitude else { return .positionLimit(symbol, would: Quantity(after), limit: Quantity(limit)) }
        let cashAfter = side == .buy ? account.cash - notional : account.cash + notional
        guard cashAfter.magnitude <= Money.balanceLimit.units.magnitude,
              (position.cost + (side == .buy ? notional : -notional)).magnitude <= Money.balanceLimit.units.magnitude else {
            return .balanceLimit(Money(units: notional))
        }
        // Shares open orders hold stay in the position, on its side of zero: they are what those orders close.
        if position.held > 0, position.quantity > 0 ? after < position.held : after > -position.held {
            let free = position.quantity.magnitude - UInt64(position.held)
            return .insufficientPosition(symbol, needs: Quantity(q), available: Quantity(Int64(free)))
        }
        guard account.kind == .cash else { return nil }
        if side == .sell {
            let free = max(position.quantity - position.held, 0)
            guard q <= free else { return .insufficientPosition(symbol, needs: Quantity(q), available: Quantity(free)) }
        } else {
            let free = account.cash - account.cashHold
            guard notional <= free else { return .insufficientCash(needs: Money(units: notional), available: Money(units: max(free, 0))) }
        }
        return nil
    }
}
