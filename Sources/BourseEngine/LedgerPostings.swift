import BourseCore

extension Ledger {
    /// The transactions an event posts: none for most events, one for cash and securities movements and
    /// for each participant's settlement, two (one per side) for a fill. A split's postings depend on the
    /// books as they stand, so this reads the ledger.
    public func postings(for event: Event) -> [(LedgerTransaction.Kind, [LedgerEntry])] {
        switch event {
        case .cashDeposited(let account, let amount):
            return [(.deposit, [LedgerEntry(account: .customer(account), asset: .usd, amount: amount.units),
                                LedgerEntry(account: .outsideWorld, asset: .usd, amount: -amount.units)])]
        case .cashWithdrawn(let account, let amount):
            return [(.withdrawal, [LedgerEntry(account: .customer(account), asset: .usd, amount: -amount.units),
                                   LedgerEntry(account: .outsideWorld, asset: .usd, amount: amount.units)])]
        case .securitiesTransferredIn(let account, let symbol, let qty, _):
            return [(.transferIn, [LedgerEntry(account: .customer(account), asset: .shares(symbol), amount: qty.shares),
                                   LedgerEntry(account: .outsideWorld, asset: .shares(symbol), amount: -qty.shares)])]
        case .securitiesTransferredOut(let account, let symbol, let qty):
            return [(.transferOut, [LedgerEntry(account: .customer(account), asset: .shares(symbol), amount: -qty.shares),
                                    LedgerEntry(account: .outsideWorld, asset: .shares(symbol), amount: qty.shares)])]
        case .journalPosted(let journal, _):
            let (asset, amount): (Asset, Int64) = switch journal.asset {
            case .cash(let m): (.usd, m.units)
            case .shares(let symbol, let qty): (.shares(symbol), qty.shares)
            }
            return [(.journal, [LedgerEntry(account: .customer(journal.from), asset: asset, amount: -amount),
                                LedgerEntry(account: .customer(journal.to), asset: asset, amount: amount)])]
        case .transferChanged(let id, let request, let status, _):
            let (customer, amount) = (LedgerAccount.customer(request.account), request.amount.units)
            let moves: (from: LedgerAccount, to: LedgerAccount)? = switch (request.direction, status) {
            case (.outgoing, .queued): (customer, .inTransit)
            case (.outgoing, .complete): (.inTransit, .outsideWorld)
            case (.outgoing, .rejected), (.outgoing, .canceled): (.inTransit, customer)
            case (.incoming, .complete): (.outsideWorld, customer)
            default: nil
            }
            guard let moves else { return [] }
            return [(.bankTransfer(id, status), [LedgerEntry(account: moves.from, asset: .usd, amount: -amount),
                                                 LedgerEntry(account: moves.to, asset: .usd, amount: amount)])]
        case .trade(let t):
            let notional = t.price.units * t.quantity.shares
            let shares = Asset.shares(t.symbol)
            func side(_ side: Side, _ account: AccountID, _ fee: Int64) -> (LedgerTransaction.Kind, [LedgerEntry]) {
                let sign: Int64 = side == .buy ? 1 : -1
                var entries = [
                    LedgerEntry(account: .customer(account), book: .unsettled, asset: .usd, amount: -sign * notional - fee),
                    LedgerEntry(account: .clearing, asset: .usd, amount: sign * notional),
                    LedgerEntry(account: .customer(account), book: .unsettled, asset: shares, amount: sign * t.quantity.shares),
                    LedgerEntry(account: .clearing, asset: shares, amount: -sign * t.quantity.shares),
                ]
                if fee != 0 { entries.append(LedgerEntry(account: .venueFees, asset: .usd, amount: fee)) }
                return (.fill(t.executionID, side), entries)
            }
            return [side(.buy, t.buyerAccount, t.buyerFee.units), side(.sell, t.sellerAccount, t.sellerFee.units)]
        case .tradeCaptured(let id, let r):
            return [(.capture(id), Self.away(r.account, r.side, r, against: .street))]
        case .tradeCancelled(let c, _):
            let t = c.terms
            let reverse: Side = t.side == .buy ? .sell : .buy
            if c.counterparty == .street { return [(.cancellation(c.trade, reverse), Self.away(t.account, reverse, t, against: .street))] }
            // A fill's two sides reverse against the venue as central counterparty, as the fill posted.
            return [(.cancellation(c.trade, .sell), Self.away(t.account, .sell, t, against: .clearing)),
                    (.cancellation(c.trade, .buy), Self.away(c.counterparty, .buy, t, against: .clearing))]
        case .obligationSettled(let o) where o.account != .street:
            // The street keeps no books of its own to settle between.
            let entries = Self.settling(o.account, shares: o.settledShares, of: o.symbol, money: o.settledMoney)
            return entries.isEmpty ? [] : [(.settlement(o.date, o.symbol), entries)]
        case .failMarked(let date, let account, let symbol, _, let payment) where account != .street:
            return [(.failMark(date, symbol), Self.settling(account, shares: 0, of: symbol, money: payment.units))]
        case .positionSplit(let id, let account, let symbol, _, _):
            // Both books multiply by the ratio, the new shares coming from the issuer.
            guard let ratio = splits[id]?.ratio else { preconditionFailure("split \(id) took effect but was never declared") }
            let customer = LedgerAccount.customer(account)
            var entries = LedgerBook.allCases.map { book in
                LedgerEntry(account: customer, book: book, asset: .shares(symbol), amount: balance(customer, .shares(symbol), book: book) * (ratio - 1))
            }
            entries.append(LedgerEntry(account: .outsideWorld, asset: .shares(symbol), amount: -entries.reduce(0) { $0 + $1.amount }))
            entries = entries.filter { $0.amount != 0 }
            return entries.isEmpty ? [] : [(.split(id), entries)]
        case .dividendPaid(let id, let account, let amount):
            return [(.dividend(id), [LedgerEntry(account: .customer(account), asset: .usd, amount: amount.units),
                                     LedgerEntry(account: .outsideWorld, asset: .usd, amount: -amount.units)])]
        default:
            return []
        }
    }

    /// One side of a trade booked away from the book: cash one way, shares the other, unsettled, against `other`.
    static func away(_ account: AccountID, _ side: Side, _ t: TradeTerms, against other: LedgerAccount) -> [LedgerEntry] {
        let sign: Int64 = side == .buy ? 1 : -1
        let notional = t.notional.units
        return [LedgerEntry(account: .customer(account), book: .unsettled, asset: .usd, amount: -sign * notional),
                LedgerEntry(account: other, asset: .usd, amount: sign * notional),
                LedgerEntry(account: .customer(account), book: .unsettled, asset: .shares(t.symbol), amount: sign * t.quantity.shares),
                LedgerEntry(account: other, asset: .shares(t.symbol), amount: -sign * t.quantity.shares)]
    }

    /// What settled, moved from the account's unsettled books to its settled ones (signed as the account
    /// sees it: positive received).
    static func settling(_ account: AccountID, shares: Int64, of symbol: Symbol, money: Int64) -> [LedgerEntry] {
        let customer = LedgerAccount.customer(account)
        var entries: [LedgerEntry] = []
        if shares != 0 {
            entries += [LedgerEntry(account: customer, book: .settled, asset: .shares(symbol), amount: shares),
                        LedgerEntry(account: customer, book: .unsettled, asset: .shares(symbol), amount: -shares)]
        }
        if money != 0 {
            entries += [LedgerEntry(account: customer, book: .settled, asset: .usd, amount: money),
                        LedgerEntry(account: customer, book: .unsettled, asset: .usd, amount: -money)]
        }
        return entries
    }
}
