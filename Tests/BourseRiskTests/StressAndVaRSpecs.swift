import BourseCore
import BourseRisk
import Testing

/// Scenarios and value at risk, with figures computed by hand and quantiles found independently.
@Suite("risk: scenarios and value at risk")
struct StressAndVaRSpecs {
    let abc = try! Symbol(validating: "ABC")

    /// Account 1 holds 100 XYZ (marked $10), account 2 holds 20 ABC (marked $50) and is short 10 XYZ via
    /// account 3; ABC is a tech stock. Accounts 1 and 2 are one client.
    func venue() -> RiskVenue {
        let v = RiskVenue(clients: ["pair": [1, 2].map(AccountID.init)])
        v.when(.listSymbol(abc, InstrumentRules(previousClose: Price(dollars: "50")!)))
        v.open(1, cash: "1000")
        v.open(2, cash: "5000")
        v.open(3, cash: "5000")
        v.when(.transferIn(AccountID(1), v.xyz, Quantity(100), costPerShare: Price(dollars: "8")!))
        v.when(.transferIn(AccountID(2), abc, Quantity(20), costPerShare: Price(dollars: "50")!))
        v.trade(2, .sell, 10, at: "10", against: 3)
        v.mark()
        return v
    }

    @Test("a market-wide fall of 10% moves every priced position by a tenth")
    func marketWide() {
        let v = venue()
        let r = v.book.stressed(StressScenario(name: "market", market: -1_000), sectorOf: [abc: "tech"])
        let one = r.accounts.first { $0.0 == AccountID(1) }!.1
        // 100 XYZ from $10 to $9.
        #expect(one.pnl == -usd("100"))
        #expect(one.after.longValue == usd("900") && one.after.equity == usd("1900"))
        #expect(one.after.houseRequirement == usd("225") && one.after.excess == usd("1675"))
        // Account 2: 20 ABC from $50 to $45 lose $100, 10 short XYZ from $10 to $9 gain $10.
        #expect(r.accounts.first { $0.0 == AccountID(2) }!.1.pnl == -usd("90"))
        #expect(r.clients["pair"]!.pnl == -usd("190"))
        // Account 3 bought the 10 XYZ: it loses $10 with them.
        #expect(r.firm.pnl == -usd("200"))
    }

    @Test("a sector's shock overrides the market's, and a symbol's overrides both")
    func mostSpecificWins() {
        let v = venue()
        let sector = v.book.stressed(StressScenario(name: "tech", market: -1_000, sectors: ["tech": -2_000]), sectorOf: [abc: "tech"])
        // ABC falls 20% ($200), XYZ 10%.
        #expect(sector.accounts.first { $0.0 == AccountID(2) }!.1.pnl == -usd("190"))
        let symbol = v.book.stressed(StressScenario(name: "xyz", market: -1_000, sectors: ["tech": -2_000], symbols: [v.xyz: -5_000]),
                                     sectorOf: [abc: "tech"])
        #expect(symbol.accounts.first { $0.0 == AccountID(1) }!.1.pnl == -usd("500"))
        // Short 10 XYZ gains $50 as XYZ halves; 20 ABC lose $200.
        #expect(symbol.accounts.first { $0.0 == AccountID(2) }!.1.pnl == -usd("150"))
        #expect(StressScenario(name: "bad", market: -10_001).problem(knownSectors: []) != nil)
        #expect(StressScenario(name: "x", sectors: ["energy": -100]).problem(knownSectors: ["tech"])?.contains("energy") == true)
        #expect(StressScenario(name: "none").problem(knownSectors: []) != nil)
    }

