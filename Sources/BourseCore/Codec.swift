/// The binary form of commands and events: a tag byte per case, varints for numbers. The version
/// is written once in each file header (journal segment, snapshot), not per record.
public enum Codec {
    /// 2 added accounts, fees and risk reasons; 3 added `orderRested`; 4 account numbers; 5 order lists;
    /// 6 journals and transfers; 7 business dates, captured trades and settlement; 8 marks; 9 reference quotes;
    /// 10 leadership terms; 11 captures in batches and settlement in parts.
    public static let version: UInt16 = 11
    /// Files of this version on are read: 9 to 11 only added cases, so what 8 wrote reads alike.
    public static let oldestReadable: UInt16 = 8
}

// MARK: - Writing

extension ByteWriter {
    public mutating func write(_ sequenced: SequencedCommand) {
        writeVarint(sequenced.sequence)
        writeSigned(sequenced.time.nanos)
        write(sequenced.command)
    }

    public mutating func write(_ command: Command) {
        switch command {
        case .listSymbol(let symbol, let rules):
            write(1); write(symbol); write(rules)
        case .setTradingState(let symbol, let state):
            write(2); write(symbol); write(state.rawValue)
        case .newOrder(let order):
            write(3); write(order)
        case .cancel(let cancel):
            write(4); write(cancel.orderID); write(cancel.account)
        case .replace(let r):
            write(5); write(r.orderID); write(r.newOrderID); write(r.account); write(r.quantity)
            write(UInt8((r.limitPrice != nil ? 1 : 0) | (r.stopPrice != nil ? 2 : 0)))
            if let p = r.limitPrice { write(p) }
            if let p = r.stopPrice { write(p) }
        case .expireOrders:
            write(6)
        case .setEasyToBorrow(let symbol, let easy):
            write(7); write(symbol); writeBool(easy)
        case .openAccount(let a, let number, let terms):
            write(8); write(a); write(number); write(terms)
        case .deposit(let a, let m):
            write(9); write(a); write(m)
        case .withdraw(let a, let m):
            write(10); write(a); write(m)
        case .transferIn(let a, let s, let q, let cost):
            write(11); write(a); write(s); write(q); write(cost)
        case .transferOut(let a, let s, let q):
            write(12); write(a); write(s); write(q)
        case .setAccountState(let a, let state):
            write(13); write(a); write(state.rawValue)
        case .setAccountLimits(let a, let limits):
            write(14); write(a); write(limits)
        case .killSwitch(let a):
            write(15); write(a)
        case .closeAccount(let a):
            write(16); write(a)
        case .setFees(let s, let fees):
            write(17); write(s); write(fees)
        case .newOrderList(let list):
            write(18); write(list)
        case .journal(let journal):
            write(19); write(journal)
        case .requestTransfer(let request):
            write(20); write(request)
        case .advanceTransfer(let id, let status):
            write(21); writeVarint(id); write(status.rawValue)
        case .advanceTransfers:
            write(22)
        case .rollBusinessDate(let roll):
            write(23); write(roll)
        case .captureTrade(let report):
            write(24); write(report)
        case .captureTrades(let batch):
            write(33); write(batch)
        case .settleNext(let date):
            write(34); write(date)
        case .cancelTrade(let c):
            write(25); write(c)
        case .declareDividend(let d):
            write(26); write(d)
        case .declareSplit(let s):
            write(27); write(s)
        case .clearTrade(let t, let run):
            write(28); write(t); writeVarint(run)
        case .mark(let request):
            write(29); write(request)
        case .marginCall(let step):
            write(30); write(step)
        case .referenceQuote(let quote):
            write(31); write(quote)
        case .beginTerm(let term):
            write(32); writeVarint(term)
        }
    }

