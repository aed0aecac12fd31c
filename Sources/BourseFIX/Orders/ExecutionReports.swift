import BourseCore
import BourseProjections

/// Order reports as FIX tells them: ExecutionReport (8) for what happened to an order, OrderCancelReject (9)
/// for a refused cancel or replace. Pending states (PendingNew, PendingCancel, PendingReplace) do not occur:
/// the venue decides each request in the command that carries it.
enum ExecutionReports {
    /// The message type and body for a report; `accountNumber` names the account in Account(1).
    static func message(_ r: OrderReport, accountNumber: String) -> (type: String, body: FIXBody) {
        var b = FIXBody()
        let orderID = PublicID.uuid(.order, r.orderID.rawValue)
        let ownID = r.clientOrderID ?? String(r.orderID.rawValue)
        switch r.kind {
        case .cancelRejected, .replaceRejected:
            b.append(Tag.orderID, r.order == nil ? "NONE" : orderID)
            b.append(Tag.clOrdID, r.requestID ?? ownID)
            b.append(Tag.origClOrdID, r.origClientOrderID ?? ownID)
            b.append(Tag.ordStatus, r.order == nil ? "8" : ordStatus(r))
            b.append(Tag.account, accountNumber)
            b.append(Tag.cxlRejResponseTo, r.kind == .cancelRejected ? "1" : "2")
            // The gateway refuses ids it does not know itself; an order the engine no longer has open has ended.
            b.append(Tag.cxlRejReason, r.reason == "order_not_open" ? 0 : r.order == nil ? 1 : 99)
            b.append(Tag.text, [r.reason, r.text].compactMap { $0 }.joined(separator: ": "))
            return (MsgType.orderCancelReject, b)
        default:
            break
        }
        b.append(Tag.orderID, orderID)
        switch r.kind {
        case .canceled where r.requestID != nil, .replaced:
            b.append(Tag.clOrdID, r.kind == .replaced ? ownID : r.requestID!)
            b.append(Tag.origClOrdID, r.origClientOrderID ?? ownID)
        default:
            b.append(Tag.clOrdID, ownID)
        }
        b.append(Tag.execID, "\(r.sequence)-\(r.number)")
        b.append(Tag.execType, execType(r.kind))
        b.append(Tag.ordStatus, ordStatus(r))
        if r.kind == .rejected { b.append(Tag.ordRejReason, ordRejReason(r.reason)) }
        b.append(Tag.account, accountNumber)
        if let order = r.order { terms(order, &b) }
        if let price = r.lastPrice, let quantity = r.lastQuantity {
            b.append(Tag.lastPx, price)
            b.append(Tag.lastQty, quantity)
            if let execution = r.executionID { b.append(Tag.secondaryExecID, PublicID.uuid(.execution, execution)) }
        }
        b.append(Tag.leavesQty, r.leaves)
        b.append(Tag.cumQty, r.filled)
        b.append(Tag.avgPx, FIXValue.decimal(r.averagePrice))
        b.append(Tag.transactTime, r.time)
        // A cancel the client asked for needs no explanation; the venue's own cancels and rejections do.
        if let reason = r.reason, reason != CancelReason.requested.code {
            b.append(Tag.text, [reason, r.text].compactMap { $0 }.joined(separator: ": "))
        }
        return (MsgType.executionReport, b)
    }

