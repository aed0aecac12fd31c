import BourseCore
import BourseNode

/// The risk platform's state, built from the journal's events alone: every account's cash and holdings
/// (by the average-cost method the engine books with), the last mark's prices, and each account's figures
/// at those prices, summed per client and for the firm. Pure: the same events give the same figures,
/// whether streamed live, replayed over a bounded range (`bourse risk --until`), or restored from a
/// checkpoint and continued.
///
/// Between marks an event revalues only the accounts it touches, at the last mark's prices; a mark
/// revalues every account. A client's and the firm's sums follow their accounts by difference.
public struct RiskBook: Sendable {
    /// One holding of an account: shares (negative when short), cost basis (negative for a short: the
    /// proceeds) and the P&L realized on it.
    public struct Holding: Hashable, Sendable {
        public var symbol: Symbol
        public var quantity: Int64 = 0
        public var cost: Int64 = 0
        public var realized: Int64 = 0
        /// Where the book keeps the symbol's price: its own numbering, not part of what the holding is.
        var slot: Int32 = -1

        public init(symbol: Symbol, quantity: Int64 = 0, cost: Int64 = 0, realized: Int64 = 0) {
            self.symbol = symbol
            self.quantity = quantity
            self.cost = cost
            self.realized = realized
        }

        public static func == (a: Holding, b: Holding) -> Bool {
            (a.symbol, a.quantity, a.cost, a.realized) == (b.symbol, b.quantity, b.cost, b.realized)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(symbol)
            hasher.combine(quantity)
            hasher.combine(cost)
            hasher.combine(realized)
        }
    }

    /// What the book keeps of an account besides its figures: what a checkpoint saves.
    public struct Account: Hashable, Sendable {
        public let id: AccountID
        public var kind: AccountKind
        public var margin: MarginRates
        public var cash: Int64 = 0
        public var fees: Int64 = 0
        /// Total P&L at the last close mark.
        public var dayStart: Int64 = 0
        public var holdings: [Holding] = []

        public init(id: AccountID, kind: AccountKind, margin: MarginRates) {
            self.id = id
            self.kind = kind
            self.margin = margin
        }
    }

    /// An event names an account the log never opened: the log and this book disagree.
    public struct Inconsistent: Error, CustomStringConvertible {
        public var description: String
    }

    public private(set) var accounts: [Account] = []
    public private(set) var figures: [RiskFigures] = []
    /// Per account, the sequence of the command that last changed its figures: what a stream compares to
    /// what it sent.
    public private(set) var changedAt: [UInt64] = []
    /// The sequence of the command being applied.
    private var applying: UInt64 = 0
    var index = AccountSlots()
    /// The last complete mark's prices, and those of a mark whose `marked` has not come yet.
    public private(set) var prices: [Symbol: Int64] = [:]
    /// The same prices by slot (0: none), a slot per symbol any holding named: what valuing reads.
    var slotOf: [Symbol: Int32] = [:]
    var slotPrices: [Int64] = []
    private var pending: [(Symbol, Int64)] = []
    public private(set) var mark: RiskMark?
    public private(set) var lastClose: RiskMark?
    /// The last command whose events were applied.
    public private(set) var sequence: UInt64 = 0

    /// Open margin calls by account.
    public private(set) var calls: [AccountID: MarginCall] = [:]

    /// Clients by name, each with its accounts (opened or not yet), and their sums.
    public let clients: [String: [AccountID]]
    private var clientOf: [AccountID: String] = [:]
    /// Per account, its client's name: looked up once, when it opens.
    private(set) var clientOfAccount: [String?] = []
    public private(set) var clientFigures: [String: RiskFigures] = [:]
    public private(set) var firm = RiskFigures()
    /// Accounts whose cash, holdings or day start changed since `takeTouched` (what a checkpoint writes).
    private var touched: [Int] = []
    private var isTouched: [Bool] = []

