import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import Foundation
import Synchronization

/// The order history and account activities: every order's last state, and every fill and cash or
/// securities movement per account, built from the event stream. At start it is rebuilt by reading the
/// journal from its first entry; then a consumer of the published events keeps it current on its own
/// thread. It is a projection: the journal holds everything, and this holds a bounded window of it.
final class OrderHistory: Sendable {
    /// Ended orders kept; past it the oldest are forgotten (the journal still has them).
    static let endedMax = 1_000_000
    /// Activities kept per account, newest last.
    static let activitiesPerAccountMax = 100_000

    struct Activity: Sendable {
        var id: String
        var account: UInt32
        var json: String
    }

    private struct State {
        var projection = OrderProjection()
        var ended: [UInt64: OrderRecord] = [:]
        /// Ended order ids in the order they ended, for forgetting the oldest.
        var endedOrder: [UInt64] = []
        var endedStart = 0
        /// Each account's order ids in the order they were created.
        var byAccount: [UInt32: [UInt64]] = [:]
        var activities: [UInt32: [Activity]] = [:]
        var lastSequence: UInt64 = 0
        /// Client order ids in use, per account, and the order each names; and the other way round.
        var clientOrderIDs: [UInt32: [String: UInt64]] = [:]
        var clientOrderIDOf: [UInt64: String] = [:]
        /// Open GTD orders' expiry times, for the scheduler.
        var expiries: [UInt64: Int64] = [:]

        mutating func claim(_ clientOrderID: String, account: UInt32, order: UInt64) {
            clientOrderIDs[account, default: [:]][clientOrderID] = order
            clientOrderIDOf[order] = clientOrderID
        }

        /// Frees an ended order's client order id along with the order.
        mutating func forget(_ order: UInt64) {
            guard let record = ended.removeValue(forKey: order), let clientOrderID = clientOrderIDOf.removeValue(forKey: order) else { return }
            clientOrderIDs[record.order.account.rawValue]?[clientOrderID] = nil
        }
    }

    private let state = Mutex(State())
    /// Why the history stopped following the event stream, once it has: its answers would be stale.
    let stopped = Mutex<String?>(nil)
    let consumer = EventConsumer(name: "order-history", capacity: 1 << 18)

