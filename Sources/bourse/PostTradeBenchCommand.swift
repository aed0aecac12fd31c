import ArgumentParser
import BourseCore
import BourseNode
import BourseEngine

struct PostTradeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "post-trade-bench",
        abstract: "Measure post-trade's rules: netting and delivery versus payment of a settlement date.",
        discussion: """
        settle: --trades trades (each a buyer's and a seller's side) among --participants accounts in --symbols \
        securities, seeded, are netted into obligations and settled with each deliverer holding a random part of \
        what it owes, --runs times; prints the median time of netting and settling, and the obligations and fails. \
        Prints one JSON line.
        """)

    enum Mode: String, ExpressibleByArgument { case settle }

    @Argument(help: "settle.")
    var mode: Mode
    @Option(help: "Trades due on the date.")
    var trades = 1_000_000
    @Option(help: "Participants (accounts).")
    var participants = 1_000
    @Option(help: "Securities.")
    var symbols = 500
    @Option(help: "Timed runs; the median is reported.")
    var runs = 3

    func validate() throws {
        guard trades > 0, (2...100_000).contains(participants), (1...10_000).contains(symbols), runs > 0 else {
            throw ValidationError("--trades above 0, --participants 2 to 100,000, --symbols 1 to 10,000, --runs above 0")
        }
    }

    func run() throws {
        var random = SplitMix64(seed: 19)
        let securities = (0..<symbols).map { try! Symbol(validating: "S\($0)") }
        var due: [Netting.DueTrade] = []
        due.reserveCapacity(trades * 2)
        for _ in 0..<trades {
            let symbol = securities[Int.random(in: 0..<symbols, using: &random)]
            let shares = Int64.random(in: 1...1_000, using: &random), money = Money(units: shares * Int64.random(in: 10_000...5_000_000, using: &random))
            for side in [Side.buy, .sell] {
                due.append(Netting.DueTrade(account: AccountID(UInt32.random(in: 1...UInt32(participants), using: &random)), symbol: symbol,
                                            side: side, quantity: Quantity(shares), money: money))
            }
        }
        var netSeconds: [Double] = [], settleSeconds: [Double] = []
        var obligations: [Netting.Obligation] = []
        var fails = 0
        for _ in 0..<runs {
            let start = monotonicNanos()
            obligations = try Netting.net(due, carried: [])
            let netted = monotonicNanos()
            var available: [Netting.Key: Int64] = [:]
            for o in obligations where o.shares < 0 {
                available[Netting.Key(account: o.account, symbol: o.symbol)] = Int64.random(in: 0...(-o.shares), using: &random)
            }
            let settling = monotonicNanos()
            let cycle = Delivery.settle(obligations, available: available)
            let end = monotonicNanos()
            fails = cycle.outcomes.values.filter { $0.fail != nil }.count
            netSeconds.append(Double(netted - start) / 1e9)
            settleSeconds.append(Double(end - settling) / 1e9)
        }
        let net = median(netSeconds), settle = median(settleSeconds)
        print(#"{"mode":"post-trade-settle","trades":\#(trades),"participants":\#(participants),"symbols":\#(symbols),"runs":\#(runs),"obligations":\#(obligations.count),"fails":\#(fails),"net_seconds":\#(String(format: "%.3f", net)),"settle_seconds":\#(String(format: "%.3f", settle)),"total_seconds":\#(String(format: "%.3f", net + settle))}"#)
    }
}
