import BourseCore
import BourseEngine

/// The obviously-correct model the engine is compared with: every open order in one dictionary,
/// the best maker found by a linear scan over (price, time) each time. Slow and simple on purpose.
/// It implements the same specification as the engine independently of the engine's data structures.
public final class ReferenceVenue {
    enum Place { case book, stop, pending, working }

    struct Order {
        var id: UInt64
        var account: UInt32
        var symbol: Symbol
        var side: Side
        var type: OrderType
        var tif: TimeInForce
        var quantity: Int64
        var leaves: Int64
        var visible: Int64 = 0
        var display: Int64
        var price: Int64
        var stopPrice: Int64
        var trail: Int64 = 0
        var trailInBasisPoints = false
        var watermark: Int64 = 0
        var stp: SelfTradePrevention
        var postOnly: Bool
        var expire: Int64
        var accepted: UInt64
        var priority: UInt64
        /// Time priority on the book and in the pending queue.
        var time: UInt64 = 0
        var place: Place = .working
        var isMarketLike: Bool { type == .market || type == .stop || type == .trailingStop }
    }

    struct BookState {
        var rules: InstrumentRules
        var state: TradingState = .closed
        var lastTrade: Int64 = 0
        var passHigh: Int64 = 0
        var passLow: Int64 = 0
    }

    var books: [Symbol: BookState] = [:]
    var orders: [UInt64: Order] = [:]
    var serial: UInt64 = 0
    var clock: UInt64 = 0
    var execution: UInt64 = 0
    var now: Int64 = 0
    var out: [Event] = []
    let ordersMax: Int

    public init(ordersMax: Int = 8_000_000) { self.ordersMax = ordersMax }

    public func process(_ c: SequencedCommand) -> [Event] {
        out = []
        now = c.time.nanos
        switch c.command {
        case .listSymbol(let s, let rules):
            if books[s] != nil { out.append(.commandRejected(.symbolAlreadyListed(s))) }
            else if (try? rules.validate()) == nil { out.append(.commandRejected(.invalidRules(s))) }
            else { books[s] = BookState(rules: rules); out.append(.symbolListed(s)) }
        case .setTradingState(let s, let state):
            guard books[s] != nil else { out.append(.commandRejected(.unknownSymbol(s))); return out }
            books[s]!.state = state
            out.append(.tradingStateChanged(s, state))
            if state == .closed {
                for o in ordered({ $0.symbol == s && $0.tif == .day }, by: { $0.accepted < $1.accepted }) { expire(o.id) }
            } else if state == .open {
                while let next = ordered({ $0.symbol == s && $0.place == .pending }, by: { $0.time < $1.time }).first {
                    orders[next.id]!.place = .working
                    arrive(next.id)
                    runStops(s)
                }
                runStops(s)
            }
        case .newOrder(let o): newOrder(o)
        case .cancel(let c):
            guard let o = orders[c.orderID.rawValue], o.account == c.account.rawValue else {
                out.append(.cancelRejected(c.orderID, c.account, .orderNotOpen(c.orderID)))
                return out
            }
            finish(o.id, .requested)
        case .replace(let r): replace(r)
        case .expireOrders:
            for o in ordered({ $0.tif == .gtd && $0.expire <= self.now },
                             by: { ($0.expire, $0.accepted) < ($1.expire, $1.accepted) }) {
                expire(o.id)
            }
        case .setEasyToBorrow(let s, let easy):
            out.append(books[s] == nil ? .commandRejected(.unknownSymbol(s)) : .easyToBorrowChanged(s, easy))
        case .setFees(let s, let fees):
            out.append(books[s] == nil ? .commandRejected(.unknownSymbol(s))
                : fees.isValid ? .feesChanged(s, fees) : .commandRejected(.feesInvalid(s)))
        case .openAccount, .deposit, .withdraw, .transferIn, .transferOut, .setAccountState, .setAccountLimits,
             .killSwitch, .closeAccount, .journal, .requestTransfer, .advanceTransfer, .advanceTransfers:
            // The reference venue is a matching venue: it keeps no accounts.
            out.append(.commandRejected(.accountsNotKept))
        case .newOrderList:
            // Order lists are specified in `OrderListSpecs` and run in the account streams; the streams compared
            // with this venue send none.
            preconditionFailure("the reference venue has no order lists")
        case .rollBusinessDate, .captureTrade, .captureTrades, .settleNext, .cancelTrade, .clearTrade, .declareDividend, .declareSplit:
            // Business dates and settlement are specified in `ClearingSpecs`; the compared streams send none.
            preconditionFailure("the reference venue has no business dates")
        case .mark, .marginCall, .referenceQuote:
            // Marks, margin calls and reference quotes are specified in `MarkSpecs`; the compared streams send none.
            preconditionFailure("the reference venue has no marks")
        case .beginTerm(let term):
            // A leadership term changes nothing of the venue; it is marked in the events.
            out.append(.termBegan(term))
        }
        return out
    }

