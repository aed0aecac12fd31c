import BourseCore
import Foundation
import GRDB
import Synchronization

/// Price alerts per account: price above or below a level, or the change from the previous close above or
/// below a percentage, evaluated on every trade (or, by choice, every NBBO change: an "above" alert on the
/// best bid, a "below" alert on the best offer). Each symbol keeps, per source and condition, its alerts
/// sorted by threshold with the next to fire at the end, so a tick costs a look at the end of eight arrays
/// plus the alerts it fires, not a walk over all of them. A fired alert leaves the index at once (it never
/// fires twice), is recorded in `alerts.sqlite` and then pushed on the account's `/stream` as `alerts`.
/// Alerts are the venue's service, not commands, so they live in their own database, not the journal.
public final class Alerts: Sendable {
    public enum Condition: String, CaseIterable, Sendable {
        case priceAbove = "price_above", priceBelow = "price_below", changeAbove = "change_pct_above", changeBelow = "change_pct_below"

        public var isAbove: Bool { self == .priceAbove || self == .changeAbove }
        public var isChange: Bool { self == .changeAbove || self == .changeBelow }
    }

    public enum Source: String, CaseIterable, Sendable {
        case trade, nbbo
    }

    public struct Alert: Sendable, Equatable {
        public var id: UInt64
        public var account: UInt32
        public var symbol: Symbol
        public var condition: Condition
        public var source: Source
        /// Price units for price conditions; basis points of change for change conditions.
        public var threshold: Int64
        public var createdAt: Int64
        public var firedAt: Int64?
        /// The price that fired it.
        public var firedPrice: Int64?
    }

    /// Limits, so that no account (or all of them) can make a tick expensive.
    public static let activeMaxPerAccount = 1_000
    public static let activeMax = 1_000_000

    /// One symbol's alerts of one source and condition: (threshold, id), the next to fire last.
    private struct Queue {
        var entries: [(threshold: Int64, id: UInt64)] = []
        let above: Bool

        /// Above: fires when the value reaches the threshold, so the lowest thresholds go last.
        func position(_ threshold: Int64) -> Int {
            var low = 0, high = entries.count
            while low < high {
                let mid = (low + high) / 2
                if above ? entries[mid].threshold > threshold : entries[mid].threshold < threshold { low = mid + 1 } else { high = mid }
            }
            return low
        }

        mutating func insert(_ threshold: Int64, _ id: UInt64) { entries.insert((threshold, id), at: position(threshold)) }

        mutating func remove(_ threshold: Int64, _ id: UInt64) {
            var i = position(threshold)
            while i < entries.count, entries[i].threshold == threshold {
                if entries[i].id == id {
                    entries.remove(at: i)
                    return
                }
                i += 1
            }
        }

        /// Takes the alerts `value` fires.
        mutating func fire(_ value: Int64, into fired: inout [UInt64]) {
            while let last = entries.last, above ? value >= last.threshold : value <= last.threshold {
                fired.append(last.id)
                entries.removeLast()
            }
        }
    }

    private struct State {
        var alerts: [UInt64: Alert] = [:]
        var queues: [Symbol: [Queue]] = [:]
        var activeByAccount: [UInt32: Int] = [:]
        var active = 0
        var nextID: UInt64 = 1
    }

    private let state = Mutex(State())
    private let database: DatabaseQueue
    /// Records and pushes fired alerts in order, off the thread that evaluates them.
    private let firing = DispatchQueue(label: "bourse-alerts")
    private let listener = Mutex<(@Sendable (Alert) -> Void)?>(nil)

