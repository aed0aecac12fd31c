import BourseCore
import BourseNode
import BourseProjections
import BourseVenue

/// Order entry over FIX: NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest, OrderStatusRequest
/// and OrderMassCancelRequest become the venue's commands, with the session's ClOrdID and name in the
/// command's note, so that the order reports find their way back. What is refused before it reaches the
/// venue is answered here: an ExecutionReport with ExecType 8, an OrderCancelReject, a BusinessMessageReject.
/// Everything the venue decides is answered by the order reports, in journal order.
struct OrderHandler: Sendable {
    let venue: Venue
    let index: OpenOrderIndex
    /// The configured accounts' numbers, both ways.
    let numbers: [UInt32: String]
    let accounts: [String: UInt32]

    /// What handling a message asks of the connection.
    enum Outcome {
        /// Nothing now: the venue's reports answer.
        case submitted
        case reply(String, FIXBody)
        /// The state of an order that has ended: read from the store, then answered.
        case lookUp(OrderID, account: UInt32, requestID: String?)
    }

    /// Tags FIX 4.4 allows on an order that the venue does not act on: refused by name, never ignored.
    static let unsupportedOrderTags: [(Int, String)] = [
        (110, "MinQty"), (152, "CashOrderQty"), (432, "ExpireDate"), (100, "ExDestination"), (22, "SecurityIDSource"),
        (48, "SecurityID"), (207, "SecurityExchange"), (528, "OrderCapacity"), (453, "NoPartyIDs"),
    ]

    /// `acknowledged` is told, from another thread, of a new order the venue journaled (its entry, to
    /// report at once); `failed` of a command the venue could not take (it is stopping or overloaded),
    /// nothing of which was journaled.
    func handle(_ m: FIXMessage, _ settings: SessionSettings, now: Int64,
                acknowledged: @escaping @Sendable (Published) -> Void = { _ in },
                failed: @escaping @Sendable (String, FIXBody) -> Void) -> Outcome {
        let type = m.msgType
        let orderMessages = [MsgType.newOrderSingle, MsgType.orderCancelRequest, MsgType.orderCancelReplaceRequest,
                             MsgType.orderStatusRequest, MsgType.orderMassCancelRequest]
        guard orderMessages.contains(type) else {
            return .reply(MsgType.businessMessageReject, Self.businessReject(m, reason: 3, "MsgType(35) \(type) is not supported"))
        }
        guard settings.role == .orderEntry else {
            return .reply(MsgType.businessMessageReject, Self.businessReject(m, reason: 4, "a \(settings.role.rawValue) session takes no orders"))
        }
        switch type {
        case MsgType.newOrderSingle: return newOrder(m, settings, now: now, acknowledged: acknowledged, failed: failed)
        case MsgType.orderCancelRequest, MsgType.orderCancelReplaceRequest: return change(m, settings, failed: failed)
        case MsgType.orderStatusRequest: return status(m, settings, now: now)
        default: return massCancel(m, settings, failed: failed)
        }
    }

    // MARK: NewOrderSingle

    private func newOrder(_ m: FIXMessage, _ settings: SessionSettings, now: Int64, acknowledged: @escaping @Sendable (Published) -> Void,
                          failed: @escaping @Sendable (String, FIXBody) -> Void) -> Outcome {
        let clOrdID = m[Tag.clOrdID]!
        let named = m[Tag.account] ?? (settings.accounts.count == 1 ? numbers[settings.accounts[0]] : nil)
        func refuse(_ text: String, reason: Int = 99) -> Outcome {
            .reply(MsgType.executionReport, Self.rejection(m, reason: reason, text, accountNumber: named, now: now))
        }
        if let problem = ClientOrderID.problem(clOrdID) { return refuse(problem.replacingOccurrences(of: "client_order_id", with: "ClOrdID(11)")) }
        let account: UInt32
        switch self.account(m, settings) {
        case .success(let a): account = a
        case .failure(let text): return refuse(text.text, reason: 0)
        }
        let order: NewOrder
        switch Self.order(m, id: venue.newOrderID(), account: account) {
        case .success(let o): order = o
        case .failure(let text): return refuse(text.text)
        }
        if let holder = index.claim(clOrdID, account: account, order: order.orderID.rawValue) {
            return refuse("ClOrdID(11) \(clOrdID) names another order (\(PublicID.uuid(.order, holder)))", reason: 6)
        }
        let note = ClientOrderID.note(clOrdID, origin: settings.name)
        let number = numbers[account] ?? String(account)
        venue.submit(.newOrder(order), note: note) { [index] result in
            let failure: Venue.Failure
            switch result {
            case .success(let ack): return acknowledged(Published(command: ack.command, events: ack.events, note: note))
            case .failure(let f): failure = f
            }
            index.release(clOrdID, account: account, order: order.orderID.rawValue)
            failed(MsgType.executionReport, Self.rejection(m, reason: 99, "the venue did not take the order: \(failure)", accountNumber: number, now: now))
        }
        return .submitted
    }