    func ordered(_ filter: (Order) -> Bool, by less: (Order, Order) -> Bool) -> [Order] {
        orders.values.filter(filter).sorted(by: less)
    }

    func nextTime() -> UInt64 { clock += 1; return clock }

    // MARK: orders

    func newOrder(_ n: NewOrder) {
        guard let book = books[n.symbol] else {
            out.append(.orderRejected(n.orderID, n.account, .unknownSymbol(n.symbol)))
            return
        }
        if let reason = validate(n, book) {
            out.append(.orderRejected(n.orderID, n.account, reason))
            return
        }
        serial += 1
        var o = Order(id: n.orderID.rawValue, account: n.account.rawValue, symbol: n.symbol, side: n.side,
                      type: n.type, tif: n.timeInForce, quantity: n.quantity.shares, leaves: n.quantity.shares,
                      display: n.displayQuantity?.shares ?? 0, price: n.limitPrice?.units ?? 0,
                      stopPrice: n.stopPrice?.units ?? 0, stp: n.selfTradePrevention, postOnly: n.postOnly,
                      expire: n.expireTime?.nanos ?? 0, accepted: serial, priority: serial)
        switch n.trailingOffset {
        case .amount(let a)?: o.trail = a.units
        case .basisPoints(let bp)?: o.trail = bp; o.trailInBasisPoints = true
        case nil: break
        }
        if o.type == .trailingStop { o.watermark = reference(book) }
        orders[o.id] = o
        out.append(.orderAccepted(n))
        if book.state == .preOpen {
            orders[o.id]!.place = .pending
            orders[o.id]!.time = nextTime()
            return
        }
        arrive(o.id)
        runStops(n.symbol)
    }