    public mutating func write(_ event: Event) {
        switch event {
        case .symbolListed(let s):
            write(1); write(s)
        case .tradingStateChanged(let s, let state):
            write(2); write(s); write(state.rawValue)
        case .commandRejected(let reason):
            write(3); write(reason)
        case .orderAccepted(let order):
            write(4); write(order)
        case .orderRejected(let id, let account, let reason):
            write(5); write(id); write(account); write(reason)
        case .trade(let t):
            write(6)
            writeVarint(t.executionID.rawValue); write(t.symbol); write(t.price); write(t.quantity)
            write(t.takerSide.rawValue)
            write(t.makerOrderID); write(t.makerAccount); write(t.makerLeaves)
            write(t.takerOrderID); write(t.takerAccount); write(t.takerLeaves)
            write(t.makerFee); write(t.takerFee)
        case .orderCancelled(let id, let account, let leaves, let reason):
            write(7); write(id); write(account); write(leaves); write(reason.rawValue)
        case .orderExpired(let id, let account, let leaves):
            write(8); write(id); write(account); write(leaves)
        case .orderReplaced(let r):
            write(9); write(r.orderID); write(r.newOrderID); write(r.account); write(r.quantity); write(r.leaves)
            write(UInt8((r.limitPrice != nil ? 1 : 0) | (r.stopPrice != nil ? 2 : 0) | (r.keptPriority ? 4 : 0)))
            if let p = r.limitPrice { write(p) }
            if let p = r.stopPrice { write(p) }
        case .cancelRejected(let id, let account, let reason):
            write(10); write(id); write(account); write(reason)
        case .replaceRejected(let id, let newID, let account, let reason):
            write(11); write(id); write(newID); write(account); write(reason)
        case .stopTriggered(let id, let account, let last):
            write(12); write(id); write(account); write(last)
        case .selfTradeDecremented(let id, let account, let qty, let leaves):
            write(13); write(id); write(account); write(qty); write(leaves)
        case .easyToBorrowChanged(let s, let easy):
            write(14); write(s); writeBool(easy)
        case .accountOpened(let a, let number, let terms):
            write(15); write(a); write(number); write(terms)
        case .cashDeposited(let a, let m):
            write(16); write(a); write(m)
        case .cashWithdrawn(let a, let m):
            write(17); write(a); write(m)
        case .securitiesTransferredIn(let a, let s, let q, let cost):
            write(18); write(a); write(s); write(q); write(cost)
        case .securitiesTransferredOut(let a, let s, let q):
            write(19); write(a); write(s); write(q)
        case .accountStateChanged(let a, let state):
            write(20); write(a); write(state.rawValue)
        case .accountLimitsChanged(let a, let limits):
            write(21); write(a); write(limits)
        case .accountClosed(let a):
            write(22); write(a)
        case .feesChanged(let s, let fees):
            write(23); write(s); write(fees)
        case .orderListAccepted(let list):
            write(25); write(list)
        case .orderRested(let id, let account, let s, let side, let price, let shown):
            write(24); write(id); write(account); write(s); write(side.rawValue); write(price); write(shown)
        case .journalPosted(let journal, let basis):
            write(26); write(journal); write(basis)
        case .transferChanged(let id, let request, let status, let reason):
            write(27); writeVarint(id); write(request); write(status.rawValue); write(reason.rawValue)
        case .businessDateRolled(let roll):
            write(28); write(roll)
        case .tradeCaptured(let id, let report):
            write(29); writeVarint(id); write(report)
        case .obligationSettled(let outcome):
            write(30); write(outcome)
        case .failMarked(let date, let a, let s, let price, let payment):
            write(31); write(date); write(a); write(s); write(price); write(payment)
        case .tradeCancelled(let c, let dueOn):
            write(32); write(c); write(dueOn)
        case .dividendDeclared(let id, let d):
            write(33); writeVarint(id); write(d)
        case .splitDeclared(let id, let s):
            write(34); writeVarint(id); write(s)
        case .dividendRecorded(let id, let a, let shares):
            write(35); writeVarint(id); write(a); write(shares)
        case .dividendPaid(let id, let a, let amount):
            write(36); writeVarint(id); write(a); write(amount)
        case .positionSplit(let id, let a, let s, let from, let to):
            write(37); writeVarint(id); write(a); write(s); write(from); write(to)
        case .tradeCleared(let t, let run):
            write(38); write(t); writeVarint(run)
        case .markPrice(let s, let price):
            write(39); write(s); write(price)
        case .marked(let request, let prices):
            write(40); write(request); writeVarint(UInt64(prices))
        case .marginCallChanged(let id, let step):
            write(41); writeVarint(id); write(step)
        case .referenceQuoted(let quote):
            write(42); write(quote)
        case .termBegan(let term):
            write(43); writeVarint(term)
        case .settlementContinues(let date, let left):
            write(44); write(date); writeVarint(UInt64(left))
        }
    }

