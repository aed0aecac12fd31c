import BourseCore
import BourseNode
import Dispatch

/// The risk platform's state, built from the journal's events alone: every account's cash and holdings
/// (by the average-cost method the engine books with), the last mark's prices, and each account's figures
/// at those prices, summed per client and for the firm. Pure: the same events give the same figures,
/// whether streamed live, replayed over a bounded range (`bourse risk --until`), or restored from a
/// checkpoint and continued.
///
/// The accounts are spread over partitions (`RiskPartitioning`, a client's accounts in one). Each
/// partition reads every entry and applies what concerns its own accounts and every mark, so a batch of
/// entries is applied by all partitions at once, each on a core. A client's figures are its partition's;
/// the firm's are the partitions' sums.
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

    public let partitioning: RiskPartitioning
    public private(set) var partitions: [RiskPartition]
    /// Below this many entries a batch without a mark is applied on the caller's thread: handing it to
    /// other cores would cost more than it saves. A mark revalues every account, so it always is.
    static let parallelBatchMin = 64

    /// `clients` names groups of accounts (a household, a fund's sub-accounts); an account is in one at
    /// most. `house`: the house's maintenance rates above the accounts' own. `keepsCloses`: keep each close
    /// mark's figures of every account until `takeCloses`.
    /// `only`: this book keeps that part of the accounts alone, the others being another process's.
    public init(clients: [String: [AccountID]] = [:], house: HouseMargin = .none, partitions: Int = 1, only: Int? = nil,
                keepsCloses: Bool = false) {
        precondition(only.map { (0..<partitions).contains($0) } ?? true, "part \(only!) of \(partitions)")
        partitioning = RiskPartitioning(count: partitions, clients: clients)
        self.partitions = (only.map { [$0] } ?? Array(0..<partitions)).map { [partitioning] in
            RiskPartition($0, of: partitioning, house: house, keepsCloses: keepsCloses)
        }
    }

    /// A book that goes on from a checkpoint: the accounts and prices it saved, at its marks.
    public init(restoring accounts: [Account], prices: [Symbol: Int64], mark: RiskMark?, lastClose: RiskMark?, sequence: UInt64,
                calls: [MarginCall] = [], clients: [String: [AccountID]] = [:], house: HouseMargin = .none, partitions: Int = 1,
                only: Int? = nil, keepsCloses: Bool = false) {
        precondition(only.map { (0..<partitions).contains($0) } ?? true, "part \(only!) of \(partitions)")
        partitioning = RiskPartitioning(count: partitions, clients: clients)
        self.partitions = (only.map { [$0] } ?? Array(0..<partitions)).map { [partitioning] in
            RiskPartition($0, of: partitioning, house: house, keepsCloses: keepsCloses, restoring: accounts, prices: prices, mark: mark,
                          lastClose: lastClose, sequence: sequence, calls: calls)
        }
    }

    public var clients: [String: [AccountID]] { partitioning.clients }

    // MARK: - Entries

    /// Applies a journal entry: the events of the command at its sequence.
    public mutating func apply(_ published: Published) throws(Inconsistent) {
        for p in partitions.indices { try partitions[p].apply(published) }
    }

    /// Applies one event of the command at `sequence`, `time`.
    public mutating func apply(_ event: Event, sequence: UInt64, time: Timestamp) throws(Inconsistent) {
        for p in partitions.indices { try partitions[p].apply(event, sequence: sequence, time: time) }
    }

    /// Applies entries in order, every partition on a core of its own. On a failure the partitions may
    /// have applied different parts of the batch: the book is then to be restored, as after any failure.
    public mutating func apply(_ batch: ArraySlice<Published>) throws(Inconsistent) {
        guard partitions.count > 1, batch.count >= Self.parallelBatchMin || batch.contains(where: Self.marks) else {
            for p in partitions.indices { try partitions[p].apply(batch) }
            return
        }
        let failures = Disjoint<Inconsistent?>(count: partitions.count, nil)
        defer { failures.free() }
        partitions.withUnsafeMutableBufferPointer { buffer in
            let shared = Disjoint(sharing: buffer)
            DispatchQueue.concurrentPerform(iterations: shared.count) { p in
                shared.update(p) { partition in
                    do throws(Inconsistent) {
                        try partition.apply(batch)
                    } catch {
                        failures[p] = error
                    }
                }
            }
        }
        if let failure = (0..<partitions.count).lazy.compactMap({ failures[$0] }).first { throw failure }
    }

    public mutating func apply(_ batch: [Published]) throws(Inconsistent) { try apply(batch[...]) }

    private static func marks(_ published: Published) -> Bool {
        published.events.contains { if case .marked = $0 { true } else { false } }
    }

    // MARK: - Reading

    /// The last command whose events were applied (every partition applies every entry).
    public var sequence: UInt64 { partitions[0].sequence }
    /// The last complete mark's prices.
    public var prices: [Symbol: Int64] { partitions[0].prices }
    public var mark: RiskMark? { partitions[0].mark }
    public var lastClose: RiskMark? { partitions[0].lastClose }

    /// Open margin calls by account.
    public var calls: [AccountID: MarginCall] {
        partitions.dropFirst().reduce(into: partitions[0].calls) { all, p in all.merge(p.calls) { a, _ in a } }
    }

    /// An account's open margin call.
    public func call(_ id: AccountID) -> MarginCall? { owner(id).calls[id] }

    /// Every account, partition after partition, and their figures in the same order.
    public var accounts: [Account] { partitions.flatMap(\.accounts) }
    public var figures: [RiskFigures] { partitions.flatMap(\.figures) }

    public func account(_ id: AccountID) -> (Account, RiskFigures)? { owner(id).account(id) }

    /// The sequence of the command that last changed an account's figures.
    public func figuresChangedAt(_ id: AccountID) -> UInt64? { owner(id).figuresChangedAt(id) }

    /// An account's figures at the current prices.
    public func valued(_ a: Account) -> RiskFigures { owner(a.id).valued(a) }

    /// A client's figures: its sums, with its largest position found among its accounts.
    public func client(_ name: String) -> RiskFigures? {
        partitioning.partition(ofClient: name).flatMap { part($0)?.client(name) }
    }

    /// The firm's figures: every partition's sums, with the largest position of any account.
    public var firmFigures: RiskFigures {
        partitions.reduce(into: RiskFigures()) { $0.add($1.firmFigures) }
    }

    /// Accounts in deficit: a margin account's equity below its house requirement, a cash account's cash below zero.
    public var accountsInDeficit: Int { partitions.reduce(0) { $0 + $1.records.count { $0.figures.excess < 0 } } }

    /// The firm's exposure per symbol: net shares, long and short value, unrealized and realized P&L.
    public func bySymbol() -> [Symbol: SymbolExposure] {
        partitions.dropFirst().reduce(into: partitions[0].bySymbol()) { all, p in all.merge(p.bySymbol()) { $0.adding($1) } }
    }

    /// The accounts whose cash, holdings or day start changed since the last call.
    public mutating func takeTouched() -> [Account] {
        (0..<partitions.count).flatMap { partitions[$0].takeTouched() }
    }

    /// The figures of every account at each close mark since the last call (with `keepsCloses`).
    public mutating func takeCloses() -> [(mark: UInt64, accounts: [(AccountID, RiskFigures)])] {
        let each = (0..<partitions.count).map { partitions[$0].takeCloses() }
        return each[0].indices.map { c in (each[0][c].mark, each.flatMap { $0[c].accounts }) }
    }

    /// The partition that keeps the account; in a book of one part, that part (which then knows it not).
    private func owner(_ id: AccountID) -> RiskPartition {
        partitions.count == partitioning.count ? partitions[partitioning.partition(of: id)] : partitions[0]
    }

    private func part(_ number: Int) -> RiskPartition? {
        partitions.count == partitioning.count ? partitions[number] : partitions.first { $0.number == number }
    }
}

