import BourseCore

/// A stress scenario: prices shocked by a share of themselves, per symbol, per sector and market-wide. A
/// symbol takes the most specific shock that names it (its own, else its sector's, else the market's);
/// a symbol none names keeps its price.
public struct StressScenario: Hashable, Sendable {
    public var name: String
    /// Basis points, -10,000 (to nothing) to 100,000 (eleven times).
    public var market: Int64?
    public var sectors: [String: Int64]
    public var symbols: [Symbol: Int64]

    public static let shockBasisPoints: ClosedRange<Int64> = -10_000...100_000
    public static let nameBytesMax = 64
    public static let shocksMax = 10_000

    public init(name: String, market: Int64? = nil, sectors: [String: Int64] = [:], symbols: [Symbol: Int64] = [:]) {
        self.name = name
        self.market = market
        self.sectors = sectors
        self.symbols = symbols
    }

    /// What is wrong with it, as a sentence; nil when it may be run.
    public func problem(knownSectors: Set<String>) -> String? {
        guard (1...Self.nameBytesMax).contains(name.utf8.count) else { return "a scenario's name has 1 to \(Self.nameBytesMax) bytes" }
        guard sectors.count + symbols.count <= Self.shocksMax else { return "scenario \(name) has more than \(Self.shocksMax) shocks" }
        for bp in [market].compactMap({ $0 }) + Array(sectors.values) + Array(symbols.values) where !Self.shockBasisPoints.contains(bp) {
            return "scenario \(name): a shock of \(bp) basis points is outside \(Self.shockBasisPoints.lowerBound) to \(Self.shockBasisPoints.upperBound)"
        }
        if let unknown = sectors.keys.sorted().first(where: { !knownSectors.contains($0) }) {
            return "scenario \(name) shocks sector \(unknown), which risk.sectors does not define"
        }
        guard market != nil || !sectors.isEmpty || !symbols.isEmpty else { return "scenario \(name) shocks nothing" }
        return nil
    }

    /// The shock a symbol takes, in basis points.
    public func shock(_ symbol: Symbol, sector: String?) -> Int64 {
        symbols[symbol] ?? sector.flatMap { sectors[$0] } ?? market ?? 0
    }

    /// A price shocked: moved by its share, truncated toward zero, never below nothing.
    public func shocked(_ symbol: Symbol, _ price: Int64, sectorOf: [Symbol: String]) -> Int64 {
        max(0, price + Int64(Int128(price) * Int128(shock(symbol, sector: sectorOf[symbol])) / 10_000))
    }
}

/// Figures before and after a scenario, for an account, a client or the firm: `pnl` is what the shock
/// makes or loses, `after` the figures at the shocked prices.
public struct StressFigures: Hashable, Sendable {
    public var before = RiskFigures()
    public var after = RiskFigures()
    public var pnl: Int128 { after.unrealized - before.unrealized }

    public init() {}

    mutating func add(_ other: StressFigures) {
        before.add(other.before)
        after.add(other.after)
    }
}

/// A scenario run over the book at its last mark.
public struct StressResult: Sendable {
    public var scenario: StressScenario
    public var mark: RiskMark?
    public var accounts: [(AccountID, StressFigures)]
    public var clients: [String: StressFigures]
    public var firm: StressFigures
}

extension RiskBook {
    /// Revalues every account at the scenario's prices; sums per client and for the firm.
    public func stressed(_ scenario: StressScenario, sectorOf: [Symbol: String]) -> StressResult {
        var result = StressResult(scenario: scenario, mark: mark, accounts: [], clients: clients.mapValues { _ in StressFigures() },
                                  firm: StressFigures())
        for partition in partitions { partition.stress(scenario, sectorOf: sectorOf, into: &result) }
        return result
    }
}

extension RiskPartition {
    func stress(_ scenario: StressScenario, sectorOf: [Symbol: String], into result: inout StressResult) {
        let prices = slotPrices { scenario.shocked($0, $1, sectorOf: sectorOf) }
        for r in records {
            var f = StressFigures()
            f.before = r.figures
            f.after = Self.valued(r.account, slotPrices: prices, slotHouse: slotHouse)
            result.accounts.append((r.account.id, f))
            result.firm.add(f)
            if r.client >= 0 { result.clients[clientNames[Int(r.client)]]!.add(f) }
        }
    }
}
