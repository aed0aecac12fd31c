import BourseCore
import BourseNode

/// An order's status, in Alpaca's words, which are the venue's own.
public enum OrderStatus: String, Sendable, CaseIterable {
    case new, partiallyFilled = "partially_filled", filled, canceled, expired, replaced, rejected
    /// An exit of a bracket or oto waiting for its entry to fill.
    case held

    /// Nothing more will happen to an order in this status.
    public var isEnded: Bool { self != .new && self != .partiallyFilled && self != .held }
}

/// An order as the API describes it, built from events alone.
public struct OrderRecord: Sendable, Equatable {
    public var order: NewOrder
    public var filled: Int64 = 0
    public var notional: Int128 = 0
    public var status: OrderStatus
    public var created: Timestamp
    public var updated: Timestamp
    public var filledAt: Timestamp?
    public var canceledAt: Timestamp?
    public var expiredAt: Timestamp?
    public var replacedBy: OrderID?
    public var replaces: OrderID?
    /// The client's id for the order; the order id stands for it when none was given.
    public var clientOrderID: String?
    /// The class of the list the order belongs to; nil for a simple order.
    public var orderClass: OrderClass?
    /// The order it is a leg of: an exit's entry, an oco's stop-loss's take-profit.
    public var parent: OrderID?
    /// The FIX session that placed it; nil for an order placed otherwise.
    public var origin: String?

    public init(order: NewOrder, filled: Int64 = 0, notional: Int128 = 0, status: OrderStatus, created: Timestamp, updated: Timestamp) {
        self.order = order
        self.filled = filled
        self.notional = notional
        self.status = status
        self.created = created
        self.updated = updated
    }

    /// Whether the order has ended: nothing more will happen to it.
    public var isEnded: Bool { status.isEnded }
}

/// Alpaca's trade update events, as the venue's orders have them.
public enum TradeEvent: String, Sendable, CaseIterable {
    case new, fill, partialFill = "partial_fill", canceled, expired, replaced, rejected
}

/// One thing that happened to an order: Alpaca's trade update event, the order after it, and what the
/// update adds (a fill's price, quantity and execution id; a cancel's reason).
public struct OrderChange: Sendable {
    public var account: UInt32
    public var event: TradeEvent
    public var record: OrderRecord
    public var detail = Detail.none
    /// Whether the change is an update the account is told of on the trading stream; a waiting exit recorded,
    /// or a leg following its replaced parent, only changes the order's row.
    public var isTold = true
    /// Where it comes from in its entry: the event's index times two, plus one for a trade's taker. The same
    /// whoever follows the entry, whatever else they know, so that reports of it can be matched.
    public var position = -1

    public enum Detail: Sendable {
        case none
        case fill(price: Price, quantity: Int64, executionID: UInt64)
        case reason(String)
        case replacedBy(OrderID)
    }
}

/// Each open order's life, followed through the events: what the order projection turns into rows, into
/// the open-order index and into the trading stream, from one copy.
public struct OrderLifecycle: Sendable {
    public private(set) var open: [UInt64: OrderRecord] = [:]

    public init() {}

    /// Starts from orders already open, as the store holds them.
    public mutating func seed(_ records: [OrderRecord]) {
        for record in records { open[record.order.orderID.rawValue] = record }
    }

