import BourseCore

/// One account's balances and terms in one cache line, packed: every new order, cancel and fill reads
/// it, and with thousands of accounts it is rarely in cache. Money is in units of 1/10,000 dollar. What
/// trades moved (unsettled cash) and realized P&L are kept per position, where fills already write;
/// the account's figures are their sums.
struct AccountRecord {
    /// Trade-date cash: moved by every fill, deposit and withdrawal.
    var cash: Int64 = 0
    /// What open orders that open or add to positions have reserved.
    var cashHold: Int64 = 0
    var orderNotionalMax: Int64 = 0
    var id: UInt32 = 0
    private var openOrders32: Int32 = 0
    private var orderQtyMax32: Int32 = 0
    private var positionMax32: Int32 = 0
    private var openOrdersPerSymbolMax32: Int32 = 0
    private var openOrdersMax32: Int32 = 0
    /// The account's positions in the order they were first used, linked through `PositionRecord.next`.
    var firstPosition: Int32 = -1
    private var collar16: Int16 = 0
    private var initial16: Int16 = 0
    private var maintenanceLong16: Int16 = 0
    private var maintenanceShort16: Int16 = 0
    var kind: AccountKind = .cash
    var state: AccountState = .active

    init() {}

    init(id: AccountID, terms: AccountTerms) {
        self.id = id.rawValue
        kind = terms.kind
        limits = terms.limits
        margin = terms.margin
    }

    /// Valid limits and rates (`isValid`) fit the packed fields: counts and quantities in 32 bits, basis
    /// points in 16.
    var limits: AccountLimits {
        get {
            AccountLimits(orderQtyMax: Quantity(Int64(orderQtyMax32)), orderNotionalMax: Money(units: orderNotionalMax),
                          openOrdersPerSymbolMax: Int64(openOrdersPerSymbolMax32), openOrdersMax: Int64(openOrdersMax32),
                          positionMax: Quantity(Int64(positionMax32)), collarBasisPoints: Int64(collar16))
        }
        set {
            orderQtyMax32 = Int32(newValue.orderQtyMax.shares)
            orderNotionalMax = newValue.orderNotionalMax.units
            openOrdersPerSymbolMax32 = Int32(newValue.openOrdersPerSymbolMax)
            openOrdersMax32 = Int32(newValue.openOrdersMax)
            positionMax32 = Int32(newValue.positionMax.shares)
            collar16 = Int16(newValue.collarBasisPoints)
        }
    }

    var margin: MarginRates {
        get {
            MarginRates(initialBasisPoints: Int64(initial16), maintenanceLongBasisPoints: Int64(maintenanceLong16),
                        maintenanceShortBasisPoints: Int64(maintenanceShort16))
        }
        set {
            initial16 = Int16(newValue.initialBasisPoints)
            maintenanceLong16 = Int16(newValue.maintenanceLongBasisPoints)
            maintenanceShort16 = Int16(newValue.maintenanceShortBasisPoints)
        }
    }

    var openOrders: Int64 {
        get { Int64(openOrders32) }
        set { openOrders32 = Int32(newValue) }
    }
}

/// One account's position in one symbol, and what its open orders need of it: one cache line. Share
/// counts other than the quantity fit in 32 bits (they are bounded by the position limit, at most 10^9).
struct PositionRecord {
    /// Shares: positive long, negative short.
    var quantity: Int64 = 0
    /// What the position cost (negative for a short: the proceeds), average-cost method.
    var cost: Int64 = 0
    var realized: Int64 = 0
    /// Cash that trades in this symbol moved and settlement has not yet.
    var unsettled: Int64 = 0
    var account: Int32 = -1
    var book: Int32 = -1
    private var held32: Int32 = 0
    private var openingBuys32: Int32 = 0
    private var openingSells32: Int32 = 0
    /// Open orders in the symbol: at most `AccountLimits.openOrdersPerSymbolMax`, a million.
    var openOrders: Int32 = 0
    var next: Int32 = -1

    /// Shares reserved by open orders that reduce the position (sells of a long, buys covering a short).
    var held: Int64 {
        get { Int64(held32) }
        set { held32 = Int32(newValue) }
    }
    /// Leaves of open orders that open or add to a position, per side.
    var openingBuys: Int64 {
        get { Int64(openingBuys32) }
        set { openingBuys32 = Int32(newValue) }
    }
    var openingSells: Int64 {
        get { Int64(openingSells32) }
        set { openingSells32 = Int32(newValue) }
    }
}