    /// The order a NewOrderSingle describes, or why it cannot be one.
    static func order(_ m: FIXMessage, id: OrderID, account: UInt32) -> Result<NewOrder, Refusal> {
        for (tag, name) in unsupportedOrderTags where m.index(of: tag) != nil {
            return .failure(Refusal("\(name)(\(tag)) is not supported"))
        }
        if let currency = m[Tag.currency], currency != "USD" { return .failure(Refusal("Currency(15) must be USD, not \(currency)")) }
        if let kind = m[Tag.securityType], kind != "CS" { return .failure(Refusal("SecurityType(167) must be CS, not \(kind)")) }
        if m[Tag.handlInst] == "3" { return .failure(Refusal("HandlInst(21) 3 (manual) is not supported: the venue matches automatically")) }
        guard let symbol = try? Symbol(validating: m[Tag.symbol]!) else { return .failure(Refusal("Symbol(55) \(m[Tag.symbol]!) is not a symbol")) }
        let side: Side = m[Tag.side] == "1" ? .buy : .sell
        guard let qtyText = m[Tag.orderQty] else { return .failure(Refusal("OrderQty(38) is required")) }
        guard let quantity = FIXValue.quantity(qtyText) else { return .failure(Refusal("OrderQty(38) \(qtyText) must be a positive whole number of shares")) }
        let trailing: TrailingOffset?
        switch (m[Tag.trailingOffset], m[Tag.trailingOffsetBasisPoints]) {
        case (nil, nil): trailing = nil
        case (let amount?, nil):
            guard let p = FIXValue.price(amount) else { return .failure(Refusal("TrailingOffset(7929) \(amount) must be a positive price")) }
            trailing = .amount(p)
        case (nil, let bp?): trailing = m.integer(Tag.trailingOffsetBasisPoints).map { .basisPoints(Int64($0)) }
            if trailing == nil { return .failure(Refusal("TrailingOffsetBasisPoints(7930) \(bp) must be a whole number")) }
        default: return .failure(Refusal("give TrailingOffset(7929) or TrailingOffsetBasisPoints(7930), not both"))
        }
        let type: OrderType
        switch m[Tag.ordType]! {
        case "1": type = .market
        case "2": type = .limit
        case "3": type = trailing == nil ? .stop : .trailingStop
        case "4": type = .stopLimit
        case let other: return .failure(Refusal("OrdType(40) \(other) is not supported: 1 market, 2 limit, 3 stop (a trailing stop with 7929 or 7930), 4 stop limit"))
        }
        let tif: TimeInForce
        switch m[Tag.timeInForce] ?? "0" {
        case "0": tif = .day
        case "1": tif = .gtc
        case "3": tif = .ioc
        case "4": tif = .fok
        case "6": tif = .gtd
        case let other: return .failure(Refusal("TimeInForce(59) \(other) is not supported: 0 day, 1 GTC, 3 IOC, 4 FOK, 6 GTD"))
        }
        func price(_ tag: Int, _ name: String) -> Result<Price?, Refusal> {
            guard let text = m[tag] else { return .success(nil) }
            guard let p = FIXValue.price(text) else { return .failure(Refusal("\(name)(\(tag)) \(text) must be a positive price with at most 4 decimals")) }
            return .success(p)
        }
        let limit: Price?, stop: Price?
        switch (price(Tag.price, "Price"), price(Tag.stopPx, "StopPx")) {
        case (.success(let l), .success(let s)): (limit, stop) = (l, s)
        case (.failure(let r), _), (_, .failure(let r)): return .failure(r)
        }
        var display: Quantity?
        if let text = m[Tag.maxFloor] {
            guard let q = FIXValue.quantity(text) else { return .failure(Refusal("MaxFloor(111) \(text) must be a positive whole number of shares")) }
            display = q
        }
        var postOnly = false
        if let instructions = m[Tag.execInst] {
            for instruction in instructions.split(separator: " ") {
                guard instruction == "6" else { return .failure(Refusal("ExecInst(18) \(instruction) is not supported: 6 (post-only) is")) }
                postOnly = true
            }
        }
        let prevention = m.integer(Tag.selfTradePrevention).flatMap { SelfTradePrevention(rawValue: UInt8($0)) } ?? .none
        let expire = m[Tag.expireTime].flatMap(FIXValue.timestamp)
        return .success(NewOrder(orderID: id, account: AccountID(account), symbol: symbol, side: side, type: type, timeInForce: tif,
                                 quantity: quantity, limitPrice: limit, stopPrice: type == .trailingStop ? nil : stop,
                                 trailingOffset: trailing, displayQuantity: display, postOnly: postOnly,
                                 selfTradePrevention: prevention, expireTime: expire))
    }

