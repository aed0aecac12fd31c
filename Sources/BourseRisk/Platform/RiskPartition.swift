import BourseCore
import BourseNode

/// One partition of the risk book: the accounts the partitioning gives it (a client's all in one), their
/// cash and holdings (by the average-cost method the engine books with), and each one's figures at the
/// last mark's prices, summed per client and for the partition. Every partition reads every journal entry
/// and applies what concerns its accounts, and every mark: so partitions never talk to each other, and can
/// run on separate cores (or processes reading the same log). Pure: the same events give the same figures.
///
/// Between marks an event revalues only the accounts it touches, at the last mark's prices; a mark
/// revalues every account. A client's and the partition's sums follow their accounts by difference.
public struct RiskPartition: Sendable {
    public typealias Account = RiskBook.Account
    public typealias Holding = RiskBook.Holding
    public typealias Inconsistent = RiskBook.Inconsistent

    /// Which accounts are this partition's.
    let partitioning: RiskPartitioning
    let number: Int

    /// An account and all that applying an event to it reads and writes, side by side: a fill's side is
    /// one record (a few neighbouring cache lines) and the account's holdings.
    struct Record: Sendable {
        var account: Account
        var figures = RiskFigures()
        /// The sequence of the command that last changed the figures: what a stream compares to what it sent.
        var changedAt: UInt64
        /// Its client's number in `clientNames`; -1 for none.
        var client: Int32
        /// Whether cash, holdings or day start changed since `takeTouched`.
        var touched = false
    }

    private(set) var records: [Record] = []
    public var accounts: [Account] { records.map(\.account) }
    public var figures: [RiskFigures] { records.map(\.figures) }
    /// The sequence of the command being applied.
    private var applying: UInt64 = 0
    var index = AccountSlots()
    /// The last complete mark's prices, and those of a mark whose `marked` has not come yet.
    public private(set) var prices: [Symbol: Int64] = [:]
    /// The same prices by slot (0: none), a slot per symbol any holding named: what valuing reads.
    var slotOf: [Symbol: Int32] = [:]
    var slotPrices: [Int64] = []
    /// The house's maintenance rates by the same slots.
    let house: HouseMargin
    var slotHouse: [HouseMargin.Rates] = []
    private var pending: [(Symbol, Int64)] = []
    public private(set) var mark: RiskMark?
    public private(set) var lastClose: RiskMark?
    /// The last command whose events were applied.
    public private(set) var sequence: UInt64 = 0
    /// What reading ahead read, kept so that the reads are not optimized away.
    private var aheadSink = 0

    /// Open margin calls by account.
    public private(set) var calls: [AccountID: MarginCall] = [:]

    /// This partition's clients by name, each with its accounts (opened or not yet).
    public let clients: [String: [AccountID]]
    private var clientOf: [AccountID: Int32] = [:]
    /// The clients by number, and their sums.
    private(set) var clientNames: [String] = []
    private(set) var clientSums: [RiskFigures] = []
    public private(set) var firm = RiskFigures()
    /// Accounts whose cash, holdings or day start changed since `takeTouched` (what a checkpoint writes).
    private var touched: [Int] = []

    /// Each close mark's figures of every account, kept (when asked to) until a checkpoint takes them.
    let keepsCloses: Bool
    private var closes: [(mark: UInt64, accounts: [(AccountID, RiskFigures)])] = []

    /// Partition `number` of `partitioning`, with its clients and no accounts yet.
    init(_ number: Int, of partitioning: RiskPartitioning, house: HouseMargin, keepsCloses: Bool) {
        precondition((0..<partitioning.count).contains(number))
        (self.number, self.partitioning, self.house, self.keepsCloses) = (number, partitioning, house, keepsCloses)
        clients = partitioning.clients.filter { partitioning.partition(ofClient: $0.key) == number }
        for (name, members) in clients.sorted(by: { $0.key < $1.key }) {
            for id in members { clientOf[id] = Int32(clientNames.count) }
            clientNames.append(name)
            clientSums.append(RiskFigures())
        }
    }

    /// A partition that goes on from a checkpoint: its accounts and the prices saved, at the book's marks.
    init(_ number: Int, of partitioning: RiskPartitioning, house: HouseMargin, keepsCloses: Bool, restoring accounts: [Account],
         prices: [Symbol: Int64], mark: RiskMark?, lastClose: RiskMark?, sequence: UInt64, calls: [MarginCall]) {
        self.init(number, of: partitioning, house: house, keepsCloses: keepsCloses)
        self.sequence = sequence
        applying = sequence
        for call in calls where owns(call.account) { self.calls[call.account] = call }
        self.prices = prices
        for (symbol, price) in prices { slotPrices[Int(slot(for: symbol))] = price }
        self.mark = mark
        self.lastClose = lastClose
        for var account in accounts where owns(account.id) {
            for h in account.holdings.indices { account.holdings[h].slot = slot(for: account.holdings[h].symbol) }
            append(account)
            revalue(records.count - 1)
        }
        for i in touched { records[i].touched = false }
        touched = []
    }