    func validate(_ o: NewOrder, _ book: BookState) -> RejectReason? {
        if book.state == .halted { return .symbolHalted(o.symbol) }
        if book.state == .closed { return .symbolClosed(o.symbol) }
        if orders[o.orderID.rawValue] != nil { return .duplicateOrderID(o.orderID) }
        if let r = checkQuantity(o.quantity, book.rules) { return r }
        let needsLimit = [.limit, .stopLimit].contains(o.type)
        let needsStop = [.stop, .stopLimit].contains(o.type)
        if needsLimit && o.limitPrice == nil { return .limitPriceRequired }
        if !needsLimit && o.limitPrice != nil { return .limitPriceNotAllowed }
        if needsStop && o.stopPrice == nil { return .stopPriceRequired }
        if !needsStop && o.stopPrice != nil { return .stopPriceNotAllowed }
        if o.type == .trailingStop && o.trailingOffset == nil { return .trailingOffsetRequired }
        if o.type != .trailingStop && o.trailingOffset != nil { return .trailingOffsetNotAllowed }
        for p in [o.limitPrice, o.stopPrice].compactMap({ $0 }) {
            if let r = checkPrice(p, book.rules) { return r }
        }
        switch o.trailingOffset {
        case .amount(let a)?: if a.units <= 0 || a > Price.max { return .trailingOffsetInvalid }
        case .basisPoints(let bp)?: if bp < 1 || bp > 9_999 { return .trailingOffsetInvalid }
        case nil: break
        }
        if o.type == .market && (o.timeInForce == .gtc || o.timeInForce == .gtd) {
            return .timeInForceNotAllowed(o.timeInForce, o.type)
        }
        if o.timeInForce == .gtd {
            guard let e = o.expireTime else { return .expireTimeRequired }
            if e.nanos <= now { return .expireTimeInPast(e) }
        } else if o.expireTime != nil { return .expireTimeNotAllowed }
        if let d = o.displayQuantity {
            if o.type != .limit || d.shares < 1 || d > o.quantity { return .displayQuantityInvalid(d) }
            if ![.day, .gtc, .gtd].contains(o.timeInForce) { return .icebergMustRest }
        }
        if o.postOnly {
            if o.type != .limit || ![.day, .gtc, .gtd].contains(o.timeInForce) { return .postOnlyMustBeLimit }
            if book.state == .open && crosses(o.symbol, o.side, o.limitPrice!.units) { return .wouldTakeLiquidity }
        }
        if o.type == .trailingStop && reference(book) == 0 { return .noReferencePrice }
        if orders.count >= ordersMax { return .bookFull(o.symbol) }
        return nil
    }

    func checkQuantity(_ q: Quantity, _ rules: InstrumentRules) -> RejectReason? {
        if q.shares <= 0 { return .quantityNotPositive }
        if q < rules.orderQtyMin { return .quantityBelowMinimum(q, minimum: rules.orderQtyMin) }
        if q > rules.orderQtyMax { return .quantityAboveMaximum(q, maximum: rules.orderQtyMax) }
        if q.shares % rules.lotSize.shares != 0 { return .quantityNotMultipleOfLot(q, lot: rules.lotSize) }
        return nil
    }

    func checkPrice(_ p: Price, _ rules: InstrumentRules) -> RejectReason? {
        if p.units <= 0 { return .priceNotPositive(p) }
        if p > Price.max { return .priceAboveMaximum(p) }
        if !rules.tickTable.isOnTick(p) { return .priceOffTick(p, tick: rules.tickTable.tick(at: p)) }
        return nil
    }

    func reference(_ book: BookState) -> Int64 {
        book.lastTrade != 0 ? book.lastTrade : (book.rules.previousClose?.units ?? 0)
    }

    func resting(_ symbol: Symbol, _ side: Side) -> [Order] {
        orders.values.filter { $0.symbol == symbol && $0.place == .book && $0.side == side }
    }

    /// Best first: highest bid or lowest ask, then earliest time.
    func better(_ a: Order, _ b: Order) -> Bool {
        if a.price != b.price { return a.side == .buy ? a.price > b.price : a.price < b.price }
        return a.time < b.time
    }

    func bestPrice(_ symbol: Symbol, _ side: Side) -> Int64? {
        resting(symbol, side).min(by: better)?.price
    }

    func crosses(_ symbol: Symbol, _ side: Side, _ price: Int64) -> Bool {
        guard let best = bestPrice(symbol, side.opposite) else { return false }
        return side == .buy ? price >= best : price <= best
    }

    func arrive(_ id: UInt64) {
        let o = orders[id]!
        if o.type.isStop {
            orders[id]!.place = .stop
            return
        }
        if o.postOnly && crosses(o.symbol, o.side, o.price) {
            finish(id, .wouldTakeLiquidity)
            return
        }
        execute(id)
    }

    func protection(_ symbol: Symbol, _ side: Side) -> Int64? {
        let book = books[symbol]!
        var ref = reference(book)
        if ref == 0 {
            guard let best = bestPrice(symbol, side.opposite) else { return nil }
            ref = best
        }
        let delta = ref * book.rules.marketProtectionBasisPoints / 10_000
        if side == .buy { return book.rules.tickTable.roundDown(Price(units: ref + delta)).units }
        let floor = ref - delta
        return floor <= 0 ? 1 : book.rules.tickTable.roundUp(Price(units: floor)).units
    }

