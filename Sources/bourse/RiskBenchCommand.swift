import ArgumentParser
import BourseCore
import BourseNode
import BourseRisk
import Foundation

struct RiskBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk-bench",
        abstract: "Measure the risk platform: a full revaluation at a mark, fills applied between marks, Monte Carlo VaR.",
        discussion: """
        A book of --accounts margin accounts with --positions positions each among --symbols symbols, seeded, built \
        from the events the journal would hold, its accounts spread over --partitions (each applied on a core). revalue: a mark that moves every price, --runs times; prints the \
        median milliseconds of applying it (every account revalued, the firm and clients summed). fills: --fills \
        trades, each between two random accounts holding its symbol, applied between marks in batches of \
        --batch entries as the risk projection applies a transaction; prints fills a second, median of --runs. var: Monte \
        Carlo VaR over --days of closes with --paths paths; prints the seconds, median of --runs. Each prints one JSON line.
        """)

    enum Mode: String, ExpressibleByArgument { case revalue, fills, `var` }

    @Argument(help: "revalue, fills or var.")
    var mode: Mode
    @Option var accounts = 100_000
    @Option var positions = 10
    @Option var symbols = 500
    @Option var fills = 2_000_000
    @Option var paths = 10_000
    @Option var days = 250
    @Option var runs = 5
    @Option var partitions = 1
    @Option var batch = 4_096

    func validate() throws {
        guard (1...1_000_000).contains(accounts), (1...100).contains(positions), (positions...10_000).contains(symbols), fills > 0,
              (100...ValueAtRisk.pathsMax).contains(paths), (2...ValueAtRisk.daysMax).contains(days), runs > 0,
              (1...RiskPartitioning.countMax).contains(partitions), batch > 0 else {
            throw ValidationError("--accounts 1 to 1,000,000, --positions 1 to 100, --symbols at least --positions, --paths 100 to 100,000, --days 2 to 2,520, --partitions 1 to \(RiskPartitioning.countMax)")
        }
    }

    func run() throws {
        var random = SplitMix64(seed: 31)
        let names = (0..<symbols).map { try! Symbol(validating: "S\($0)") }
        var book = RiskBook(partitions: partitions)
        var sequence: UInt64 = 0
        /// A journal entry, applied as the risk projection applies a transaction.
        func apply(_ command: Command, _ events: [Event]) {
            sequence += 1
            try! book.apply([Published(command: SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command), events: events)])
        }
        var holders = [[UInt32]](repeating: [], count: symbols)
        for a in 1...UInt32(accounts) {
            let (id, terms) = (AccountID(a), AccountTerms(kind: .margin))
            // Opened, funded and given its positions in one entry: what the book makes of it is the same.
            var events: [Event] = [.accountOpened(id, AccountNumber(defaultFor: id), terms), .cashDeposited(id, Money(dollars: 1_000_000))]
            for s in Set((0..<positions * 2).map { _ in Int.random(in: 0..<symbols, using: &random) }).prefix(positions) {
                holders[s].append(a)
                events.append(.securitiesTransferredIn(id, names[s], Quantity(Int64.random(in: 1...1_000, using: &random)), costPerShare: Price(units: 500_000)))
            }
            apply(.openAccount(id, AccountNumber(defaultFor: id), terms), events)
        }
        let request = MarkRequest(method: .lastTrade, close: false)
        func mark() -> [Event] {
            names.map { Event.markPrice($0, Price(units: Int64.random(in: 400_000...600_000, using: &random))) } + [.marked(request, prices: UInt32(symbols))]
        }
        apply(.mark(request), mark())
        switch mode {
        case .revalue:
            var ms: [Double] = []
            for _ in 0..<runs {
                let events = mark()
                let start = monotonicNanos()
                apply(.mark(request), events)
                ms.append(Double(monotonicNanos() - start) / 1e6)
            }
            print(#"{"mode":"risk-revalue","accounts":\#(accounts),"positions":\#(positions),"symbols":\#(symbols),"partitions":\#(partitions),"runs":\#(runs),"median_ms":\#(String(format: "%.1f", median(ms)))}"#)
        case .fills:
            var rates: [Double] = []
            for _ in 0..<runs {
                // Two accounts that hold the symbol trade it, as accounts trade what they hold.
                let entries = (0..<fills).map { n in
                    var s = Int.random(in: 0..<symbols, using: &random)
                    while holders[s].isEmpty { s = Int.random(in: 0..<symbols, using: &random) }
                    let (quantity, taker) = (Quantity(Int64.random(in: 1...100, using: &random)), AccountID(holders[s].randomElement(using: &random)!))
                    let price = Price(units: Int64.random(in: 400_000...600_000, using: &random))
                    let trade = Trade(executionID: ExecutionID(UInt64(n + 1)), symbol: names[s], price: price, quantity: quantity,
                                      takerSide: .buy, makerOrderID: OrderID(1), makerAccount: AccountID(holders[s].randomElement(using: &random)!),
                                      makerLeaves: Quantity(0), takerOrderID: OrderID(2), takerAccount: taker,
                                      takerLeaves: Quantity(0), makerFee: Money(units: -20), takerFee: Money(units: 30))
                    sequence += 1
                    let order = NewOrder(orderID: OrderID(2), account: taker, symbol: names[s], side: .buy, type: .limit, timeInForce: .ioc,
                                         quantity: quantity, limitPrice: price)
                    return Published(command: SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: .newOrder(order)),
                                     events: [.trade(trade)])
                }
                let start = monotonicNanos()
                for from in stride(from: 0, to: entries.count, by: batch) {
                    try! book.apply(entries[from..<min(from + batch, entries.count)])
                }
                rates.append(Double(fills) / (Double(monotonicNanos() - start) / 1e9))
            }
            print(#"{"mode":"risk-fills","accounts":\#(accounts),"positions":\#(positions),"fills":\#(fills),"partitions":\#(partitions),"batch":\#(batch),"runs":\#(runs),"fills_per_second":\#(Int(median(rates)))}"#)
        case .var:
            var closes: [[Symbol: Int64]] = [Dictionary(uniqueKeysWithValues: names.map { ($0, Int64(500_000)) })]
            for _ in 0..<days {
                closes.append(closes.last!.mapValues { max(1, $0 + $0 * Int64.random(in: -300...300, using: &random) / 10_000) })
            }
            var seconds: [Double] = []
            var firm = ValueAtRisk.Figures()
            for run in 0..<runs {
                let start = monotonicNanos()
                firm = book.monteCarloVaR(closes: closes, paths: paths, seed: UInt64(run + 1)).firm
                seconds.append(Double(monotonicNanos() - start) / 1e9)
            }
            print(#"{"mode":"risk-monte-carlo-var","accounts":\#(accounts),"positions":\#(positions),"symbols":\#(symbols),"paths":\#(paths),"days":\#(days),"runs":\#(runs),"median_seconds":\#(String(format: "%.2f", median(seconds))),"firm_var_99":"\#(formatFixedPoint(firm.var99, decimals: 4))"}"#)
        }
    }
}
