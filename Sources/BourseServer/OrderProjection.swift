import BourseCore
import BourseEngine
import BourseNode

/// An order as the API describes it, built from events alone.
struct OrderRecord: Sendable {
    var order: NewOrder
    var filled: Int64 = 0
    var notional: Int128 = 0
    var status: String
    var created: Timestamp
    var updated: Timestamp
    var filledAt: Timestamp?
    var canceledAt: Timestamp?
    var expiredAt: Timestamp?
    var replacedBy: OrderID?
    var replaces: OrderID?
    /// The client's id for the order; the order id stands for it when none was given.
    var clientOrderID: String?

    /// Whether the order has ended: nothing more will happen to it.
    var isEnded: Bool { ["filled", "canceled", "expired", "replaced", "rejected"].contains(status) }

    var api: API.Order {
        var o = API.Order(id: String(order.orderID.rawValue), client_order_id: clientOrderID ?? String(order.orderID.rawValue),
                          created_at: API.time(created), updated_at: API.time(updated), submitted_at: API.time(created),
                          filled_at: filledAt.map(API.time), canceled_at: canceledAt.map(API.time),
                          symbol: order.symbol.description, qty: String(order.quantity.shares), filled_qty: String(filled),
                          filled_avg_price: filled > 0 ? API.decimal(Int64(notional / Int128(filled))) : nil,
                          order_type: API.name(order.type), type: API.name(order.type), side: order.side == .buy ? "buy" : "sell",
                          time_in_force: API.name(order.timeInForce), limit_price: order.limitPrice.map(API.decimal),
                          stop_price: order.stopPrice.map(API.decimal), status: status)
        o.expired_at = expiredAt.map(API.time)
        o.replaced_by = replacedBy.map { String($0.rawValue) }
        o.replaces = replaces.map { String($0.rawValue) }
        o.expire_at = order.expireTime.map(API.time)
        return o
    }
}

/// One thing that happened to an order: Alpaca's trade update event, the order after it, and the fields
/// the update adds (a fill's price, quantity and execution id; a cancel's reason).
struct OrderChange: Sendable {
    var account: UInt32
    var event: String
    var record: OrderRecord
    var detail = Detail.none

    /// What the update adds, kept as values: of the projections that make changes, only the trading
    /// stream writes them out.
    enum Detail: Sendable {
        case none
        case fill(price: Price, quantity: Int64, executionID: UInt64)
        case reason(String)
        case replacedBy(OrderID)
    }

    /// The fields the update adds, as Alpaca names them.
    var extra: [(String, String)] {
        switch detail {
        case .none: []
        case .fill(let price, let quantity, let executionID):
            [("price", API.decimal(price)), ("qty", String(quantity)), ("execution_id", String(executionID))]
        case .reason(let code): [("reason", code)]
        case .replacedBy(let id): [("replaced_by", String(id.rawValue))]
        }
    }
}

/// The open orders, followed through the event stream: what the trading stream and the order history
/// both build on, each with its own copy on its own thread.
struct OrderProjection {
    private(set) var open: [UInt64: OrderRecord] = [:]

    /// Starts from orders already open, as another projection of the same events left them.
    mutating func seed(_ records: [OrderRecord]) {
        for record in records { open[record.order.orderID.rawValue] = record }
    }

    /// Applies one command's events and returns what changed, in order.
    mutating func apply(_ published: Published) -> [OrderChange] {
        let time = published.command.time
        let clientOrderID = ClientOrderID.from(note: published.note)
        var changes: [OrderChange] = []
        for event in published.events {
            switch event {
            case .orderAccepted(let order):
                var record = OrderRecord(order: order, status: "new", created: time, updated: time)
                if case .newOrder(let submitted) = published.command.command, submitted.orderID == order.orderID {
                    record.clientOrderID = clientOrderID
                }
                open[order.orderID.rawValue] = record
                changes.append(OrderChange(account: order.account.rawValue, event: "new", record: record))
            case .orderRejected(let id, let account, let reason):
                if case .newOrder(let order) = published.command.command, order.orderID == id {
                    var record = OrderRecord(order: order, status: "rejected", created: time, updated: time)
                    record.clientOrderID = clientOrderID
                    changes.append(OrderChange(account: account.rawValue, event: "rejected", record: record, detail: .reason(reason.code)))
                }
            case .trade(let t):
                for (id, leaves) in [(t.makerOrderID, t.makerLeaves), (t.takerOrderID, t.takerLeaves)] {
                    guard var record = open[id.rawValue] else { continue }
                    record.filled += t.quantity.shares
                    record.notional += Int128(t.price.units) * Int128(t.quantity.shares)
                    record.updated = time
                    let done = leaves.shares == 0
                    record.status = done ? "filled" : "partially_filled"
                    if done {
                        record.filledAt = time
                        open[id.rawValue] = nil
                    } else {
                        open[id.rawValue] = record
                    }
                    changes.append(OrderChange(account: record.order.account.rawValue, event: done ? "fill" : "partial_fill",
                                               record: record, detail: .fill(price: t.price, quantity: t.quantity.shares,
                                                                             executionID: t.executionID.rawValue)))
                }
            case .orderCancelled(let id, let account, _, let reason):
                guard var record = open.removeValue(forKey: id.rawValue) else { continue }
                record.status = "canceled"
                record.canceledAt = time
                record.updated = time
                changes.append(OrderChange(account: account.rawValue, event: "canceled", record: record, detail: .reason(reason.code)))
            case .orderExpired(let id, let account, _):
                guard var record = open.removeValue(forKey: id.rawValue) else { continue }
                record.status = "expired"
                record.expiredAt = time
                record.updated = time
                changes.append(OrderChange(account: account.rawValue, event: "expired", record: record))
            case .orderReplaced(let r):
                guard var old = open.removeValue(forKey: r.orderID.rawValue) else { continue }
                var new = old
                old.status = "replaced"
                old.replacedBy = r.newOrderID
                old.updated = time
                changes.append(OrderChange(account: r.account.rawValue, event: "replaced", record: old,
                                           detail: .replacedBy(r.newOrderID)))
                new.order.orderID = r.newOrderID
                new.order.quantity = r.quantity
                if let p = r.limitPrice { new.order.limitPrice = p }
                if let p = r.stopPrice { new.order.stopPrice = p }
                new.replaces = r.orderID
                new.clientOrderID = clientOrderID
                new.created = time
                new.updated = time
                new.status = new.filled > 0 ? "partially_filled" : "new"
                open[r.newOrderID.rawValue] = new
                changes.append(OrderChange(account: r.account.rawValue, event: "new", record: new))
            case .selfTradeDecremented(let id, _, let quantity, _):
                open[id.rawValue]?.order.quantity.shares -= quantity.shares
            default:
                break
            }
        }
        return changes
    }
}