    func execute(_ id: UInt64) {
        let o = orders[id]!
        var limit = o.price
        if o.isMarketLike {
            guard let p = protection(o.symbol, o.side) else { finish(id, .noLiquidity); return }
            limit = p
        }
        if o.tif == .fok {
            // Whole levels within the limit, best first; any own order on a level reached is a self trade.
            let makers = resting(o.symbol, o.side.opposite).filter { o.side == .buy ? $0.price <= limit : $0.price >= limit }
            let prices = Set(makers.map(\.price)).sorted { o.side == .buy ? $0 < $1 : $0 > $1 }
            var available: Int64 = 0
            var outcome: CancelReason? = .fillOrKill
            for price in prices {
                let level = makers.filter { $0.price == price }
                if o.stp != .none && level.contains(where: { $0.account == o.account }) { outcome = .selfTradePrevention; break }
                available += level.reduce(0) { $0 + $1.leaves }
                if available >= o.leaves { outcome = nil; break }
            }
            if let reason = outcome { finish(id, reason); return }
        }
        guard match(id, limit: limit) else { return }
        let after = orders[id]!
        if after.leaves == 0 {
            orders[id] = nil
        } else if after.isMarketLike {
            finish(id, bestPrice(o.symbol, o.side.opposite) != nil ? .protectionLimit : .noLiquidity)
        } else if after.tif == .ioc {
            finish(id, .immediateOrCancel)
        } else {
            orders[id]!.place = .book
            orders[id]!.visible = after.display > 0 ? min(after.display, after.leaves) : after.leaves
            orders[id]!.time = nextTime()
            rested(id)
        }
    }

    /// Returns false when self-trade prevention removed the taker.
    func match(_ id: UInt64, limit: Int64) -> Bool {
        while orders[id]!.leaves > 0 {
            let t = orders[id]!
            guard let m = resting(t.symbol, t.side.opposite).min(by: better),
                  t.side == .buy ? m.price <= limit : m.price >= limit else { break }
            if t.stp != .none && m.account == t.account {
                switch t.stp {
                case .none: break
                case .cancelNewest: finish(id, .selfTradePrevention); return false
                case .cancelOldest: finish(m.id, .selfTradePrevention); continue
                case .cancelBoth: finish(m.id, .selfTradePrevention); finish(id, .selfTradePrevention); return false
                case .decrement:
                    let d = min(t.leaves, m.leaves)
                    if m.leaves == d {
                        finish(m.id, .selfTradePrevention)
                    } else {
                        orders[m.id]!.leaves -= d
                        orders[m.id]!.quantity -= d
                        orders[m.id]!.visible = min(m.visible, m.leaves - d)
                        out.append(.selfTradeDecremented(OrderID(m.id), AccountID(m.account), quantity: Quantity(d), leaves: Quantity(m.leaves - d)))
                    }
                    if t.leaves == d { finish(id, .selfTradePrevention); return false }
                    orders[id]!.leaves -= d
                    orders[id]!.quantity -= d
                    out.append(.selfTradeDecremented(OrderID(t.id), AccountID(t.account), quantity: Quantity(d), leaves: Quantity(t.leaves - d)))
                    continue
                }
            }
            let q = min(t.leaves, m.visible)
            precondition(t.side == .buy ? m.price <= limit : m.price >= limit, "fill outside the limit")
            orders[id]!.leaves -= q
            orders[m.id]!.leaves -= q
            orders[m.id]!.visible -= q
            execution += 1
            let maker = orders[m.id]!
            out.append(.trade(Trade(executionID: ExecutionID(execution), symbol: t.symbol, price: Price(units: m.price),
                                    quantity: Quantity(q), takerSide: t.side, makerOrderID: OrderID(m.id),
                                    makerAccount: AccountID(m.account), makerLeaves: Quantity(maker.leaves),
                                    takerOrderID: OrderID(t.id), takerAccount: AccountID(t.account),
                                    takerLeaves: Quantity(t.leaves - q))))
            var book = books[t.symbol]!
            book.lastTrade = m.price
            book.passHigh = book.passHigh == 0 ? m.price : max(book.passHigh, m.price)
            book.passLow = book.passLow == 0 ? m.price : min(book.passLow, m.price)
            books[t.symbol] = book
            if maker.visible == 0 {
                if maker.leaves > 0 {
                    orders[m.id]!.visible = min(maker.display, maker.leaves)
                    orders[m.id]!.time = nextTime()
                    rested(m.id)
                } else {
                    orders[m.id] = nil
                }
            }
        }
        return true
    }