    // MARK: Cancel and replace

    private func change(_ m: FIXMessage, _ settings: SessionSettings, failed: @escaping @Sendable (String, FIXBody) -> Void) -> Outcome {
        let replacing = m.msgType == MsgType.orderCancelReplaceRequest
        let clOrdID = m[Tag.clOrdID]!, original = m[Tag.origClOrdID]!
        func refuse(_ text: String, reason: Int, orderID: String = "NONE") -> Outcome {
            .reply(MsgType.orderCancelReject, Self.cancelReject(m, orderID: orderID, reason: reason, text))
        }
        if let problem = ClientOrderID.problem(clOrdID) { return refuse(problem.replacingOccurrences(of: "client_order_id", with: "ClOrdID(11)"), reason: 99) }
        let account: UInt32
        switch self.account(m, settings) {
        case .success(let a): account = a
        case .failure(let text): return refuse(text.text, reason: 99)
        }
        let id: UInt64
        if let given = m[Tag.orderID] {
            guard let value = PublicID.value(.order, given) else { return refuse("OrderID(37) \(given) is not an order of the venue", reason: 1) }
            id = value
        } else if let found = index.order(clientOrderID: original, account: account) {
            id = found
        } else {
            return refuse("OrigClOrdID(41) \(original) names no order of account \(numbers[account] ?? String(account))", reason: 1)
        }
        let orderID = PublicID.uuid(.order, id)
        if let record = index.openOrder(id, account: account) {
            if record.order.symbol.description != m[Tag.symbol] { return refuse("Symbol(55) \(m[Tag.symbol]!) is not the order's \(record.order.symbol)", reason: 99, orderID: orderID) }
            if (record.order.side == .buy) != (m[Tag.side] == "1") { return refuse("Side(54) cannot change", reason: 99, orderID: orderID) }
            if replacing, let type = m[Tag.ordType], type != ExecutionReports.ordType(record.order.type) {
                return refuse("OrdType(40) cannot change on a replace; cancel and place a new order", reason: 99, orderID: orderID)
            }
            if replacing, let tif = m[Tag.timeInForce], tif != ExecutionReports.timeInForce(record.order.timeInForce) {
                return refuse("TimeInForce(59) cannot change on a replace; cancel and place a new order", reason: 99, orderID: orderID)
            }
        }
        let note = ClientOrderID.note(clOrdID, origin: settings.name, original: original)
        let command: Command
        let newID: OrderID?
        if replacing {
            guard let qtyText = m[Tag.orderQty], let quantity = FIXValue.quantity(qtyText) else {
                return refuse("OrderQty(38) is required: the order's new total quantity", reason: 99, orderID: orderID)
            }
            var limit: Price?, stop: Price?
            if let text = m[Tag.price] {
                guard let p = FIXValue.price(text) else { return refuse("Price(44) \(text) must be a positive price", reason: 99, orderID: orderID) }
                limit = p
            }
            if let text = m[Tag.stopPx] {
                guard let p = FIXValue.price(text) else { return refuse("StopPx(99) \(text) must be a positive price", reason: 99, orderID: orderID) }
                stop = p
            }
            let new = venue.newOrderID()
            if let holder = index.claim(clOrdID, account: account, order: new.rawValue) {
                return refuse("ClOrdID(11) \(clOrdID) names another order (\(PublicID.uuid(.order, holder)))", reason: 99, orderID: orderID)
            }
            newID = new
            command = .replace(ReplaceOrder(orderID: OrderID(id), newOrderID: new, account: AccountID(account), quantity: quantity,
                                            limitPrice: limit, stopPrice: stop))
        } else {
            newID = nil
            command = .cancel(CancelOrder(orderID: OrderID(id), account: AccountID(account)))
        }
        venue.submit(command, note: note) { [index] result in
            guard case .failure(let failure) = result else { return }
            if let newID { index.release(clOrdID, account: account, order: newID.rawValue) }
            failed(MsgType.orderCancelReject, Self.cancelReject(m, orderID: orderID, reason: 99, "the venue did not take the request: \(failure)"))
        }
        return .submitted
    }