    /// `clients` names groups of accounts (a household, a fund's sub-accounts); an account is in one at most.
    public init(clients: [String: [AccountID]] = [:]) {
        self.clients = clients
        for (name, members) in clients {
            clientFigures[name] = RiskFigures()
            for id in members {
                precondition(clientOf[id] == nil, "account \(id) is in two clients; configuration checks it")
                clientOf[id] = name
            }
        }
    }

    /// A book that goes on from a checkpoint: the accounts and prices it saved, at its marks.
    public init(restoring accounts: [Account], prices: [Symbol: Int64], mark: RiskMark?, lastClose: RiskMark?, sequence: UInt64,
                calls: [MarginCall] = [], clients: [String: [AccountID]] = [:]) {
        self.init(clients: clients)
        self.sequence = sequence
        applying = sequence
        for call in calls { self.calls[call.account] = call }
        self.prices = prices
        for (symbol, price) in prices { slotPrices[Int(slot(for: symbol))] = price }
        self.mark = mark
        self.lastClose = lastClose
        for var account in accounts {
            for h in account.holdings.indices { account.holdings[h].slot = slot(for: account.holdings[h].symbol) }
            append(account)
            revalue(self.accounts.count - 1)
        }
        for i in touched { isTouched[i] = false }
        touched = []
    }

    /// Adds an account, with its figures still zero.
    private mutating func append(_ account: Account) {
        index[account.id] = accounts.count
        accounts.append(account)
        figures.append(RiskFigures())
        changedAt.append(applying)
        clientOfAccount.append(clientOf[account.id])
        isTouched.append(false)
    }

    /// The slot of a symbol's price, made when first asked for.
    private mutating func slot(for symbol: Symbol) -> Int32 {
        if let slot = slotOf[symbol] { return slot }
        let slot = Int32(slotPrices.count)
        slotOf[symbol] = slot
        slotPrices.append(0)
        return slot
    }

    // MARK: - Events

    /// Applies a journal entry: the events of the command at its sequence.
    public mutating func apply(_ published: Published) throws(Inconsistent) {
        for event in published.events { try apply(event, sequence: published.command.sequence, time: published.command.time) }
        sequence = published.command.sequence
    }

