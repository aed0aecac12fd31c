import BourseMarketData
import Testing

@Suite("NBBO")
struct NBBOTests {
    /// $190.00 and friends in 1/10,000 dollar.
    static func dollars(_ d: Double) -> Int64 { Int64((d * 10_000).rounded()) }

    @Test("the best bid and offer come from whichever venues have them, with their sizes; equal prices go to the larger size")
    func venues() {
        var nbbo = NBBO(symbols: 2)
        var seq = [UInt64](repeating: 0, count: 3)
        func update(_ venue: Int, _ symbol: Int = 0, bid: (Double, Int64)?, ask: (Double, Int64)?) -> NBBO.Outcome {
            seq[venue] += 1
            return nbbo.update(venue: venue, symbol: symbol, bid: bid.map { (Self.dollars($0.0), $0.1) }, ask: ask.map { (Self.dollars($0.0), $0.1) },
                               sequence: seq[venue])
        }
        #expect(update(0, bid: (189.98, 300), ask: (190.02, 200)) == .changed(NBBO.Best(
            bid: .init(price: Self.dollars(189.98), size: 300, venue: 0), ask: .init(price: Self.dollars(190.02), size: 200, venue: 0))))
        _ = update(1, bid: (189.99, 100), ask: (190.03, 500))
        #expect(nbbo.best[0].bid == .init(price: Self.dollars(189.99), size: 100, venue: 1))
        #expect(nbbo.best[0].ask == .init(price: Self.dollars(190.02), size: 200, venue: 0))
        // The same price with more size takes the side; with less, it does not.
        _ = update(2, bid: (189.99, 400), ask: (190.02, 100))
        #expect(nbbo.best[0].bid?.venue == 2 && nbbo.best[0].ask?.venue == 0)
        // A venue that empties a side leaves it to the others; another symbol is untouched.
        _ = update(2, bid: nil, ask: (190.02, 100))
        #expect(nbbo.best[0].bid?.venue == 1)
        #expect(nbbo.best[1] == NBBO.Best())
        #expect(update(2, bid: nil, ask: (190.02, 100)) == .unchanged)
        #expect(nbbo.best[0].condition == .normal)
    }

    @Test("locked and crossed markets are flagged")
    func lockedAndCrossed() {
        var nbbo = NBBO(symbols: 1)
        nbbo.update(venue: 0, symbol: 0, bid: (1_900_000, 100), ask: (1_900_500, 100), sequence: 1)
        nbbo.update(venue: 1, symbol: 0, bid: (1_900_500, 100), ask: (1_901_000, 100), sequence: 1)
        #expect(nbbo.best[0].condition == .locked)
        nbbo.update(venue: 1, symbol: 0, bid: (1_900_600, 100), ask: (1_901_000, 100), sequence: 2)
        #expect(nbbo.best[0].condition == .crossed)
        nbbo.update(venue: 1, symbol: 0, bid: (1_900_400, 100), ask: (1_901_000, 100), sequence: 3)
        #expect(nbbo.best[0].condition == .normal)
    }

    @Test("a venue with a sequence gap leaves every NBBO until it recovers, and its updates meanwhile are ignored")
    func staleVenue() {
        var nbbo = NBBO(symbols: 2)
        nbbo.update(venue: 0, symbol: 0, bid: (1_900_000, 100), ask: (1_901_000, 100), sequence: 1)
        nbbo.update(venue: 1, symbol: 0, bid: (1_900_500, 100), ask: (1_900_800, 100), sequence: 10)
        nbbo.update(venue: 1, symbol: 1, bid: (500_000, 100), ask: (510_000, 100), sequence: 11)
        #expect(nbbo.best[0].bid?.venue == 1 && nbbo.best[1].bid?.venue == 1)
        // Venue 1 skips 12: stale, out of both symbols' NBBO.
        #expect(nbbo.update(venue: 1, symbol: 0, bid: (1_999_000, 100), ask: nil, sequence: 13) == .gap([0, 1]))
        #expect(nbbo.stale[1])
        #expect(nbbo.best[0].bid?.venue == 0 && nbbo.best[0].ask?.venue == 0)
        #expect(nbbo.best[1] == NBBO.Best())
        #expect(nbbo.update(venue: 1, symbol: 0, bid: (1_999_000, 100), ask: nil, sequence: 14) == .ignored)
        // Recovered from a snapshot at sequence 20: its fresh quotes count again, and its feed goes on from 21.
        #expect(nbbo.recovered(1, quotes: [(0, (1_900_700, 200), (1_900_900, 200))], sequence: 20) == [0])
        #expect(!nbbo.stale[1] && nbbo.best[0].bid == .init(price: 1_900_700, size: 200, venue: 1))
        #expect(nbbo.update(venue: 1, symbol: 1, bid: (500_100, 100), ask: (510_000, 100), sequence: 21) != .ignored)
        #expect(nbbo.best[1].bid?.price == 500_100)
    }

    @Test("round lots are tiered by price (100 / 40 / 10 / 1); odd-lot quotes do not set the NBBO")
    func roundLots() {
        #expect(NBBO.roundLot(at: 250_0000) == 100 && NBBO.roundLot(at: 250_0001) == 40)
        #expect(NBBO.roundLot(at: 1_000_0000) == 40 && NBBO.roundLot(at: 1_000_0001) == 10)
        #expect(NBBO.roundLot(at: 10_000_0000) == 10 && NBBO.roundLot(at: 10_000_0001) == 1)
        var nbbo = NBBO(symbols: 1)
        // 99 shares at $190 is an odd lot; 40 shares at $500 is a round lot.
        nbbo.update(venue: 0, symbol: 0, bid: (1_900_000, 99), ask: (5_000_000, 40), sequence: 1)
        #expect(nbbo.best[0].bid == nil && nbbo.best[0].ask?.size == 40)
        // Tiered on the reference price once set: at a $100 reference, 40 shares is an odd lot even at $500.
        nbbo.setReferencePrice(1_000_000, symbol: 0)
        #expect(nbbo.best[0].ask == nil)
    }
}
