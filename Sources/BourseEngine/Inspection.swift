import BourseCore

extension MatchingEngine {
    public var listedSymbols: [Symbol] { books.map(\.symbol) }
    /// The time of the last command applied; a sequencer continuing this engine starts from it.
    public var lastCommandTime: Timestamp { Timestamp(nanos: now) }
    public var openOrderCount: Int { orders.live }

    public func summary(of symbol: Symbol) -> BookSummary? {
        guard let book = book(symbol) else { return nil }
        var pending = 0
        var p = book.pendingHead
        while p >= 0 {
            pending += 1
            p = orders[p].next
        }
        var summary = BookSummary(
            symbol: symbol, state: book.state, restingOrders: book.resting,
            stopOrders: book.buyStops.entries.count + book.sellStops.entries.count + book.trailing.count,
            pendingOrders: pending,
            bestBid: book.bids.best.map { Price(units: levels[$0].price) },
            bestAsk: book.asks.best.map { Price(units: levels[$0].price) },
            lastTrade: book.lastTrade == 0 ? nil : Price(units: book.lastTrade), easyToBorrow: book.easyToBorrow)
        summary.fees = FeeSchedule(makerPerShare: Money(units: book.makerFee), takerPerShare: Money(units: book.takerFee))
        return summary
    }

    /// The symbol's previous close from its listing rules, if it has one.
    public func previousClose(of symbol: Symbol) -> Price? {
        book(symbol).flatMap { $0.previousClose == 0 ? nil : Price(units: $0.previousClose) }
    }

    /// The best `levels` price levels of one side, best first: price, shown quantity (iceberg reserves
    /// excluded) and number of orders. Reads the levels' totals, not the orders.
    public func depth(_ symbol: Symbol, side: Side, levels count: Int) -> [DepthLevel] {
        guard let book = book(symbol), count > 0 else { return [] }
        let sideLevels = side == .buy ? book.bids : book.asks
        return sideLevels.handles.reversed().prefix(count).map { lh in
            let level = levels[lh]
            return DepthLevel(price: Price(units: level.price), visible: Quantity(level.visible), orders: Int(level.count))
        }
    }

    /// The resting orders of one side, level by level from the best price, each level in time priority.
    public func restingOrders(_ symbol: Symbol, side: Side) -> [[RestingOrder]] {
        guard let book = book(symbol) else { return [] }
        let sideLevels = side == .buy ? book.bids : book.asks
        return sideLevels.handles.reversed().map { lh in
            var level: [RestingOrder] = []
            var m = levels[lh].head
            while m >= 0 {
                let o = orders[m]
                level.append(RestingOrder(orderID: OrderID(o.id), account: AccountID(o.account), side: o.side,
                                          price: Price(units: o.price), leaves: Quantity(o.leaves),
                                          visible: Quantity(o.visible)))
                m = o.next
            }
            return level
        }
    }

