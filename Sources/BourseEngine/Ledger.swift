import BourseCore

/// The double-entry ledger, as postings derived from events. The engine keeps the balances (an
/// account's cash and positions are its ledger balances); this projection turns the event stream into
/// transactions with entries and running balances, for statements and for checking the engine: its
/// balances must equal the engine's, and every transaction must balance per asset.
public enum LedgerAccount: Hashable, Sendable {
    case customer(AccountID)
    /// Fees in, rebates out.
    case venueFees
    /// The venue as central counterparty to every fill: its balance nets to zero across a fill's two sides.
    case clearing
    /// Where deposits come from and withdrawals and transfers go.
    case outsideWorld
    /// Cash of outgoing bank transfers between leaving an account and reaching its bank.
    case inTransit
    /// The outside counterparties of captured trades.
    case street
}

public enum Asset: Hashable, Sendable {
    case usd
    case shares(Symbol)
}

public struct LedgerEntry: Hashable, Sendable {
    public var account: LedgerAccount
    public var asset: Asset
    /// Units of 1/10,000 dollar for USD, shares otherwise; positive is a debit to the account's holdings.
    public var amount: Int64
}

public struct LedgerTransaction: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case deposit, withdrawal, transferIn, transferOut, journal
        /// A step of a bank transfer that moves cash: by its id and the status it reached.
        case bankTransfer(UInt64, TransferStatus)
        /// One side of a fill.
        case fill(ExecutionID, Side)
        /// A trade captured from away, by the venue's id for it.
        case capture(UInt64)
        /// The reverse of a cancelled trade, one per side.
        case cancellation(TradeRef, Side)
        /// A dividend paid, by its corporate action's id.
        case dividend(UInt64)
        /// The new shares of a split, by its corporate action's id.
        case split(UInt64)
    }
    /// Numbered from 1 in the order of the events.
    public var id: UInt64
    public var kind: Kind
    public var entries: [LedgerEntry]

    /// Whether the entries sum to zero for every asset.
    public var isBalanced: Bool {
        var sums: [Asset: Int128] = [:]
        for e in entries { sums[e.asset, default: 0] += Int128(e.amount) }
        return sums.values.allSatisfy { $0 == 0 }
    }
}

/// One line of an account's statement: an entry and the balance of its asset after it.
public struct StatementLine: Hashable, Sendable {
    public var transaction: UInt64
    public var kind: LedgerTransaction.Kind
    public var asset: Asset
    public var amount: Int64
    public var balance: Int64
}

public struct Ledger: Sendable {
    /// Statement lines kept per customer account; older lines are dropped (and counted) past it. The
    /// journal holds the full history, from which any statement can be rebuilt.
    public let linesPerAccountMax: Int
    public private(set) var transactionCount: UInt64 = 0
    private var balances: [LedgerAccount: [Asset: Int64]] = [:]
    private var lines: [AccountID: [StatementLine]] = [:]
    public private(set) var droppedLines: [AccountID: Int] = [:]

    public init(linesPerAccountMax: Int = 100_000) {
        self.linesPerAccountMax = linesPerAccountMax
    }

