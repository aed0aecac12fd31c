import BourseCore
import BourseEngine
import Testing

/// The engine's settlement cycles against a model built from `Netting.net` and `Delivery.settle` over
/// the trades themselves: random fills on the book, captures from away (repeated references among them),
/// cancellations of both, transfers and rollovers with random settlement cycles, across days. The model keeps its own settled
/// holdings and fails; every cycle and every mark must equal the engine's, event for event.
@Suite("settlement against a model")
struct SettlementPropertyTests {
    /// What the model knows: trades due by date, settled holdings, fails carried, last prices.
    struct Model {
        var due: [CivilDate: [Netting.DueTrade]] = [:]
        var holdings: [Netting.Key: Int64] = [:]
        var fails: [Netting.Obligation] = []
        /// The previous close until a symbol trades.
        var lastPrice: [Symbol: Price]
        var settlesOn: CivilDate?
        /// What a cancellation needs of each trade booked: its terms and its other side.
        var booked: [(ref: TradeRef, terms: TradeTerms, counterparty: AccountID)] = []

        /// The events the engine should make for the cycle of `date`, and the model's state after it.
        mutating func cycle(_ date: CivilDate) throws -> [Event] {
            let trades = due.filter { $0.key <= date }.values.flatMap { $0 }
            due = due.filter { $0.key > date }
            let obligations = try Netting.net(trades, carried: fails)
            var available: [Netting.Key: Int64] = [:]
            for o in obligations {
                let key = Netting.Key(account: o.account, symbol: o.symbol)
                available[key] = o.account == .street ? max(-o.shares, 0) : holdings[key] ?? 0
            }
            let settled = Delivery.settle(obligations, available: available)
            var events: [Event] = []
            fails = []
            for o in obligations {
                let outcome = settled.outcomes[o]!
                holdings[Netting.Key(account: o.account, symbol: o.symbol), default: 0] += outcome.settledShares
                if let fail = outcome.fail { fails.append(fail) }
                events.append(.obligationSettled(SettlementOutcome(date: date, account: o.account, symbol: o.symbol, obligationShares: o.shares,
                                                                   obligationMoney: o.money, settledShares: outcome.settledShares,
                                                                   settledMoney: outcome.settledMoney)))
            }
            for (i, fail) in fails.enumerated() where fail.shares != 0 {
                guard let price = lastPrice[fail.symbol], let (revalued, payment) = try? Delivery.markToMarket(fail, price: price),
                      payment != 0 else { continue }
                fails[i] = revalued
                events.append(.failMarked(date, fail.account, fail.symbol, price: price, payment: Money(units: payment)))
            }
            return events
        }

        /// Takes in what one command did (other than a rollover).
        mutating func record(_ events: [Event]) {
            for event in events {
                switch event {
                case .trade(let t):
                    lastPrice[t.symbol] = t.price
                    booked.append((.fill(t.executionID), TradeTerms(account: t.buyerAccount, symbol: t.symbol, side: .buy, quantity: t.quantity,
                                                                    price: t.price, tradeDate: settlesOn!, settlementDate: settlesOn!), t.sellerAccount))
                    let money = Money(units: t.price.units * t.quantity.shares)
                    due[settlesOn!, default: []] += [
                        Netting.DueTrade(account: t.buyerAccount, symbol: t.symbol, side: .buy, quantity: t.quantity, money: money),
                        Netting.DueTrade(account: t.sellerAccount, symbol: t.symbol, side: .sell, quantity: t.quantity, money: money),
                    ]
                case .tradeCancelled(let c, let dueOn):
                    let t = c.terms
                    let reverse: Side = t.side == .buy ? .sell : .buy
                    due[dueOn, default: []] += [
                        Netting.DueTrade(account: t.account, symbol: t.symbol, side: reverse, quantity: t.quantity, money: t.notional),
                        Netting.DueTrade(account: c.counterparty, symbol: t.symbol, side: t.side, quantity: t.quantity, money: t.notional),
                    ]
                case .tradeCaptured(let id, let terms):
                    booked.append((.capture(id), terms, .street))
                    due[terms.settlementDate, default: []] += [
                        Netting.DueTrade(account: terms.account, symbol: terms.symbol, side: terms.side, quantity: terms.quantity, money: terms.notional),
                        Netting.DueTrade(account: .street, symbol: terms.symbol, side: terms.side == .buy ? .sell : .buy,
                                         quantity: terms.quantity, money: terms.notional),
                    ]
                case .securitiesTransferredIn(let a, let s, let q, _):
                    holdings[Netting.Key(account: a, symbol: s), default: 0] += q.shares
                case .securitiesTransferredOut(let a, let s, let q):
                    holdings[Netting.Key(account: a, symbol: s), default: 0] -= q.shares
                default:
                    break
                }
            }
        }
    }

