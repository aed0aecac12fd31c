import BourseCore

extension MatchingEngine {
    // MARK: - Declarations

    func declareDividend(_ d: Dividend) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        if let refusal = settlementRefusal() { return reject(refusal) }
        guard let today = clearing.businessDate else { return reject(.noBusinessDate) }
        guard symbolIndex.find(d.symbol.packed) != nil else { return reject(.unknownSymbol(d.symbol)) }
        guard d.perShare.units > 0, d.perShare <= Clearing.dividendPerShareMax, d.exDate <= d.recordDate, d.recordDate > today,
              d.payDate >= d.recordDate else { return reject(.dividendInvalid(d.symbol)) }
        guard clearing.dividends.count + clearing.splits.count < Clearing.corporateActionsMax else { return reject(.tooManyCorporateActions) }
        clearing.lastCorporateAction += 1
        clearing.dividends[clearing.lastCorporateAction] = Clearing.PendingDividend(dividend: d, entitled: nil)
        out.append(.dividendDeclared(clearing.lastCorporateAction, d))
    }

    func declareSplit(_ s: Split) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        if let refusal = settlementRefusal() { return reject(refusal) }
        guard let today = clearing.businessDate else { return reject(.noBusinessDate) }
        guard symbolIndex.find(s.symbol.packed) != nil else { return reject(.unknownSymbol(s.symbol)) }
        guard (2...Split.ratioMax).contains(s.ratio), s.effectiveDate > today else { return reject(.splitInvalid(s.symbol)) }
        guard clearing.dividends.count + clearing.splits.count < Clearing.corporateActionsMax else { return reject(.tooManyCorporateActions) }
        clearing.lastCorporateAction += 1
        clearing.splits[clearing.lastCorporateAction] = s
        out.append(.splitDeclared(clearing.lastCorporateAction, s))
    }

    // MARK: - At the rollover

    /// Splits effective on or before `date`, in the order declared: the symbol's open orders are cancelled,
    /// every position and every obligation and fail in it multiplies by the ratio (cost bases and money stay),
    /// and its mark divides.
    func applySplits(on date: CivilDate) {
        for id in clearing.splits.keys.sorted() where clearing.splits[id]!.effectiveDate <= date {
            let split = clearing.splits.removeValue(forKey: id)!
            let b = symbolIndex.find(split.symbol.packed)!
            let book = books[Int(b)]
            var open: [Int32] = []
            forEachOrder(in: book) { open.append($0) }
            // Cancelling an order of a list may end the other of its pair first.
            for s in open where orders[s].place != .free {
                unplace(s)
                finish(s, cancelling: .corporateAction)
            }
            let r = split.ratio
            for p in 0..<Int32(positions.high) where positions[p].book == b {
                assert(positions[p].held == 0 && positions[p].openingBuys == 0 && positions[p].openingSells == 0, "no order in the symbol is open")
                let before = positions[p].quantity
                let account = AccountID(accounts[positions[p].account].id)
                let outstanding = clearing.outstanding(Netting.Key(account: account, symbol: split.symbol)).shares
                let settled = (clearing.base[p] ?? .zero).shares - outstanding
                positions[p].quantity *= r
                clearing.base[p, default: .zero].shares *= r
                // The new shares come from the issuer, as a transfer in would.
                book.outsideShares -= positions[p].quantity - before
                if before != 0 || outstanding != 0 {
                    // One transaction when either book, settled or not, holds shares to multiply.
                    if settled != 0 || before - settled != 0 { ledgerTransactions += 1 }
                    out.append(.positionSplit(id, account, split.symbol, from: Quantity(before), to: Quantity(positions[p].quantity)))
                }
            }
            for day in clearing.due.keys {
                for key in clearing.due[day]!.keys where key.symbol == split.symbol { clearing.due[day]![key]!.shares *= r }
            }
            for key in clearing.fails.keys where key.symbol == split.symbol { clearing.fails[key]!.shares *= r }
            let mark = book.lastTrade != 0 ? book.lastTrade : book.previousClose
            if mark > 0 { book.lastTrade = max(mark / r, 1) }
        }
    }

    /// Dividends whose record date has come: who holds settled shares now is owed; those whose pay date has
    /// come are paid, cash in from the issuer (the outside world), one ledger transaction each.
    func recordAndPayDividends(on date: CivilDate) {
        for id in clearing.dividends.keys.sorted() {
            var pending = clearing.dividends[id]!
            let d = pending.dividend
            if pending.entitled == nil, d.recordDate <= date {
                let b = symbolIndex.find(d.symbol.packed)!
                var entitled: [Clearing.Entitlement] = []
                for p in 0..<Int32(positions.high) where positions[p].book == b {
                    let account = AccountID(accounts[positions[p].account].id)
                    let settled = (clearing.base[p] ?? .zero).shares - clearing.outstanding(Netting.Key(account: account, symbol: d.symbol)).shares
                    guard settled > 0 else { continue }
                    entitled.append(Clearing.Entitlement(account: account, shares: settled))
                    out.append(.dividendRecorded(id, account, shares: Quantity(settled)))
                }
                pending.entitled = entitled
                clearing.dividends[id] = pending
            }
            guard let entitled = pending.entitled, d.payDate <= date else { continue }
            for e in entitled {
                guard let a = accountIndex.find(UInt64(e.account.rawValue)) else { continue }
                // Shares at most 10^11 (a position split a hundredfold) by at most $100 a share: far inside Int64.
                let amount = e.shares * d.perShare.units
                accounts[a].cash += amount
                outsideCash -= amount
                ledgerTransactions += 1
                out.append(.dividendPaid(id, e.account, Money(units: amount)))
            }
            clearing.dividends[id] = nil
        }
    }
}