    /// Applies one event of the command at `sequence`, `time`.
    public mutating func apply(_ event: Event, sequence: UInt64, time: Timestamp) throws(Inconsistent) {
        applying = sequence
        switch event {
        case .accountOpened(let id, _, let terms):
            guard index[id] == nil else { throw Inconsistent(description: "account \(id) opened twice") }
            append(Account(id: id, kind: terms.kind, margin: terms.margin))
            revalue(accounts.count - 1)
        case .cashDeposited(let id, let amount), .dividendPaid(_, let id, let amount):
            try cash(id, amount.units)
        case .cashWithdrawn(let id, let amount):
            try cash(id, -amount.units)
        case .transferChanged(_, let request, let status, _):
            switch (request.direction, status) {
            case (.outgoing, .queued): try cash(request.account, -request.amount.units)
            case (.outgoing, .rejected), (.outgoing, .canceled), (.incoming, .complete): try cash(request.account, request.amount.units)
            default: break
            }
        case .journalPosted(let journal, let basis):
            switch journal.asset {
            case .cash(let amount):
                try cash(journal.from, -amount.units)
                try cash(journal.to, amount.units)
            case .shares(let symbol, let qty):
                try holding(journal.from, symbol) { $0.quantity -= qty.shares; $0.cost -= basis.units }
                try holding(journal.to, symbol) { $0.quantity += qty.shares; $0.cost += basis.units }
            }
        case .securitiesTransferredIn(let id, let symbol, let qty, let cost):
            try holding(id, symbol) { $0.quantity += qty.shares; $0.cost += qty.shares * cost.units }
        case .securitiesTransferredOut(let id, let symbol, let qty):
            try holding(id, symbol) { h in
                // Leaving without a sale realizes nothing: the basis leaves in proportion.
                h.cost -= Self.proportion(h.cost, qty.shares, of: h.quantity)
                h.quantity -= qty.shares
            }
        case .trade(let t):
            // The maker first, as the engine books them: an account on both sides realizes in that order.
            let makerSide: Side = t.takerSide == .buy ? .sell : .buy
            try traded(t.makerAccount, t.symbol, makerSide, t.quantity.shares, t.price.units, fee: t.makerFee.units)
            try traded(t.takerAccount, t.symbol, t.takerSide, t.quantity.shares, t.price.units, fee: t.takerFee.units)
        case .tradeCaptured(_, let terms):
            try traded(terms.account, terms.symbol, terms.side, terms.quantity.shares, terms.price.units, fee: 0)
        case .tradeCancelled(let c, _):
            // Each side takes back what it took, at the trade's price, as the engine books the reverse.
            let t = c.terms
            try traded(t.account, t.symbol, t.side == .buy ? .sell : .buy, t.quantity.shares, t.price.units, fee: 0)
            if c.counterparty != .street { try traded(c.counterparty, t.symbol, .buy, t.quantity.shares, t.price.units, fee: 0) }
        case .positionSplit(_, let id, let symbol, _, let to):
            try holding(id, symbol) { $0.quantity = to.shares }
        case .marginCallChanged(let id, let step):
            switch step.kind {
            case .open:
                calls[step.account] = MarginCall(id: id, account: step.account, deficit: step.deficit.units, mark: step.mark,
                                                 deadline: step.deadline, openedAt: time, reduceOnly: step.reduceOnly)
            case .met:
                calls[step.account] = nil
            case .liquidating:
                calls[step.account]?.liquidationRounds += 1
                calls[step.account]?.lastRoundAt = time
            }
        case .markPrice(let symbol, let price):
            pending.append((symbol, price.units))
        case .marked(let request, let count):
            guard pending.count == Int(count) else {
                throw Inconsistent(description: "the mark at \(sequence) names \(count) prices, \(pending.count) came before it")
            }
            fixMark(RiskMark(sequence: sequence, time: time, request: request))
        default:
            break
        }
    }

    private mutating func fixMark(_ mark: RiskMark) {
        for (symbol, price) in pending {
            prices[symbol] = price
            slotPrices[Int(slot(for: symbol))] = price
        }
        pending = []
        self.mark = mark
        if mark.request.close { lastClose = mark }
        revalueAll(closing: mark.request.close)
    }

    /// Every account at the current prices, and the sums made afresh from them; at a close, each account's
    /// day starts from its total P&L now.
    private mutating func revalueAll(closing: Bool) {
        firm = RiskFigures()
        for name in clientFigures.keys { clientFigures[name] = RiskFigures() }
        for i in accounts.indices {
            var f = valued(accounts[i])
            if closing {
                // Balances are capped at $10 trillion, so an account's P&L is far inside 64 bits.
                guard let start = Int64(exactly: f.totalPnL) else { preconditionFailure("account \(accounts[i].id) P&L \(f.totalPnL) beyond 64 bits") }
                accounts[i].dayStart = start
                f.dayStart = Int128(start)
                touch(i)
            }
            if f != figures[i] { changedAt[i] = applying }
            figures[i] = f
            firm.add(f)
            if let client = clientOfAccount[i] { clientFigures[client]!.add(f) }
        }
    }

    private mutating func traded(_ id: AccountID, _ symbol: Symbol, _ side: Side, _ q: Int64, _ price: Int64, fee: Int64) throws(Inconsistent) {
        guard id != .street else { return }
        let notional = q * price
        let i = try slot(id)
        let h = holdingIndex(i, symbol)
        // Revalued by difference: what the holding made of the figures goes out, what it makes now comes in.
        let (old, margin, mark) = (figures[i], accounts[i].margin, slotPrices[Int(accounts[i].holdings[h].slot)])
        var f = old
        let before = Self.size(accounts[i].holdings[h], mark)
        Self.part(accounts[i].holdings[h], mark, margin, -1, into: &f)
        accounts[i].cash += side == .buy ? -(notional + fee) : notional - fee
        accounts[i].fees += fee
        Self.move(&accounts[i].holdings[h], by: side == .buy ? q : -q, at: price)
        Self.part(accounts[i].holdings[h], mark, margin, 1, into: &f)
        (f.cash, f.fees) = (Int128(accounts[i].cash), Int128(accounts[i].fees))
        let after = Self.size(accounts[i].holdings[h], mark)
        if after >= f.largestPosition {
            f.largestPosition = after
        } else if before == f.largestPosition {
            f.largestPosition = accounts[i].holdings.reduce(0) { max($0, Self.size($1, slotPrices[Int($1.slot)])) }
        }
        Self.finish(&f, accounts[i].kind)
        store(i, old, f)
    }