    // MARK: Status and mass cancel

    private func status(_ m: FIXMessage, _ settings: SessionSettings, now: Int64) -> Outcome {
        let account: UInt32
        switch self.account(m, settings) {
        case .success(let a): account = a
        case .failure(let text): return .reply(MsgType.businessMessageReject, Self.businessReject(m, reason: 0, text.text))
        }
        let id: UInt64?
        if let given = m[Tag.orderID] { id = PublicID.value(.order, given) } else { id = index.order(clientOrderID: m[Tag.clOrdID]!, account: account) }
        guard let id else {
            return .reply(MsgType.executionReport, Self.rejection(m, reason: 5, "no order of account \(numbers[account] ?? String(account)) has ClOrdID(11) \(m[Tag.clOrdID]!)",
                                                                  accountNumber: numbers[account], now: now, execType: "I"))
        }
        if let record = index.openOrder(id, account: account) {
            return .reply(MsgType.executionReport, ExecutionReports.status(record, accountNumber: numbers[account] ?? String(account),
                                                                           statusRequestID: m[Tag.ordStatusReqID], now: Timestamp(nanos: now)))
        }
        return .lookUp(OrderID(id), account: account, requestID: m[Tag.ordStatusReqID])
    }

    private func massCancel(_ m: FIXMessage, _ settings: SessionSettings, failed: @escaping @Sendable (String, FIXBody) -> Void) -> Outcome {
        let scope = m[Tag.massCancelRequestType]!
        var b = FIXBody()
        b.append(Tag.clOrdID, m[Tag.clOrdID]!)
        b.append(Tag.orderID, "MC-\(m[Tag.clOrdID]!)")
        b.append(Tag.massCancelRequestType, scope)
        let symbol = m[Tag.symbol]
        let accounts: [UInt32]
        if m[Tag.account] != nil {
            guard case .success(let a) = account(m, settings) else {
                b.append(Tag.massCancelResponse, "0")
                b.append(Tag.massCancelRejectReason, 99)
                b.append(Tag.text, "Account(1) \(m[Tag.account]!) is not an account of this session")
                return .reply(MsgType.orderMassCancelReport, b)
            }
            accounts = [a]
        } else {
            accounts = settings.accounts
        }
        if scope == "1", symbol == nil {
            b.append(Tag.massCancelResponse, "0")
            b.append(Tag.massCancelRejectReason, 1)
            b.append(Tag.text, "MassCancelRequestType(530) 1 needs Symbol(55)")
            return .reply(MsgType.orderMassCancelReport, b)
        }
        var affected = 0
        // Each order's report names the order itself: the cancels carry no request id of their own.
        for account in accounts {
            for record in index.openOrders(account: account) where scope == "7" || record.order.symbol.description == symbol {
                affected += 1
                venue.submit(.cancel(CancelOrder(orderID: record.order.orderID, account: AccountID(account)))) { result in
                    guard case .failure(let failure) = result else { return }
                    failed(MsgType.orderCancelReject, Self.cancelReject(m, orderID: PublicID.uuid(.order, record.order.orderID.rawValue), reason: 99,
                                                                        "the venue did not take the cancel: \(failure)"))
                }
            }
        }
        b.append(Tag.massCancelResponse, scope)
        b.append(Tag.totalAffectedOrders, affected)
        return .reply(MsgType.orderMassCancelReport, b)
    }