    public mutating func write(_ quote: ReferenceQuote) {
        write(quote.symbol); write(quote.bid); write(quote.ask)
    }

    public mutating func write(_ step: MarginCallStep) {
        write(step.kind.rawValue); write(step.account); write(step.deficit); writeVarint(step.mark); writeSigned(step.deadline.nanos)
        writeBool(step.reduceOnly)
    }

    public mutating func write(_ request: MarkRequest) {
        write(request.method.rawValue); writeBool(request.close)
    }

    public mutating func write(_ journal: Journal) {
        write(journal.from); write(journal.to)
        switch journal.asset {
        case .cash(let amount): write(0); write(amount)
        case .shares(let symbol, let qty): write(1); write(symbol); write(qty)
        }
    }

    public mutating func write(_ request: TransferRequest) {
        write(request.account); write(request.direction.rawValue); write(request.amount); writeVarint(UInt64(request.bankStepSeconds))
    }

    public mutating func write(_ fees: FeeSchedule) {
        write(fees.makerPerShare); write(fees.takerPerShare)
    }

    public mutating func write(_ number: AccountNumber) {
        let bytes = Array(number.text.utf8)
        write(UInt8(bytes.count))
        append(contentsOf: bytes)
    }

    public mutating func write(_ terms: AccountTerms) {
        write(terms.kind.rawValue)
        write(terms.limits)
        writeSigned(terms.margin.initialBasisPoints)
        writeSigned(terms.margin.maintenanceLongBasisPoints)
        writeSigned(terms.margin.maintenanceShortBasisPoints)
    }

    public mutating func write(_ limits: AccountLimits) {
        write(limits.orderQtyMax); write(limits.orderNotionalMax)
        writeSigned(limits.openOrdersPerSymbolMax); writeSigned(limits.openOrdersMax)
        write(limits.positionMax); writeSigned(limits.collarBasisPoints)
    }

    /// Absent members and prices are the zeros `OrderList` stores for them.
    public mutating func write(_ list: OrderList) {
        write(list.orderClass.rawValue); write(list.side.rawValue); write(list.type.rawValue)
        write(list.timeInForce.rawValue); write(list.account); write(list.symbol); write(list.quantity)
        for id in [list.entryID, list.takeProfitID, list.stopLossID] { writeVarint(id) }
        for units in [list.entryLimit, list.entryStop, list.takeProfitLimit, list.stopLossStop, list.stopLossLimit] {
            writeSigned(units)
        }
    }

    public mutating func write(_ order: NewOrder) {
        write(order.orderID); write(order.account); write(order.symbol)
        write(order.side.rawValue); write(order.type.rawValue); write(order.timeInForce.rawValue)
        write(order.quantity)
        var flags: UInt8 = 0
        if order.limitPrice != nil { flags |= 1 }
        if order.stopPrice != nil { flags |= 2 }
        if order.trailingOffset != nil { flags |= 4 }
        if order.displayQuantity != nil { flags |= 8 }
        if order.expireTime != nil { flags |= 16 }
        if order.postOnly { flags |= 32 }
        write(flags)
        write(order.selfTradePrevention.rawValue)
        if let p = order.limitPrice { write(p) }
        if let p = order.stopPrice { write(p) }
        switch order.trailingOffset {
        case .amount(let p)?: write(0); write(p)
        case .basisPoints(let bp)?: write(1); writeSigned(bp)
        case nil: break
        }
        if let q = order.displayQuantity { write(q) }
        if let t = order.expireTime { writeSigned(t.nanos) }
    }

    public mutating func write(_ rules: InstrumentRules) {
        writeVarint(UInt64(rules.tickTable.bands.count))
        for band in rules.tickTable.bands { write(band.from); write(band.tick) }
        write(rules.lotSize); write(rules.orderQtyMin); write(rules.orderQtyMax)
        writeSigned(rules.marketProtectionBasisPoints)
        writeBool(rules.previousClose != nil)
        if let close = rules.previousClose { write(close) }
    }

