import BourseCore
import Dispatch
import Foundation

/// One-day value at risk at 95% and 99%: the loss not exceeded on that share of days, from daily closes.
///
/// Historical: each past day's moves applied to today's positions, at the last mark's values; the loss at
/// the ⌈N × 5%⌉-th (⌈N × 1%⌉-th) worst of the N outcomes. Monte Carlo: paths drawn, from a seeded
/// generator, from the normal distribution with the history's mean and covariance of returns (each path a
/// random combination of the past days' moves, which has exactly that covariance), quantiles as above.
/// Returns and their weights are statistics, drawn in floating point; each drawn return is rounded to
/// 10^-8 and every amount is computed in integers from it (a path's outcome is its positions' values times
/// their returns, summed, then truncated to 1/10,000 dollar).
public enum ValueAtRisk {
    public struct Figures: Hashable, Sendable {
        public var var95: Int128 = 0
        public var var99: Int128 = 0
        public init() {}
    }

    public struct Result: Sendable {
        public var method: String
        public var mark: RiskMark?
        /// Historical days (outcomes of the historical method), or Monte Carlo paths.
        public var outcomes: Int
        public var accounts: [(AccountID, Figures)]
        public var clients: [String: Figures]
        public var firm: Figures
    }

    public static let daysMax = 2_520
    public static let pathsMax = 100_000
    /// Drawn returns are kept in units of 10^-8.
    static let rateScale: Int64 = 100_000_000

    /// The loss at `confidenceBasisPoints` (9,500 for 95%) of `outcomes` (P&L, negative a loss): the
    /// ⌈N × (1 − c)⌉-th smallest, negated, and never below zero. Reorders `outcomes`.
    public static func loss(_ outcomes: inout [Int128], confidenceBasisPoints c: Int) -> Int128 {
        guard !outcomes.isEmpty else { return 0 }
        let k = max(1, (outcomes.count * (10_000 - c) + 9_999) / 10_000)
        return max(0, -select(&outcomes, k - 1))
    }

    static func figures(_ outcomes: inout [Int128]) -> Figures {
        var f = Figures()
        f.var95 = loss(&outcomes, confidenceBasisPoints: 9_500)
        f.var99 = loss(&outcomes, confidenceBasisPoints: 9_900)
        return f
    }

    /// The `k`-th smallest (from 0), by quickselect with the median of three as pivot.
    static func select(_ a: inout [Int128], _ k: Int) -> Int128 {
        var (lo, hi) = (0, a.count - 1)
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var (i, j) = (lo, hi)
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }

    /// Each day's move per symbol from the day before, as (from, to) closes; a symbol without a close on
    /// either day did not move that day.
    static func moves(_ closes: [[Symbol: Int64]], symbols: [Symbol]) -> [[(from: Int64, to: Int64)]] {
        guard closes.count >= 2 else { return [] }
        return (1..<closes.count).map { d in
            symbols.map { s in
                guard let from = closes[d - 1][s], let to = closes[d][s], from > 0 else { return (1, 1) }
                return (from, to)
            }
        }
    }
}

