import BourseCore

extension MatchingEngine {
    public var accountIDs: [AccountID] { (0..<Int32(accounts.live)).map { AccountID(accounts[$0].id) } }
    /// The venue's fee account balance: fees collected less rebates paid.
    public var venueFeeBalance: Money { Money(units: venueFees) }
    /// The outside world's cash: minus deposits, plus withdrawals. With every account's cash and the
    /// venue's fees it sums to zero.
    public var outsideCashBalance: Money { Money(units: outsideCash) }
    public var ledgerTransactionCount: UInt64 { ledgerTransactions }
    /// Cash of outgoing transfers taken from accounts and not yet at their banks.
    public var transitCashBalance: Money { Money(units: transitCash) }

    public func outsideShares(_ symbol: Symbol) -> Quantity? { book(symbol).map { Quantity($0.outsideShares) } }

    /// The account a number names.
    public func account(number: AccountNumber) -> AccountID? { accountsByNumber[number] }

    public func accountSummary(_ id: AccountID) -> AccountSummary? {
        guard let a = accountIndex.find(UInt64(id.rawValue)) else { return nil }
        let account = accounts[a]
        var unsettled: Int64 = 0
        var realized: Int64 = 0
        var p = account.firstPosition
        while p >= 0 {
            unsettled += positions[p].unsettled
            realized += positions[p].realized
            p = positions[p].next
        }
        var summary = AccountSummary(
            account: id, number: accountNumbers[Int(a)], kind: account.kind, state: account.state, limits: account.limits,
            cash: Money(units: account.cash), cashHold: Money(units: account.cashHold),
            settledCash: Money(units: account.cash - unsettled), unsettledCash: Money(units: unsettled),
            realizedPnL: Money(units: realized), openOrders: Int(account.openOrders))
        summary.withdrawable = Money(units: max(withdrawable(a), 0))
        if case .valued(let m) = marginFigures(a) {
            let money = { (value: Int128) in Int64(exactly: value).map { Money(units: $0) } }
            summary.equity = money(m.equity)
            summary.longMarketValue = money(m.longValue)
            summary.shortMarketValue = money(m.shortValue)
            summary.initialRequirement = money(m.initial)
            summary.maintenanceRequirement = money(m.maintenance)
            summary.buyingPower = account.kind == .cash
                ? Money(units: account.cash - account.cashHold) : money(m.buyingPower(hold: account.cashHold))
            var unrealized: Int128 = 0
            var p = account.firstPosition
            while p >= 0 {
                let position = positions[p]
                unrealized += Int128(position.quantity) * Int128(mark(books[Int(position.book)])) - Int128(position.cost)
                p = position.next
            }
            summary.unrealizedPnL = money(unrealized)
        } else if account.kind == .cash {
            summary.buyingPower = Money(units: account.cash - account.cashHold)
        }
        return summary
    }

    /// The account's positions in the order they were first used, flat ones included (they keep their
    /// realized P&L).
    public func positions(of id: AccountID) -> [PositionSummary] {
        guard let a = accountIndex.find(UInt64(id.rawValue)) else { return [] }
        var result: [PositionSummary] = []
        var p = accounts[a].firstPosition
        while p >= 0 {
            let position = positions[p]
            let book = books[Int(position.book)]
            let price = mark(book)
            var summary = PositionSummary(
                symbol: book.symbol, quantity: Quantity(position.quantity), held: Quantity(position.held),
                costBasis: Money(units: position.cost),
                averageCost: position.quantity == 0 ? nil : Price(units: position.cost / position.quantity),
                realizedPnL: Money(units: position.realized), openOrders: Int(position.openOrders))
            if price > 0 {
                let value = Int128(position.quantity) * Int128(price)
                summary.mark = Price(units: price)
                summary.marketValue = Int64(exactly: value).map { Money(units: $0) }
                summary.unrealizedPnL = Int64(exactly: value - Int128(position.cost)).map { Money(units: $0) }
            }
            result.append(summary)
            p = position.next
        }
        return result
    }

    /// The account's open orders, book by book in listing order, each in the snapshot walk's order.
    public func openOrders(of id: AccountID) -> [OpenOrder] {
        var result: [OpenOrder] = []
        for book in books {
            forEachOrder(in: book) { s in
                let o = orders[s]
                guard o.account == id.rawValue else { return }
                let d = details[s]
                let hold = o.position >= 0 && !o.closing ? reservations[s].holdPerShare * o.leaves : 0
                let hasLimit = o.type == .limit || o.type == .stopLimit
                let hasStop = o.type == .stop || o.type == .stopLimit
                result.append(OpenOrder(
                    orderID: OrderID(o.id), account: id, symbol: book.symbol, side: o.side, type: o.type,
                    timeInForce: o.tif, quantity: Quantity(d.quantity), leaves: Quantity(o.leaves),
                    limitPrice: hasLimit ? Price(units: o.price) : nil,
                    stopPrice: hasStop ? Price(units: d.stopPrice) : nil,
                    cashHold: Money(units: hold)))
            }
        }
        return result
    }

