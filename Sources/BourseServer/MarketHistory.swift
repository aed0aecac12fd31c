import BourseCore
import Foundation
import GRDB
import Synchronization

/// The tape as the market data stream published it: every trade and every change of the top of the book,
/// with their per-symbol sequence numbers, in `market-history.sqlite`, kept for `retentionDays` days.
/// It records what was sent, as a market data recorder does; it is not rebuilt from the journal. Batches
/// are written on a queue of their own, so the market thread never waits on the disk; the writer comes
/// round 5 ms after a batch arrives, and whatever waits then goes into one transaction (`settle` writes at
/// once). At most `pendingMax` batches wait, and a batch beyond
/// that, or one whose transaction failed, is counted in `dropped` (shown by `/metrics` and `/readyz`)
/// rather than held without bound.
final class MarketHistory: Sendable {
    struct TradeRow: Sendable, Equatable {
        var symbol: String
        var time: Int64
        var sequence: UInt64
        var id: UInt64
        var price: Int64
        var size: Int64
    }

    struct QuoteRow: Sendable, Equatable {
        var symbol: String
        var time: Int64
        var sequence: UInt64
        var bidPrice: Int64
        var bidSize: Int64
        var askPrice: Int64
        var askSize: Int64
    }

    static let pendingMax = 10_000
    let retentionDays: Int
    private let database: DatabasePool
    private let writing = DispatchQueue(label: "bourse-market-history")
    /// The batches waiting for the writer, and whether it has been asked to come round for them.
    private let pending = Mutex<(batches: [(trades: [TradeRow], quotes: [QuoteRow])], scheduled: Bool)>(([], false))
    private let droppedCount = Atomic<Int>(0)
    private let pruned = Mutex<Int64>(0)

    init(path: String, retentionDays: Int) throws {
        self.retentionDays = retentionDays
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        database = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE trades (symbol TEXT NOT NULL, time INTEGER NOT NULL, sequence INTEGER NOT NULL, id INTEGER NOT NULL,
                                     price INTEGER NOT NULL, size INTEGER NOT NULL);
                CREATE INDEX trades_by_symbol ON trades (symbol, time);
                CREATE INDEX trades_by_time ON trades (time);
                CREATE TABLE quotes (symbol TEXT NOT NULL, time INTEGER NOT NULL, sequence INTEGER NOT NULL,
                                     bid_price INTEGER NOT NULL, bid_size INTEGER NOT NULL, ask_price INTEGER NOT NULL, ask_size INTEGER NOT NULL);
                CREATE INDEX quotes_by_symbol ON quotes (symbol, time);
                CREATE INDEX quotes_by_time ON quotes (time);
                """)
        }
        try migrator.migrate(database)
    }

    /// Batches refused because too many waited to be written, since start.
    var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Queues a batch for writing; never waits.
    func record(trades: [TradeRow], quotes: [QuoteRow]) {
        guard !trades.isEmpty || !quotes.isEmpty else { return }
        let schedule = pending.withLock { pending -> Bool? in
            guard pending.batches.count < Self.pendingMax else { return nil }
            pending.batches.append((trades, quotes))
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        guard let schedule else {
            droppedCount.add(1, ordering: .relaxed)
            return
        }
        if schedule { writing.asyncAfter(deadline: .now() + Self.delay) { [self] in write() } }
    }

    /// How long a batch waits for others to share its transaction: a transaction a batch (a handful of
    /// orders) cost more than the rows in it.
    static let delay = DispatchTimeInterval.milliseconds(5)

    /// Writes every batch waiting, in one transaction.
    private func write() {
        let batches = pending.withLock { pending in
            defer { pending = ([], false) }
            return pending.batches
        }
        guard !batches.isEmpty else { return }
        do {
            try database.write { db in
                let trade = try db.cachedStatement(sql: "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?)")
                let quote = try db.cachedStatement(sql: "INSERT INTO quotes VALUES (?, ?, ?, ?, ?, ?, ?)")
                for (trades, quotes) in batches {
                    for t in trades {
                        try trade.run { b in
                            b.text(t.symbol)
                            b.int(t.time)
                            b.int(Int64(t.sequence))
                            b.int(Int64(bitPattern: t.id))
                            b.int(t.price)
                            b.int(t.size)
                        }
                    }
                    for q in quotes {
                        try quote.run { b in
                            b.text(q.symbol)
                            b.int(q.time)
                            b.int(Int64(q.sequence))
                            b.int(q.bidPrice)
                            b.int(q.bidSize)
                            b.int(q.askPrice)
                            b.int(q.askSize)
                        }
                    }
                }
            }
        } catch {
            droppedCount.add(batches.count, ordering: .relaxed)
        }
        let last = batches.last
        pruneIfDue(now: last?.trades.last?.time ?? last?.quotes.last?.time ?? 0)
    }

    /// Deletes what is older than the retention, at most once an hour of venue time.
    private func pruneIfDue(now: Int64) {
        let due = pruned.withLock { last -> Bool in
            guard now - last >= 3_600_000_000_000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        let cutoff = now - Int64(retentionDays) * 86_400_000_000_000
        // A prune that fails is tried again an hour later; nothing is lost meanwhile.
        try? database.write { db in
            try db.execute(sql: "DELETE FROM trades WHERE time < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM quotes WHERE time < ?", arguments: [cutoff])
        }
    }

    /// Waits until every batch queued so far is written.
    func settle() { writing.sync { write() } }

    /// Trades from `start` to `end` (inclusive, nanoseconds), oldest first, of one symbol or all.
    func trades(_ symbol: String?, from start: Int64, to end: Int64, limit: Int) throws -> [TradeRow] {
        try rows("trades", symbol, start, end, limit).map {
            TradeRow(symbol: $0["symbol"], time: $0["time"], sequence: UInt64($0["sequence"] as Int64),
                     id: UInt64(bitPattern: $0["id"] as Int64), price: $0["price"], size: $0["size"])
        }
    }

    /// Quotes likewise.
    func quotes(_ symbol: String?, from start: Int64, to end: Int64, limit: Int) throws -> [QuoteRow] {
        try rows("quotes", symbol, start, end, limit).map {
            QuoteRow(symbol: $0["symbol"], time: $0["time"], sequence: UInt64($0["sequence"] as Int64),
                     bidPrice: $0["bid_price"], bidSize: $0["bid_size"], askPrice: $0["ask_price"], askSize: $0["ask_size"])
        }
    }

    private func rows(_ table: String, _ symbol: String?, _ start: Int64, _ end: Int64, _ limit: Int) throws -> [Row] {
        try database.read { db in
            let bySymbol = symbol == nil ? "" : "symbol = ? AND "
            let arguments: StatementArguments = symbol.map { [$0, start, end, limit] } ?? [start, end, limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM \(table) WHERE \(bySymbol)time BETWEEN ? AND ? ORDER BY time, rowid LIMIT ?",
                                    arguments: arguments)
        }
    }
}