    private mutating func cash(_ id: AccountID, _ amount: Int64) throws(Inconsistent) {
        let i = try slot(id)
        accounts[i].cash += amount
        revalue(i)
    }

    private mutating func holding(_ id: AccountID, _ symbol: Symbol, _ change: (inout Holding) -> Void) throws(Inconsistent) {
        let i = try slot(id)
        change(&accounts[i].holdings[holdingIndex(i, symbol)])
        revalue(i)
    }

    private func slot(_ id: AccountID) throws(Inconsistent) -> Int {
        guard let i = index[id] else { throw Inconsistent(description: "an event names account \(id), which was never opened") }
        return i
    }

    private mutating func holdingIndex(_ i: Int, _ symbol: Symbol) -> Int {
        if let h = accounts[i].holdings.firstIndex(where: { $0.symbol == symbol }) { return h }
        var holding = Holding(symbol: symbol)
        holding.slot = slot(for: symbol)
        accounts[i].holdings.append(holding)
        return accounts[i].holdings.count - 1
    }

    /// Moves a holding by `delta` shares traded at `price`, by the average-cost method (as the engine's
    /// `move`): a reduction takes its share of the basis out, all of it when the position closes, and
    /// realizes the difference from the price; what goes beyond zero opens at the price.
    static func move(_ h: inout Holding, by delta: Int64, at price: Int64) {
        if h.quantity == 0 || (h.quantity > 0) == (delta > 0) {
            h.quantity += delta
            h.cost += price * delta
            return
        }
        let reduced = Int64(min(delta.magnitude, h.quantity.magnitude))
        let removed = proportion(h.cost, reduced, of: h.quantity)
        h.realized += (h.quantity > 0 ? price * reduced : -price * reduced) - removed
        h.cost -= removed
        let step = delta > 0 ? reduced : -reduced
        h.quantity += step
        let rest = delta - step
        h.quantity += rest
        h.cost += price * rest
    }

    /// `value × part / whole`, truncated, and exactly `value` for the whole.
    static func proportion(_ value: Int64, _ part: Int64, of whole: Int64) -> Int64 {
        if part.magnitude == whole.magnitude { return value }
        return Int64(Int128(value) * Int128(part.magnitude) / Int128(whole.magnitude))
    }

    // MARK: - Figures (valuing an account is in Valuation.swift)

    /// Recomputes one account's figures and moves its client's and the firm's sums by the difference.
    private mutating func revalue(_ i: Int) {
        store(i, figures[i], valued(accounts[i]))
    }

    /// Sets an account's new figures and moves its client's and the firm's sums by the difference.
    private mutating func store(_ i: Int, _ old: RiskFigures, _ new: RiskFigures) {
        figures[i] = new
        touch(i)
        guard new != old else { return }
        changedAt[i] = applying
        firm.replace(old, with: new)
        if let client = clientOfAccount[i] { clientFigures[client]!.replace(old, with: new) }
    }

    private mutating func touch(_ i: Int) {
        guard !isTouched[i] else { return }
        isTouched[i] = true
        touched.append(i)
    }

    /// The accounts whose cash, holdings or day start changed since the last call.
    public mutating func takeTouched() -> [Int] {
        for i in touched { isTouched[i] = false }
        defer { touched = [] }
        return touched.sorted()
    }
}