    /// Checks what accounts must always satisfy; an empty list when everything holds. Holds and counts are
    /// recomputed from the open orders, so a reservation taken or given back wrongly shows here.
    public func accountViolations() -> [String] {
        guard keepsAccounts else { return [] }
        var problems: [String] = []
        var cashHold = [Int64](repeating: 0, count: accounts.live)
        var accountOrders = [Int64](repeating: 0, count: accounts.live)
        var held = [Int32: Int64]()
        var buys = [Int32: Int64]()
        var sells = [Int32: Int64]()
        var positionOrders = [Int32: Int64]()
        for book in books {
            forEachOrder(in: book) { s in
                let o = orders[s]
                guard o.position >= 0 else {
                    problems.append("order \(o.id) has no position")
                    return
                }
                let position = positions[o.position]
                if accounts[position.account].id != o.account || position.book != o.book {
                    problems.append("order \(o.id) is attached to the wrong position")
                }
                accountOrders[Int(position.account)] += 1
                positionOrders[o.position, default: 0] += 1
                if o.closing {
                    // A rider's shares are held by the take-profit it is paired with.
                    if o.list != .rider { held[o.position, default: 0] += o.leaves }
                } else {
                    cashHold[Int(position.account)] += reservations[s].holdPerShare * o.leaves
                    if o.side == .buy { buys[o.position, default: 0] += o.leaves } else { sells[o.position, default: 0] += o.leaves }
                }
            }
        }
        var cashTotal = Int128(venueFees) + Int128(outsideCash) + Int128(transitCash)
        let outgoing = transfers.values.filter { $0.request.direction == .outgoing }.reduce(Int128(0)) { $0 + Int128($1.request.amount.units) }
        if outgoing != Int128(transitCash) { problems.append("cash in transit is \(transitCash), its transfers carry \(outgoing)") }
        var sharesTotal = books.map { Int128($0.outsideShares) }
        for a in 0..<Int32(accounts.live) {
            let account = accounts[a]
            let name = "account \(account.id)"
            cashTotal += Int128(account.cash)
            if account.cashHold != cashHold[Int(a)] {
                problems.append("\(name) holds \(account.cashHold), its orders need \(cashHold[Int(a)])")
            }
            if account.openOrders != accountOrders[Int(a)] {
                problems.append("\(name) counts \(account.openOrders) open orders, has \(accountOrders[Int(a)])")
            }
            if account.cashHold < 0 { problems.append("\(name) hold is negative") }
            if account.kind == .cash, account.cash < account.cashHold {
                problems.append("\(name) cash \(account.cash) is below its hold \(account.cashHold)")
            }
            var p = account.firstPosition
            while p >= 0 {
                let position = positions[p]
                let symbol = books[Int(position.book)].symbol
                sharesTotal[Int(position.book)] += Int128(position.quantity)
                if position.held != held[p, default: 0] || position.openingBuys != buys[p, default: 0]
                    || position.openingSells != sells[p, default: 0] || Int64(position.openOrders) != positionOrders[p, default: 0] {
                    problems.append("\(name) \(symbol) reservations do not match its orders")
                }
                if position.held < 0 || position.held > position.quantity.magnitude {
                    problems.append("\(name) \(symbol) holds \(position.held) of \(position.quantity)")
                }
                if account.kind == .cash, position.quantity < 0 { problems.append("\(name) is short \(symbol) in a cash account") }
                // An order opens or reduces, never both: nothing may open the side opposite the position.
                if position.quantity > 0, position.openingSells != 0 {
                    problems.append("\(name) \(symbol) is long with an open short sale")
                }
                if position.quantity < 0, position.openingBuys != 0 {
                    problems.append("\(name) \(symbol) is short with an open buy that would open a long")
                }
                if position.quantity == 0, position.cost != 0 { problems.append("\(name) \(symbol) is flat with a basis") }
                p = position.next
            }
        }
        if cashTotal != 0 { problems.append("cash is not conserved: total \(cashTotal)") }
        for (i, total) in sharesTotal.enumerated() where total != 0 {
            problems.append("\(books[i].symbol) shares are not conserved: total \(total)")
        }
        return problems
    }
}