    // MARK: Answers

    struct Refusal: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    /// The account a message acts for: Account(1) if given (an account number of the session's), else the
    /// session's only account.
    private func account(_ m: FIXMessage, _ settings: SessionSettings) -> Result<UInt32, Refusal> {
        if let number = m[Tag.account] {
            guard let id = accounts[number], settings.accounts.contains(id) else {
                return .failure(Refusal("Account(1) \(number) is not an account of session \(settings.name)"))
            }
            return .success(id)
        }
        guard settings.accounts.count == 1 else {
            return .failure(Refusal("Account(1) is required: session \(settings.name) trades for \(settings.accounts.count) accounts"))
        }
        return .success(settings.accounts[0])
    }

    static func rejection(_ m: FIXMessage, reason: Int, _ text: String, accountNumber: String?, now: Int64, execType: String = "8") -> FIXBody {
        var b = FIXBody()
        b.append(Tag.orderID, m[Tag.orderID] ?? "NONE")
        b.append(Tag.clOrdID, m[Tag.clOrdID] ?? "NONE")
        b.append(Tag.execID, "R-\(m.msgSeqNum ?? 0)-\(now)")
        b.append(Tag.execType, execType)
        b.append(Tag.ordStatus, "8")
        b.append(Tag.ordRejReason, reason)
        if let accountNumber { b.append(Tag.account, accountNumber) }
        if let symbol = m[Tag.symbol] { b.append(Tag.symbol, symbol) }
        if let side = m[Tag.side] { b.append(Tag.side, side) }
        if let qty = m[Tag.orderQty] { b.append(Tag.orderQty, qty) }
        b.append(Tag.leavesQty, 0)
        b.append(Tag.cumQty, 0)
        b.append(Tag.avgPx, 0)
        b.append(Tag.transactTime, Timestamp(nanos: now))
        b.append(Tag.text, text)
        return b
    }

    static func cancelReject(_ m: FIXMessage, orderID: String, reason: Int, _ text: String) -> FIXBody {
        var b = FIXBody()
        b.append(Tag.orderID, orderID)
        b.append(Tag.clOrdID, m[Tag.clOrdID] ?? "NONE")
        b.append(Tag.origClOrdID, m[Tag.origClOrdID] ?? "NONE")
        b.append(Tag.ordStatus, "8")
        if let account = m[Tag.account] { b.append(Tag.account, account) }
        b.append(Tag.cxlRejResponseTo, m.msgType == MsgType.orderCancelReplaceRequest ? "2" : "1")
        b.append(Tag.cxlRejReason, reason)
        b.append(Tag.text, text)
        return b
    }

    /// BusinessMessageReject (j): reason 3 unsupported message type, 4 application not available, 0 other.
    static func businessReject(_ m: FIXMessage, reason: Int, _ text: String) -> FIXBody {
        var b = FIXBody()
        b.append(Tag.refSeqNum, m.msgSeqNum ?? 0)
        b.append(Tag.refMsgType, m.msgType)
        if let id = m[Tag.clOrdID] { b.append(Tag.businessRejectRefID, id) }
        b.append(Tag.businessRejectReason, reason)
        b.append(Tag.text, text)
        return b
    }
}