/// How the risk book's accounts are spread over partitions: a client's accounts in its client's partition
/// (clients dealt out in order of name), any other account by its number. The same rule for the same
/// count and clients, so that each partition knows its accounts without asking the others.
public struct RiskPartitioning: Sendable {
    public let count: Int
    public let clients: [String: [AccountID]]
    private let clientPartition: [String: Int]
    /// Client members by account, to their partitions: looked up for every account an event names.
    private let members: AccountSlots

    public static let countMax = 64

    public init(count: Int, clients: [String: [AccountID]]) {
        precondition((1...Self.countMax).contains(count), "risk partitions are 1 to \(Self.countMax); configuration checks it")
        self.count = count
        self.clients = clients
        clientPartition = Dictionary(uniqueKeysWithValues: clients.keys.sorted().enumerated().map { ($1, $0 % count) })
        var members = AccountSlots()
        for (name, accounts) in clients {
            for id in accounts {
                precondition(members[id] == nil, "account \(id) is in two clients; configuration checks it")
                members[id] = clientPartition[name]!
            }
        }
        self.members = members
    }

    @inline(__always) public func partition(of id: AccountID) -> Int {
        guard count > 1 else { return 0 }
        if members.count > 0, let p = members[id] { return p }
        return Int(id.rawValue % UInt32(count))
    }

    public func partition(ofClient name: String) -> Int? { clientPartition[name] }
}