    @inline(__always) func owns(_ id: AccountID) -> Bool { partitioning.partition(of: id) == number }

    /// Adds an account, with its figures still zero.
    private mutating func append(_ account: Account) {
        index[account.id] = records.count
        records.append(Record(account: account, changedAt: applying, client: clientOf[account.id] ?? -1))
    }

    /// The slot of a symbol's price, made when first asked for.
    private mutating func slot(for symbol: Symbol) -> Int32 {
        if let slot = slotOf[symbol] { return slot }
        let slot = Int32(slotPrices.count)
        slotOf[symbol] = slot
        slotPrices.append(0)
        slotHouse.append(house.rates(symbol))
        return slot
    }

    // MARK: - Events

    /// Applies a journal entry: the events of the command at its sequence.
    public mutating func apply(_ published: Published) throws(Inconsistent) {
        for event in published.events { try apply(event, sequence: published.command.sequence, time: published.command.time) }
        sequence = published.command.sequence
    }

    /// Applies entries in order. While one is applied, the accounts of a later one's trades are read
    /// ahead: each is a few cache misses, which then overlap with the work instead of waiting for it.
    mutating func apply(_ batch: ArraySlice<Published>) throws(Inconsistent) {
        var ahead = 0
        for k in batch.startIndex..<min(batch.startIndex + Self.readAheadEntries, batch.endIndex) { ahead &+= readAhead(batch[k]) }
        for k in batch.indices {
            if k + Self.readAheadEntries < batch.endIndex { ahead &+= readAhead(batch[k + Self.readAheadEntries]) }
            try apply(batch[k])
        }
        aheadSink = ahead
    }

    /// Reads what applying an entry's trades will read first: the accounts' records and holdings.
    private func readAhead(_ published: Published) -> Int {
        var touched = 0
        for event in published.events {
            guard case .trade(let t) = event else { continue }
            touched &+= readAhead(t.makerAccount) &+ readAhead(t.takerAccount)
        }
        return touched
    }

    /// A word of every cache line of the account's record and of its holdings: loads that do not depend on
    /// each other, so that their misses overlap instead of coming one after another when the fill applies.
    @inline(__always) private func readAhead(_ id: AccountID) -> Int {
        guard owns(id), let i = index[id] else { return 0 }
        var sum = records.withUnsafeBufferPointer { Self.lines(UnsafeRawPointer($0.baseAddress! + i), MemoryLayout<Record>.stride) }
        sum &+= records[i].account.holdings.withUnsafeBufferPointer { holdings in
            holdings.baseAddress.map { Self.lines(UnsafeRawPointer($0), holdings.count &* MemoryLayout<Holding>.stride) } ?? 0
        }
        return sum
    }

    @inline(__always) private static func lines(_ start: UnsafeRawPointer, _ bytes: Int) -> Int {
        guard bytes > 0 else { return 0 }
        // The last byte too: a piece that does not start on a line may end on one more than its size says.
        var sum = Int(start.load(fromByteOffset: bytes &- 1, as: UInt8.self))
        var offset = 0
        while offset < bytes {
            sum &+= Int(start.load(fromByteOffset: offset, as: UInt8.self))
            offset &+= 64
        }
        return sum
    }

    /// How far ahead: far enough for the reads to land before they are needed, near enough to stay cached.
    static let readAheadEntries = 2

