import BourseCore
import CBourseSupport

/// The deterministic state machine of the venue: `process(SequencedCommand) -> [Event]`.
/// No clock, randomness or I/O: time and ids come in with the command, and nothing iterates a
/// hash table. Owned by one thread (the sequencer's).
public final class MatchingEngine {
    public struct Limits: Sendable {
        /// Open orders across all books, stops and pending orders included.
        public var ordersMax: Int
        public var symbolsMax: Int
        public var accountsMax: Int
        /// Obligations a command settles at most: a cycle of more goes on in `settleNext` commands, so that
        /// no journal entry (nor the Kafka record that carries it) grows with the number of participants.
        public var settlementOutcomesPerCommandMax: Int
        public init(ordersMax: Int = 8_000_000, symbolsMax: Int = 10_000, accountsMax: Int = 1_000_000,
                    settlementOutcomesPerCommandMax: Int = 4_096) {
            precondition(settlementOutcomesPerCommandMax > 0)
            self.ordersMax = ordersMax
            self.symbolsMax = symbolsMax
            self.accountsMax = accountsMax
            self.settlementOutcomesPerCommandMax = settlementOutcomesPerCommandMax
        }
    }

    public let limits: Limits
    /// Whether every order belongs to an opened account and passes pre-trade risk, and fills move cash
    /// and positions. Without accounts the engine is a matching venue whose members' risk is elsewhere.
    public let keepsAccounts: Bool
    // One thread owns the engine, so the per-access exclusivity checks the runtime would make on these
    // class properties can never fire; unchecked, they stop costing a fifth of the hot path.
    @exclusivity(unchecked) var orders: Pool<OrderSlot>
    /// The cold half of each order, allocated and freed with `orders` so handles agree.
    @exclusivity(unchecked) var details: Pool<OrderDetail>
    @exclusivity(unchecked) var levels: Pool<Level>
    @exclusivity(unchecked) var index: IDMap
    @exclusivity(unchecked) var symbolIndex: IDMap
    @exclusivity(unchecked) var books: [Book] = []
    @exclusivity(unchecked) var gtd = GTDHeap()
    /// Acceptance and priority serial, the last one handed out.
    @exclusivity(unchecked) var serial: UInt64 = 0
    /// The last execution id handed out.
    @exclusivity(unchecked) var lastExecution: UInt64 = 0
    /// The time of the command being processed.
    @exclusivity(unchecked) var now: Int64 = 0
    @exclusivity(unchecked) var out = EventBuffer()
    /// The symbol of the last new order and its book: orders come in bursts per symbol, and this
    /// spares the symbol map's hash for them.
    @exclusivity(unchecked) var lastSymbol: UInt64 = 0
    @exclusivity(unchecked) var lastBookIndex: Int32 = -1

    // Order lists. Looked up by id, never iterated except in key order (the snapshot).
    /// Lists by the id they were accepted under.
    @exclusivity(unchecked) var lists: [UInt64: ListRecord] = [:]
    /// The list of each open member and waiting exit, by its current id.
    @exclusivity(unchecked) var listOf: [UInt64: UInt64] = [:]
    /// Lists whose entry ended filled in this command, with what it filled: their exits are placed for that
    /// when the command's matching is done.
    @exclusivity(unchecked) var listsToPlace: [(key: UInt64, filled: Int64)] = []

