import BourseCore
import Foundation
import Synchronization

/// The tape as the market data stream published it: every trade and every change of the top of the book,
/// with their per-symbol sequence numbers, in `market-history.sqlite`, kept for `retentionDays` days.
/// It records what was sent, as a market data recorder does; it is not rebuilt from the journal. Batches
/// are written on a queue of their own, so the market thread never waits on the disk; the writer comes
/// round 5 ms after a batch arrives, and whatever waits then goes into one transaction (`settle` writes at
/// once). At most `pendingMax` batches wait, and a batch beyond
/// that, or one whose transaction failed, is counted in `dropped` (shown by `/metrics` and `/readyz`)
/// rather than held without bound.
public final class MarketHistory: Sendable {
    public struct TradeRow: Sendable, Equatable {
        public var symbol: String
        public var time: Int64
        public var sequence: UInt64
        public var id: UInt64
        public var price: Int64
        public var size: Int64

        public init(symbol: String, time: Int64, sequence: UInt64, id: UInt64, price: Int64, size: Int64) {
            self.symbol = symbol
            self.time = time
            self.sequence = sequence
            self.id = id
            self.price = price
            self.size = size
        }
    }

    public struct QuoteRow: Sendable, Equatable {
        public var symbol: String
        public var time: Int64
        public var sequence: UInt64
        public var bidPrice: Int64
        public var bidSize: Int64
        public var askPrice: Int64
        public var askSize: Int64

        public init(symbol: String, time: Int64, sequence: UInt64, bidPrice: Int64, bidSize: Int64, askPrice: Int64, askSize: Int64) {
            self.symbol = symbol
            self.time = time
            self.sequence = sequence
            self.bidPrice = bidPrice
            self.bidSize = bidSize
            self.askPrice = askPrice
            self.askSize = askSize
        }
    }

    public static let pendingMax = 10_000
    public let retentionDays: Int
    private let database: SQLiteStore
    private let writing = DispatchQueue(label: "bourse-market-history")
    /// The batches waiting for the writer, and whether it has been asked to come round for them.
    private let pending = Mutex<(batches: [(trades: [TradeRow], quotes: [QuoteRow])], scheduled: Bool)>(([], false))
    private let droppedCount = Atomic<Int>(0)
    private let pruned = Mutex<Int64>(0)

    public init(path: String, retentionDays: Int) throws {
        self.retentionDays = retentionDays
        database = try SQLiteStore(path: path)
        try database.write { writer in
            for statement in [
                """
                CREATE TABLE IF NOT EXISTS trades (symbol TEXT NOT NULL, time INTEGER NOT NULL, sequence INTEGER NOT NULL,
                    id INTEGER NOT NULL, price INTEGER NOT NULL, size INTEGER NOT NULL)
                """,
                "CREATE INDEX IF NOT EXISTS trades_by_symbol ON trades (symbol, time)",
                "CREATE INDEX IF NOT EXISTS trades_by_time ON trades (time)",
                """
                CREATE TABLE IF NOT EXISTS quotes (symbol TEXT NOT NULL, time INTEGER NOT NULL, sequence INTEGER NOT NULL,
                    bid_price INTEGER NOT NULL, bid_size INTEGER NOT NULL, ask_price INTEGER NOT NULL, ask_size INTEGER NOT NULL)
                """,
                "CREATE INDEX IF NOT EXISTS quotes_by_symbol ON quotes (symbol, time)",
                "CREATE INDEX IF NOT EXISTS quotes_by_time ON quotes (time)",
            ] {
                try writer.execute(statement, [])
            }
        }
    }

    /// Batches refused because too many waited to be written, since start.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }

