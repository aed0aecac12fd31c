import BourseCore
import BourseNode

/// One thing that happened to an order, as an execution report tells it: the durable, ordered stream of
/// every account's order events that the FIX gateway's sessions read (live, and from the `order_reports`
/// table after a disconnect or a restart). Protocol-neutral: the gateway writes the tags.
public struct OrderReport: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case new, partialFill = "partial_fill", fill, canceled, expired, replaced, rejected
        case cancelRejected = "cancel_rejected", replaceRejected = "replace_rejected"
    }

    /// Where it is in the journal: the entry, and its event's index times two (plus one for a trade's
    /// taker), which anyone who sees the entry can compute.
    public var sequence: UInt64
    public var number: Int
    public var time: Timestamp
    public var kind: Kind
    public var account: UInt32
    /// The FIX session the order came from, and the one the request that caused this came from.
    public var origin: String?
    public var requestOrigin: String?
    public var orderID: OrderID
    /// The order's terms after the change; nil for a refused request about an order the account does not have open.
    public var order: NewOrder?
    public var clientOrderID: String?
    /// A cancel's or replace's own id (ClOrdID) and the order's id before it (OrigClOrdID).
    public var requestID: String?
    public var origClientOrderID: String?
    public var filled: Int64
    /// The average price of what filled, in ten-thousandths (0 when nothing has).
    public var averagePrice: Int64
    public var leaves: Int64
    public var lastPrice: Price?
    public var lastQuantity: Int64?
    public var executionID: UInt64?
    /// A rejection's or cancellation's reason: its code and sentence.
    public var reason: String?
    public var text: String?

    /// Whether the session named `session` is told of it.
    public func concerns(session: String) -> Bool { origin == session || requestOrigin == session }
}

extension OrderReport {
    /// The reports of a new order's own entry, from the entry alone (the sequencer's acknowledgement), as
    /// the order projection makes them later: the order's acceptance or rejection and its fills in that
    /// entry. Other orders' reports in the entry (a maker's fill) are left to the projection, which knows
    /// those orders.
    public static func ofNewOrder(_ published: Published) -> [OrderReport] {
        guard case .newOrder(let order) = published.command.command else { return [] }
        var lifecycle = OrderLifecycle()
        let changes = lifecycle.apply(published).filter { $0.record.order.orderID == order.orderID }
        return reports(published, changes) { _, _ in nil }
    }

    /// The reports of one entry, from the changes the order lifecycle made and the refused requests;
    /// `open` gives an order's state after the entry (for a refused cancel or replace).
    static func reports(_ published: Published, _ changes: [OrderChange], open: (OrderID, AccountID) -> OrderRecord?) -> [OrderReport] {
        let sequence = published.command.sequence
        let time = published.command.time
        let note = published.note
        let requestID = ClientOrderID.from(note: note)
        let requestOrigin = ClientOrderID.origin(note: note)
        let named = ClientOrderID.original(note: note)
        var cancelled: OrderID?
        if case .cancel(let c) = published.command.command { cancelled = c.orderID }
        var reports: [OrderReport] = []
        var replacedClientOrderID: String?
        func report(_ kind: Kind, _ record: OrderRecord, at position: Int) -> OrderReport {
            let open = kind == .new || kind == .partialFill || kind == .replaced
            return OrderReport(
                sequence: sequence, number: position, time: time, kind: kind, account: record.order.account.rawValue,
                origin: record.origin, requestOrigin: nil, orderID: record.order.orderID, order: record.order, clientOrderID: record.clientOrderID,
                filled: record.filled, averagePrice: record.filled > 0 ? Int64(record.notional / Int128(record.filled)) : 0,
                leaves: open ? record.order.quantity.shares - record.filled : 0)
        }
        for change in changes where change.isTold {
            switch change.event {
            case .replaced:
                replacedClientOrderID = change.record.clientOrderID ?? String(change.record.order.orderID.rawValue)
            case .new:
                if change.record.replaces != nil {
                    var r = report(.replaced, change.record, at: change.position)
                    (r.origClientOrderID, r.requestOrigin) = (replacedClientOrderID, requestOrigin)
                    reports.append(r)
                } else {
                    reports.append(report(.new, change.record, at: change.position))
                }
            case .fill, .partialFill:
                var r = report(change.event == .fill ? .fill : .partialFill, change.record, at: change.position)
                if case .fill(let price, let quantity, let executionID) = change.detail {
                    (r.lastPrice, r.lastQuantity, r.executionID) = (price, quantity, executionID)
                }
                reports.append(r)
            case .canceled:
                var r = report(.canceled, change.record, at: change.position)
                if case .reason(let code) = change.detail { r.reason = code }
                if cancelled == change.record.order.orderID {
                    (r.requestID, r.origClientOrderID, r.requestOrigin) = (requestID, change.record.clientOrderID, requestOrigin)
                }
                reports.append(r)
            case .expired:
                reports.append(report(.expired, change.record, at: change.position))
            case .rejected:
                var r = report(.rejected, change.record, at: change.position)
                for case .orderRejected(let id, _, let reason) in published.events where id == change.record.order.orderID {
                    (r.reason, r.text) = (reason.code, reason.message)
                }
                reports.append(r)
            }
        }
        // Refused cancels and replaces change no order; they are told to whoever asked.
        for (eventIndex, event) in published.events.enumerated() {
            let refused: (OrderID, AccountID, RejectReason, Kind)
            switch event {
            case .cancelRejected(let id, let account, let reason): refused = (id, account, reason, .cancelRejected)
            case .replaceRejected(let id, _, let account, let reason): refused = (id, account, reason, .replaceRejected)
            default: continue
            }
            let (id, account, reason, kind) = refused
            var r = OrderReport(sequence: sequence, number: eventIndex * 2, time: time, kind: kind, account: account.rawValue,
                                orderID: id, filled: 0, averagePrice: 0, leaves: 0)
            if let record = open(id, account) {
                r = report(kind, record, at: eventIndex * 2)
                r.leaves = record.order.quantity.shares - record.filled
            }
            (r.requestID, r.origClientOrderID, r.requestOrigin, r.reason, r.text) = (requestID, named ?? r.clientOrderID, requestOrigin, reason.code, reason.message)
            r.origin = r.origin ?? requestOrigin
            reports.append(r)
        }
        return reports
    }
}
