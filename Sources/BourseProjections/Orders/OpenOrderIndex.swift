import BourseCore
import BourseNode
import Synchronization

/// What the gateways need of orders at once and in memory: the open orders as the events describe them,
/// the client order ids in use and GTD expiry times. Kept by the order projection on its thread, read and
/// claimed from by the gateways; ended orders and activities are asked of the projection's store.
public final class OpenOrderIndex: Sendable {
    /// Client order ids kept taken: those of open orders and of the most recent this many others.
    public static let clientOrderIDsMax = 1_000_000

    private struct State {
        var lifecycle = OrderLifecycle()
        /// Client order ids in use, per account, and the order each names; and the other way round.
        var clientOrderIDs: [UInt32: [String: UInt64]] = [:]
        var clientOrderIDOf: [UInt64: (account: UInt32, id: String)] = [:]
        /// Orders holding a client order id, oldest first, for letting the oldest go.
        var claimed: [UInt64] = []
        var claimedStart = 0
        /// Claims a gateway made for orders the projection has not seen yet: kept when the projection
        /// reloads from its store, which knows nothing of them.
        var submitted: Set<UInt64> = []
        /// Open GTD orders' expiry times, for the scheduler.
        var expiries: [UInt64: Int64] = [:]

        mutating func claim(_ clientOrderID: String, account: UInt32, order: UInt64) {
            clientOrderIDs[account, default: [:]][clientOrderID] = order
            clientOrderIDOf[order] = (account, clientOrderID)
            claimed.append(order)
            // Past the bound, the oldest claims of ended orders are let go (a few at a time; an open
            // order's claim goes to the back).
            var budget = 2
            while claimed.count - claimedStart > OpenOrderIndex.clientOrderIDsMax && budget > 0 {
                budget -= 1
                let oldest = claimed[claimedStart]
                claimedStart += 1
                if lifecycle.open[oldest] == nil && !submitted.contains(oldest) { release(oldest) } else { claimed.append(oldest) }
            }
            if claimedStart > OpenOrderIndex.clientOrderIDsMax {
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

    public init() {}

    /// Starts again from the store's open orders and client order ids (newest first), keeping the claims
    /// gateways made for orders not yet applied.
    func load(open: [OrderRecord], claims: [(account: UInt32, clientOrderID: String, order: UInt64)]) {
        state.withLock { s in
            let submitted = s.submitted.compactMap { order in s.clientOrderIDOf[order].map { (order, $0) } }
            s = State()
            s.lifecycle.seed(open)
            for (account, clientOrderID, order) in claims.reversed() { s.claim(clientOrderID, account: account, order: order) }
            for (order, (account, clientOrderID)) in submitted where s.clientOrderIDOf[order] == nil {
                s.claim(clientOrderID, account: account, order: order)
                s.submitted.insert(order)
            }
            for record in open where record.order.timeInForce == .gtd {
                if let expiry = record.order.expireTime { s.expiries[record.order.orderID.rawValue] = expiry.nanos }
            }
        }
    }

    /// Applies one command's events; returns the changes they made to orders.
    func apply(_ published: Published) -> [OrderChange] {
        state.withLock { s in
            let changes = s.lifecycle.apply(published)
            for change in changes {
                let id = change.record.order.orderID.rawValue
                s.submitted.remove(id)
                if let clientOrderID = change.record.clientOrderID, s.clientOrderIDOf[id] == nil {
                    s.claim(clientOrderID, account: change.account, order: id)
                }
                if change.record.isEnded {
                    s.expiries[id] = nil
                } else if change.record.order.timeInForce == .gtd, let expiry = change.record.order.expireTime {
                    s.expiries[id] = expiry.nanos
                }
            }
            return changes
        }
    }

    /// Claims a client order id for an order about to be submitted; gives the order that holds it already
    /// instead, if one does. Checked and claimed under one lock, so two requests racing with the same id
    /// cannot both pass.
    public func claim(_ clientOrderID: String, account: UInt32, order: UInt64) -> UInt64? {
        state.withLock { s in
            if let holder = s.clientOrderIDs[account]?[clientOrderID] { return holder }
            s.claim(clientOrderID, account: account, order: order)
            s.submitted.insert(order)
            return nil
        }
    }

    /// Gives back a claim whose order never reached the journal.
    public func release(_ clientOrderID: String, account: UInt32, order: UInt64) {
        state.withLock { s in
            guard s.clientOrderIDs[account]?[clientOrderID] == order else { return }
            s.submitted.remove(order)
            s.release(order)
        }
    }

    /// The order a client order id of the account names, if any.
    public func order(clientOrderID: String, account: UInt32) -> UInt64? {
        state.withLock { $0.clientOrderIDs[account]?[clientOrderID] }
    }

    /// The earliest expiry time of an open GTD order, if there is one.
    public func nextExpiry() -> Int64? {
        state.withLock { $0.expiries.values.min() }
    }

    /// An open order of the account, if the projection has seen it.
    public func openOrder(_ id: UInt64, account: UInt32) -> OrderRecord? {
        state.withLock { s in
            guard let record = s.lifecycle.open[id], record.order.account.rawValue == account else { return nil }
            return record
        }
    }

    /// The account's open orders, newest first.
    public func openOrders(account: UInt32) -> [OrderRecord] {
        state.withLock { s in
            s.lifecycle.open.values.filter { $0.order.account.rawValue == account }
                .sorted { ($0.created, $0.order.orderID) > ($1.created, $1.order.orderID) }
        }
    }

    /// Whether an order of that id is open, whoever's it is.
    public func isOpen(_ id: UInt64) -> Bool {
        state.withLock { $0.lifecycle.open[id] != nil }
    }

    /// Every open order, in no particular order.
    public var openOrders: [OrderRecord] { state.withLock { Array($0.lifecycle.open.values) } }
}