    @inlinable public mutating func write(_ symbol: Symbol) { writeFixed64(symbol.packed) }
    @inlinable public mutating func write(_ id: OrderID) { writeVarint(id.rawValue) }
    @inlinable public mutating func write(_ id: AccountID) { writeVarint(UInt64(id.rawValue)) }
    @inlinable public mutating func write(_ price: Price) { writeSigned(price.units) }
    @inlinable public mutating func write(_ qty: Quantity) { writeSigned(qty.shares) }
    @inlinable public mutating func write(_ money: Money) { writeSigned(money.units) }
}

// MARK: - Reading

extension ByteReader {
    public mutating func readSequencedCommand() throws(DecodeError) -> SequencedCommand {
        let sequence = try readVarint()
        let time = Timestamp(nanos: try readSigned())
        return SequencedCommand(sequence: sequence, time: time, command: try readCommand())
    }

    public mutating func readCommand() throws(DecodeError) -> Command {
        let at = offset
        switch try readByte() {
        case 1: return .listSymbol(try readSymbol(), try readRules())
        case 2: return .setTradingState(try readSymbol(), try readEnum(TradingState.self, "trading state"))
        case 3: return .newOrder(try readNewOrder())
        case 4: return .cancel(CancelOrder(orderID: try readOrderID(), account: try readAccountID()))
        case 5:
            var r = ReplaceOrder(orderID: try readOrderID(), newOrderID: try readOrderID(),
                                 account: try readAccountID(), quantity: try readQuantity())
            let flags = try readByte()
            if flags & 1 != 0 { r.limitPrice = try readPrice() }
            if flags & 2 != 0 { r.stopPrice = try readPrice() }
            return .replace(r)
        case 6: return .expireOrders
        case 7: return .setEasyToBorrow(try readSymbol(), try readBool())
        case 8: return .openAccount(try readAccountID(), try readAccountNumber(), try readAccountTerms())
        case 9: return .deposit(try readAccountID(), try readMoney())
        case 10: return .withdraw(try readAccountID(), try readMoney())
        case 11:
            return .transferIn(try readAccountID(), try readSymbol(), try readQuantity(), costPerShare: try readPrice())
        case 12: return .transferOut(try readAccountID(), try readSymbol(), try readQuantity())
        case 13: return .setAccountState(try readAccountID(), try readEnum(AccountState.self, "account state"))
        case 14: return .setAccountLimits(try readAccountID(), try readAccountLimits())
        case 15: return .killSwitch(try readAccountID())
        case 16: return .closeAccount(try readAccountID())
        case 17: return .setFees(try readSymbol(), try readFees())
        case 18: return .newOrderList(try readOrderList())
        case 19: return .journal(try readJournal())
        case 20: return .requestTransfer(try readTransferRequest())
        case 21: return .advanceTransfer(try readVarint(), try readEnum(TransferStatus.self, "transfer status"))
        case 22: return .advanceTransfers
        case 23: return .rollBusinessDate(try readBusinessDateRoll())
        case 24: return .captureTrade(try readTradeReport())
        case 25: return .cancelTrade(try readTradeCancellation())
        case 26: return .declareDividend(try readDividend())
        case 27: return .declareSplit(try readSplit())
        case 28: return .clearTrade(try readTradeRef(), reconciliation: try readVarint())
        case 29: return .mark(try readMarkRequest())
        case 30: return .marginCall(try readMarginCallStep())
        case 31: return .referenceQuote(try readReferenceQuote())
        case 32: return .beginTerm(try readVarint())
        case 33: return .captureTrades(try readCaptureBatch())
        case 34: return .settleNext(try readDate())
        case let tag: throw DecodeError(.invalidTag("command", UInt64(tag)), at: at)
        }
    }

