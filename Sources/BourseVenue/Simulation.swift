import BourseCore
import BourseEngine
import Foundation

/// Built-in market participants, so that a fresh venue has a living book and tape: a market maker quoting
/// both sides of every symbol around a mid price that wanders, takers crossing the spread now and then, and
/// noise traders resting orders near the touch. Seeded, and driven through the sequencer like any client,
/// so everything they do is journaled. They trade from accounts of their own, opened on first use.
public struct Simulation: Sendable {
    public static let makerAccount = AccountID(900)
    public static let takerAccount = AccountID(901)
    public static let noiseAccount = AccountID(902)

    public let seed: UInt64
    /// Time between rounds; each round touches every symbol once.
    public let interval: Duration

    public init(seed: UInt64 = 1, interval: Duration = .milliseconds(200)) {
        self.seed = seed
        self.interval = interval
    }

    /// Runs `rounds` rounds, or until the task is cancelled or the venue stops.
    public func run(_ venue: Venue, rounds: Int = .max) async {
        guard let symbols = try? await prepare(venue) else { return }
        var rng = SplitMix64(seed: seed)
        var mids = symbols.map { $0.1 }
        var quotes = [[OrderID]](repeating: [], count: symbols.count)
        var round = 0
        while !Task.isCancelled, round < rounds {
            round += 1
            for (i, (symbol, _)) in symbols.enumerated() {
                // The mid moves by at most a few ticks a round, and never below $1.
                let tick: Int64 = 100
                mids[i] = max(10_000, mids[i] + tick * Int64.random(in: -2...2, using: &rng))
                do {
                    for id in quotes[i] {
                        _ = try await venue.execute(.cancel(CancelOrder(orderID: id, account: Self.makerAccount)))
                    }
                    quotes[i] = []
                    let spread = tick * Int64.random(in: 1...3, using: &rng)
                    for (side, price) in [(Side.buy, mids[i] - spread), (Side.sell, mids[i] + spread)] {
                        let id = venue.newOrderID()
                        let ack = try await venue.execute(.newOrder(NewOrder(
                            orderID: id, account: Self.makerAccount, symbol: symbol, side: side, type: .limit, timeInForce: .day,
                            quantity: Quantity(100 * Int64.random(in: 1...5, using: &rng)), limitPrice: Price(units: price))))
                        if ack.events.contains(where: { if case .orderAccepted = $0 { true } else { false } }) { quotes[i].append(id) }
                    }
                    if Int.random(in: 0..<3, using: &rng) == 0 {
                        _ = try await venue.execute(.newOrder(NewOrder(
                            orderID: venue.newOrderID(), account: Self.takerAccount, symbol: symbol,
                            side: Bool.random(using: &rng) ? .buy : .sell, type: .market, timeInForce: .ioc,
                            quantity: Quantity(10 * Int64.random(in: 1...20, using: &rng)))))
                    }
                    if Int.random(in: 0..<2, using: &rng) == 0 {
                        let side: Side = Bool.random(using: &rng) ? .buy : .sell
                        let away = tick * Int64.random(in: 1...10, using: &rng)
                        _ = try await venue.execute(.newOrder(NewOrder(
                            orderID: venue.newOrderID(), account: Self.noiseAccount, symbol: symbol, side: side, type: .limit,
                            timeInForce: .ioc, quantity: Quantity(Int64.random(in: 1...50, using: &rng)),
                            limitPrice: Price(units: side == .buy ? mids[i] - away + spread : mids[i] + away - spread))))
                    }
                } catch {
                    return
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Opens and funds the participants' accounts if they are new, and finds the open symbols and their
    /// reference prices.
    private func prepare(_ venue: Venue) async throws -> [(Symbol, Int64)] {
        let symbols = try await venue.read { engine in
            engine.listedSymbols.compactMap { s -> (Symbol, Int64)? in
                guard let summary = engine.summary(of: s), summary.state == .open,
                      let reference = summary.lastTrade ?? engine.previousClose(of: s) else { return nil }
                return (s, reference.units)
            }
        }
        for account in [Self.makerAccount, Self.takerAccount, Self.noiseAccount] {
            let ack = try await venue.execute(.openAccount(account, AccountNumber(defaultFor: account), AccountTerms(kind: .margin)))
            guard case .accountOpened? = ack.events.first else { continue }
            _ = try await venue.execute(.deposit(account, Money(dollars: 1_000_000_000)))
            for (symbol, _) in symbols {
                _ = try await venue.execute(.transferIn(account, symbol, Quantity(1_000_000), costPerShare: Price(units: 10_000)))
            }
        }
        return symbols
    }
}