    /// The transactions an event posts: none for most events, one for cash and securities movements,
    /// two (one per side) for a fill.
    public static func postings(for event: Event) -> [(LedgerTransaction.Kind, [LedgerEntry])] {
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
                    LedgerEntry(account: .customer(account), asset: .usd, amount: -sign * notional - fee),
                    LedgerEntry(account: .clearing, asset: .usd, amount: sign * notional),
                    LedgerEntry(account: .customer(account), asset: shares, amount: sign * t.quantity.shares),
                    LedgerEntry(account: .clearing, asset: shares, amount: -sign * t.quantity.shares),
                ]
                if fee != 0 { entries.append(LedgerEntry(account: .venueFees, asset: .usd, amount: fee)) }
                return (.fill(t.executionID, side), entries)
            }
            return [side(.buy, t.buyerAccount, t.buyerFee.units), side(.sell, t.sellerAccount, t.sellerFee.units)]
        case .tradeCaptured(let id, let r):
            return [(.capture(id), away(r.account, r.side, r, against: .street))]
        case .tradeCancelled(let c, _):
            let t = c.terms
            let reverse: Side = t.side == .buy ? .sell : .buy
            if c.counterparty == .street { return [(.cancellation(c.trade, reverse), away(t.account, reverse, t, against: .street))] }
            // A fill's two sides reverse against the venue as central counterparty, as the fill posted.
            return [(.cancellation(c.trade, .sell), away(t.account, .sell, t, against: .clearing)),
                    (.cancellation(c.trade, .buy), away(c.counterparty, .buy, t, against: .clearing))]
        case .positionSplit(let id, let account, let symbol, let from, let to) where from != to:
            return [(.split(id), [LedgerEntry(account: .customer(account), asset: .shares(symbol), amount: to.shares - from.shares),
                                  LedgerEntry(account: .outsideWorld, asset: .shares(symbol), amount: from.shares - to.shares)])]
        case .dividendPaid(let id, let account, let amount):
            return [(.dividend(id), [LedgerEntry(account: .customer(account), asset: .usd, amount: amount.units),
                                     LedgerEntry(account: .outsideWorld, asset: .usd, amount: -amount.units)])]
        default:
            return []
        }
    }

    /// One side of a trade booked away from the book: cash one way, shares the other, against `other`.
    static func away(_ account: AccountID, _ side: Side, _ t: TradeTerms, against other: LedgerAccount) -> [LedgerEntry] {
        let sign: Int64 = side == .buy ? 1 : -1
        let notional = t.notional.units
        return [LedgerEntry(account: .customer(account), asset: .usd, amount: -sign * notional),
                LedgerEntry(account: other, asset: .usd, amount: sign * notional),
                LedgerEntry(account: .customer(account), asset: .shares(t.symbol), amount: sign * t.quantity.shares),
                LedgerEntry(account: other, asset: .shares(t.symbol), amount: -sign * t.quantity.shares)]
    }

    /// Posts what `event` posts and returns the transactions. A transaction that does not balance is a
    /// bug in the postings, not an operating error: it stops the process.
    @discardableResult
    public mutating func apply(_ event: Event) -> [LedgerTransaction] {
        Self.postings(for: event).map { kind, entries in
            transactionCount += 1
            let transaction = LedgerTransaction(id: transactionCount, kind: kind, entries: entries)
            precondition(transaction.isBalanced, "ledger transaction \(transactionCount) does not balance")
            for entry in entries { post(entry, transaction) }
            return transaction
        }
    }

    private mutating func post(_ entry: LedgerEntry, _ transaction: LedgerTransaction) {
        let balance = balances[entry.account, default: [:]][entry.asset, default: 0] + entry.amount
        balances[entry.account, default: [:]][entry.asset] = balance
        guard case .customer(let id) = entry.account else { return }
        lines[id, default: []].append(StatementLine(transaction: transaction.id, kind: transaction.kind,
                                                    asset: entry.asset, amount: entry.amount, balance: balance))
        if lines[id]!.count > linesPerAccountMax {
            let excess = lines[id]!.count - linesPerAccountMax
            lines[id]!.removeFirst(excess)
            droppedLines[id, default: 0] += excess
        }
    }

    public func balance(_ account: LedgerAccount, _ asset: Asset) -> Int64 {
        balances[account]?[asset] ?? 0
    }

    /// Every asset's total across all ledger accounts; each is zero while the ledger is consistent.
    public var assetTotals: [Asset: Int128] {
        var totals: [Asset: Int128] = [:]
        for byAsset in balances.values {
            for (asset, amount) in byAsset { totals[asset, default: 0] += Int128(amount) }
        }
        return totals
    }

    /// The account's statement lines for one asset (or all), oldest first, with running balances.
    public func statement(_ account: AccountID, asset: Asset? = nil) -> [StatementLine] {
        let all = lines[account] ?? []
        guard let asset else { return all }
        return all.filter { $0.asset == asset }
    }
}