    public mutating func readEvent() throws(DecodeError) -> Event {
        let at = offset
        switch try readByte() {
        case 1: return .symbolListed(try readSymbol())
        case 2: return .tradingStateChanged(try readSymbol(), try readEnum(TradingState.self, "trading state"))
        case 3: return .commandRejected(try readCommandRejectReason())
        case 4: return .orderAccepted(try readNewOrder())
        case 5: return .orderRejected(try readOrderID(), try readAccountID(), try readRejectReason())
        case 6:
            return .trade(Trade(
                executionID: ExecutionID(try readVarint()), symbol: try readSymbol(), price: try readPrice(),
                quantity: try readQuantity(), takerSide: try readEnum(Side.self, "side"),
                makerOrderID: try readOrderID(), makerAccount: try readAccountID(), makerLeaves: try readQuantity(),
                takerOrderID: try readOrderID(), takerAccount: try readAccountID(), takerLeaves: try readQuantity(),
                makerFee: try readMoney(), takerFee: try readMoney()))
        case 7:
            return .orderCancelled(try readOrderID(), try readAccountID(), leaves: try readQuantity(),
                                   try readEnum(CancelReason.self, "cancel reason"))
        case 8: return .orderExpired(try readOrderID(), try readAccountID(), leaves: try readQuantity())
        case 9:
            let orderID = try readOrderID(), newOrderID = try readOrderID(), account = try readAccountID()
            let quantity = try readQuantity(), leaves = try readQuantity()
            let flags = try readByte()
            let limit = flags & 1 != 0 ? try readPrice() : nil
            let stop = flags & 2 != 0 ? try readPrice() : nil
            return .orderReplaced(Replacement(orderID: orderID, newOrderID: newOrderID, account: account,
                                              quantity: quantity, leaves: leaves, limitPrice: limit, stopPrice: stop,
                                              keptPriority: flags & 4 != 0))
        case 10: return .cancelRejected(try readOrderID(), try readAccountID(), try readRejectReason())
        case 11:
            return .replaceRejected(try readOrderID(), newOrderID: try readOrderID(), try readAccountID(),
                                    try readRejectReason())
        case 12: return .stopTriggered(try readOrderID(), try readAccountID(), lastTrade: try readPrice())
        case 13:
            return .selfTradeDecremented(try readOrderID(), try readAccountID(), quantity: try readQuantity(),
                                         leaves: try readQuantity())
        case 14: return .easyToBorrowChanged(try readSymbol(), try readBool())
        case 15: return .accountOpened(try readAccountID(), try readAccountNumber(), try readAccountTerms())
        case 16: return .cashDeposited(try readAccountID(), try readMoney())
        case 17: return .cashWithdrawn(try readAccountID(), try readMoney())
        case 18:
            return .securitiesTransferredIn(try readAccountID(), try readSymbol(), try readQuantity(),
                                            costPerShare: try readPrice())
        case 19: return .securitiesTransferredOut(try readAccountID(), try readSymbol(), try readQuantity())
        case 20: return .accountStateChanged(try readAccountID(), try readEnum(AccountState.self, "account state"))
        case 21: return .accountLimitsChanged(try readAccountID(), try readAccountLimits())
        case 22: return .accountClosed(try readAccountID())
        case 23: return .feesChanged(try readSymbol(), try readFees())
        case 24:
            return .orderRested(try readOrderID(), try readAccountID(), try readSymbol(), try readEnum(Side.self, "side"),
                                price: try readPrice(), shown: try readQuantity())
        case 25: return .orderListAccepted(try readOrderList())
        case 26: return .journalPosted(try readJournal(), basis: try readMoney())
        case 27:
            return .transferChanged(try readVarint(), try readTransferRequest(), try readEnum(TransferStatus.self, "transfer status"),
                                    try readEnum(TransferReason.self, "transfer reason"))
        case 28: return .businessDateRolled(try readBusinessDateRoll())
        case 29: return .tradeCaptured(try readVarint(), try readTradeTerms())
        case 30: return .obligationSettled(try readSettlementOutcome())
        case 31:
            return .failMarked(try readDate(), try readAccountID(), try readSymbol(), price: try readPrice(), payment: try readMoney())
        case 32: return .tradeCancelled(try readTradeCancellation(), dueOn: try readDate())
        case 33: return .dividendDeclared(try readVarint(), try readDividend())
        case 34: return .splitDeclared(try readVarint(), try readSplit())
        case 35: return .dividendRecorded(try readVarint(), try readAccountID(), shares: try readQuantity())
        case 36: return .dividendPaid(try readVarint(), try readAccountID(), try readMoney())
        case 38: return .tradeCleared(try readTradeRef(), reconciliation: try readVarint())
        case 37: return .positionSplit(try readVarint(), try readAccountID(), try readSymbol(), from: try readQuantity(), to: try readQuantity())
        case 39: return .markPrice(try readSymbol(), try readPrice())
        case 40:
            let request = try readMarkRequest(), prices = try readVarint()
            guard prices <= UInt64(UInt32.max) else { throw DecodeError(.invalidValue("mark price count"), at: at) }
            return .marked(request, prices: UInt32(prices))
        case 41: return .marginCallChanged(try readVarint(), try readMarginCallStep())
        case 42: return .referenceQuoted(try readReferenceQuote())
        case 43: return .termBegan(try readVarint())
        case 44:
            let date = try readDate(), left = offset
            guard let count = UInt32(exactly: try readVarint()) else { throw DecodeError(.invalidValue("obligations left"), at: left) }
            return .settlementContinues(date, left: count)
        case let tag: throw DecodeError(.invalidTag("event", UInt64(tag)), at: at)
        }
    }

