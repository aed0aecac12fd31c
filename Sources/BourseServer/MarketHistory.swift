import BourseCore
import Foundation
import GRDB
import Synchronization

/// The tape as the market data stream published it: every trade and every change of the top of the book,
/// with their per-symbol sequence numbers, in `market-history.sqlite`, kept for `retentionDays` days.
/// It records what was sent, as a market data recorder does; it is not rebuilt from the journal. Batches
/// are written on a queue of their own, so the market thread never waits on the disk; at most
/// `pendingMax` batches wait, and a batch beyond that is counted in `dropped` (shown by `/metrics` and
/// `/readyz`) rather than held without bound.
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
    private let pending = Atomic<Int>(0)
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
        guard pending.add(1, ordering: .relaxed).newValue <= Self.pendingMax else {
            pending.subtract(1, ordering: .relaxed)
            droppedCount.add(1, ordering: .relaxed)
            return
        }
        writing.async { [self] in
            defer { pending.subtract(1, ordering: .relaxed) }
            try? database.write { db in
                let trade = try db.makeStatement(sql: "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?)")
                for t in trades {
                    try trade.execute(arguments: [t.symbol, t.time, Int64(t.sequence), Int64(bitPattern: t.id), t.price, t.size])
                }
                let quote = try db.makeStatement(sql: "INSERT INTO quotes VALUES (?, ?, ?, ?, ?, ?, ?)")
                for q in quotes {
                    try quote.execute(arguments: [q.symbol, q.time, Int64(q.sequence), q.bidPrice, q.bidSize, q.askPrice, q.askSize])
                }
            }
            pruneIfDue(now: trades.last?.time ?? quotes.last?.time ?? 0)
        }
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
        try? database.write { db in
            try db.execute(sql: "DELETE FROM trades WHERE time < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM quotes WHERE time < ?", arguments: [cutoff])
        }
    }

    /// Waits until every batch queued so far is written.
    func settle() { writing.sync {} }

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
