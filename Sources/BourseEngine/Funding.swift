import BourseCore

/// A transfer between an account and its bank that has not ended yet.
struct PendingTransfer: Equatable {
    var request: TransferRequest
    var account: Int32
    var status: TransferStatus
    /// When the simulated bank takes its next step; unused when an operator advances the transfer.
    var due: Int64
}

extension MatchingEngine {
    // MARK: - Journals

    /// Moves cash or shares from one account to another in one step: the sender gives only what it may
    /// withdraw (cash no order holds; shares no order holds), the receiver takes only what its limits
    /// allow, and nothing else moves.
    func journal(_ journal: Journal) {
        guard let from = usableAccount(journal.from), let to = usableAccount(journal.to) else { return }
        guard from != to else { return reject(.journalToSelf(journal.from)) }
        var basis: Int64 = 0
        switch journal.asset {
        case .cash(let amount):
            guard amount.units > 0 else { return reject(.amountNotPositive(amount)) }
            if let reason = cashMayLeave(from, amount) { return reject(reason) }
            guard amount.units <= Money.balanceLimit.units - accounts[to].cash else { return reject(.balanceLimit(amount)) }
            accounts[from].cash -= amount.units
            accounts[to].cash += amount.units
        case .shares(let symbol, let qty):
            guard let bookIndex = symbolIndex.find(symbol.packed) else { return reject(.unknownSymbol(symbol)) }
            guard qty.shares > 0, qty <= Quantity.max else { return reject(.quantityInvalid(qty)) }
            if let reason = sharesMayLeave(from, bookIndex, qty.shares) { return reject(reason) }
            let p = positionIndex.find(positionKey(from, bookIndex))!
            let leaving = proportion(positions[p].cost, qty.shares, of: positions[p].quantity)
            if let reason = sharesMayArrive(to, bookIndex, qty.shares, basis: leaving) { return reject(reason) }
            basis = sendShares(from, bookIndex, qty.shares)
            assert(basis == leaving, "the basis checked is the basis moved")
            receiveShares(to, bookIndex, qty.shares, basis: basis)
        }
        ledgerTransactions += 1
        out.append(.journalPosted(journal, basis: Money(units: basis)))
    }

    // MARK: - Transfers

    /// Queues a transfer. An outgoing one takes its cash from the account now, within what it may
    /// withdraw, so that nothing else can spend it while the bank works.
    func requestTransfer(_ request: TransferRequest) {
        guard let a = usableAccount(request.account) else { return }
        let amount = request.amount
        guard amount.units > 0 else { return reject(.amountNotPositive(amount)) }
        guard amount.units <= Money.balanceLimit.units else { return reject(.balanceLimit(amount)) }
        guard transfersPerAccount[a, default: 0] < TransferRequest.pendingPerAccountMax else {
            return reject(.tooManyTransfers(request.account))
        }
        if request.direction == .outgoing {
            if let reason = cashMayLeave(a, amount) { return reject(reason) }
            accounts[a].cash -= amount.units
            transitCash += amount.units
            ledgerTransactions += 1
        }
        lastTransfer += 1
        let id = lastTransfer
        transfers[id] = PendingTransfer(request: request, account: a, status: .queued, due: now + Int64(request.bankStepSeconds) * 1_000_000_000)
        transfersPerAccount[a, default: 0] += 1
        out.append(.transferChanged(id, request, .queued, .none))
    }

    /// Moves a transfer on. Completing posts it: cash arrives in the account, or leaves the venue for the
    /// bank. Rejecting or cancelling an outgoing transfer returns its cash.
    func advanceTransfer(_ id: UInt64, to status: TransferStatus, reason: TransferReason) {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        guard let transfer = transfers[id] else { return reject(.unknownTransfer(id)) }
        guard transfer.status.mayBecome(status) else { return reject(.transferStatus(id, from: transfer.status, to: status)) }
        let (a, amount) = (transfer.account, transfer.request.amount.units)
        var (status, reason) = (status, status.isFinal && status != .complete ? reason : .none)
        switch (transfer.request.direction, status) {
        case (.incoming, .complete):
            // Credited only now; a balance that grew in the meantime may turn it away.
            if amount <= Money.balanceLimit.units - accounts[a].cash, -outsideCash <= Money.balanceLimit.units - amount {
                accounts[a].cash += amount
                outsideCash -= amount
                ledgerTransactions += 1
            } else {
                (status, reason) = (.rejected, .balanceLimit)
            }
        case (.outgoing, .complete):
            transitCash -= amount
            outsideCash += amount
            ledgerTransactions += 1
        case (.outgoing, .rejected), (.outgoing, .canceled):
            transitCash -= amount
            accounts[a].cash += amount
            ledgerTransactions += 1
        default:
            break
        }
        if status.isFinal {
            transfers[id] = nil
            transfersPerAccount[a]! -= 1
            if transfersPerAccount[a] == 0 { transfersPerAccount[a] = nil }
        } else {
            transfers[id]!.status = status
            transfers[id]!.due = now + Int64(transfer.request.bankStepSeconds) * 1_000_000_000
        }
        out.append(.transferChanged(id, transfer.request, status, reason))
    }

    /// The simulated bank: each transfer with a bank delay whose step is due moves one step, in id order
    /// so that replay moves them in the same order.
    func advanceDueTransfers() {
        guard keepsAccounts else { return reject(.accountsNotKept) }
        let due = transfers.filter { $0.value.request.bankStepSeconds > 0 && $0.value.due <= now }.keys.sorted()
        for id in due {
            advanceTransfer(id, to: transfers[id]!.status == .queued ? .sent : .complete, reason: .none)
        }
    }

    /// The earliest expiry of a GTD order, from the engine's own heap: a bound, since an order cancelled
    /// meanwhile leaves its entry there until an expiry pass drops it.
    public var nextGTDExpiry: Timestamp? { gtd.top.map { Timestamp(nanos: $0.expire) } }

    /// When the simulated bank's next step is due, if any transfer waits on it.
    public var nextTransferDue: Timestamp? {
        transfers.values.lazy.filter { $0.request.bankStepSeconds > 0 }.map(\.due).min().map(Timestamp.init(nanos:))
    }

    /// The pending transfers, by id, for queries and tests.
    public func pendingTransfer(_ id: UInt64) -> (request: TransferRequest, status: TransferStatus)? {
        transfers[id].map { ($0.request, $0.status) }
    }
}
