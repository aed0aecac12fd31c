import BourseCore
import BourseEngine

/// A venue prepared for a specification: symbol XYZ listed with standard rules and open.
/// `when` applies one command at the next sequence and returns its events.
final class Given {
    let engine: MatchingEngine
    let symbol = try! Symbol(validating: "XYZ")
    var sequence: UInt64 = 0
    var time: Int64 = 1_000
    /// The ledger of every event so far, which the engine's books must equal (`ledgerViolations`).
    private(set) var ledger = Ledger(linesPerAccountMax: 0)
    private(set) var opened: [AccountID] = []

    /// With `accounts`, the engine keeps accounts and every order needs one (see `open`).
    init(rules: InstrumentRules = .standard, state: TradingState = .open, accounts: Bool = false, limits: MatchingEngine.Limits = .init()) {
        engine = MatchingEngine(limits: limits, keepsAccounts: accounts)
        when(.listSymbol(symbol, rules))
        when(.setTradingState(symbol, state))
    }

    @discardableResult
    func when(_ command: Command, at time: Int64? = nil) -> [Event] {
        sequence += 1
        self.time = time ?? self.time + 1
        let events = engine.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: self.time), command: command))
        // Without accounts fills are not booked, nor bounded by any account's notional.
        for event in events where engine.keepsAccounts {
            ledger.apply(event)
            if case .accountOpened(let id, _, _) = event { opened.append(id) }
        }
        return events
    }

    /// Where the ledger's books differ from the engine's: per account, settled and unsettled cash, and per
    /// position settled and unsettled shares; the transactions counted; and every asset's total (zero).
    func ledgerViolations() -> [String] {
        var problems: [String] = []
        if ledger.transactionCount != engine.ledgerTransactionCount {
            problems.append("ledger posted \(ledger.transactionCount) transactions, engine counts \(engine.ledgerTransactionCount)")
        }
        for (asset, total) in ledger.assetTotals where total != 0 { problems.append("\(asset) totals \(total)") }
        for id in opened {
            guard let summary = engine.accountSummary(id) else { continue }
            let books = (ledger.balance(.customer(id), .usd, book: .settled), ledger.balance(.customer(id), .usd, book: .unsettled))
            if books != (summary.settledCash.units, summary.unsettledCash.units) {
                problems.append("account \(id) cash settled/unsettled: ledger \(books), engine \((summary.settledCash.units, summary.unsettledCash.units))")
            }
            for p in engine.positions(of: id) {
                let settled = engine.settledShares(id, p.symbol)!.shares
                let shares = (ledger.balance(.customer(id), .shares(p.symbol), book: .settled), ledger.balance(.customer(id), .shares(p.symbol), book: .unsettled))
                if shares != (settled, p.quantity.shares - settled) {
                    problems.append("account \(id) \(p.symbol) settled/unsettled: ledger \(shares), engine \((settled, p.quantity.shares - settled))")
                }
            }
        }
        return problems
    }

    /// Opens an account with `cash` dollars (a decimal string) and, optionally, shares of XYZ at $10.
    func open(_ account: UInt32, _ kind: AccountKind = .cash, cash: String = "0", shares: Int64 = 0,
              limits: AccountLimits = .standard, margin: MarginRates = .regT) {
        let id = AccountID(account)
        when(.openAccount(id, AccountNumber(defaultFor: id), AccountTerms(kind: kind, limits: limits, margin: margin)))
        if let amount = Money(dollars: cash), amount.units > 0 { when(.deposit(id, amount)) }
        if shares > 0 { when(.transferIn(id, symbol, Quantity(shares), costPerShare: Price(dollars: "10")!)) }
    }

    func account(_ account: UInt32) -> AccountSummary { engine.accountSummary(AccountID(account))! }

    func position(_ account: UInt32) -> PositionSummary? {
        engine.positions(of: AccountID(account)).first { $0.symbol == symbol }
    }

    /// Applies orders and discards their events: the state a specification starts from.
    func resting(_ orders: NewOrder...) {
        for order in orders { when(.newOrder(order)) }
    }

    func order(_ id: UInt64, _ side: Side, _ type: OrderType = .limit, _ price: String? = nil, qty: Int64,
               account: UInt32 = 1, tif: TimeInForce = .gtc, stop: String? = nil) -> NewOrder {
        NewOrder(orderID: OrderID(id), account: AccountID(account), symbol: symbol, side: side, type: type,
                 timeInForce: tif, quantity: Quantity(qty), limitPrice: price.map { Price(dollars: $0)! },
                 stopPrice: stop.map { Price(dollars: $0)! })
    }

    func buy(_ id: UInt64, _ price: String, qty: Int64, account: UInt32 = 1, tif: TimeInForce = .gtc) -> NewOrder {
        order(id, .buy, .limit, price, qty: qty, account: account, tif: tif)
    }

    func sell(_ id: UInt64, _ price: String, qty: Int64, account: UInt32 = 1, tif: TimeInForce = .gtc) -> NewOrder {
        order(id, .sell, .limit, price, qty: qty, account: account, tif: tif)
    }

    func cancel(_ id: UInt64, account: UInt32 = 1) -> Command {
        .cancel(CancelOrder(orderID: OrderID(id), account: AccountID(account)))
    }

    /// (price, [order id: leaves]) per level, best first.
    func book(_ side: Side) -> [String] {
        engine.restingOrders(symbol, side: side).map { level in
            "\(level[0].price) " + level.map { "\($0.orderID):\($0.leaves)" + ($0.visible != $0.leaves ? "/\($0.visible)" : "") }.joined(separator: " ")
        }
    }
}

/// The engine as its snapshot restores it.
func restored(_ engine: MatchingEngine) throws -> MatchingEngine {
    var w = ByteWriter()
    engine.encodeSnapshot(into: &w)
    return try w.bytes.withUnsafeBytes { bytes in
        var r = ByteReader(bytes)
        return try MatchingEngine(snapshot: &r, limits: engine.limits)
    }
}

/// Trades among events as (maker, taker, price, qty) for compact expectations.
func trades(_ events: [Event]) -> [String] {
    events.compactMap {
        guard case .trade(let t) = $0 else { return nil }
        return "\(t.makerOrderID)<-\(t.takerOrderID) \(t.quantity)@\(t.price)"
    }
}

func cancels(_ events: [Event]) -> [String] {
    events.compactMap {
        guard case .orderCancelled(let id, _, let leaves, let reason) = $0 else { return nil }
        return "\(id):\(leaves) \(reason.code)"
    }
}

func rejection(_ events: [Event]) -> RejectReason? {
    for event in events {
        switch event {
        case .orderRejected(_, _, let r), .cancelRejected(_, _, let r), .replaceRejected(_, _, _, let r): return r
        default: continue
        }
    }
    return nil
}