    public mutating func readMarginCallStep() throws(DecodeError) -> MarginCallStep {
        MarginCallStep(kind: try readEnum(MarginCallStep.Kind.self, "margin call step"), account: try readAccountID(), deficit: try readMoney(),
                       mark: try readVarint(), deadline: Timestamp(nanos: try readSigned()), reduceOnly: try readBool())
    }

    public mutating func readReferenceQuote() throws(DecodeError) -> ReferenceQuote {
        ReferenceQuote(symbol: try readSymbol(), bid: try readPrice(), ask: try readPrice())
    }

    public mutating func readMarkRequest() throws(DecodeError) -> MarkRequest {
        MarkRequest(method: try readEnum(MarkMethod.self, "mark method"), close: try readBool())
    }

    public mutating func readJournal() throws(DecodeError) -> Journal {
        let from = try readAccountID(), to = try readAccountID()
        let at = offset
        switch try readByte() {
        case 0: return Journal(from: from, to: to, asset: .cash(try readMoney()))
        case 1: return Journal(from: from, to: to, asset: .shares(try readSymbol(), try readQuantity()))
        case let tag: throw DecodeError(.invalidTag("journal asset", UInt64(tag)), at: at)
        }
    }

    public mutating func readTransferRequest() throws(DecodeError) -> TransferRequest {
        let account = try readAccountID(), direction = try readEnum(TransferDirection.self, "transfer direction")
        let amount = try readMoney()
        let at = offset
        guard let seconds = UInt32(exactly: try readVarint()) else { throw DecodeError(.invalidValue("bank step"), at: at) }
        return TransferRequest(account: account, direction: direction, amount: amount, bankStepSeconds: seconds)
    }

    public mutating func readFees() throws(DecodeError) -> FeeSchedule {
        FeeSchedule(makerPerShare: try readMoney(), takerPerShare: try readMoney())
    }

    public mutating func readAccountNumber() throws(DecodeError) -> AccountNumber {
        let at = offset
        let count = Int(try readByte())
        guard count <= AccountNumber.lengthMax, let number = AccountNumber(String(decoding: try readBytes(count), as: UTF8.self)) else {
            throw DecodeError(.invalidValue("account number"), at: at)
        }
        return number
    }

    public mutating func readAccountTerms() throws(DecodeError) -> AccountTerms {
        let kind = try readEnum(AccountKind.self, "account kind")
        let limits = try readAccountLimits()
        let margin = MarginRates(initialBasisPoints: try readSigned(), maintenanceLongBasisPoints: try readSigned(),
                                 maintenanceShortBasisPoints: try readSigned())
        return AccountTerms(kind: kind, limits: limits, margin: margin)
    }

    public mutating func readAccountLimits() throws(DecodeError) -> AccountLimits {
        AccountLimits(orderQtyMax: try readQuantity(), orderNotionalMax: try readMoney(),
                      openOrdersPerSymbolMax: try readSigned(), openOrdersMax: try readSigned(),
                      positionMax: try readQuantity(), collarBasisPoints: try readSigned())
    }