    // Accounts, where the engine keeps them.
    @exclusivity(unchecked) var accounts: Pool<AccountRecord>
    @exclusivity(unchecked) var accountIndex: IDMap
    /// Each account's number, by account handle (opening order), and the account each number names.
    var accountNumbers: [AccountNumber] = []
    var accountsByNumber: [AccountNumber: AccountID] = [:]
    @exclusivity(unchecked) var positions: Pool<PositionRecord>
    /// (account handle, book index) to position handle.
    @exclusivity(unchecked) var positionIndex: IDMap
    /// Allocated and freed with `orders` when the engine keeps accounts, so handles agree.
    @exclusivity(unchecked) var reservations: Pool<OrderReservation>
    /// The venue's fee account: fees in, rebates out.
    @exclusivity(unchecked) var venueFees: Int64 = 0
    /// The outside world's cash: minus deposits, plus withdrawals.
    @exclusivity(unchecked) var outsideCash: Int64 = 0
    /// Ledger transactions posted so far: one per deposit, withdrawal, transfer and journal, two per fill.
    @exclusivity(unchecked) var ledgerTransactions: UInt64 = 0
    /// The last transfer id handed out; transfers are numbered from 1.
    @exclusivity(unchecked) var lastTransfer: UInt64 = 0
    /// Transfers queued or sent, by id.
    @exclusivity(unchecked) var transfers: [UInt64: PendingTransfer] = [:]
    /// Pending transfers per account handle, at most `TransferRequest.pendingPerAccountMax`.
    @exclusivity(unchecked) var transfersPerAccount: [Int32: Int] = [:]
    /// Cash of outgoing transfers on its way to banks: taken from accounts, not yet out of the venue.
    @exclusivity(unchecked) var transitCash: Int64 = 0
    /// Business dates, what is due to settle, fails and recent captures.
    var clearing = Clearing()
    /// Open margin calls by account id, and the last call's number.
    var marginCalls: [UInt32: MarginCallRecord] = [:]
    var lastMarginCall: UInt64 = 0

    public init(limits: Limits = Limits(), keepsAccounts: Bool = false) {
        self.limits = limits
        self.keepsAccounts = keepsAccounts
        accounts = Pool(capacity: 1 << 8, blank: AccountRecord())
        accountIndex = IDMap(capacity: 1 << 8)
        positions = Pool(capacity: 1 << 10, blank: PositionRecord())
        positionIndex = IDMap(capacity: 1 << 10)
        reservations = Pool(capacity: 1 << 12, blank: OrderReservation())
        orders = Pool(capacity: 1 << 12, blank: OrderSlot())
        details = Pool(capacity: 1 << 12, blank: OrderDetail())
        levels = Pool(capacity: 1 << 10, blank: Level())
        index = IDMap(capacity: 1 << 12)
        symbolIndex = IDMap(capacity: 64)
    }

    deinit {
        out.deallocate()
        orders.deallocate()
        details.deallocate()
        levels.deallocate()
        index.deallocate()
        symbolIndex.deallocate()
        accounts.deallocate()
        accountIndex.deallocate()
        positions.deallocate()
        positionIndex.deallocate()
        reservations.deallocate()
    }

    /// Applies one command and appends what happened to `events`.
    public func process(_ command: SequencedCommand, into events: inout [Event]) {
        apply(command)
        events.append(contentsOf: out.events(from: 0))
        out.removeAll()
    }

    /// Applies a command, appending its events to `out`. Inlined into the batch loop for the order
    /// commands; the rare rest go through one outlined function, so the hot switch stays small.
    @inline(__always) func apply(_ command: SequencedCommand) {
        now = command.time.nanos
        switch command.command {
        case .newOrder(let order): newOrder(order)
        case .cancel(let cancel): self.cancel(cancel)
        case .replace(let replace): self.replace(replace)
        default: applyRare(command.command)
        }
        if !listsToPlace.isEmpty { placeExits() }
    }

    /// `apply` for a command in place, as the batch loop holds them: switching on the command through
    /// the pointer copies it once rather than twice. `apply(_:)` keeps its own switch: sending it through
    /// this one made the batch loop 2–4% slower, by code placement alone (`BENCHMARKS.md`).
    @inline(__always) func apply(at command: UnsafePointer<SequencedCommand>) {
        now = command.pointee.time.nanos
        switch command.pointee.command {
        case .newOrder(let order): newOrder(order)
        case .cancel(let cancel): self.cancel(cancel)
        case .replace(let replace): self.replace(replace)
        default: applyRare(command.pointee.command)
        }
        if !listsToPlace.isEmpty { placeExits() }
    }

