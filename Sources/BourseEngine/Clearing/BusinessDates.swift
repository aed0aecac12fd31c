import BourseCore

extension MatchingEngine {
    // MARK: - Rollover

    /// Closes the open business day and opens the next, in this order: the closing day's fills become
    /// due on their settlement date; the new date opens; splits effective by it take effect; everything due
    /// on or before it settles, delivery versus payment, what cannot be delivered failing; the fails left
    /// are marked to market; dividends are recorded and paid; references of old captures are forgotten.
    /// One command, so a crash leaves the rollover whole or not begun, unless its cycle has more
    /// obligations than a command settles (`Limits.settlementOutcomesPerCommandMax`): the cycle is then
    /// decided here, whole, and applied a part a command, each `settleNext` taking the next part and the
    /// last finishing the rollover; meanwhile what would change what settles waits (`settlementInProgress`).
    func rollBusinessDate(_ roll: BusinessDateRoll) {
        if let refusal = settlementRefusal() { return reject(refusal) }
        let current = clearing.businessDate
        guard roll.from == current else { return reject(.businessDateMismatch(current: current, closing: roll.from)) }
        if let current, roll.to <= current { return reject(.businessDateNotAfter(roll.to, current: current)) }
        guard roll.settlesOn >= roll.to else { return reject(.settlementBeforeTrade(settles: roll.settlesOn, traded: roll.to)) }
        // Fills made before the venue had a business date settle in its first cycle.
        if keepsAccounts { closeDay(settlesOn: clearing.settlesOn ?? roll.to) }
        clearing.businessDate = roll.to
        clearing.settlesOn = roll.settlesOn
        out.append(.businessDateRolled(roll))
        guard keepsAccounts else { return }
        applySplits(on: roll.to)
        clearing.settling = cycle(on: roll.to)
        settlePart()
    }

    /// The next part of the cycle in progress.
    func settleNext(_ date: CivilDate) {
        guard clearing.settling?.date == date else { return reject(.noSettlementInProgress(date)) }
        settlePart()
    }

    /// Why a command that would change what a cycle in progress settles must wait; nil when none is in progress.
    func settlementRefusal() -> CommandRejectReason? {
        clearing.settling.map { .settlementInProgress($0.date, left: $0.left) }
    }

    /// Applies the next outcomes of the cycle in progress, then marks its fails, at most
    /// `settlementOutcomesPerCommandMax` of both a command; after the last, finishes the rollover.
    private func settlePart() {
        guard var settling = clearing.settling else { return }
        var budget = limits.settlementOutcomesPerCommandMax
        let end = min(settling.next + budget, settling.outcomes.count)
        for outcome in settling.outcomes[settling.next..<end] { apply(outcome, on: settling.date) }
        budget -= end - settling.next
        settling.next = end
        // The fails are all known once every outcome is applied.
        if settling.next == settling.outcomes.count, settling.marks == nil { settling.marks = clearing.fails.keys.sorted() }
        if let marks = settling.marks {
            let markEnd = min(settling.nextMark + budget, marks.count)
            for key in marks[settling.nextMark..<markEnd] { markFail(key, on: settling.date) }
            settling.nextMark = markEnd
        }
        if settling.left > 0 {
            clearing.settling = settling
            out.append(.settlementContinues(settling.date, left: settling.left))
            return
        }
        clearing.settling = nil
        let date = settling.date
        recordAndPayDividends(on: date)
        let oldest = date.adding(days: -Clearing.referenceDays)
        clearing.references = clearing.references.filter { (clearing.captures[$0.value]?.tradeDate).map { $0 >= oldest } ?? false }
        let cancellable = date.adding(days: -TradeCancellation.windowDays)
        clearing.captures = clearing.captures.filter { $0.value.settlementDate >= cancellable }
        clearing.cleared = clearing.cleared.filter { clearing.captures[$0] != nil }
        clearing.cancelled = clearing.cancelled.filter { $0.value >= cancellable }
    }

    /// Makes what each position's fills moved since the last close due on `settlesOn`. Fills are between
    /// two accounts of the venue, so per symbol the shares moved sum to zero.
    private func closeDay(settlesOn: CivilDate) {
        var sharesPerBook: [Int32: Int64] = [:]
        for p in 0..<Int32(positions.high) {
            let position = positions[p]
            let base = clearing.base[p] ?? .zero
            let moved = Clearing.Amount(shares: position.quantity - base.shares, money: position.unsettled - base.money)
            guard !moved.isZero else { continue }
            let key = Netting.Key(account: AccountID(accounts[position.account].id), symbol: books[Int(position.book)].symbol)
            clearing.due[settlesOn, default: [:]][key, default: .zero] += moved
            clearing.base[p] = Clearing.Amount(shares: position.quantity, money: position.unsettled)
            sharesPerBook[position.book, default: 0] += moved.shares
        }
        assert(sharesPerBook.values.allSatisfy { $0 == 0 }, "fills moved shares that no other account took")
    }

