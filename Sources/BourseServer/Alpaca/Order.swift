import BourseCore
import BourseProjections

extension API {
    /// An order as Alpaca's API writes one.
    struct Order: Encodable {
        var id: String
        var client_order_id: String
        var created_at: String?
        var updated_at: String?
        var submitted_at: String?
        var filled_at: String?
        var canceled_at: String?
        var expired_at: String?
        var replaced_by: String?
        var replaces: String?
        var asset_id: String
        var asset_class = "us_equity"
        var symbol: String
        var notional: String? = nil
        var qty: String
        var filled_qty = "0"
        var filled_avg_price: String?
        var order_class = "simple"
        var order_type: String
        var type: String
        var side: String
        var time_in_force: String
        var limit_price: String?
        var stop_price: String?
        var trail_price: String?
        var trail_percent: String?
        /// A trailing stop's high-water mark: not kept by Bourse's order records yet.
        var hwm: String? = nil
        var status = OrderStatus.new
        var extended_hours = false
        /// Bourse's extra: when a GTD order expires.
        var expire_at: String?
        /// Bourse's extras on an order cancelled by the venue in the answer to placing it: why, as a code and a
        /// sentence.
        var cancel_reason: String?
        var cancel_message: String?
        /// A bracket's, oto's or oco's other orders, when shown under it; null otherwise.
        var legs: [Order]?

        /// What the order's terms say: everything but its progress.
        init(_ o: NewOrder, clientOrderID: String?) {
            id = o.orderID.uuid
            client_order_id = clientOrderID ?? id
            asset_id = o.symbol.uuid
            symbol = o.symbol.description
            qty = String(o.quantity.shares)
            order_type = o.type.name
            type = order_type
            side = o.side.name
            time_in_force = o.timeInForce.name
            limit_price = o.limitPrice.map(decimal)
            stop_price = o.stopPrice.map(decimal)
            switch o.trailingOffset {
            case .amount(let price)?: trail_price = decimal(price)
            case .basisPoints(let bp)?: trail_percent = formatFixedPoint(bp, decimals: 2)
            case nil: break
            }
            expire_at = o.expireTime.map(time)
        }

        /// The order as JSON, written directly: orders are the hot answer, and Foundation's encoder cost as
        /// much as the rest of placing one.
        var json: String {
            var out = "{"
            out.reserveCapacity(900)
            // Ids, times, numbers, symbols and names never need escapes; only the client's id is checked.
            func field(_ name: String, _ value: String?) {
                out += "\""
                out += name
                if let value {
                    out += "\":\""
                    out += value
                    out += "\","
                } else {
                    out += "\":null,"
                }
            }
            out += #""id":"#
            API.appendQuoted(id, to: &out)
            out += #","client_order_id":"#
            API.appendQuoted(client_order_id, to: &out)
            out += ","
            field("created_at", created_at); field("updated_at", updated_at); field("submitted_at", submitted_at)
            field("filled_at", filled_at); field("canceled_at", canceled_at); field("expired_at", expired_at)
            field("replaced_by", replaced_by); field("replaces", replaces); field("asset_id", asset_id)
            field("asset_class", asset_class); field("symbol", symbol); field("notional", notional); field("qty", qty)
            field("filled_qty", filled_qty); field("filled_avg_price", filled_avg_price); field("order_class", order_class)
            field("order_type", order_type); field("type", type); field("side", side); field("time_in_force", time_in_force)
            field("limit_price", limit_price); field("stop_price", stop_price); field("trail_price", trail_price)
            field("trail_percent", trail_percent); field("hwm", hwm); field("status", status.rawValue)
            out += extended_hours ? "\"extended_hours\":true," : "\"extended_hours\":false,"
            out += "\"expire_at\":"
            if let expire_at { out += "\"" + expire_at + "\"" } else { out += "null" }
            out += ",\"legs\":"
            if let legs { out += "[" + legs.map(\.json).joined(separator: ",") + "]" } else { out += "null" }
            if let cancel_reason, let cancel_message {
                out += ",\"cancel_reason\":\"" + cancel_reason + "\",\"cancel_message\":\"" + cancel_message + "\""
            }
            return out + "}"
        }
    }