    /// Applies one command's events and returns what changed, in order.
    public mutating func apply(_ published: Published) -> [OrderChange] {
        let time = published.command.time
        let clientOrderID = ClientOrderID.from(note: published.note)
        let origin = ClientOrderID.origin(note: published.note)
        // The list a command submits: its orders are accepted before the list is, and are recorded as its members.
        var submitted: OrderList?
        if case .newOrderList(let list) = published.command.command { submitted = list }
        var changes: [OrderChange] = []
        for (eventIndex, event) in published.events.enumerated() {
            let before = changes.count
            defer { for i in before ..< changes.count where changes[i].position < 0 { changes[i].position = eventIndex * 2 } }
            switch event {
            case .orderAccepted(let order):
                var record = OrderRecord(order: order, status: .new, created: time, updated: time)
                if case .newOrder(let submitted) = published.command.command, submitted.orderID == order.orderID {
                    (record.clientOrderID, record.origin) = (clientOrderID, origin)
                }
                if let list = submitted, list.orderIDs.contains(order.orderID) {
                    (record.orderClass, record.parent) = (list.orderClass, Self.parent(of: order.orderID, in: list))
                    if order.orderID == list.orderID { (record.clientOrderID, record.origin) = (clientOrderID, origin) }
                } else if let waiting = open[order.orderID.rawValue], waiting.status == .held {
                    // An exit placed: it keeps its list, its client's view of when it was submitted, and its id.
                    (record.orderClass, record.parent, record.created) = (waiting.orderClass, waiting.parent, waiting.created)
                }
                open[order.orderID.rawValue] = record
                changes.append(OrderChange(account: order.account.rawValue, event: .new, record: record))
            case .orderListAccepted(let list):
                for exit in [list.takeProfitOrder(quantity: list.quantity), list.stopLossOrder(quantity: list.quantity)]
                    .compactMap({ $0 }) where open[exit.orderID.rawValue] == nil {
                    var record = OrderRecord(order: exit, status: .held, created: time, updated: time)
                    (record.orderClass, record.parent) = (list.orderClass, list.orderID)
                    open[exit.orderID.rawValue] = record
                    changes.append(OrderChange(account: exit.account.rawValue, event: .new, record: record, isTold: false))
                }
            case .orderRejected(let id, let account, let reason):
                if case .newOrder(let order) = published.command.command, order.orderID == id {
                    var record = OrderRecord(order: order, status: .rejected, created: time, updated: time)
                    (record.clientOrderID, record.origin) = (clientOrderID, origin)
                    changes.append(OrderChange(account: account.rawValue, event: .rejected, record: record, detail: .reason(reason.code)))
                } else if let list = submitted, list.orderID == id,
                          let order = list.entryOrder ?? list.takeProfitOrder(quantity: list.quantity) {
                    var record = OrderRecord(order: order, status: .rejected, created: time, updated: time)
                    (record.clientOrderID, record.orderClass, record.origin) = (clientOrderID, list.orderClass, origin)
                    changes.append(OrderChange(account: account.rawValue, event: .rejected, record: record, detail: .reason(reason.code)))
                } else if var record = open[id.rawValue], record.status == .held, record.order.account == account {
                    // An exit refused when it was to be placed (its account could no longer close the position).
                    open[id.rawValue] = nil
                    (record.status, record.updated) = (.rejected, time)
                    changes.append(OrderChange(account: account.rawValue, event: .rejected, record: record, detail: .reason(reason.code)))
                }
            case .trade(let t):
                for (leg, (id, leaves)) in [(t.makerOrderID, t.makerLeaves), (t.takerOrderID, t.takerLeaves)].enumerated() {
                    guard var record = open[id.rawValue] else { continue }
                    record.filled += t.quantity.shares
                    record.notional += Int128(t.price.units) * Int128(t.quantity.shares)
                    record.updated = time
                    let done = leaves.shares == 0
                    record.status = done ? .filled : .partiallyFilled
                    if done {
                        record.filledAt = time
                        open[id.rawValue] = nil
                    } else {
                        open[id.rawValue] = record
                    }
                    changes.append(OrderChange(account: record.order.account.rawValue, event: done ? .fill : .partialFill,
                                               record: record, detail: .fill(price: t.price, quantity: t.quantity.shares,
                                                                             executionID: t.executionID.rawValue),
                                               position: eventIndex * 2 + leg))
                }
            case .orderCancelled(let id, let account, _, let reason):
                guard var record = open.removeValue(forKey: id.rawValue) else { continue }
                record.status = .canceled
                record.canceledAt = time
                record.updated = time
                changes.append(OrderChange(account: account.rawValue, event: .canceled, record: record, detail: .reason(reason.code)))
            case .orderExpired(let id, let account, _):
                guard var record = open.removeValue(forKey: id.rawValue) else { continue }
                record.status = .expired
                record.expiredAt = time
                record.updated = time
                changes.append(OrderChange(account: account.rawValue, event: .expired, record: record))
            case .orderReplaced(let r):
                guard var old = open.removeValue(forKey: r.orderID.rawValue) else { continue }
                var new = old
                old.status = .replaced
                old.replacedBy = r.newOrderID
                old.updated = time
                changes.append(OrderChange(account: r.account.rawValue, event: .replaced, record: old,
                                           detail: .replacedBy(r.newOrderID)))
                new.order.orderID = r.newOrderID
                new.order.quantity = r.quantity
                if let p = r.limitPrice { new.order.limitPrice = p }
                if let p = r.stopPrice { new.order.stopPrice = p }
                new.replaces = r.orderID
                new.clientOrderID = clientOrderID
                new.origin = origin ?? old.origin
                new.created = time
                new.updated = time
                new.status = new.filled > 0 ? .partiallyFilled : .new
                open[r.newOrderID.rawValue] = new
                changes.append(OrderChange(account: r.account.rawValue, event: .new, record: new))
                if old.orderClass != nil { followReplace(r, time, &changes) }
            case .selfTradeDecremented(let id, _, let quantity, _):
                open[id.rawValue]?.order.quantity.shares -= quantity.shares
            default:
                break
            }
        }
        return changes
    }

    /// Alpaca's parent of a list's order: the entry for its exits, the take-profit for an oco's stop-loss.
    static func parent(of id: OrderID, in list: OrderList) -> OrderID? {
        guard id != list.orderID else { return nil }
        return list.orderID
    }

    /// Legs follow a replaced parent; waiting exits take a replaced entry's quantity, which is the most they
    /// will be placed for.
    private mutating func followReplace(_ r: Replacement, _ time: Timestamp, _ changes: inout [OrderChange]) {
        for id in open.keys.sorted() where open[id]!.parent == r.orderID {
            var leg = open[id]!
            leg.parent = r.newOrderID
            if leg.status == .held { leg.order.quantity = r.quantity }
            leg.updated = time
            open[id] = leg
            changes.append(OrderChange(account: r.account.rawValue, event: .new, record: leg, isTold: false))
        }
    }
}