    func rested(_ id: UInt64) {
        let o = orders[id]!
        out.append(.orderRested(OrderID(o.id), AccountID(o.account), o.symbol, o.side, price: Price(units: o.price),
                                shown: Quantity(o.visible)))
    }

    func finish(_ id: UInt64, _ reason: CancelReason) {
        let o = orders.removeValue(forKey: id)!
        out.append(.orderCancelled(OrderID(o.id), AccountID(o.account), leaves: Quantity(o.leaves), reason))
    }

    func expire(_ id: UInt64) {
        let o = orders.removeValue(forKey: id)!
        out.append(.orderExpired(OrderID(o.id), AccountID(o.account), leaves: Quantity(o.leaves)))
    }

    func triggered(_ o: Order, _ last: Int64) -> Bool {
        if o.type == .trailingStop {
            if o.trailInBasisPoints {
                return o.side == .sell ? last * 10_000 <= o.watermark * (10_000 - o.trail)
                                       : last * 10_000 >= o.watermark * (10_000 + o.trail)
            }
            return o.side == .sell ? last <= o.watermark - o.trail : last >= o.watermark + o.trail
        }
        return o.side == .buy ? last >= o.stopPrice : last <= o.stopPrice
    }

    func runStops(_ symbol: Symbol) {
        guard books[symbol]!.state == .open else { return }
        while books[symbol]!.lastTrade != 0 {
            let book = books[symbol]!
            for o in orders.values where o.symbol == symbol && o.place == .stop && o.type == .trailingStop && book.passHigh != 0 {
                orders[o.id]!.watermark = o.side == .sell ? max(o.watermark, book.passHigh) : min(o.watermark, book.passLow)
            }
            books[symbol]!.passHigh = 0
            books[symbol]!.passLow = 0
            let last = book.lastTrade
            let stops = orders.values.filter { $0.symbol == symbol && $0.place == .stop }
            let buys = stops.filter { $0.type != .trailingStop && $0.side == .buy && triggered($0, last) }
                .sorted { ($0.stopPrice, $0.priority) < ($1.stopPrice, $1.priority) }
            let sells = stops.filter { $0.type != .trailingStop && $0.side == .sell && triggered($0, last) }
                .sorted { $0.stopPrice != $1.stopPrice ? $0.stopPrice > $1.stopPrice : $0.priority < $1.priority }
            let trailing = stops.filter { $0.type == .trailingStop && triggered($0, last) }.sorted { $0.priority < $1.priority }
            guard let s = buys.first ?? sells.first ?? trailing.first else { return }
            orders[s.id]!.place = .working
            orders[s.id]!.type = s.type == .stopLimit ? .limit : .market
            out.append(.stopTriggered(OrderID(s.id), AccountID(s.account), lastTrade: Price(units: last)))
            execute(s.id)
        }
    }

    // MARK: replace