    /// An order as the order projection records it.
    static func order(_ r: OrderRecord) -> Order {
        var o = Order(r.order, clientOrderID: r.clientOrderID)
        o.created_at = time(r.created)
        o.submitted_at = o.created_at
        o.updated_at = time(r.updated)
        o.filled_at = r.filledAt.map(time)
        o.canceled_at = r.canceledAt.map(time)
        o.expired_at = r.expiredAt.map(time)
        o.filled_qty = String(r.filled)
        o.filled_avg_price = r.filled > 0 ? decimal(Int64(r.notional / Int128(r.filled))) : nil
        o.status = r.status
        o.order_class = r.orderClass?.name ?? "simple"
        o.replaced_by = r.replacedBy?.uuid
        o.replaces = r.replaces?.uuid
        return o
    }

    /// The order as its own command's events left it: accepted, filled in part or whole, cancelled.
    /// `filledBefore` counts what a replaced order had filled before (its fills are not in these events).
    static func order(_ request: NewOrder, events: [Event], at time: Timestamp, filledBefore: Int64 = 0,
                      clientOrderID: String? = nil) -> Order {
        var filled: Int64 = filledBefore
        var notional: Int128 = 0
        var filledHere: Int64 = 0
        var leaves = request.quantity.shares - filledBefore
        var cancelled: CancelReason?
        for event in events {
            switch event {
            case .trade(let t) where t.takerOrderID == request.orderID || t.makerOrderID == request.orderID:
                filled += t.quantity.shares
                filledHere += t.quantity.shares
                notional += Int128(t.price.units) * Int128(t.quantity.shares)
                leaves = t.takerOrderID == request.orderID ? t.takerLeaves.shares : t.makerLeaves.shares
            case .orderCancelled(let id, _, _, let reason) where id == request.orderID:
                cancelled = reason
            case .selfTradeDecremented(let id, _, _, let remaining) where id == request.orderID:
                leaves = remaining.shares
            case .orderReplaced(let r) where r.newOrderID == request.orderID:
                leaves = r.leaves.shares
            default:
                break
            }
        }
        var o = Order(request, clientOrderID: clientOrderID)
        o.status = leaves == 0 && cancelled == nil ? .filled : cancelled != nil ? .canceled : filled > 0 ? .partiallyFilled : .new
        let stamp = API.time(time)
        (o.created_at, o.updated_at, o.submitted_at) = (stamp, stamp, stamp)
        o.filled_at = o.status == .filled ? stamp : nil
        o.canceled_at = cancelled != nil ? stamp : nil
        o.cancel_reason = cancelled?.code
        o.cancel_message = cancelled?.message
        o.filled_qty = String(filled)
        o.filled_avg_price = filledHere > 0 ? decimal(Int64(notional / Int128(filledHere))) : nil
        return o
    }

    /// A list as its own command's events left it: the order it is known by (its entry, or an oco's
    /// take-profit) with the others as its legs, each accepted, filled or cancelled here, or held.
    static func order(_ list: OrderList, events: [Event], at time: Timestamp, clientOrderID: String?) -> Order {
        let first = list.entryOrder ?? list.takeProfitOrder(quantity: list.quantity)!
        var parent = order(first, events: events, at: time, clientOrderID: clientOrderID)
        parent.order_class = list.orderClass.name
        let others = [list.takeProfitOrder(quantity: list.quantity), list.stopLossOrder(quantity: list.quantity)]
            .compactMap { $0 }.filter { $0.orderID != first.orderID }
        parent.legs = others.map { leg in
            var placed = leg
            var seen = false
            for case .orderAccepted(let accepted) in events where accepted.orderID == leg.orderID { (placed, seen) = (accepted, true) }
            var o = order(placed, events: events, at: time)
            o.order_class = list.orderClass.name
            if !seen, o.status == .new { o.status = .held }
            return o
        }
        return parent
    }

    /// The fields a trade update adds to its order, as Alpaca names them.
    static func extra(_ change: OrderChange) -> [(String, String)] {
        switch change.detail {
        case .none: []
        case .fill(let price, let quantity, let executionID):
            [("price", decimal(price)), ("qty", String(quantity)), ("execution_id", ExecutionID(executionID).uuid)]
        case .reason(let code): [("reason", code)]
        case .replacedBy(let id): [("replaced_by", id.uuid)]
        }
    }
}

extension OrderStatus: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
