import BourseCore

/// Valuing an account at a mark's prices, and reading figures out of a partition.
extension RiskPartition {
    /// An account's figures at the current prices.
    public func valued(_ a: Account) -> RiskFigures { Self.valued(a, slotPrices: slotPrices, slotHouse: slotHouse) }

    /// The current prices with each moved by `move` (a scenario's shock), by slot, for `valued(_:slotPrices:)`.
    func slotPrices(moved move: (Symbol, Int64) -> Int64) -> [Int64] {
        var moved = slotPrices
        for (symbol, slot) in slotOf where moved[Int(slot)] > 0 { moved[Int(slot)] = move(symbol, moved[Int(slot)]) }
        return moved
    }

    /// An account's figures at prices by slot (0: no price).
    /// Static, so that a loop over the partition's own records never copies the partition to call it.
    static func valued(_ a: Account, slotPrices: [Int64], slotHouse: [HouseMargin.Rates]) -> RiskFigures {
        var f = RiskFigures()
        f.accounts = 1
        f.cash = Int128(a.cash)
        f.fees = Int128(a.fees)
        f.dayStart = Int128(a.dayStart)
        for h in a.holdings {
            let price = slotPrices[Int(h.slot)]
            part(h, price, a.margin, slotHouse[Int(h.slot)], 1, into: &f)
            f.largestPosition = max(f.largestPosition, size(h, price))
        }
        finish(&f, a.kind)
        return f
    }

    /// Adds (`sign` 1) or takes out (−1) what one holding makes of its account's figures at `price` (0:
    /// none): all but the largest position, which is not a sum.
    @inline(__always)
    static func part(_ h: Holding, _ price: Int64, _ margin: MarginRates, _ house: HouseMargin.Rates, _ sign: Int128, into f: inout RiskFigures) {
        f.realized += sign * Int128(h.realized)
        guard h.quantity != 0 else { return }
        guard price > 0 else {
            f.unpricedPositions += Int(sign)
            return
        }
        let value = Int128(h.quantity) * Int128(price)
        f.unrealized += sign * (value - Int128(h.cost))
        if value > 0 {
            f.longValue += sign * value
            f.houseRequirement += sign * requirement(value, max(margin.maintenanceLongBasisPoints, house.longBasisPoints))
        } else {
            f.shortValue -= sign * value
            f.houseRequirement += sign * requirement(-value, max(margin.maintenanceShortBasisPoints, house.shortBasisPoints))
        }
        f.regTRequirement += sign * requirement(Int128(value.magnitude), margin.initialBasisPoints)
    }

    /// A holding's market value, long or short, at `price`; 0 without one.
    @inline(__always) static func size(_ h: Holding, _ price: Int64) -> Int128 {
        price > 0 ? Int128((Int128(h.quantity) * Int128(price)).magnitude) : 0
    }

    /// The figures that follow from the sums: a cash account has no requirement and its cash is its excess.
    @inline(__always) static func finish(_ f: inout RiskFigures, _ kind: AccountKind) {
        if kind == .cash {
            (f.regTRequirement, f.houseRequirement, f.excess) = (0, 0, f.cash)
        } else {
            f.excess = f.equity - f.houseRequirement
        }
    }

    public func account(_ id: AccountID) -> (Account, RiskFigures)? {
        index[id].map { (records[$0].account, records[$0].figures) }
    }

    /// The sequence of the command that last changed an account's figures.
    public func figuresChangedAt(_ id: AccountID) -> UInt64? { index[id].map { records[$0].changedAt } }

    /// A client's figures: its sums, with its largest position found among its accounts.
    public func client(_ name: String) -> RiskFigures? {
        guard let c = clientNames.firstIndex(of: name) else { return nil }
        var f = clientSums[c]
        f.largestPosition = clients[name]!.compactMap { index[$0].map { records[$0].figures.largestPosition } }.max() ?? 0
        return f
    }

    /// The partition's figures: every account's sums, with the largest position of any.
    public var firmFigures: RiskFigures {
        var f = firm
        f.largestPosition = records.map(\.figures.largestPosition).max() ?? 0
        return f
    }

    /// The partition's exposure per symbol: net shares, long and short value, unrealized and realized P&L.
    public func bySymbol() -> [Symbol: SymbolExposure] {
        var result: [Symbol: SymbolExposure] = [:]
        for r in records {
            for h in r.account.holdings {
                var e = result[h.symbol] ?? SymbolExposure(price: prices[h.symbol])
                e.quantity += Int128(h.quantity)
                e.realized += Int128(h.realized)
                if let price = prices[h.symbol], h.quantity != 0 {
                    let value = Int128(h.quantity) * Int128(price)
                    if value > 0 { e.longValue += value } else { e.shortValue -= value }
                    e.unrealized += value - Int128(h.cost)
                }
                result[h.symbol] = e
            }
        }
        return result
    }
}

/// The firm's exposure in one symbol.
public struct SymbolExposure: Hashable, Sendable {
    public var price: Int64?
    public var quantity: Int128 = 0
    public var longValue: Int128 = 0
    public var shortValue: Int128 = 0
    public var unrealized: Int128 = 0
    public var realized: Int128 = 0

    /// Both exposures in one: another partition's in the same symbol at the same price.
    func adding(_ other: SymbolExposure) -> SymbolExposure {
        var sum = self
        sum.quantity += other.quantity
        sum.longValue += other.longValue
        sum.shortValue += other.shortValue
        sum.unrealized += other.unrealized
        sum.realized += other.realized
        return sum
    }
}