    func replace(_ r: ReplaceOrder) {
        guard let o = orders[r.orderID.rawValue], o.account == r.account.rawValue else {
            out.append(.replaceRejected(r.orderID, newOrderID: r.newOrderID, r.account, .orderNotOpen(r.orderID)))
            return
        }
        let book = books[o.symbol]!
        let filled = o.quantity - o.leaves
        let newLimit = r.limitPrice?.units ?? o.price
        let newStop = r.stopPrice?.units ?? o.stopPrice
        let hasLimit = [.limit, .stopLimit].contains(o.type)
        let hasStop = [.stop, .stopLimit].contains(o.type)
        var reason: RejectReason?
        if book.state == .halted { reason = .symbolHalted(o.symbol) }
        else if book.state == .closed { reason = .symbolClosed(o.symbol) }
        else if o.type == .market || o.type == .trailingStop { reason = .replaceNotAllowed(o.type) }
        else if r.newOrderID != r.orderID && orders[r.newOrderID.rawValue] != nil { reason = .duplicateOrderID(r.newOrderID) }
        else if let q = checkQuantity(r.quantity, book.rules) { reason = q }
        else if r.quantity.shares <= filled { reason = .replaceQuantityNotAboveFilled(r.quantity, filled: Quantity(filled)) }
        else if r.limitPrice != nil && !hasLimit { reason = .limitPriceNotAllowed }
        else if r.stopPrice != nil && !hasStop { reason = .stopPriceNotAllowed }
        else if let p = r.limitPrice, let q = checkPrice(p, book.rules) { reason = q }
        else if let p = r.stopPrice, let q = checkPrice(p, book.rules) { reason = q }
        else if r.quantity.shares == o.quantity && newLimit == o.price && newStop == o.stopPrice && r.newOrderID == r.orderID {
            reason = .replaceChangesNothing
        } else if o.postOnly && book.state == .open && o.place == .book && crosses(o.symbol, o.side, newLimit) {
            reason = .wouldTakeLiquidity
        }
        if let reason {
            out.append(.replaceRejected(r.orderID, newOrderID: r.newOrderID, r.account, reason))
            return
        }
        let keeps = newLimit == o.price && newStop == o.stopPrice && r.quantity.shares <= o.quantity
        let newLeaves = r.quantity.shares - filled
        var n = o
        orders[o.id] = nil
        n.id = r.newOrderID.rawValue
        n.quantity = r.quantity.shares
        n.leaves = newLeaves
        if keeps {
            if n.place == .book { n.visible = n.display > 0 ? min(n.visible, newLeaves) : newLeaves }
        } else {
            n.price = newLimit
            n.stopPrice = newStop
            serial += 1
            n.priority = serial
        }
        let place = n.place
        if !keeps { n.place = place == .pending ? .pending : .working }
        if !keeps && place == .pending { n.time = nextTime() }
        orders[n.id] = n
        out.append(.orderReplaced(Replacement(orderID: r.orderID, newOrderID: r.newOrderID, account: r.account,
                                              quantity: r.quantity, leaves: Quantity(newLeaves),
                                              limitPrice: hasLimit ? Price(units: newLimit) : nil,
                                              stopPrice: hasStop ? Price(units: newStop) : nil, keptPriority: keeps)))
        guard !keeps else { return }
        switch place {
        case .pending, .working: break
        case .stop:
            orders[n.id]!.place = .stop
            runStops(o.symbol)
        case .book where book.state == .preOpen:
            orders[n.id]!.place = .pending
            orders[n.id]!.time = nextTime()
        case .book:
            execute(n.id)
            runStops(o.symbol)
        }
    }

    /// The book as the engine reports it: levels best first, each in time priority.
    public func restingOrders(_ symbol: Symbol, side: Side) -> [[RestingOrder]] {
        let sorted = resting(symbol, side).sorted(by: better)
        var levels: [[RestingOrder]] = []
        for o in sorted {
            let r = RestingOrder(orderID: OrderID(o.id), account: AccountID(o.account), side: o.side,
                                 price: Price(units: o.price), leaves: Quantity(o.leaves), visible: Quantity(o.visible))
            if let last = levels.last?.last, last.price == r.price { levels[levels.count - 1].append(r) } else { levels.append([r]) }
        }
        return levels
    }
}
