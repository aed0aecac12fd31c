import ArgumentParser
import BourseCore
import BourseNode
import BourseEngine
import BourseVenue
import Foundation

struct PostTradeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "post-trade-bench",
        abstract: "Measure post-trade: netting and delivery versus payment, the engine's settlement cycle, capture from files.",
        discussion: """
        settle: --trades trades (each a buyer's and a seller's side) among --participants accounts in --symbols \
        securities, seeded, are netted into obligations and settled with each deliverer holding a random part of \
        what it owes, --runs times; prints the median time of netting and settling, and the obligations and fails. \
        cycle: the engine captures --trades trades among --participants margin accounts in --symbols securities, \
        all due the next day, then rolls over: prints the time of the rollover (closing the day, netting and \
        settling every obligation, in as many commands as the cycle takes), --runs times, median. \
        capture: a venue in a temporary data directory takes a trade file of --trades rows from its inbox: \
        read, checked, enriched, journaled and answered row by row; prints trades a second, --runs times, median. \
        Each prints one JSON line.
        """)

    enum Mode: String, ExpressibleByArgument { case settle, cycle, capture }

    @Argument(help: "settle, cycle or capture.")
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

    func run() async throws {
        switch mode {
        case .settle: try settle()
        case .cycle: cycle()
        case .capture: try await capture()
        }
    }

    /// The engine's rollover over a day of captures: the settlement cycle as the venue runs it.
    func cycle() {
        var seconds: [Double] = []
        var outcomes = 0, commands = 0, largestEntryEventBytes = 0
        for _ in 0..<runs {
            let engine = MatchingEngine(limits: .init(accountsMax: participants + 1), keepsAccounts: true)
            var sequence: UInt64 = 0
            func apply(_ command: Command) -> [Event] {
                sequence += 1
                return engine.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command))
            }
            let securities = (0..<symbols).map { try! Symbol(validating: "S\($0)") }
            for s in securities { _ = apply(.listSymbol(s, InstrumentRules(previousClose: Price(dollars: "50")!))) }
            let limits = AccountLimits(positionMax: Quantity.max)
            for a in 1...UInt32(participants) {
                _ = apply(.openAccount(AccountID(a), AccountNumber(defaultFor: AccountID(a)), AccountTerms(kind: .margin, limits: limits)))
                _ = apply(.deposit(AccountID(a), Money(units: 10_000_000_000_000)))
            }
            let (today, tomorrow) = (CivilDate(year: 2026, month: 3, day: 2), CivilDate(year: 2026, month: 3, day: 3))
            _ = apply(.rollBusinessDate(BusinessDateRoll(from: nil, to: today, settlesOn: tomorrow)))
            var random = SplitMix64(seed: 23)
            for n in 0..<trades {
                let terms = TradeTerms(account: AccountID(UInt32.random(in: 1...UInt32(participants), using: &random)),
                                       symbol: securities[Int.random(in: 0..<symbols, using: &random)], side: Bool.random(using: &random) ? .buy : .sell,
                                       quantity: Quantity(Int64.random(in: 1...1_000, using: &random)), price: Price(units: Int64.random(in: 1...5_000, using: &random) * 100),
                                       tradeDate: today, settlementDate: tomorrow)
                _ = apply(.captureTrade(TradeReport(reference: ShortText("T\(n)")!, terms: terms)))
            }
            // The rollover and the `settleNext` commands that apply the rest of its cycle, as the venue sends them.
            let start = monotonicNanos()
            var parts = [apply(.rollBusinessDate(BusinessDateRoll(from: today, to: tomorrow, settlesOn: tomorrow.adding(days: 1))))]
            while case .settlementContinues(let date, _)? = parts.last!.last { parts.append(apply(.settleNext(date))) }
            seconds.append(Double(monotonicNanos() - start) / 1e9)
            commands = parts.count
            outcomes = parts.reduce(0) { $0 + $1.count { if case .businessDateRolled = $0 { false } else if case .settlementContinues = $0 { false } else { true } } }
            largestEntryEventBytes = parts.map { events in
                var w = ByteWriter(capacity: 1 << 16)
                for event in events { w.write(event) }
                return w.count
            }.max()!
        }
        print(#"{"mode":"post-trade-cycle","trades":\#(trades),"participants":\#(participants),"symbols":\#(symbols),"runs":\#(runs),"outcomes":\#(outcomes),"commands":\#(commands),"largest_entry_event_bytes":\#(largestEntryEventBytes),"rollover_seconds":\#(String(format: "%.3f", median(seconds)))}"#)
    }

    /// Capture from a file, end to end on a venue of its own.
    func capture() async throws {
        var rates: [Double] = []
        for run in 0..<runs {
            let directory = NSTemporaryDirectory() + "bourse-capture-bench-\(getpid())-\(run)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var configuration = VenueConfiguration.demo
            configuration.fix = nil
            configuration.firms = nil
            configuration.post_trade = .init(business_dates: "operator")
            configuration.accounts = (1...UInt32(participants)).map { VenueConfiguration.AccountEntry(id: $0, kind: "margin", deposit: "1000000000.00", positions: nil, keys: nil) }
            let node = try await DataDirectory(path: directory).openNode(configuration: configuration)
            let today = CivilDate(year: 2026, month: 3, day: 2)
            _ = try await node.venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: today, settlesOn: today.adding(days: 1))))
            let names = configuration.symbols.map(\.symbol)
            var random = SplitMix64(seed: 29)
            var text = "trade_id,account,symbol,side,quantity,price,trade_date,counterparty\n"
            for n in 0..<trades {
                text += "R\(n),\(UInt32.random(in: 1...UInt32(participants), using: &random)),\(names.randomElement(using: &random)!),"
                text += (Bool.random(using: &random) ? "buy" : "sell") + ",\(Int.random(in: 1...500, using: &random)),100.00,2026-03-02,STREET\n"
            }
            try Data(text.utf8).write(to: URL(fileURLWithPath: node.files.inbox + "/bench.csv"))
            let start = monotonicNanos()
            let records = try await node.files.scan()
            let elapsed = Double(monotonicNanos() - start) / 1e9
            guard records.first?.captured == trades else {
                node.stop()
                throw ValidationError("the file captured \(records.first?.captured ?? 0) of \(trades) trades: \(records)")
            }
            rates.append(Double(trades) / elapsed)
            node.stop()
        }
        print(#"{"mode":"post-trade-capture","trades":\#(trades),"participants":\#(participants),"runs":\#(runs),"trades_per_second":\#(Int(median(rates)))}"#)
    }

    func settle() throws {
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