    @Test("ten seeds of twelve days: every cycle and mark equals the model's, shares are conserved per cycle, cash and positions do not move, the ledger's settled and unsettled books equal the engine's; with even seeds each cycle goes three obligations a command", arguments: 1...10)
    func againstModel(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let v = Given(rules: referenced, accounts: true, limits: .init(settlementOutcomesPerCommandMax: seed % 2 == 0 ? 3 : 4_096))
        var parts = 0
        let abc = try Symbol(validating: "ABC")
        let symbols = [v.symbol, abc]
        v.when(.listSymbol(abc, referenced))
        v.when(.setTradingState(abc, .open))
        for s in symbols { v.when(.setEasyToBorrow(s, true)) }
        for id in UInt32(1)...6 {
            v.open(id, id <= 4 ? .cash : .margin, cash: "1000000")
            if id <= 4 { for s in symbols { v.when(.transferIn(AccountID(id), s, Quantity(300), costPerShare: Price(dollars: "10")!)) } }
        }
        var model = Model(lastPrice: Dictionary(uniqueKeysWithValues: symbols.map { ($0, referenced.previousClose!) }))
        // Transfers before the first business date were recorded by nobody yet: take them from the engine.
        for id in UInt32(1)...6 {
            for p in v.engine.positions(of: AccountID(id)) { model.holdings[Netting.Key(account: AccountID(id), symbol: p.symbol)] = p.quantity.shares }
        }
        var today = CivilDate(year: 2026, month: 3, day: 2)
        var seen = (outcomes: 0, fails: 0, street: 0, marks: 0, captures: 0, repeats: 0, refused: 0, cancellations: 0)
        func roll(to next: CivilDate) throws {
            let settlesOn = next.adding(days: Int.random(in: 0...2, using: &random))
            let roll = BusinessDateRoll(from: model.settlesOn == nil ? nil : today, to: next, settlesOn: settlesOn)
            let cashBefore = (1...6).map { v.account(UInt32($0)).cash }
            var events = v.when(.rollBusinessDate(roll))
            while case .settlementContinues(let date, _)? = events.last {
                #expect(try restored(v.engine).stateHash() == v.engine.stateHash(), "the snapshot keeps the cycle in progress")
                parts += 1
                events.removeLast()
                events += v.when(.settleNext(date))
            }
            let expected = [Event.businessDateRolled(roll)] + (try model.cycle(next))
            #expect(events == expected, "seed \(seed), \(next)")
            #expect(try restored(v.engine).stateHash() == v.engine.stateHash(), "the snapshot keeps the clearing state")
            #expect(v.ledgerViolations().isEmpty, "\(v.ledgerViolations())")
            for e in events {
                switch e {
                case .obligationSettled(let o): seen.outcomes += 1; if o.failed { seen.fails += 1 }; if o.account == .street { seen.street += 1 }
                case .failMarked: seen.marks += 1
                default: break
                }
            }
            #expect((1...6).map { v.account(UInt32($0)).cash } == cashBefore)
            for s in symbols {
                let moved = events.reduce(Int64(0)) { sum, e in
                    guard case .obligationSettled(let o) = e, o.symbol == s else { return sum }
                    return sum + o.settledShares
                }
                #expect(moved == 0, "shares delivered equal shares received in \(s)")
            }
            (today, model.settlesOn) = (next, settlesOn)
        }
        try roll(to: today)
        var orderID: UInt64 = 0, references: [String] = []
        for _ in 0..<12 {
            for _ in 0..<60 {
                let account = UInt32.random(in: 1...6, using: &random)
                let symbol = symbols.randomElement(using: &random)!
                let side: Side = Bool.random(using: &random) ? .buy : .sell
                let price = Price(units: [99_900, 100_000, 100_100].randomElement(using: &random)!)
                let command: Command
                switch Int.random(in: 0..<11, using: &random) {
                case 10 where !model.booked.isEmpty:
                    let pick = model.booked.randomElement(using: &random)!
                    command = .cancelTrade(TradeCancellation(trade: pick.ref, terms: pick.terms, counterparty: pick.counterparty))
                case 0..<6, 10:
                    orderID += 1
                    command = .newOrder(NewOrder(orderID: OrderID(orderID), account: AccountID(account), symbol: symbol, side: side, type: .limit,
                                                 timeInForce: Bool.random(using: &random) ? .ioc : .day, quantity: Quantity(Int64.random(in: 1...80, using: &random)),
                                                 limitPrice: price))
                case 6..<9:
                    let reference = Bool.random(using: &random) && !references.isEmpty ? references.randomElement(using: &random)! : "R\(references.count)"
                    references.append(reference)
                    let traded = today.adding(days: -Int.random(in: 0...1, using: &random))
                    command = .captureTrade(TradeReport(reference: ShortText(reference)!, terms: TradeTerms(
                        account: AccountID(account), symbol: symbol, side: side, quantity: Quantity(Int64.random(in: 1...120, using: &random)),
                        price: price, tradeDate: traded, settlementDate: traded.adding(days: Int.random(in: 0...3, using: &random)))))
                default:
                    command = side == .buy ? .transferIn(AccountID(account), symbol, Quantity(Int64.random(in: 1...50, using: &random)), costPerShare: price)
                        : .transferOut(AccountID(account), symbol, Quantity(Int64.random(in: 1...50, using: &random)))
                }
                let events = v.when(command)
                if case .tradeCancelled? = events.first { seen.cancellations += 1 }
                if case .captureTrade = command {
                    switch events.first {
                    case .tradeCaptured?: seen.captures += 1
                    case .commandRejected(.tradeAlreadyCaptured)?, .commandRejected(.tradeReferenceReused)?: seen.repeats += 1
                    default: seen.refused += 1
                    }
                }
                model.record(events)
                #expect(v.engine.invariantViolations().isEmpty)
                #expect(v.ledgerViolations().isEmpty, "seed \(seed): \(v.ledgerViolations())")
            }
            try roll(to: today.adding(days: 1))
        }
        #expect(v.engine.invariantViolations().isEmpty)
        // The run must have met every case it claims to check.
        #expect(seen.fails > 0 && seen.marks > 0 && seen.street > 0 && seen.captures > 0 && seen.repeats > 0 && seen.cancellations > 0, "\(seen)")
        #expect(seed % 2 == 1 || parts > 0, "no cycle went on in parts")
    }
}