    /// Queues a batch for writing; never waits.
    public func record(trades: [TradeRow], quotes: [QuoteRow]) {
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
            try database.write { writer in
                for (trades, quotes) in batches {
                    for t in trades {
                        try writer.execute("INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?)", [
                            .text(t.symbol), .int(t.time), .int(Int64(t.sequence)), .int(Int64(bitPattern: t.id)), .int(t.price), .int(t.size)])
                    }
                    for q in quotes {
                        try writer.execute("INSERT INTO quotes VALUES (?, ?, ?, ?, ?, ?, ?)", [
                            .text(q.symbol), .int(q.time), .int(Int64(q.sequence)), .int(q.bidPrice), .int(q.bidSize), .int(q.askPrice),
                            .int(q.askSize)])
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
        try? database.write { writer in
            try writer.execute("DELETE FROM trades WHERE time < ?", [.int(cutoff)])
            try writer.execute("DELETE FROM quotes WHERE time < ?", [.int(cutoff)])
        }
    }

    /// Waits until every batch queued so far is written.
    public func settle() { writing.sync { write() } }

    /// Trades from `start` to `end` (inclusive, nanoseconds), oldest first, of one symbol or all.
    public func trades(_ symbol: String?, from start: Int64, to end: Int64, limit: Int) throws -> [TradeRow] {
        try rows("trades", symbol, start, end, limit).map(Self.trade)
    }

    /// Quotes likewise.
    public func quotes(_ symbol: String?, from start: Int64, to end: Int64, limit: Int) throws -> [QuoteRow] {
        try rows("quotes", symbol, start, end, limit).map(Self.quote)
    }

    /// One symbol's trades from `start` to `end` in the order of its market data sequence numbers (newest
    /// first when `descending`), from `cursor` on (inclusive): a page of a paged listing.
    public func trades(_ symbol: String, from start: Int64, to end: Int64, cursor: UInt64?, descending: Bool, limit: Int) throws -> [TradeRow] {
        try page("trades", symbol, start, end, cursor, descending, limit).map(Self.trade)
    }

    public func quotes(_ symbol: String, from start: Int64, to end: Int64, cursor: UInt64?, descending: Bool, limit: Int) throws -> [QuoteRow] {
        try page("quotes", symbol, start, end, cursor, descending, limit).map(Self.quote)
    }

    private static func trade(_ row: SQLRow) -> TradeRow {
        TradeRow(symbol: row.text("symbol")!, time: row.int("time")!, sequence: UInt64(row.int("sequence")!),
                 id: UInt64(bitPattern: row.int("id")!), price: row.int("price")!, size: row.int("size")!)
    }

    private static func quote(_ row: SQLRow) -> QuoteRow {
        QuoteRow(symbol: row.text("symbol")!, time: row.int("time")!, sequence: UInt64(row.int("sequence")!),
                 bidPrice: row.int("bid_price")!, bidSize: row.int("bid_size")!, askPrice: row.int("ask_price")!, askSize: row.int("ask_size")!)
    }

    private func rows(_ table: String, _ symbol: String?, _ start: Int64, _ end: Int64, _ limit: Int) throws -> [SQLRow] {
        let bySymbol = symbol == nil ? "" : "symbol = ? AND "
        let arguments: [SQLValue] = (symbol.map { [.text($0)] } ?? []) + [.int(start), .int(end), .int(Int64(limit))]
        return try database.querySynchronously("SELECT * FROM \(table) WHERE \(bySymbol)time BETWEEN ? AND ? ORDER BY time, rowid LIMIT ?",
                                               arguments)
    }

    private func page(_ table: String, _ symbol: String, _ start: Int64, _ end: Int64, _ cursor: UInt64?, _ descending: Bool,
                      _ limit: Int) throws -> [SQLRow] {
        let from = cursor == nil ? "" : " AND sequence \(descending ? "<=" : ">=") ?"
        let position: [SQLValue] = cursor.map { [.int(Int64(clamping: $0))] } ?? []
        return try database.querySynchronously("""
            SELECT * FROM \(table) WHERE symbol = ? AND time BETWEEN ? AND ?\(from) ORDER BY sequence \(descending ? "DESC" : "ASC") LIMIT ?
            """, [.text(symbol), .int(start), .int(end)] + position + [.int(Int64(limit))])
    }
}
