import BourseCore
import BourseMarketData
import BourseNode
import BourseRisk
import Foundation

/// The risk platform's analytics as the gateways ask for them: scenarios and value at risk, run over a
/// copy of the book at its last mark (so the projection goes on meanwhile), on a thread of their own.
public struct RiskDesk: Sendable {
    let risk: RiskProjection
    let rules: VenueConfiguration.RiskRules
    let market: MarketProjection
    let now: @Sendable () -> Int64

    public enum Method: String, CaseIterable, Sendable {
        case historical
        case monteCarlo = "monte_carlo"
    }

    /// The configured scenarios, each run now.
    public func scenarios() async throws -> [StressResult] {
        let (book, rules) = (risk.read { $0 }, rules)
        return try await onOwnThread { rules.scenarios.map { book.stressed($0, sectorOf: rules.sectorOf) } }
    }

    /// A scenario given by a request, checked as the configuration's are.
    public func run(_ given: VenueConfiguration.RiskEntry.ScenarioEntry) async throws -> StressResult {
        let scenario = try VenueConfiguration.scenario(given, sectors: Set(rules.sectorOf.values), in: "the scenario")
        let (book, sectorOf) = (risk.read { $0 }, rules.sectorOf)
        return try await onOwnThread { book.stressed(scenario, sectorOf: sectorOf) }
    }

    /// Value at risk over the configured days of daily closes of the symbols the book prices.
    public func valueAtRisk(_ method: Method) async throws -> ValueAtRisk.Result {
        let (book, rules) = (risk.read { $0 }, rules)
        let closes = market.dailyCloses(book.prices.keys.sorted { $0.description < $1.description }, days: rules.varDays + 1, now: now())
        return try await onOwnThread {
            switch method {
            case .historical: book.historicalVaR(closes: closes)
            case .monteCarlo: book.monteCarloVaR(closes: closes, paths: rules.monteCarloPaths, seed: rules.monteCarloSeed)
            }
        }
    }
}

extension MarketProjection {
    /// The closes of the last `days` trading days with a daily bar of any of `symbols`, oldest first; a
    /// symbol that did not trade on a day has no close that day.
    public func dailyCloses(_ symbols: [Symbol], days: Int, now: Int64) -> [[Symbol: Int64]] {
        // Trading days are fewer than calendar days: look back twice as far, plus a week of holidays.
        let start = now - Int64(days * 2 + 7) * 86_400 * 1_000_000_000
        var byDay: [Int64: [Symbol: Int64]] = [:]
        for symbol in symbols {
            for bar in bars(symbol, .day, from: start, to: now, limit: days * 2 + 7) { byDay[bar.start, default: [:]][symbol] = bar.close }
        }
        return byDay.keys.sorted().suffix(days).map { byDay[$0]! }
    }
}