    /// Reads the journal from its first entry, before the sequencer starts; hands each entry to `also` too,
    /// for the other projections rebuilt in the same pass.
    func rebuild(from journal: String, also: (Published) -> Void = { _ in }) throws {
        var decoded: [Event] = []
        let result: Result<Void, any Error> = Result {
            _ = try JournalReader.read(journal, repair: false) { (entry) throws(JournalError) in
                var reader = ByteReader(entry.eventBytes)
                decoded.removeAll(keepingCapacity: true)
                do throws(DecodeError) {
                    while reader.remaining > 0 { decoded.append(try reader.readEvent()) }
                } catch {
                    throw .undecodable(file: journal, offset: reader.offset, error)
                }
                let published = Published(command: entry.command, events: decoded, note: Array(entry.note))
                apply(published)
                also(published)
            }
        }
        try result.get()
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
            s.lastSequence = published.command.sequence
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
                if change.event == "new" || change.event == "rejected" {
                    s.byAccount[change.account, default: []].append(id)
                    // An account's id list is trimmed of forgotten orders when it grows past what is kept.
                    if s.byAccount[change.account]!.count > Self.activitiesPerAccountMax {
                        s.byAccount[change.account] = s.byAccount[change.account]!.filter { s.ended[$0] != nil || s.projection.open[$0] != nil }
                    }
                }
                if change.record.isEnded {
                    s.ended[id] = change.record
                    s.endedOrder.append(id)
                    if s.endedOrder.count - s.endedStart > Self.endedMax {
                        s.forget(s.endedOrder[s.endedStart])
                        s.endedStart += 1
                        // Compact now and then, so the list of ids stays bounded too.
                        if s.endedStart > Self.endedMax {
                            s.endedOrder.removeFirst(s.endedStart)
                            s.endedStart = 0
                        }
                    }
                }
            }
            for activity in Self.activities(published) {
                s.activities[activity.account, default: []].append(activity)
                if s.activities[activity.account]!.count > Self.activitiesPerAccountMax {
                    s.activities[activity.account]!.removeFirst(s.activities[activity.account]!.count - Self.activitiesPerAccountMax)
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
            s.clientOrderIDs[account]?[clientOrderID] = nil
            s.clientOrderIDOf[order] = nil
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
                if let clientOrderID = s.clientOrderIDOf[id] { orders[i].client_order_id = clientOrderID }
                if let expiry = s.expiries[id] { orders[i].expire_at = API.time(Timestamp(nanos: expiry)) }
            }
        }
    }

    /// The earliest expiry time of an open GTD order, if there is one.
    func nextExpiry() -> Int64? {
        state.withLock { $0.expiries.values.min() }
    }

    /// Every open order as the history knows it.
    func openRecords() -> [OrderRecord] {
        state.withLock { Array($0.projection.open.values) }
    }

    /// An order of the account, open or ended, if it is known.
    func order(_ id: UInt64, account: UInt32) -> OrderRecord? {
        state.withLock { s in
            guard let record = s.projection.open[id] ?? s.ended[id], record.order.account.rawValue == account else { return nil }
            return record
        }
    }

    /// The account's orders, newest first: open ones, ended ones, or all.
    func orders(account: UInt32, status: String, limit: Int) -> [OrderRecord] {
        state.withLock { s in
            var result: [OrderRecord] = []
            for id in (s.byAccount[account] ?? []).reversed() {
                guard result.count < limit else { break }
                if status != "closed", let open = s.projection.open[id] {
                    result.append(open)
                } else if status != "open", let ended = s.ended[id] {
                    result.append(ended)
                }
            }
            return result
        }
    }

    /// The account's activities, newest first.
    func activities(account: UInt32, limit: Int) -> [Activity] {
        state.withLock { Array(($0.activities[account] ?? []).suffix(limit).reversed()) }
    }

    /// Fills, cash movements and securities transfers, in Alpaca's activity shape.
    static func activities(_ published: Published) -> [Activity] {
        let time = API.time(published.command.time)
        let stamp = "\(published.command.time.nanos)::\(published.command.sequence)"
        var result: [Activity] = []
        for (i, event) in published.events.enumerated() {
            let id = "\(stamp)::\(i)"
            switch event {
            case .trade(let t):
                for (account, order, side, leaves) in [
                    (t.makerAccount, t.makerOrderID, t.takerSide.opposite, t.makerLeaves),
                    (t.takerAccount, t.takerOrderID, t.takerSide, t.takerLeaves),
                ] {
                    let fields: [(String, String)] = [
                        ("id", id + (order == t.takerOrderID ? "::t" : "::m")), ("activity_type", "FILL"), ("transaction_time", time),
                        ("type", leaves.shares == 0 ? "fill" : "partial_fill"), ("price", API.decimal(t.price)),
                        ("qty", String(t.quantity.shares)), ("side", side == .buy ? "buy" : "sell"), ("symbol", t.symbol.description),
                        ("leaves_qty", String(leaves.shares)), ("order_id", String(order.rawValue)),
                        ("fee", API.decimal(order == t.takerOrderID ? t.takerFee : t.makerFee)),
                    ]
                    result.append(Activity(id: id, account: account.rawValue, json: object(fields)))
                }
            case .cashDeposited(let account, let amount), .cashWithdrawn(let account, let amount):
                let deposit = if case .cashDeposited = event { true } else { false }
                result.append(Activity(id: id, account: account.rawValue, json: object([
                    ("id", id), ("activity_type", deposit ? "CSD" : "CSW"), ("date", String(time.prefix(10))),
                    ("transaction_time", time), ("net_amount", API.decimal(Money(units: deposit ? amount.units : -amount.units))),
                ])))
            case .securitiesTransferredIn(let account, let symbol, let qty, _), .securitiesTransferredOut(let account, let symbol, let qty):
                let incoming = if case .securitiesTransferredIn = event { true } else { false }
                result.append(Activity(id: id, account: account.rawValue, json: object([
                    ("id", id), ("activity_type", "JNLS"), ("date", String(time.prefix(10))), ("transaction_time", time),
                    ("symbol", symbol.description), ("qty", String(incoming ? qty.shares : -qty.shares)),
                ])))
            default:
                break
            }
        }
        return result
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { API.quoted($0.0) + ":" + API.quoted($0.1) }.joined(separator: ",") + "}"
    }
}
