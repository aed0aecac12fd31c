import BourseCore
import BourseRisk
import Testing

/// A client's figures are its accounts' summed; the firm's are every account's.
@Suite("risk: clients and the firm")
struct ClientSpecs {
    @Test("given a household of a long margin account, a short one and a cash account, then its figures are theirs added up")
    func household() {
        let v = RiskVenue(clients: ["household": [1, 2, 3].map(AccountID.init)])
        v.open(1, cash: "10000")
        v.open(2, cash: "20000")
        v.open(3, .cash, cash: "5000")
        v.open(4, cash: "50000")
        v.when(.transferIn(AccountID(1), v.xyz, Quantity(100), costPerShare: Price(dollars: "8")!))
        v.trade(2, .sell, 50, at: "10", against: 4)
        v.mark()
        let client = v.book.client("household")!
        #expect(client.accounts == 3)
        // Cash 10,000 + 20,500 + 5,000; 100 long and 50 short at $10.
        #expect(client.cash == usd("35500"))
        #expect(client.longValue == usd("1000") && client.shortValue == usd("500"))
        #expect(client.grossExposure == usd("1500") && client.netExposure == usd("500"))
        #expect(client.equity == usd("36000"))
        #expect(client.unrealized == usd("200"))
        // House: 25% of the long, 30% of the short; Reg T: half of each. The cash account needs none.
        #expect(client.houseRequirement == usd("400") && client.regTRequirement == usd("750"))
        // Excess: 10,750 and 19,850 from the margin accounts, the cash account's 5,000.
        #expect(client.excess == usd("35600"))
        #expect(client.largestPosition == usd("1000"))
        let firm = v.book.firmFigures
        #expect(firm.accounts == 4 && firm.equity == usd("86000") && firm.excess == usd("85475"))
        #expect(firm.netExposure == usd("1000"))
        let xyz = v.book.bySymbol()[v.xyz]!
        #expect(xyz.quantity == 100 && xyz.longValue == usd("1500") && xyz.shortValue == usd("500"))
    }
}