    /// The settlement cycle of `date`, decided: every obligation due on or before it, with the fails, nets
    /// per participant and symbol and settles by `Delivery`; what cannot move will be the new set of fails.
    private func cycle(on date: CivilDate) -> Clearing.Settling {
        var totals = clearing.fails
        for day in clearing.due.keys where day <= date {
            for (key, amount) in clearing.due.removeValue(forKey: day)! { totals[key, default: .zero] += amount }
        }
        clearing.fails = [:]
        let obligations = totals.filter { !$0.value.isZero }
            .map { Netting.Obligation(account: $0.key.account, symbol: $0.key.symbol, shares: $0.value.shares, money: $0.value.money) }
            .sorted()
        guard !obligations.isEmpty else { return Clearing.Settling(date: date, outcomes: []) }
        // What each participant owing shares holds settled: its position less every obligation still
        // open (this cycle's and later dates'), since positions count trades from their trade date.
        var available: [Netting.Key: Int64] = [:]
        for o in obligations where o.shares < 0 {
            let key = Netting.Key(account: o.account, symbol: o.symbol)
            guard o.account != .street, let p = position(of: key) else {
                available[key] = o.account == .street ? -o.shares : 0
                continue
            }
            let later = clearing.due.values.reduce(Int64(0)) { $0 + ($1[key]?.shares ?? 0) }
            available[key] = positions[p].quantity - o.shares - later
        }
        let cycle = Delivery.settle(obligations, available: available)
        return Clearing.Settling(date: date, outcomes: obligations.map { cycle.outcomes[$0]! })
    }

    /// What one obligation of the cycle moves: its unsettled money to settled, what failed carried forward.
    private func apply(_ outcome: Delivery.Outcome, on date: CivilDate) {
        let o = outcome.obligation
        let key = Netting.Key(account: o.account, symbol: o.symbol)
        if let p = position(of: key) { moveUnsettled(p, by: outcome.settledMoney) }
        // What moved goes from the participant's unsettled books to its settled ones; the street keeps none.
        if o.account != .street, outcome.settledShares != 0 || outcome.settledMoney != 0 { ledgerTransactions += 1 }
        if let fail = outcome.fail { clearing.fails[key] = Clearing.Amount(shares: fail.shares, money: fail.money) }
        out.append(.obligationSettled(SettlementOutcome(
            date: date, account: o.account, symbol: o.symbol, obligationShares: o.shares, obligationMoney: o.money,
            settledShares: outcome.settledShares, settledMoney: outcome.settledMoney)))
    }

    /// Revalues a fail at its symbol's mark: the change in worth is paid now, so the party failing bears
    /// the move in price. A symbol without a price, or shares worth past the limits, stay as they are.
    private func markFail(_ key: Netting.Key, on date: CivilDate) {
        guard let fail = clearing.fails[key], fail.shares != 0, let bookIndex = symbolIndex.find(key.symbol.packed) else { return }
        let price = mark(books[Int(bookIndex)])
        guard price > 0 else { return }
        let obligation = Netting.Obligation(account: key.account, symbol: key.symbol, shares: fail.shares, money: fail.money)
        guard let (revalued, payment) = try? Delivery.markToMarket(obligation, price: Price(units: price)), payment != 0 else { return }
        clearing.fails[key]!.money = revalued.money
        if let p = position(of: key) { moveUnsettled(p, by: payment) }
        if key.account != .street { ledgerTransactions += 1 }
        out.append(.failMarked(date, key.account, key.symbol, price: Price(units: price), payment: Money(units: payment)))
    }

    /// Money that settled leaves the position's unsettled cash (and its base, which counted it).
    private func moveUnsettled(_ p: Int32, by settled: Int64) {
        positions[p].unsettled -= settled
        clearing.base[p, default: .zero].money -= settled
    }

    func position(of key: Netting.Key) -> Int32? {
        guard let a = accountIndex.find(UInt64(key.account.rawValue)), let b = symbolIndex.find(key.symbol.packed) else { return nil }
        return positionIndex.find(positionKey(a, b))
    }

    // MARK: - Reading

    /// Calendar days after its trade date that the engine recognizes a capture's reference sent again.
    public static var captureReferenceDays: Int { Clearing.referenceDays }

    public var businessDate: CivilDate? { clearing.businessDate }
    /// The date whose settlement cycle is still being applied, and the obligations left; nil when none is.
    public var settlementInProgress: (date: CivilDate, left: UInt32)? { clearing.settling.map { ($0.date, $0.left) } }
    public var settlementDateOfFills: CivilDate? { clearing.settlesOn }

    /// What is due on `date` (fails not included), sorted by symbol and participant.
    public func obligations(due date: CivilDate) -> [Netting.Obligation] {
        (clearing.due[date] ?? [:]).map { Netting.Obligation(account: $0.key.account, symbol: $0.key.symbol, shares: $0.value.shares, money: $0.value.money) }
            .sorted()
    }

    /// The fails carried forward, sorted by symbol and participant.
    public var fails: [Netting.Obligation] {
        clearing.fails.map { Netting.Obligation(account: $0.key.account, symbol: $0.key.symbol, shares: $0.value.shares, money: $0.value.money) }
            .sorted()
    }

    /// Shares of the account's position that have settled: the position less what is still to arrive or
    /// leave by settlement, and less the open day's fills.
    public func settledShares(_ account: AccountID, _ symbol: Symbol) -> Quantity? {
        let key = Netting.Key(account: account, symbol: symbol)
        guard let p = position(of: key) else { return nil }
        let base = clearing.base[p] ?? .zero
        return Quantity(base.shares - clearing.outstanding(key).shares)
    }

    /// The post-trade state agrees with the positions: each position's unsettled cash, less the open
    /// day's fills, is what its obligations and fail are still to move.
    func clearingViolations() -> [String] {
        var problems: [String] = []
        for p in 0..<Int32(positions.high) {
            let position = positions[p]
            let key = Netting.Key(account: AccountID(accounts[position.account].id), symbol: books[Int(position.book)].symbol)
            let base = clearing.base[p] ?? .zero
            let outstanding = clearing.outstanding(key)
            if base.money != outstanding.money {
                problems.append("account \(key.account) in \(key.symbol): unsettled cash \(base.money) before today's fills, obligations \(outstanding.money)")
            }
        }
        return problems
    }
}