    /// Opens (or creates) the database and indexes the alerts still active.
    init(path: String) throws {
        database = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE alerts (
                    id INTEGER PRIMARY KEY, account INTEGER NOT NULL, symbol TEXT NOT NULL, condition TEXT NOT NULL,
                    source TEXT NOT NULL, threshold INTEGER NOT NULL, created_at INTEGER NOT NULL,
                    fired_at INTEGER, fired_price INTEGER);
                CREATE INDEX alerts_by_account ON alerts (account, id);
                """)
        }
        try migrator.migrate(database)
        let stored = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts").compactMap { row -> Alert? in
                guard let symbol = try? Symbol(validating: row["symbol"] as String),
                      let condition = Condition(rawValue: row["condition"]), let source = Source(rawValue: row["source"]) else { return nil }
                return Alert(id: UInt64(row["id"] as Int64), account: UInt32(row["account"] as Int64), symbol: symbol, condition: condition,
                             source: source, threshold: row["threshold"], createdAt: row["created_at"], firedAt: row["fired_at"],
                             firedPrice: row["fired_price"])
            }
        }
        state.withLock { s in
            for alert in stored {
                s.alerts[alert.id] = alert
                s.nextID = max(s.nextID, alert.id + 1)
                if alert.firedAt == nil { Self.index(alert, &s) }
            }
        }
    }

    private static func queueIndex(_ condition: Condition, _ source: Source) -> Int {
        Condition.allCases.firstIndex(of: condition)! * 2 + (source == .trade ? 0 : 1)
    }

    private static func index(_ alert: Alert, _ s: inout State) {
        if s.queues[alert.symbol] == nil {
            s.queues[alert.symbol] = Condition.allCases.flatMap { c in Source.allCases.map { _ in Queue(above: c.isAbove) } }
        }
        s.queues[alert.symbol]![queueIndex(alert.condition, alert.source)].insert(alert.threshold, alert.id)
        s.activeByAccount[alert.account, default: 0] += 1
        s.active += 1
    }

    private static func unindex(_ alert: Alert, _ s: inout State) {
        s.queues[alert.symbol]?[queueIndex(alert.condition, alert.source)].remove(alert.threshold, alert.id)
        s.activeByAccount[alert.account, default: 1] -= 1
        s.active -= 1
    }

    public enum Refusal: Error {
        case tooMany(String)
    }

    /// Creates an alert (recorded before it is answered).
    public func create(account: UInt32, symbol: Symbol, condition: Condition, source: Source, threshold: Int64, now: Int64) throws -> Alert {
        let alert = try state.withLock { s -> Alert in
            guard s.activeByAccount[account, default: 0] < Self.activeMaxPerAccount else {
                throw Refusal.tooMany("an account may have at most \(Self.activeMaxPerAccount) active alerts")
            }
            guard s.active < Self.activeMax else { throw Refusal.tooMany("the venue holds its limit of \(Self.activeMax) active alerts") }
            defer { s.nextID += 1 }
            return Alert(id: s.nextID, account: account, symbol: symbol, condition: condition, source: source, threshold: threshold, createdAt: now)
        }
        try database.write { db in
            try db.execute(sql: "INSERT INTO alerts (id, account, symbol, condition, source, threshold, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [Int64(alert.id), Int64(account), symbol.description, condition.rawValue, source.rawValue, threshold, now])
        }
        state.withLock { s in
            s.alerts[alert.id] = alert
            Self.index(alert, &s)
        }
        return alert
    }

    /// An account's alerts, newest first.
    public func list(account: UInt32) -> [Alert] {
        state.withLock { s in s.alerts.values.filter { $0.account == account }.sorted { $0.id > $1.id } }
    }

    public func alert(_ id: UInt64, account: UInt32) -> Alert? {
        state.withLock { s in s.alerts[id].flatMap { $0.account == account ? $0 : nil } }
    }

    /// Deletes an alert of the account; false when it has none of that id.
    public func delete(_ id: UInt64, account: UInt32) throws -> Bool {
        let removed = state.withLock { s -> Alert? in
            guard let alert = s.alerts[id], alert.account == account else { return nil }
            s.alerts[id] = nil
            if alert.firedAt == nil { Self.unindex(alert, &s) }
            return alert
        }
        guard removed != nil else { return false }
        try database.write { db in try db.execute(sql: "DELETE FROM alerts WHERE id = ?", arguments: [Int64(id)]) }
        return true
    }

    /// A trade (or an NBBO side) at `price`: fires the alerts it reaches. `previousClose` (0 when unknown)
    /// is what change alerts measure from; `upward`/`downward` choose which conditions look (a trade is
    /// both; an NBBO bid is looked at by "above" alerts and an offer by "below" ones).
    public func evaluate(_ symbol: Symbol, source: Source, price: Int64, previousClose: Int64, at now: Int64, upward: Bool = true, downward: Bool = true) {
        let fired: [Alert] = state.withLock { s in
            guard s.queues[symbol] != nil else { return [] }
            var ids: [UInt64] = []
            let change = previousClose > 0 ? (price - previousClose) * 10_000 / previousClose : nil
            for condition in Condition.allCases where condition.isAbove ? upward : downward {
                let value: Int64
                if condition.isChange {
                    guard let change else { continue }
                    value = change
                } else {
                    value = price
                }
                s.queues[symbol]![Self.queueIndex(condition, source)].fire(value, into: &ids)
            }
            return ids.compactMap { id in
                guard var alert = s.alerts[id] else { return nil }
                alert.firedAt = now
                alert.firedPrice = price
                s.alerts[id] = alert
                s.activeByAccount[alert.account, default: 1] -= 1
                s.active -= 1
                return alert
            }
        }
        guard !fired.isEmpty else { return }
        firing.async { [self] in
            // Recorded before anyone is told: a crash in between leaves it to fire again, never told twice.
            try? database.write { db in
                for alert in fired {
                    try db.execute(sql: "UPDATE alerts SET fired_at = ?, fired_price = ? WHERE id = ?",
                                   arguments: [alert.firedAt, alert.firedPrice, Int64(alert.id)])
                }
            }
            if let tell = listener.withLock({ $0 }) { for alert in fired { tell(alert) } }
        }
    }

    /// `body` is told each alert as it fires, after it is recorded.
    public func onFire(_ body: @escaping @Sendable (Alert) -> Void) { listener.withLock { $0 = body } }

    /// Waits until every fired alert so far is recorded and pushed.
    func settle() { firing.sync {} }

    public var activeCount: Int { state.withLock { $0.active } }
}