    /// An order's state as OrderStatusRequest (H) asks for it: ExecType I.
    static func status(_ record: OrderRecord, accountNumber: String, statusRequestID: String?, now: Timestamp) -> FIXBody {
        var b = FIXBody()
        b.append(Tag.orderID, PublicID.uuid(.order, record.order.orderID.rawValue))
        b.append(Tag.clOrdID, record.clientOrderID ?? String(record.order.orderID.rawValue))
        if let statusRequestID { b.append(Tag.ordStatusReqID, statusRequestID) }
        b.append(Tag.execID, "S-\(now.nanos)")
        b.append(Tag.execType, "I")
        b.append(Tag.ordStatus, status(record.status, filled: record.filled))
        b.append(Tag.account, accountNumber)
        terms(record.order, &b)
        b.append(Tag.leavesQty, record.isEnded ? 0 : record.order.quantity.shares - record.filled)
        b.append(Tag.cumQty, record.filled)
        b.append(Tag.avgPx, record.filled > 0 ? FIXValue.decimal(Int64(record.notional / Int128(record.filled))) : "0")
        b.append(Tag.transactTime, record.updated)
        return b
    }

    /// The order's own terms: symbol, side, quantity, type, prices, time in force and Bourse's extras.
    private static func terms(_ o: NewOrder, _ b: inout FIXBody) {
        b.append(Tag.symbol, o.symbol.description)
        b.append(Tag.side, o.side == .buy ? "1" : "2")
        b.append(Tag.orderQty, o.quantity.shares)
        b.append(Tag.ordType, ordType(o.type))
        if let price = o.limitPrice { b.append(Tag.price, price) }
        if let stop = o.stopPrice { b.append(Tag.stopPx, stop) }
        b.append(Tag.timeInForce, timeInForce(o.timeInForce))
        if let expire = o.expireTime { b.append(Tag.expireTime, expire) }
        if let shown = o.displayQuantity { b.append(Tag.maxFloor, shown.shares) }
        if o.postOnly { b.append(Tag.execInst, "6") }
        switch o.trailingOffset {
        case .amount(let p): b.append(Tag.trailingOffset, p)
        case .basisPoints(let bp): b.append(Tag.trailingOffsetBasisPoints, bp)
        case nil: break
        }
        if o.selfTradePrevention != .none { b.append(Tag.selfTradePrevention, Int(o.selfTradePrevention.rawValue)) }
    }

    static func execType(_ kind: OrderReport.Kind) -> String {
        switch kind {
        case .new: "0"
        case .partialFill, .fill: "F"
        case .canceled: "4"
        case .replaced: "5"
        case .rejected: "8"
        case .expired: "C"
        case .cancelRejected, .replaceRejected: "8"
        }
    }

    static func ordStatus(_ r: OrderReport) -> String {
        switch r.kind {
        case .new, .replaced, .cancelRejected, .replaceRejected: r.filled > 0 ? "1" : "0"
        case .partialFill: "1"
        case .fill: "2"
        case .canceled: "4"
        case .rejected: "8"
        case .expired: "C"
        }
    }

    static func status(_ status: OrderStatus, filled: Int64) -> String {
        switch status {
        case .new, .held: filled > 0 ? "1" : "0"
        case .partiallyFilled: "1"
        case .filled: "2"
        case .canceled: "4"
        case .replaced: "5"
        case .rejected: "8"
        case .expired: "C"
        }
    }

    static func ordType(_ type: OrderType) -> String {
        switch type {
        case .market: "1"
        case .limit: "2"
        case .stop, .trailingStop: "3"
        case .stopLimit: "4"
        }
    }

    static func timeInForce(_ tif: TimeInForce) -> String {
        switch tif {
        case .day: "0"
        case .gtc: "1"
        case .ioc: "3"
        case .fok: "4"
        case .gtd: "6"
        }
    }

    /// OrdRejReason (103) for the venue's reasons: unknown symbol, exchange closed, over a limit, duplicate,
    /// else other (the Text says which).
    static func ordRejReason(_ code: String?) -> Int {
        switch code {
        case "unknown_symbol": 1
        case "symbol_halted", "symbol_closed": 2
        case "insufficient_buying_power", "insufficient_position", "account_quantity_limit", "notional_above_limit",
             "open_orders_per_symbol_limit", "open_orders_limit", "position_limit", "quantity_above_maximum": 3
        case "duplicate_order_id": 6
        case "unknown_account": 0
        default: 99
        }
    }
}