extension MatchingEngine {
    // MARK: - Account commands

    func openAccount(_ id: AccountID, _ number: AccountNumber, _ terms: AccountTerms) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        guard id != .street else { return reject(.accountIDReserved(id)) }
        guard accountIndex.find(UInt64(id.rawValue)) == nil else { return reject(.accountExists(id)) }
        guard accountsByNumber[number] == nil else { return reject(.accountNumberTaken(number)) }
        guard accounts.live < limits.accountsMax else { return reject(.tooManyAccounts) }
        guard terms.limits.isValid(), terms.margin.isValid() else { return reject(.invalidAccountTerms) }
        register(id, number, accounts.allocate(AccountRecord(id: id, terms: terms)))
        out.append(.accountOpened(id, number, terms))
    }

    /// Indexes a newly allocated account by id and number; handles are allocated in opening order.
    func register(_ id: AccountID, _ number: AccountNumber, _ handle: Int32) {
        assert(Int(handle) == accountNumbers.count, "accounts are never freed, so handles follow opening order")
        accountIndex.insert(UInt64(id.rawValue), handle)
        accountNumbers.append(number)
        accountsByNumber[number] = id
    }

    func deposit(_ id: AccountID, _ amount: Money) {
        guard let a = usableAccount(id) else { return }
        guard amount.units > 0 else { return reject(.amountNotPositive(amount)) }
        let limit = Money.balanceLimit.units
        // Both sums stay below the limit, itself far below Int64's edge, so neither can wrap.
        guard amount.units <= limit, accounts[a].cash <= limit - amount.units, -outsideCash <= limit - amount.units else {
            return reject(.balanceLimit(amount))
        }
        accounts[a].cash += amount.units
        outsideCash -= amount.units
        ledgerTransactions += 1
        out.append(.cashDeposited(id, amount))
    }

    func withdraw(_ id: AccountID, _ amount: Money) {
        guard let a = usableAccount(id) else { return }
        guard amount.units > 0 else { return reject(.amountNotPositive(amount)) }
        if let reason = cashMayLeave(a, amount) { return reject(reason) }
        accounts[a].cash -= amount.units
        outsideCash += amount.units
        ledgerTransactions += 1
        out.append(.cashWithdrawn(id, amount))
    }

    /// Why `amount` cannot leave the account (by withdrawal, transfer or journal), if it cannot.
    func cashMayLeave(_ a: Int32, _ amount: Money) -> CommandRejectReason? {
        let available = withdrawable(a)
        guard amount.units <= available else { return .insufficientCash(needs: amount, available: Money(units: max(available, 0))) }
        return nil
    }

    /// Cash not reserved by orders; for a margin account no more than its buying power either, so that a
    /// withdrawal never takes the account below its initial margin. Fails closed to zero when a position
    /// cannot be valued.
    func withdrawable(_ a: Int32) -> Int64 {
        let account = accounts[a]
        let free = account.cash - account.cashHold
        guard account.kind == .margin else { return free }
        guard case .valued(let m) = marginFigures(a) else { return 0 }
        return Int64(clamping: min(Int128(free), m.buyingPower(hold: account.cashHold)))
    }

    func transferIn(_ id: AccountID, _ symbol: Symbol, _ qty: Quantity, cost: Price) {
        guard let a = usableAccount(id) else { return }
        guard let bookIndex = symbolIndex.find(symbol.packed) else { return reject(.unknownSymbol(symbol)) }
        guard qty.shares > 0, qty <= Quantity.max else { return reject(.quantityInvalid(qty)) }
        guard cost.units > 0, cost <= Price.max else { return reject(.costInvalid(cost)) }
        let (value, overflow) = qty.shares.multipliedReportingOverflow(by: cost.units)
        if let reason = sharesMayArrive(a, bookIndex, qty.shares, basis: overflow ? .max : value) { return reject(reason) }
        receiveShares(a, bookIndex, qty.shares, basis: value)
        books[Int(bookIndex)].outsideShares -= qty.shares
        ledgerTransactions += 1
        out.append(.securitiesTransferredIn(id, symbol, qty, costPerShare: cost))
    }

    func transferOut(_ id: AccountID, _ symbol: Symbol, _ qty: Quantity) {
        guard let a = usableAccount(id) else { return }
        guard let bookIndex = symbolIndex.find(symbol.packed) else { return reject(.unknownSymbol(symbol)) }
        guard qty.shares > 0, qty <= Quantity.max else { return reject(.quantityInvalid(qty)) }
        if let reason = sharesMayLeave(a, bookIndex, qty.shares) { return reject(reason) }
        _ = sendShares(a, bookIndex, qty.shares)
        books[Int(bookIndex)].outsideShares += qty.shares
        ledgerTransactions += 1
        out.append(.securitiesTransferredOut(id, symbol, qty))
    }

    /// Why `qty` shares with this cost basis cannot arrive in the account's position, if they cannot.
    func sharesMayArrive(_ a: Int32, _ bookIndex: Int32, _ qty: Int64, basis value: Int64) -> CommandRejectReason? {
        let symbol = books[Int(bookIndex)].symbol
        let p = positionIndex.find(positionKey(a, bookIndex))
        let held = p.map { positions[$0].quantity } ?? 0
        guard held >= 0 else { return .positionShort(symbol) }
        // Shares arriving under an open short sale would let it fill against a long position.
        if let p, positions[p].openingSells > 0 { return .shortSaleOpen(symbol) }
        let limit = accounts[a].limits.positionMax.shares
        guard held <= limit - qty else { return .positionLimit(symbol, would: Quantity(held + qty), limit: Quantity(limit)) }
        // A position's cost basis stays within the balance limit, so sums of bases cannot wrap.
        let basis = p.map { positions[$0].cost } ?? 0
        guard value <= Money.balanceLimit.units - basis else { return .balanceLimit(Money(units: value)) }
        return nil
    }

    /// Why `qty` shares cannot leave the account's position, if they cannot: only shares no order holds
    /// may, and from a margin account only what its buying power allows.
    func sharesMayLeave(_ a: Int32, _ bookIndex: Int32, _ qty: Int64) -> CommandRejectReason? {
        let symbol = books[Int(bookIndex)].symbol
        let p = positionIndex.find(positionKey(a, bookIndex))
        let available = p.map { max(positions[$0].quantity - positions[$0].held, 0) } ?? 0
        guard qty <= available else {
            return .insufficientPosition(symbol, needs: Quantity(qty), available: Quantity(available))
        }
        if accounts[a].kind == .margin { return marginForTransferOut(a, qty, books[Int(bookIndex)]) }
        return nil
    }

    /// Adds shares and their basis to the account's position, making it if needed.
    func receiveShares(_ a: Int32, _ bookIndex: Int32, _ qty: Int64, basis: Int64) {
        // The handle first: making a position may move the pool that `pointer` reads.
        let handle = positionIndex.find(positionKey(a, bookIndex)) ?? makePosition(a, bookIndex)
        let pp = positions.pointer(handle)
        pp.pointee.quantity += qty
        pp.pointee.cost += basis
        // Shares that arrive free of payment are not a fill of the day.
        clearing.base[handle, default: .zero].shares += qty
    }

    /// Takes shares from the account's long position; returns the cost basis that leaves with them.
    /// Leaving without a sale realizes nothing: the basis leaves in proportion.
    func sendShares(_ a: Int32, _ bookIndex: Int32, _ qty: Int64) -> Int64 {
        let handle = positionIndex.find(positionKey(a, bookIndex))!
        clearing.base[handle, default: .zero].shares -= qty
        let pp = positions.pointer(handle)
        let basis = proportion(pp.pointee.cost, qty, of: pp.pointee.quantity)
        pp.pointee.cost -= basis
        pp.pointee.quantity -= qty
        return basis
    }

    /// Shares leaving a margin account take their value from its equity and their initial margin from its
    /// requirement: what they use of buying power is the value less that margin. It must be available;
    /// without a price to value the account, it fails closed.
    private func marginForTransferOut(_ a: Int32, _ qty: Int64, _ book: Book) -> CommandRejectReason? {
        guard case .valued(let m) = marginFigures(a) else {
            return .insufficientEquity(needs: Money(units: Int64(clamping: Int128(qty) * Int128(max(mark(book), 1)))),
                                       available: .zero)
        }
        let value = Int128(qty) * Int128(mark(book))
        let uses = value - requirement(value, accounts[a].margin.initialBasisPoints)
        let available = m.buyingPower(hold: accounts[a].cashHold)
        guard uses <= available else {
            return .insufficientEquity(needs: Money(units: Int64(clamping: uses)),
                                       available: Money(units: Int64(clamping: max(available, 0))))
        }
        return nil
    }

    func setAccountState(_ id: AccountID, _ state: AccountState) {
        guard let a = usableAccount(id) else { return }
        if state == .closed { return closeAccount(id) }
        accounts[a].state = state
        out.append(.accountStateChanged(id, state))
    }

    func setAccountLimits(_ id: AccountID, _ limits: AccountLimits) {
        guard let a = usableAccount(id) else { return }
        guard limits.isValid() else { return reject(.invalidAccountTerms) }
        accounts[a].limits = limits
        out.append(.accountLimitsChanged(id, limits))
    }

    /// Cancels every open order of the account, book by book in listing order and within a book in
    /// the snapshot walk's order, then blocks the account: one command, so nothing can slip between.
    func killSwitch(_ id: AccountID) {
        guard let a = usableAccount(id) else { return }
        var mine: [Int32] = []
        if accounts[a].openOrders > 0 {
            for book in books {
                forEachOrder(in: book) { s in if orders[s].account == id.rawValue { mine.append(s) } }
            }
        }
        // Cancelling an order of a list may end the other of its pair first.
        for s in mine where orders[s].place != .free {
            unplace(s)
            finish(s, cancelling: .killSwitch)
        }
        accounts[a].state = .blocked
        out.append(.accountStateChanged(id, .blocked))
    }

    func closeAccount(_ id: AccountID) {
        guard let a = usableAccount(id) else { return }
        let account = accounts[a]
        var flat = true
        var p = account.firstPosition
        while p >= 0 {
            if positions[p].quantity != 0 { flat = false }
            p = positions[p].next
        }
        guard account.cash == 0, account.openOrders == 0, flat else { return reject(.accountNotEmpty(id)) }
        guard transfersPerAccount[a] == nil else { return reject(.transfersPending(id)) }
        accounts[a].state = .closed
        out.append(.accountClosed(id))
    }

    // MARK: - Helpers

    @inline(__always) func reject(_ reason: CommandRejectReason) {
        out.append(.commandRejected(reason))
    }

    /// The account's handle, or nil after reporting why an account command cannot use it.
    func usableAccount(_ id: AccountID) -> Int32? {
        guard keepsAccounts else {
            reject(.accountsNotKept)
            return nil
        }
        guard let a = accountIndex.find(UInt64(id.rawValue)) else {
            reject(.unknownAccount(id))
            return nil
        }
        guard accounts[a].state != .closed else {
            reject(.accountClosed(id))
            return nil
        }
        return a
    }

    @inline(__always) func positionKey(_ account: Int32, _ book: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: account)) << 32 | UInt64(UInt32(bitPattern: book))
    }

    /// A new, flat position appended to the account's list. The walk to the end is paid once per account
    /// and symbol, and spares the account record a tail link.
    func makePosition(_ a: Int32, _ bookIndex: Int32) -> Int32 {
        var record = PositionRecord()
        record.account = a
        record.book = bookIndex
        let p = positions.allocate(record)
        positionIndex.insert(positionKey(a, bookIndex), p)
        var last = accounts[a].firstPosition
        if last < 0 {
            accounts[a].firstPosition = p
        } else {
            while positions[last].next >= 0 { last = positions[last].next }
            positions[last].next = p
        }
        return p
    }

    /// `value × part / whole`, truncated toward zero, computed in 128 bits; exactly `value` when
    /// `part` is all of `whole`, so a position closed in pieces leaves no residue of its basis.
    @inline(__always) func proportion(_ value: Int64, _ part: Int64, of whole: Int64) -> Int64 {
        let w = whole.magnitude
        if part.magnitude == w { return value }
        return Int64(Int128(value) * Int128(part.magnitude) / Int128(w))
    }
}
