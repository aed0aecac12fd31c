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

/// A customer's holdings are kept in two books: what trades moved and has not settled yet, and what has.
/// A trade posts to the unsettled book; its settlement moves what it delivered to the settled one;
/// deposits, transfers, journals and corporate actions post settled. The venue's own accounts keep one
/// book, `settled`.
public enum LedgerBook: String, Hashable, Sendable, CaseIterable {
    case settled, unsettled
}

public enum Asset: Hashable, Sendable {
    case usd
    case shares(Symbol)
}

public struct LedgerEntry: Hashable, Sendable {
    public var account: LedgerAccount
    public var book: LedgerBook
    public var asset: Asset
    /// Units of 1/10,000 dollar for USD, shares otherwise; positive is a debit to the account's holdings.
    public var amount: Int64

    public init(account: LedgerAccount, book: LedgerBook = .settled, asset: Asset, amount: Int64) {
        self.account = account
        self.book = book
        self.asset = asset
        self.amount = amount
    }
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
        /// What one participant's obligation in a symbol delivered in the cycle of a date: unsettled to settled.
        case settlement(CivilDate, Symbol)
        /// A fail's mark paid now: unsettled cash to settled.
        case failMark(CivilDate, Symbol)
        /// A dividend paid, by its corporate action's id.
        case dividend(UInt64)
        /// The new shares of a split, by its corporate action's id.
        case split(UInt64)
    }
    /// Numbered from 1 in the order of the events.
    public var id: UInt64
    public var kind: Kind
    public var entries: [LedgerEntry]

    public init(id: UInt64, kind: Kind, entries: [LedgerEntry]) {
        self.id = id
        self.kind = kind
        self.entries = entries
    }

    /// Whether the entries sum to zero for every asset.
    public var isBalanced: Bool {
        var sums: [Asset: Int128] = [:]
        for e in entries { sums[e.asset, default: 0] += Int128(e.amount) }
        return sums.values.allSatisfy { $0 == 0 }
    }
}

/// One line of an account's statement: an entry and the balance of its asset (both books) after it.
public struct StatementLine: Hashable, Sendable {
    public var transaction: UInt64
    public var kind: LedgerTransaction.Kind
    public var book: LedgerBook
    public var asset: Asset
    public var amount: Int64
    public var balance: Int64
}

public struct Ledger: Sendable {
    /// One balance of the ledger: an account's book of one asset.
    public struct Key: Hashable, Sendable {
        public var account: LedgerAccount
        public var book: LedgerBook
        public var asset: Asset

        public init(_ account: LedgerAccount, _ book: LedgerBook, _ asset: Asset) {
            self.account = account
            self.book = book
            self.asset = asset
        }
    }

    /// Statement lines kept per customer account; older lines are dropped (and counted) past it. The
    /// journal holds the full history, from which any statement can be rebuilt.
    public let linesPerAccountMax: Int
    public private(set) var transactionCount: UInt64
    public private(set) var balances: [Key: Int64]
    /// Splits declared and not yet effective: their postings need the ratio.
    public private(set) var splits: [UInt64: Split]
    private var lines: [AccountID: [StatementLine]] = [:]
    public private(set) var droppedLines: [AccountID: Int] = [:]

    public init(linesPerAccountMax: Int = 100_000) {
        self.init(restoring: [:], splits: [:], transactionCount: 0, linesPerAccountMax: linesPerAccountMax)
    }

    /// A ledger that goes on from balances kept elsewhere (a projection's tables).
    public init(restoring balances: [Key: Int64], splits: [UInt64: Split], transactionCount: UInt64, linesPerAccountMax: Int) {
        self.balances = balances.filter { $0.value != 0 }
        self.splits = splits
        self.transactionCount = transactionCount
        self.linesPerAccountMax = linesPerAccountMax
    }

    /// Posts what `event` posts and returns the transactions. A transaction that does not balance is a
    /// bug in the postings, not an operating error: it stops the process.
    @discardableResult
    public mutating func apply(_ event: Event) -> [LedgerTransaction] {
        switch event {
        case .splitDeclared(let id, let split):
            splits[id] = split
        case .businessDateRolled(let roll):
            // A split is declared effective after the open day, and takes effect in the first rollover on or
            // after its date: by the close of `from` it is done.
            if let from = roll.from { splits = splits.filter { $0.value.effectiveDate > from } }
        default:
            break
        }
        return postings(for: event).map { kind, entries in
            transactionCount += 1
            let transaction = LedgerTransaction(id: transactionCount, kind: kind, entries: entries)
            precondition(transaction.isBalanced, "ledger transaction \(transactionCount) does not balance")
            for entry in entries { post(entry, transaction) }
            return transaction
        }
    }

    private mutating func post(_ entry: LedgerEntry, _ transaction: LedgerTransaction) {
        let key = Key(entry.account, entry.book, entry.asset)
        let balance = (balances[key] ?? 0) + entry.amount
        balances[key] = balance == 0 ? nil : balance
        guard case .customer(let id) = entry.account, linesPerAccountMax > 0 else { return }
        lines[id, default: []].append(StatementLine(transaction: transaction.id, kind: transaction.kind, book: entry.book, asset: entry.asset,
                                                    amount: entry.amount, balance: self.balance(entry.account, entry.asset)))
        if lines[id]!.count > linesPerAccountMax {
            let excess = lines[id]!.count - linesPerAccountMax
            lines[id]!.removeFirst(excess)
            droppedLines[id, default: 0] += excess
        }
    }

    /// The balance of one book, or of both when `book` is nil.
    public func balance(_ account: LedgerAccount, _ asset: Asset, book: LedgerBook? = nil) -> Int64 {
        guard let book else { return LedgerBook.allCases.reduce(0) { $0 + balance(account, asset, book: $1) } }
        return balances[Key(account, book, asset)] ?? 0
    }

    /// Every asset's total across all ledger accounts; each is zero while the ledger is consistent.
    public var assetTotals: [Asset: Int128] {
        var totals: [Asset: Int128] = [:]
        for (key, amount) in balances { totals[key.asset, default: 0] += Int128(amount) }
        return totals
    }

    /// The account's statement lines for one asset (or all), oldest first, with running balances.
    public func statement(_ account: AccountID, asset: Asset? = nil) -> [StatementLine] {
        let all = lines[account] ?? []
        guard let asset else { return all }
        return all.filter { $0.asset == asset }
    }
}