    /// Applies one event of the command at `sequence`, `time`.
    public mutating func apply(_ event: Event, sequence: UInt64, time: Timestamp) throws(Inconsistent) {
        applying = sequence
        switch event {
        case .accountOpened(let id, _, let terms):
            guard owns(id) else { break }
            guard index[id] == nil else { throw Inconsistent(description: "account \(id) opened twice") }
            append(Account(id: id, kind: terms.kind, margin: terms.margin))
            revalue(records.count - 1)
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
        case .marginCallChanged(let id, let step) where owns(step.account):
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
        defer { if closing && keepsCloses { closes.append((applying, records.map { ($0.account.id, $0.figures) })) } }
        firm = RiskFigures()
        for c in clientSums.indices { clientSums[c] = RiskFigures() }
        let (prices, rates) = (slotPrices, slotHouse)
        for i in records.indices {
            var f = Self.valued(records[i].account, slotPrices: prices, slotHouse: rates)
            if closing {
                // Balances are capped at $10 trillion, so an account's P&L is far inside 64 bits.
                guard let start = Int64(exactly: f.totalPnL) else { preconditionFailure("account \(records[i].account.id) P&L \(f.totalPnL) beyond 64 bits") }
                records[i].account.dayStart = start
                f.dayStart = Int128(start)
                touch(i)
            }
            if f != records[i].figures { records[i].changedAt = applying }
            records[i].figures = f
            firm.add(f)
            if records[i].client >= 0 { clientSums[Int(records[i].client)].add(f) }
        }
    }

    private mutating func traded(_ id: AccountID, _ symbol: Symbol, _ side: Side, _ q: Int64, _ price: Int64, fee: Int64) throws(Inconsistent) {
        guard id != .street, let i = try slot(id) else { return }
        let notional = q * price
        let h = holdingIndex(i, symbol)
        // Revalued by difference: what the holding made of the figures goes out, what it makes now comes in.
        let slot = Int(records[i].account.holdings[h].slot)
        let (old, margin, mark, house) = (records[i].figures, records[i].account.margin, slotPrices[slot], slotHouse[slot])
        var f = old
        let before = Self.size(records[i].account.holdings[h], mark)
        Self.part(records[i].account.holdings[h], mark, margin, house, -1, into: &f)
        records[i].account.cash += side == .buy ? -(notional + fee) : notional - fee
        records[i].account.fees += fee
        Self.move(&records[i].account.holdings[h], by: side == .buy ? q : -q, at: price)
        Self.part(records[i].account.holdings[h], mark, margin, house, 1, into: &f)
        (f.cash, f.fees) = (Int128(records[i].account.cash), Int128(records[i].account.fees))
        let after = Self.size(records[i].account.holdings[h], mark)
        if after >= f.largestPosition {
            f.largestPosition = after
        } else if before == f.largestPosition {
            f.largestPosition = records[i].account.holdings.reduce(0) { max($0, Self.size($1, slotPrices[Int($1.slot)])) }
        }
        Self.finish(&f, records[i].account.kind)
        store(i, old, f)
    }

    private mutating func cash(_ id: AccountID, _ amount: Int64) throws(Inconsistent) {
        guard let i = try slot(id) else { return }
        records[i].account.cash += amount
        revalue(i)
    }

    private mutating func holding(_ id: AccountID, _ symbol: Symbol, _ change: (inout Holding) -> Void) throws(Inconsistent) {
        guard let i = try slot(id) else { return }
        change(&records[i].account.holdings[holdingIndex(i, symbol)])
        revalue(i)
    }

    /// The account's place in this partition; nil when it is another partition's.
    private func slot(_ id: AccountID) throws(Inconsistent) -> Int? {
        guard owns(id) else { return nil }
        guard let i = index[id] else { throw Inconsistent(description: "an event names account \(id), which was never opened") }
        return i
    }

    private mutating func holdingIndex(_ i: Int, _ symbol: Symbol) -> Int {
        if let h = records[i].account.holdings.firstIndex(where: { $0.symbol == symbol }) { return h }
        var holding = Holding(symbol: symbol)
        holding.slot = slot(for: symbol)
        records[i].account.holdings.append(holding)
        return records[i].account.holdings.count - 1
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
        store(i, records[i].figures, Self.valued(records[i].account, slotPrices: slotPrices, slotHouse: slotHouse))
    }

    /// Sets an account's new figures and moves its client's and the firm's sums by the difference.
    private mutating func store(_ i: Int, _ old: RiskFigures, _ new: RiskFigures) {
        records[i].figures = new
        touch(i)
        guard new != old else { return }
        records[i].changedAt = applying
        firm.replace(old, with: new)
        if records[i].client >= 0 { clientSums[Int(records[i].client)].replace(old, with: new) }
    }

    private mutating func touch(_ i: Int) {
        guard !records[i].touched else { return }
        records[i].touched = true
        touched.append(i)
    }

    /// The accounts whose cash, holdings or day start changed since the last call.
    mutating func takeTouched() -> [Account] {
        for i in touched { records[i].touched = false }
        defer { touched = [] }
        return touched.sorted().map { records[$0].account }
    }

    /// The close marks' figures kept since the last call.
    mutating func takeCloses() -> [(mark: UInt64, accounts: [(AccountID, RiskFigures)])] {
        defer { closes = [] }
        return closes
    }
}