    @inline(never) func applyRare(_ command: Command) {
        switch command {
        case .newOrder, .cancel, .replace: preconditionFailure("order commands are applied inline")
        case .expireOrders: expireDue()
        case .setTradingState(let symbol, let state): setTradingState(symbol, state)
        case .listSymbol(let symbol, let rules): list(symbol, rules)
        case .setEasyToBorrow(let symbol, let easy): setEasyToBorrow(symbol, easy)
        case .setFees(let symbol, let fees): setFees(symbol, fees)
        case .openAccount(let id, let number, let terms): openAccount(id, number, terms)
        case .deposit(let id, let amount): deposit(id, amount)
        case .withdraw(let id, let amount): withdraw(id, amount)
        case .transferIn(let id, let symbol, let qty, let cost): transferIn(id, symbol, qty, cost: cost)
        case .transferOut(let id, let symbol, let qty): transferOut(id, symbol, qty)
        case .setAccountState(let id, let state): setAccountState(id, state)
        case .setAccountLimits(let id, let limits): setAccountLimits(id, limits)
        case .killSwitch(let id): killSwitch(id)
        case .closeAccount(let id): closeAccount(id)
        case .newOrderList(let list): newOrderList(list)
        case .journal(let journal): self.journal(journal)
        case .requestTransfer(let request): requestTransfer(request)
        case .advanceTransfer(let id, let status): advanceTransfer(id, to: status, reason: status == .canceled ? .requester : .bank)
        case .advanceTransfers: advanceDueTransfers()
        case .rollBusinessDate(let roll): rollBusinessDate(roll)
        case .captureTrade(let report): captureTrade(report)
        case .captureTrades(let batch): captureTrades(batch)
        case .settleNext(let date): settleNext(date)
        case .cancelTrade(let cancellation): cancelTrade(cancellation)
        case .clearTrade(let trade, let run): clearTrade(trade, reconciliation: run)
        case .declareDividend(let dividend): declareDividend(dividend)
        case .declareSplit(let split): declareSplit(split)
        case .mark(let request): fixMark(request)
        case .marginCall(let step): marginCall(step)
        case .referenceQuote(let quote): setReferenceQuote(quote)
        // A marker: the lease that numbers terms keeps them rising; the engine's state does not change.
        case .beginTerm(let term): out.append(.termBegan(term))
        }
    }

    public func process(_ command: SequencedCommand) -> [Event] {
        var events: [Event] = []
        process(command, into: &events)
        return events
    }

    // MARK: - Symbols and trading states

    func list(_ symbol: Symbol, _ rules: InstrumentRules) {
        guard symbolIndex.find(symbol.packed) == nil else {
            out.append(.commandRejected(.symbolAlreadyListed(symbol)))
            return
        }
        guard books.count < limits.symbolsMax else {
            out.append(.commandRejected(.tooManySymbols))
            return
        }
        guard (try? rules.validate()) != nil else {
            out.append(.commandRejected(.invalidRules(symbol)))
            return
        }
        symbolIndex.insert(symbol.packed, Int32(books.count))
        books.append(Book(symbol: symbol, rules: rules))
        out.append(.symbolListed(symbol))
    }

    func book(_ symbol: Symbol) -> Book? {
        symbolIndex.find(symbol.packed).map { books[Int($0)] }
    }

    /// The symbol's book, or nil after rejecting the admin command that named an unlisted symbol.
    func listedBook(_ symbol: Symbol) -> Book? {
        guard let book = book(symbol) else {
            out.append(.commandRejected(.unknownSymbol(symbol)))
            return nil
        }
        return book
    }

    func setTradingState(_ symbol: Symbol, _ state: TradingState) {
        guard let book = listedBook(symbol) else { return }
        book.state = state
        out.append(.tradingStateChanged(symbol, state))
        switch state {
        case .closed: expireDayOrders(book)
        case .open: releasePending(book)
        case .preOpen, .halted: break
        }
    }

    func setEasyToBorrow(_ symbol: Symbol, _ easy: Bool) {
        guard let book = listedBook(symbol) else { return }
        book.easyToBorrow = easy
        out.append(.easyToBorrowChanged(symbol, easy))
    }

    func setFees(_ symbol: Symbol, _ fees: FeeSchedule) {
        guard let book = listedBook(symbol) else { return }
        guard fees.isValid else {
            out.append(.commandRejected(.feesInvalid(symbol)))
            return
        }
        book.makerFee = fees.makerPerShare.units
        book.takerFee = fees.takerPerShare.units
        out.append(.feesChanged(symbol, fees))
    }

    // MARK: - New orders