    /// Checks every structural invariant and returns what is broken: an empty list when all hold.
    /// Costs a walk over all state; for tests and `bourse replay --check`.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var seen = 0
        for (bookIndex, book) in books.enumerated() {
            let name = book.symbol.description
            for (side, sideLevels) in [(Side.buy, book.bids), (Side.sell, book.asks)] {
                for i in sideLevels.keys.indices.dropFirst() where sideLevels.keys[i - 1] >= sideLevels.keys[i] {
                    problems.append("\(name) \(side) levels out of order at \(i)")
                }
                for (i, lh) in sideLevels.handles.enumerated() {
                    let level = levels[lh]
                    if sideLevels.key(level.price) != sideLevels.keys[i] { problems.append("\(name) level key mismatch") }
                    var count: Int32 = 0, visible: Int64 = 0, total: Int64 = 0
                    var m = level.head, prev: Int32 = -1
                    while m >= 0 {
                        let o = orders[m]
                        let d = details[m]
                        if o.prev != prev { problems.append("\(name) broken link at order \(o.id)") }
                        if o.place != .book || o.level != lh || o.price != level.price || o.side != side
                            || Int(o.book) != bookIndex {
                            problems.append("\(name) order \(o.id) misplaced")
                        }
                        if o.visible <= 0 || o.visible > o.leaves || o.leaves > d.quantity {
                            problems.append("\(name) order \(o.id) quantities visible \(o.visible) leaves \(o.leaves) qty \(d.quantity)")
                        }
                        if d.display == 0, o.visible != o.leaves { problems.append("\(name) order \(o.id) hides quantity") }
                        if index.find(o.id) != m { problems.append("\(name) order \(o.id) not indexed") }
                        count += 1; visible += o.visible; total += o.leaves
                        prev = m
                        m = o.next
                    }
                    if level.tail != prev { problems.append("\(name) level \(level.price) tail mismatch") }
                    if count == 0 || count != level.count || visible != level.visible || total != level.total {
                        problems.append("\(name) level \(level.price) totals: count \(level.count)/\(count) visible \(level.visible)/\(visible) total \(level.total)/\(total)")
                    }
                    seen += Int(count)
                }
            }
            let resting = book.bids.handles.reduce(0) { $0 + Int(levels[$1].count) }
                + book.asks.handles.reduce(0) { $0 + Int(levels[$1].count) }
            if resting != book.resting { problems.append("\(name) resting count \(book.resting), found \(resting)") }
            if let bid = book.bids.best, let ask = book.asks.best, levels[bid].price >= levels[ask].price {
                problems.append("\(name) crossed at rest: bid \(levels[bid].price) ask \(levels[ask].price)")
            }
            for list in [book.buyStops, book.sellStops] {
                for i in list.entries.indices.dropFirst() where !list.triggersBefore(list.entries[i], list.entries[i - 1]) {
                    problems.append("\(name) stops out of order")
                }
                for e in list.entries {
                    let o = orders[e.slot]
                    let d = details[e.slot]
                    if o.place != .stop || d.stopPrice != e.price || d.priority != e.priority { problems.append("\(name) stop \(o.id) misfiled") }
                }
                seen += list.entries.count
            }
            if book.state == .open, book.lastTrade != 0 {
                if let e = book.buyStops.entries.last, book.lastTrade >= e.price { problems.append("\(name) buy stop left untriggered") }
                if let e = book.sellStops.entries.last, book.lastTrade <= e.price { problems.append("\(name) sell stop left untriggered") }
            }
            seen += book.trailing.count
            let waiting = book.buyStops.entries.count + book.sellStops.entries.count + book.trailing.count
            if waiting != book.stopCount { problems.append("\(name) stop count \(book.stopCount), found \(waiting)") }
            var p = book.pendingHead
            while p >= 0 {
                if orders[p].place != .pending { problems.append("\(name) pending order \(orders[p].id) misplaced") }
                seen += 1
                p = orders[p].next
            }
        }
        if seen != orders.live || index.count != orders.live {
            problems.append("orders: placed \(seen), live \(orders.live), indexed \(index.count)")
        }
        return problems + listViolations() + clearingViolations()
    }

    /// Lists agree with the orders: a working member is an open order with a role, a waiting exit is not an
    /// order, a rider is the stop-loss of a pair, and every order with a role is in an open list.
    func listViolations() -> [String] {
        var problems: [String] = []
        var members = 0
        for key in lists.keys.sorted() {
            let record = lists[key]!
            let list = record.list
            for (id, stage) in record.members where id != 0 {
                let slot = index.find(id)
                switch stage {
                case .working:
                    members += 1
                    guard let s = slot, orders[s].list != .none else {
                        problems.append("list \(key): member \(id) is not an open order of the list")
                        continue
                    }
                    let rides = record.paired && id == list.stopLossID
                    if (orders[s].list == .rider) != rides { problems.append("list \(key): member \(id) rides wrongly") }
                case .held:
                    if slot != nil { problems.append("list \(key): waiting exit \(id) is an open order") }
                case .absent, .ended:
                    continue
                }
                if listOf[id] != key { problems.append("list \(key): member \(id) is not indexed to it") }
            }
            if record.paired, record.takeProfit != .working || record.stopLoss != .working {
                problems.append("list \(key) is paired without two working exits")
            }
            if record.isDone { problems.append("list \(key) is done but kept") }
        }
        var roles = 0
        for book in books { forEachOrder(in: book) { s in if orders[s].list != .none { roles += 1 } } }
        if roles != members { problems.append("lists: \(members) working members, \(roles) orders with a role") }
        if !listsToPlace.isEmpty { problems.append("lists: exits left to place after a command") }
        return problems
    }
}

extension MatchingEngine {
    /// Orders resting on all books (stops and pending orders excluded).
    public var restingOrderCount: Int { books.reduce(0) { $0 + $1.resting } }
}

extension MatchingEngine {
    /// Every open order of a symbol: pending ones in arrival order, then bids and asks best level first
    /// in time priority, then stops.
    public func openOrderStates(_ symbol: Symbol) -> [OpenOrderState] {
        guard let book = book(symbol) else { return [] }
        var states: [OpenOrderState] = []
        forEachOrder(in: book) { s in
            let o = orders[s]
            let d = details[s]
            let place: OpenOrderState.Place = switch o.place {
            case .pending: .pending
            case .stop: .stop
            default: .book
            }
            let hasLimit = o.type == .limit || o.type == .stopLimit
            states.append(OpenOrderState(
                orderID: OrderID(o.id), side: o.side, place: place, isStop: o.type.isStop,
                limitPrice: hasLimit ? Price(units: o.price) : nil,
                displayQuantity: d.display > 0 ? Quantity(d.display) : nil,
                leaves: Quantity(o.leaves), visible: Quantity(o.visible)))
        }
        return states
    }

    /// The trading state of a listed symbol.
    public func tradingState(_ symbol: Symbol) -> TradingState? { book(symbol)?.state }
}