    @Test("historical VaR of a tiny history: the worst of five days at both levels")
    func tinyHistorical() {
        let v = venue()
        // XYZ closes $10, $11, $9.90, $9.90, $10.494, $9.90: moves +10%, −10%, 0, +6%, −5.66%.
        let closes = ["10", "11", "9.90", "9.90", "10.494", "9.90"].map { [v.xyz: Price(dollars: $0)!.units] }
        let r = v.book.historicalVaR(closes: closes)
        #expect(r.outcomes == 5)
        // Account 1's $1,000 of XYZ: its worst day is −$100; ⌈5 × 5%⌉ = ⌈5 × 1%⌉ = 1.
        let one = r.accounts.first { $0.0 == AccountID(1) }!.1
        #expect(one.var95 == usd("100") && one.var99 == usd("100"))
        // The pair nets 90 XYZ (account 2 is short 10) and 20 ABC, which never moved: −$90 on the worst day.
        #expect(r.clients["pair"]!.var95 == usd("90"))
    }

    @Test("historical VaR over a seeded history equals the quantile found by sorting each account's outcomes")
    func historicalQuantile() {
        let v = venue()
        var rng = SplitMix64(seed: 11)
        var closes: [[Symbol: Int64]] = []
        var (x, a): (Int64, Int64) = (100_000, 500_000)
        for _ in 0..<251 {
            x = max(1, x + x * Int64.random(in: -300...300, using: &rng) / 10_000)
            a = max(1, a + a * Int64.random(in: -500...500, using: &rng) / 10_000)
            closes.append([v.xyz: x, abc: a])
        }
        let r = v.book.historicalVaR(closes: closes)
        #expect(r.outcomes == 250)
        for (id, figures) in r.accounts {
            let (account, _) = v.book.account(id)!
            var outcomes: [Int128] = []
            for d in 1..<closes.count {
                var pnl: Int128 = 0
                for h in account.holdings where h.quantity != 0 {
                    let value = Int128(h.quantity) * Int128(v.book.prices[h.symbol]!)
                    let (from, to) = (Int128(closes[d - 1][h.symbol]!), Int128(closes[d][h.symbol]!))
                    pnl += value * (to - from) / from
                }
                outcomes.append(pnl)
            }
            outcomes.sort()
            // 250 outcomes: the 13th worst at 95%, the 3rd at 99%.
            #expect(figures.var95 == max(0, -outcomes[12]), "account \(id)")
            #expect(figures.var99 == max(0, -outcomes[2]), "account \(id)")
        }
    }

    @Test("Monte Carlo VaR is the same for the same seed, near 1.645 and 2.326 standard deviations for one stock, and nets within a client")
    func monteCarlo() {
        let v = RiskVenue(clients: ["hedged": [1, 2].map(AccountID.init)])
        v.open(1, cash: "100000")
        v.open(2, cash: "100000")
        v.open(3, cash: "100000")
        v.when(.transferIn(AccountID(1), v.xyz, Quantity(1_000), costPerShare: Price(dollars: "10")!))
        v.trade(2, .sell, 1_000, at: "10", against: 3)
        v.mark()
        // Daily moves of exactly +1% and −1%, alternating: a standard deviation of 1%.
        var closes: [[Symbol: Int64]] = [[v.xyz: 1_000_000]]
        for d in 0..<200 { closes.append([v.xyz: closes.last![v.xyz]! * (d % 2 == 0 ? 101 : 99) / 100]) }
        let first = v.book.monteCarloVaR(closes: closes, paths: 20_000, seed: 7)
        let again = v.book.monteCarloVaR(closes: closes, paths: 20_000, seed: 7)
        let other = v.book.monteCarloVaR(closes: closes, paths: 20_000, seed: 8)
        let one = first.accounts.first { $0.0 == AccountID(1) }!.1
        #expect(one == again.accounts.first { $0.0 == AccountID(1) }!.1)
        #expect(one != other.accounts.first { $0.0 == AccountID(1) }!.1)
        // $10,000 long at σ = 1%: $164.50 and $232.60, within the sampling error of 20,000 paths.
        #expect(abs(one.var95 - usd("164.50")) < usd("8"), "\(one.var95)")
        #expect(abs(one.var99 - usd("232.60")) < usd("12"), "\(one.var99)")
        // Long 1,000 and short 1,000 in one client: nothing at risk together.
        #expect(first.clients["hedged"]! == ValueAtRisk.Figures())
        // Account 3 bought what account 2 sold: the firm nets account 1's 1,000 shares, path for path.
        #expect(first.firm == one)
    }
}