extension RiskBook {
    /// What both methods start from: each day's moves of the symbols of `closes` (by index), and per
    /// account each priced position's value at the last mark, by the same index.
    private func history(_ closes: [[Symbol: Int64]]) -> (symbols: Int, moves: [[(from: Int64, to: Int64)]], values: [[(Int, Int128)]]) {
        let (accounts, prices) = (accounts, prices)
        let symbols = Array(Set(closes.flatMap(\.keys))).sorted { $0.description < $1.description }
        let index = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, $0) })
        let values = accounts.map { a in
            a.holdings.compactMap { h -> (Int, Int128)? in
                guard h.quantity != 0, let price = prices[h.symbol], let i = index[h.symbol] else { return nil }
                return (i, Int128(h.quantity) * Int128(price))
            }
        }
        return (symbols.count, ValueAtRisk.moves(closes, symbols: symbols), values)
    }

    /// Historical VaR over `closes` (each day's closes, oldest first).
    public func historicalVaR(closes: [[Symbol: Int64]]) -> ValueAtRisk.Result {
        let (_, moves, values) = history(closes)
        return aggregate("historical", count: moves.count, values: values) { positions in
            moves.map { day in positions.reduce(0) { sum, p in sum + p.1 * Int128(day[p.0].to - day[p.0].from) / Int128(day[p.0].from) } }
        }
    }

    /// Monte Carlo VaR: `paths` one-day outcomes drawn from the normal distribution fitted to `closes`,
    /// the same for the same seed.
    public func monteCarloVaR(closes: [[Symbol: Int64]], paths: Int, seed: UInt64) -> ValueAtRisk.Result {
        let (n, moves, values) = history(closes)
        let days = moves.count
        // Returns per day and symbol, less each symbol's mean, scaled so that a standard normal weight per
        // day makes the history's covariance.
        var mean = [Double](repeating: 0, count: n)
        var centred = [Double](repeating: 0, count: days * n)
        for (d, day) in moves.enumerated() {
            for i in 0..<n {
                let r = Double(day[i].to - day[i].from) / Double(day[i].from)
                centred[d * n + i] = r
                mean[i] += r / Double(max(days, 1))
            }
        }
        let scale = 1 / Double(max(days, 1)).squareRoot()
        for d in 0..<days { for i in 0..<n { centred[d * n + i] = (centred[d * n + i] - mean[i]) * scale } }
        var rng = SplitMix64(seed: seed)
        var rates = [Int64](repeating: 0, count: paths * n)
        var drawn = [Double](repeating: 0, count: n)
        for p in 0..<paths {
            for i in 0..<n { drawn[i] = mean[i] }
            for d in 0..<days {
                let w = Self.standardNormal(&rng)
                for i in 0..<n { drawn[i] += w * centred[d * n + i] }
            }
            // By symbol, then path: an account's outcomes read each of its symbols' paths in a row.
            for i in 0..<n { rates[i * paths + p] = Int64((drawn[i] * Double(ValueAtRisk.rateScale)).rounded()) }
        }
        let drawnRates = rates, count = days > 0 ? paths : 0
        return aggregate("monte_carlo", count: count, values: values) { positions in
            // Each path's outcome: the positions' values times their drawn returns, summed, truncated once.
            var sums = [Int128](repeating: 0, count: count)
            for (symbol, value) in positions {
                let base = symbol * paths
                for p in 0..<count { sums[p] += value * Int128(drawnRates[base + p]) }
            }
            return sums.map { sum in
                if let small = Int64(exactly: sum) { return Int128(small / ValueAtRisk.rateScale) }
                return sum / Int128(ValueAtRisk.rateScale)
            }
        }
    }

    /// A standard normal draw (Box–Muller) from the generator's next two words.
    static func standardNormal(_ rng: inout SplitMix64) -> Double {
        let u1 = Double((rng.next() >> 11) + 1) / 9_007_199_254_740_992
        let u2 = Double(rng.next() >> 11) / 9_007_199_254_740_992
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Each account's outcomes and quantiles, across the cores in parts of accounts; each client's and the
    /// firm's outcomes summed from their accounts' (VaR does not add up; outcomes do).
    private func aggregate(_ method: String, count: Int, values: [[(Int, Int128)]],
                           _ outcomes: @Sendable ([(Int, Int128)]) -> [Int128]) -> ValueAtRisk.Result {
        let parts = max(1, min(values.count, ProcessInfo.processInfo.activeProcessorCount * 4))
        let perAccount = Disjoint<ValueAtRisk.Figures>(count: values.count, .init())
        let firmParts = Disjoint<[Int128]>(count: parts, [])
        defer { perAccount.free(); firmParts.free() }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var firm = [Int128](repeating: 0, count: count)
            for a in stride(from: part, to: values.count, by: parts) {
                var o = outcomes(values[a])
                for k in 0..<count { firm[k] += o[k] }
                perAccount[a] = ValueAtRisk.figures(&o)
            }
            firmParts[part] = firm
        }
        var firm = [Int128](repeating: 0, count: count)
        for part in 0..<parts { for k in 0..<count { firm[k] += firmParts[part][k] } }
        let accounts = accounts
        let place = clients.isEmpty ? [:] : Dictionary(uniqueKeysWithValues: accounts.indices.map { (accounts[$0].id, $0) })
        var result = ValueAtRisk.Result(method: method, mark: mark, outcomes: count,
                                        accounts: accounts.indices.map { (accounts[$0].id, perAccount[$0]) }, clients: [:],
                                        firm: ValueAtRisk.figures(&firm))
        for (name, members) in clients {
            var sum = [Int128](repeating: 0, count: count)
            for id in members {
                guard let a = place[id] else { continue }
                let o = outcomes(values[a])
                for k in 0..<count { sum[k] += o[k] }
            }
            result.clients[name] = ValueAtRisk.figures(&sum)
        }
        return result
    }
}