    public mutating func readOrderList() throws(DecodeError) -> OrderList {
        let orderClass = try readEnum(OrderClass.self, "order class")
        let side = try readEnum(Side.self, "side")
        let type = try readEnum(OrderType.self, "order type")
        let timeInForce = try readEnum(TimeInForce.self, "time in force")
        var list = OrderList(orderClass: orderClass, account: try readAccountID(), symbol: try readSymbol(), side: side,
                             timeInForce: timeInForce, quantity: try readQuantity(), entry: nil, takeProfit: nil, stopLoss: nil)
        list.type = type
        (list.entryID, list.takeProfitID, list.stopLossID) = (try readVarint(), try readVarint(), try readVarint())
        (list.entryLimit, list.entryStop) = (try readSigned(), try readSigned())
        list.takeProfitLimit = try readSigned()
        (list.stopLossStop, list.stopLossLimit) = (try readSigned(), try readSigned())
        return list
    }

    public mutating func readNewOrder() throws(DecodeError) -> NewOrder {
        var order = NewOrder(
            orderID: try readOrderID(), account: try readAccountID(), symbol: try readSymbol(),
            side: try readEnum(Side.self, "side"), type: try readEnum(OrderType.self, "order type"),
            timeInForce: try readEnum(TimeInForce.self, "time in force"), quantity: try readQuantity())
        let flags = try readByte()
        order.postOnly = flags & 32 != 0
        order.selfTradePrevention = try readEnum(SelfTradePrevention.self, "self-trade prevention")
        if flags & 1 != 0 { order.limitPrice = try readPrice() }
        if flags & 2 != 0 { order.stopPrice = try readPrice() }
        if flags & 4 != 0 {
            let at = offset
            switch try readByte() {
            case 0: order.trailingOffset = .amount(try readPrice())
            case 1: order.trailingOffset = .basisPoints(try readSigned())
            case let tag: throw DecodeError(.invalidTag("trailing offset", UInt64(tag)), at: at)
            }
        }
        if flags & 8 != 0 { order.displayQuantity = try readQuantity() }
        if flags & 16 != 0 { order.expireTime = Timestamp(nanos: try readSigned()) }
        return order
    }

    public mutating func readRules() throws(DecodeError) -> InstrumentRules {
        let at = offset
        let count = try readVarint()
        guard count >= 1, count <= UInt64(TickTable.bandsMax) else {
            throw DecodeError(.invalidValue("tick band count"), at: at)
        }
        var bands: [TickTable.Band] = []
        for _ in 0..<count { bands.append(TickTable.Band(from: try readPrice(), tick: try readPrice())) }
        guard let table = try? TickTable(bands: bands) else { throw DecodeError(.invalidValue("tick table"), at: at) }
        var rules = InstrumentRules(tickTable: table)
        rules.lotSize = try readQuantity()
        rules.orderQtyMin = try readQuantity()
        rules.orderQtyMax = try readQuantity()
        rules.marketProtectionBasisPoints = try readSigned()
        if try readBool() { rules.previousClose = try readPrice() }
        return rules
    }

    public mutating func readSymbol() throws(DecodeError) -> Symbol {
        let at = offset
        guard let symbol = Symbol(packed: try readFixed64()) else { throw DecodeError(.invalidValue("symbol"), at: at) }
        return symbol
    }

    @inlinable public mutating func readOrderID() throws(DecodeError) -> OrderID { OrderID(try readVarint()) }

    public mutating func readAccountID() throws(DecodeError) -> AccountID {
        let at = offset
        let raw = try readVarint()
        guard raw <= UInt64(UInt32.max) else { throw DecodeError(.invalidValue("account id"), at: at) }
        return AccountID(UInt32(raw))
    }

    @inlinable public mutating func readPrice() throws(DecodeError) -> Price { Price(units: try readSigned()) }
    @inlinable public mutating func readQuantity() throws(DecodeError) -> Quantity { Quantity(try readSigned()) }
    @inlinable public mutating func readMoney() throws(DecodeError) -> Money { Money(units: try readSigned()) }

    @inlinable
    public mutating func readEnum<E: RawRepresentable<UInt8>>(_ type: E.Type, _ what: String) throws(DecodeError) -> E {
        let at = offset
        let raw = try readByte()
        guard let value = E(rawValue: raw) else { throw DecodeError(.invalidTag(what, UInt64(raw)), at: at) }
        return value
    }
}
