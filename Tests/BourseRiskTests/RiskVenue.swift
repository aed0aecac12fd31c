import BourseCore
import BourseEngine
import BourseRisk
import Testing

/// An engine that keeps accounts and the risk book that follows its events: each command goes to the
/// engine, its events to the book, and after each the book's cash and holdings must equal the engine's
/// (the engine is the truth the book rebuilds from events alone).
final class RiskVenue {
    let engine = MatchingEngine(keepsAccounts: true)
    var book: RiskBook
    var sequence: UInt64 = 0
    let xyz = try! Symbol(validating: "XYZ")
    /// Wide enough for the specifications' price paths.
    let limits = AccountLimits(collarBasisPoints: 5_000)
    private var nextOrder: UInt64 = 0

    /// XYZ listed (previous close $10), open and easy to borrow.
    init(clients: [String: [AccountID]] = [:], house: HouseMargin = .none) {
        book = RiskBook(clients: clients, house: house)
        when(.listSymbol(xyz, InstrumentRules(previousClose: Price(dollars: "10")!)))
        when(.setTradingState(xyz, .open))
        when(.setEasyToBorrow(xyz, true))
    }

    @discardableResult
    func when(_ command: Command) -> [Event] {
        sequence += 1
        let time = Timestamp(nanos: Int64(sequence) * 1_000)
        let events = engine.process(SequencedCommand(sequence: sequence, time: time, command: command))
        for event in events { try! book.apply(event, sequence: sequence, time: time) }
        let problems = differences(book, engine)
        #expect(problems.isEmpty, "after \(command): \(problems)")
        return events
    }

    func open(_ id: UInt32, _ kind: AccountKind = .margin, cash: String) {
        let account = AccountID(id)
        when(.openAccount(account, AccountNumber(defaultFor: account), AccountTerms(kind: kind, limits: limits)))
        when(.deposit(account, Money(dollars: cash)!))
    }

    /// A limit order; returns its events.
    @discardableResult
    func order(_ account: UInt32, _ side: Side, _ qty: Int64, at price: String) -> [Event] {
        nextOrder += 1
        return when(.newOrder(NewOrder(orderID: OrderID(nextOrder), account: AccountID(account), symbol: xyz, side: side, type: .limit,
                                       timeInForce: .day, quantity: Quantity(qty), limitPrice: Price(dollars: price)!)))
    }

    /// `maker` rests the other side and `taker` trades all of it.
    func trade(_ taker: UInt32, _ side: Side, _ qty: Int64, at price: String, against maker: UInt32) {
        order(maker, side == .buy ? .sell : .buy, qty, at: price)
        let events = order(taker, side, qty, at: price)
        #expect(events.contains { if case .trade = $0 { true } else { false } }, "\(events)")
    }

    func mark(close: Bool = false) {
        when(.mark(MarkRequest(method: .lastTrade, close: close)))
    }

    func figures(_ id: UInt32) -> RiskFigures { book.account(AccountID(id))!.1 }
}

/// Where the book's cash, holdings and realized P&L differ from the engine's.
func differences(_ book: RiskBook, _ engine: MatchingEngine) -> [String] {
    var problems: [String] = []
    for account in book.accounts {
        guard let summary = engine.accountSummary(account.id) else {
            // A closed account: nothing may be left in it.
            if account.cash != 0 || account.holdings.contains(where: { $0.quantity != 0 }) {
                problems.append("account \(account.id) unknown to the engine holds \(account.cash) and \(account.holdings)")
            }
            continue
        }
        if summary.cash.units != account.cash { problems.append("\(account.id) cash \(account.cash), engine \(summary.cash.units)") }
        let engine = Dictionary(uniqueKeysWithValues: engine.positions(of: account.id).map { ($0.symbol, $0) })
        for h in account.holdings {
            let p = engine[h.symbol]
            let theirs = (p?.quantity.shares ?? 0, p?.costBasis.units ?? 0, p?.realizedPnL.units ?? 0)
            if theirs != (h.quantity, h.cost, h.realized) {
                problems.append("\(account.id) \(h.symbol) (quantity, cost, realized) \((h.quantity, h.cost, h.realized)), engine \(theirs)")
            }
        }
        // The engine makes a position when an order is accepted; the book when something moves.
        for (symbol, p) in engine where !account.holdings.contains(where: { $0.symbol == symbol })
            && (p.quantity.shares, p.costBasis.units, p.realizedPnL.units) != (0, 0, 0) {
            problems.append("\(account.id) \(symbol) held by the engine only: \(p)")
        }
    }
    return problems
}

/// Dollars as the figures' units (1/10,000 dollar).
func usd(_ text: String) -> Int128 { Int128(Money(dollars: text)!.units) }
