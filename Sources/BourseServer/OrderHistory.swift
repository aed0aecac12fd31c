import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import Foundation
import Synchronization

/// What the gateways need of orders at once and in memory: the open orders as the events describe them,
/// the client order ids in use and GTD expiry times. Seeded at start from the read models (which have
/// caught up with the journal), then kept current by a consumer of the event stream on its own thread.
/// Ended orders and activities are asked of the read models.
final class OrderHistory: Sendable {
    /// Client order ids kept taken: those of open orders and of the most recent this many others.
    static let clientOrderIDsMax = 1_000_000

    private struct State {
        var projection = OrderProjection()
        /// Client order ids in use, per account, and the order each names; and the other way round.
        var clientOrderIDs: [UInt32: [String: UInt64]] = [:]
        var clientOrderIDOf: [UInt64: (account: UInt32, id: String)] = [:]
        /// Orders holding a client order id, oldest first, for letting the oldest go.
        var claimed: [UInt64] = []
        var claimedStart = 0
        /// Open GTD orders' expiry times, for the scheduler.
        var expiries: [UInt64: Int64] = [:]

        mutating func claim(_ clientOrderID: String, account: UInt32, order: UInt64) {
            clientOrderIDs[account, default: [:]][clientOrderID] = order
            clientOrderIDOf[order] = (account, clientOrderID)
            claimed.append(order)
            // Past the bound, the oldest claims of ended orders are let go (a few at a time; an open
            // order's claim goes to the back).
            var budget = 2
            while claimed.count - claimedStart > OrderHistory.clientOrderIDsMax && budget > 0 {
                budget -= 1
                let oldest = claimed[claimedStart]
                claimedStart += 1
                if projection.open[oldest] == nil { release(oldest) } else { claimed.append(oldest) }
            }
            if claimedStart > OrderHistory.clientOrderIDsMax {
                claimed.removeFirst(claimedStart)
                claimedStart = 0
            }
        }

        mutating func release(_ order: UInt64) {
            guard let (account, id) = clientOrderIDOf.removeValue(forKey: order) else { return }
            if clientOrderIDs[account]?[id] == order { clientOrderIDs[account]?[id] = nil }
        }
    }

    private let state = Mutex(State())
    /// Why the history stopped following the event stream, once it has: its answers would be stale.
    let stopped = Mutex<String?>(nil)
    let consumer = EventConsumer(name: "order-history", capacity: 1 << 18)

    /// Starts from the read models' open orders and client order ids, before the sequencer starts.
    func seed(from readModels: ReadModels) throws {
        let open = readModels.openRecords()
        let claims = try readModels.clientOrderIDs(limit: Self.clientOrderIDsMax)
        state.withLock { s in
            s.projection.seed(open)
            for (account, clientOrderID, order) in claims.reversed() { s.claim(clientOrderID, account: account, order: order) }
            for record in open where record.order.timeInForce == .gtd {
                if let expiry = record.order.expireTime { s.expiries[record.order.orderID.rawValue] = expiry.nanos }
            }
        }
    }

    func start() {
        let thread = Thread { [self] in
            while true {
                switch consumer.next() {
                case .events(let batch):
                    for published in batch { apply(published) }
                case .overrun(let sequence):
                    stopped.withLock { $0 = "the order history fell behind at sequence \(sequence) and stopped; it is rebuilt when the server restarts" }
                    return
                case .closed:
                    return
                }
            }
        }
        thread.name = "bourse-order-history"
        thread.start()
    }

    private func apply(_ published: Published) {
        state.withLock { s in
            for change in s.projection.apply(published) {
                let id = change.record.order.orderID.rawValue
                if let clientOrderID = change.record.clientOrderID, s.clientOrderIDOf[id] == nil {
                    s.claim(clientOrderID, account: change.account, order: id)
                }
                if change.record.isEnded {
                    s.expiries[id] = nil
                } else if change.record.order.timeInForce == .gtd, let expiry = change.record.order.expireTime {
                    s.expiries[id] = expiry.nanos
                }
            }
        }
    }

    /// Claims a client order id for an order about to be submitted; gives the order that holds it already
    /// instead, if one does. Checked and claimed under one lock, so two requests racing with the same id
    /// cannot both pass.
    func claim(_ clientOrderID: String, account: UInt32, order: UInt64) -> UInt64? {
        state.withLock { s in
            if let holder = s.clientOrderIDs[account]?[clientOrderID] { return holder }
            s.claim(clientOrderID, account: account, order: order)
            return nil
        }
    }

    /// Gives back a claim whose order never reached the journal.
    func release(_ clientOrderID: String, account: UInt32, order: UInt64) {
        state.withLock { s in
            guard s.clientOrderIDs[account]?[clientOrderID] == order else { return }
            s.release(order)
        }
    }

    /// The order a client order id of the account names, if any.
    func order(clientOrderID: String, account: UInt32) -> UInt64? {
        state.withLock { $0.clientOrderIDs[account]?[clientOrderID] }
    }

    /// What the history adds to open orders as the engine describes them: client order ids, GTD expiries.
    func annotate(_ orders: inout [API.Order]) {
        state.withLock { s in
            for i in orders.indices {
                guard let id = UInt64(orders[i].id) else { continue }
                if let (_, clientOrderID) = s.clientOrderIDOf[id] { orders[i].client_order_id = clientOrderID }
                if let expiry = s.expiries[id] { orders[i].expire_at = API.time(Timestamp(nanos: expiry)) }
            }
        }
    }

    /// The earliest expiry time of an open GTD order, if there is one.
    func nextExpiry() -> Int64? {
        state.withLock { $0.expiries.values.min() }
    }

    /// An open order of the account, if the history has seen it.
    func openOrder(_ id: UInt64, account: UInt32) -> OrderRecord? {
        state.withLock { s in
            guard let record = s.projection.open[id], record.order.account.rawValue == account else { return nil }
            return record
        }
    }
}