    func newOrder(_ order: NewOrder) {
        let bookIndex: Int32
        if order.symbol.packed == lastSymbol, lastBookIndex >= 0 {
            bookIndex = lastBookIndex
        } else {
            guard let found = symbolIndex.find(order.symbol.packed) else {
                out.append(.orderRejected(order.orderID, order.account, .unknownSymbol(order.symbol)))
                return
            }
            bookIndex = found
            lastSymbol = order.symbol.packed
            lastBookIndex = found
        }
        // `books` holds every book for the engine's life: borrow the reference rather than count it.
        Unmanaged.passUnretained(books[Int(bookIndex)])._withUnsafeGuaranteedRef { book in
            newOrder(order, book, bookIndex)
        }
    }

    private func newOrder(_ order: NewOrder, _ book: Book, _ bookIndex: Int32) {
        if let reason = validate(order, book) {
            out.append(.orderRejected(order.orderID, order.account, reason))
            return
        }
        var reservation: (Reservation, account: Int32)?
        if keepsAccounts {
            guard let a = accountIndex.find(UInt64(order.account.rawValue)) else {
                out.append(.orderRejected(order.orderID, order.account, .unknownAccount(order.account)))
                return
            }
            switch assess(account: a, book, bookIndex: bookIndex, side: order.side, type: order.type,
                          quantity: order.quantity.shares, leaves: order.quantity.shares,
                          limit: order.limitPrice?.units ?? 0, stop: order.stopPrice?.units ?? 0,
                          trail: order.trailingOffset, isNew: true) {
            case .accept(let r): reservation = (r, a)
            case .reject(let reason):
                out.append(.orderRejected(order.orderID, order.account, reason))
                return
            }
        }
        let t = accept(order, book, index: bookIndex)
        if let (r, a) = reservation { reserve(t, r, account: a) }
        out.append(.orderAccepted(order))
        if book.state == .preOpen {
            appendPending(t, book)
            return
        }
        arrive(t, book)
        runStops(book)
    }

    /// Takes a slot for a validated order and indexes it.
    func accept(_ order: NewOrder, _ book: Book, index bookIndex: Int32) -> Int32 {
        serial += 1
        var slot = OrderSlot()
        slot.id = order.orderID.rawValue
        slot.account = order.account.rawValue
        slot.book = bookIndex
        slot.side = order.side
        slot.type = order.type
        slot.tif = order.timeInForce
        slot.stp = order.selfTradePrevention
        slot.postOnly = order.postOnly
        slot.leaves = order.quantity.shares
        slot.price = order.limitPrice?.units ?? 0
        slot.place = .working
        var detail = OrderDetail()
        detail.quantity = order.quantity.shares
        detail.accepted = serial
        detail.priority = serial
        detail.stopPrice = order.stopPrice?.units ?? 0
        detail.display = order.displayQuantity?.shares ?? 0
        switch order.trailingOffset {
        case .amount(let amount)?: detail.trail = amount.units
        case .basisPoints(let bp)?: detail.trail = -bp
        case nil: break
        }
        if order.type == .trailingStop { detail.watermark = referencePrice(book) }
        if let expire = order.expireTime { detail.expire = expire.nanos }
        let t = orders.allocate(slot)
        let d = details.allocate(detail)
        assert(t == d, "order pools out of step")
        if keepsAccounts {
            let r = reservations.allocate(OrderReservation())
            assert(t == r, "order pools out of step")
        }
        if order.expireTime != nil { gtd.push(.init(expire: detail.expire, accepted: serial, slot: t)) }
        index.insert(order.orderID.rawValue, t)
        return t
    }

    /// An accepted order enters an open market: stops wait for their trigger, the rest trades.
    @inline(__always) func arrive(_ t: Int32, _ book: Book) {
        let o = orders.pointer(t)
        if o.pointee.type.isStop {
            insertStop(t, book)
            return
        }
        if o.pointee.postOnly, wouldCross(side: o.pointee.side, price: o.pointee.price, book) {
            finish(t, cancelling: .wouldTakeLiquidity)
            return
        }
        execute(t, book)
    }

