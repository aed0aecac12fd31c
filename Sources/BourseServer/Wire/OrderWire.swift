import BourseCore
import BourseProjections

extension API {
    /// An order as Alpaca's API writes one.
    static func order(_ r: OrderRecord) -> Order {
        var o = Order(id: r.order.orderID.uuid, client_order_id: r.clientOrderID ?? r.order.orderID.uuid,
                      created_at: time(r.created), updated_at: time(r.updated), submitted_at: time(r.created),
                      filled_at: r.filledAt.map(time), canceled_at: r.canceledAt.map(time),
                      symbol: r.order.symbol.description, qty: String(r.order.quantity.shares), filled_qty: String(r.filled),
                      filled_avg_price: r.filled > 0 ? decimal(Int64(r.notional / Int128(r.filled))) : nil,
                      order_type: r.order.type.name, type: r.order.type.name, side: r.order.side.name,
                      time_in_force: r.order.timeInForce.name, limit_price: r.order.limitPrice.map(decimal),
                      stop_price: r.order.stopPrice.map(decimal), status: r.status)
        o.expired_at = r.expiredAt.map(time)
        o.replaced_by = r.replacedBy?.uuid
        o.replaces = r.replaces?.uuid
        o.expire_at = r.order.expireTime.map(time)
        return o
    }

    /// The fields a trade update adds to its order, as Alpaca names them.
    static func extra(_ change: OrderChange) -> [(String, String)] {
        switch change.detail {
        case .none: []
        case .fill(let price, let quantity, let executionID):
            [("price", decimal(price)), ("qty", String(quantity)), ("execution_id", String(executionID))]
        case .reason(let code): [("reason", code)]
        case .replacedBy(let id): [("replaced_by", id.uuid)]
        }
    }

    /// An activity as Alpaca's `/v2/account/activities` writes one. A fill's id says where its event is in
    /// the journal and which side it is (`::m`, `::t`); a transfer's, where its event is.
    static func activity(_ a: OrderQueries.Activity) -> String {
        let id = "\(a.time)::\(a.sequence)::\(a.event)"
        let at = time(Timestamp(nanos: a.time))
        let fields: [(String, String)]
        switch a.kind {
        case .fill(let orderID, let side, let price, let qty, let leaves, let fee, let taker):
            fields = [("id", id + (taker ? "::t" : "::m")), ("activity_type", "FILL"), ("transaction_time", at),
                      ("type", leaves == 0 ? "fill" : "partial_fill"), ("price", decimal(price)), ("qty", String(qty)),
                      ("side", side), ("symbol", a.symbol ?? ""), ("leaves_qty", String(leaves)), ("order_id", OrderID(orderID).uuid),
                      ("fee", decimal(fee))]
        case .transfer(let code, let symbol, let qty, let amount):
            var f = [("id", id), ("activity_type", code), ("date", String(at.prefix(10))), ("transaction_time", at)]
            if let amount { f.append(("net_amount", decimal(amount))) }
            if let symbol, let qty { f += [("symbol", symbol), ("qty", String(qty))] }
            fields = f
        }
        return "{" + fields.map { quoted($0.0) + ":" + quoted($0.1) }.joined(separator: ",") + "}"
    }
}
