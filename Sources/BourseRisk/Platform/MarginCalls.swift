import BourseCore

/// What the risk desk does about margin, decided from the last mark's figures alone.
public enum MarginAction: Hashable, Sendable {
    /// A margin account's equity is below its house requirement by `deficit`, and no call is open.
    case open(AccountID, deficit: Int64)
    /// The account's call is covered again.
    case met(AccountID)
    /// The call's deadline passed uncovered: close these positions (shares, signed as held).
    case liquidate(AccountID, call: UInt64, closing: [Closing])

    public var account: AccountID {
        switch self {
        case .open(let id, _), .met(let id), .liquidate(let id, _, _): id
        }
    }

    public struct Closing: Hashable, Sendable {
        public var symbol: Symbol
        public var quantity: Int64

        public init(symbol: Symbol, quantity: Int64) {
            self.symbol = symbol
            self.quantity = quantity
        }
    }
}

extension RiskBook {
    /// The steps due at `now` in every partition, by account: see `RiskPartition.marginActions`.
    public func marginActions(now: Timestamp, liquidate: Bool) -> [MarginAction] {
        partitions.flatMap { $0.marginActions(now: now, liquidate: liquidate) }.sorted { $0.account.rawValue < $1.account.rawValue }
    }
}

extension RiskPartition {
    /// The steps due at `now`: calls to open and to meet, and (when `liquidate`) liquidations of calls past
    /// their deadline, a round at most every `MarginCall.roundIntervalNanos`. An account with a position the
    /// mark has no price for is left alone: its margin cannot be measured.
    public func marginActions(now: Timestamp, liquidate: Bool) -> [MarginAction] {
        guard mark != nil else { return [] }
        var actions: [MarginAction] = []
        for r in records where r.account.kind == .margin && r.figures.unpricedPositions == 0 {
            let (account, f) = (r.account, r.figures)
            switch (calls[account.id], f.excess < 0) {
            case (nil, true):
                // Balances are capped at $10 trillion: a deficit is far inside 64 bits.
                actions.append(.open(account.id, deficit: Int64(-f.excess)))
            case (_?, false):
                actions.append(.met(account.id))
            case (let call?, true) where liquidate && now >= call.deadline
                && call.lastRoundAt.map { now.nanos - $0.nanos >= MarginCall.roundIntervalNanos } ?? true:
                let closing = closingPositions(account, deficit: -f.excess)
                if !closing.isEmpty { actions.append(.liquidate(account.id, call: call.id, closing: closing)) }
            default:
                break
            }
        }
        return actions
    }

    /// The positions to close, largest value first, until the maintenance they free covers `deficit`
    /// (all of them when it never does).
    func closingPositions(_ a: Account, deficit: Int128) -> [MarginAction.Closing] {
        let sized: [(Holding, Int128)] = a.holdings.map { h in (h, Self.size(h, slotPrices[Int(h.slot)])) }
        let held = sized.filter { $0.1 > 0 }.sorted { x, y in x.1 != y.1 ? x.1 > y.1 : x.0.symbol.description < y.0.symbol.description }
        var freed: Int128 = 0
        var closing: [MarginAction.Closing] = []
        for (h, size) in held where freed < deficit {
            closing.append(.init(symbol: h.symbol, quantity: h.quantity))
            let house = slotHouse[Int(h.slot)]
            freed += requirement(size, h.quantity > 0 ? max(a.margin.maintenanceLongBasisPoints, house.longBasisPoints)
                                                      : max(a.margin.maintenanceShortBasisPoints, house.shortBasisPoints))
        }
        return closing
    }
}

/// A margin call as the journal's steps left it.
public struct MarginCall: Hashable, Sendable {
    public var id: UInt64
    public var account: AccountID
    /// The deficit at the mark that opened it.
    public var deficit: Int64
    public var mark: UInt64
    public var deadline: Timestamp
    public var openedAt: Timestamp
    public var reduceOnly: Bool
    /// Rounds of closing orders sent since the deadline passed, and when the last was.
    public var liquidationRounds = 0
    public var lastRoundAt: Timestamp?
    /// Between rounds of closing orders, what the last round sent has time to trade.
    public static let roundIntervalNanos: Int64 = 30_000_000_000

    public init(id: UInt64, account: AccountID, deficit: Int64, mark: UInt64, deadline: Timestamp, openedAt: Timestamp, reduceOnly: Bool,
                liquidationRounds: Int = 0, lastRoundAt: Timestamp? = nil) {
        self.lastRoundAt = lastRoundAt
        self.id = id
        self.account = account
        self.deficit = deficit
        self.mark = mark
        self.deadline = deadline
        self.openedAt = openedAt
        self.reduceOnly = reduceOnly
        self.liquidationRounds = liquidationRounds
    }
}