    /// Trades a working order as far as it may, then rests, cancels or removes what is left.
    func execute(_ t: Int32, _ book: Book) {
        let o = orders.pointer(t)
        let limit: Int64
        if o.pointee.isMarketLike {
            guard let protection = protectionPrice(o.pointee.side, book) else {
                finish(t, cancelling: .noLiquidity)
                return
            }
            // A buy never trades above the price its hold was reserved at.
            let reserve = keepsAccounts ? reservations[t].reserve : 0
            limit = o.pointee.side == .buy && reserve > 0 ? min(protection, reserve) : protection
        } else {
            limit = o.pointee.price
        }
        if o.pointee.tif == .fok {
            switch fillOrKillCheck(t, book, limit: limit) {
            case .fillable: break
            case .insufficient:
                finish(t, cancelling: .fillOrKill)
                return
            case .selfTrade:
                finish(t, cancelling: .selfTradePrevention)
                return
            }
        }
        // Most limit orders do not reach the opposite side: one comparison spares them the matching loop.
        if o.pointee.isMarketLike || wouldCross(side: o.pointee.side, price: limit, book) {
            guard match(t, book, limit: limit) else { return }
        }
        if o.pointee.leaves == 0 {
            release(t)
        } else if o.pointee.isMarketLike {
            let beyond = o.pointee.side == .buy ? !book.asks.isEmpty : !book.bids.isEmpty
            finish(t, cancelling: beyond ? .protectionLimit : .noLiquidity)
        } else if o.pointee.tif == .ioc {
            finish(t, cancelling: .immediateOrCancel)
        } else {
            rest(t, book)
            reportRested(t, book)
        }
    }

    // MARK: - Cancels

    func cancel(_ c: CancelOrder) {
        guard let s = index.find(c.orderID.rawValue), orders[s].account == c.account.rawValue else {
            if !listOf.isEmpty, cancelHeldExit(c) { return }
            out.append(.cancelRejected(c.orderID, c.account, .orderNotOpen(c.orderID)))
            return
        }
        unplace(s)
        finish(s, cancelling: .requested)
    }

    // MARK: - Shared helpers

    /// Cancels an order that is no longer placed anywhere, reporting its leaves.
    @inline(__always) func finish(_ s: Int32, cancelling reason: CancelReason) {
        let o = orders.pointer(s)
        out.append(.orderCancelled(OrderID(o.pointee.id), AccountID(o.pointee.account), leaves: Quantity(o.pointee.leaves), reason))
        if o.pointee.list != .none { memberEnded(s, .cancelled(reason)) }
        release(s)
    }

    /// Forgets an order that is no longer placed anywhere.
    @inline(__always) func release(_ s: Int32) {
        if orders[s].list != .none { memberEnded(s, .filled) }
        unreserve(s)
        index.remove(orders[s].id)
        orders[s].place = .free
        orders.free(s)
        details.free(s)
        // The next order accepted takes this handle (the pools hand out the last freed first) and writes
        // its detail, last touched when this order was accepted: start loading it now.
        bourse_prefetch(details.pointer(s))
        if keepsAccounts { reservations.free(s) }
    }

    /// Takes an order out of wherever it waits, leaving it working.
    @inline(__always) func unplace(_ s: Int32) {
        switch orders[s].place {
        case .book: detach(s)
        case .stop: removeStop(s)
        case .pending: unlinkPending(s)
        case .working, .free: break
        }
        orders[s].place = .working
    }

    @inline(__always) func wouldCross(side: Side, price: Int64, _ book: Book) -> Bool {
        if side == .buy {
            guard let best = book.asks.best else { return false }
            return price >= levels[best].price
        }
        guard let best = book.bids.best else { return false }
        return price <= levels[best].price
    }

    /// Last trade, else previous close; 0 when neither is known.
    func referencePrice(_ book: Book) -> Int64 {
        book.lastTrade != 0 ? book.lastTrade : book.previousClose
    }

    /// The worst price a market order may trade at: the reference price moved by the protection
    /// percentage, rounded toward the reference onto a tick. With no reference it is measured from
    /// the best opposite price; nil when there is nothing to trade against at all.
    func protectionPrice(_ side: Side, _ book: Book) -> Int64? {
        var reference = referencePrice(book)
        if reference == 0 {
            guard let best = side == .buy ? book.asks.best : book.bids.best else { return nil }
            reference = levels[best].price
        }
        let delta = reference * book.protectionBasisPoints / 10_000
        if side == .buy {
            return book.tickTable.roundDown(Price(units: reference + delta)).units
        }
        let floor = reference - delta
        return floor <= 0 ? 1 : book.tickTable.roundUp(Price(units: floor)).units
    }
}
