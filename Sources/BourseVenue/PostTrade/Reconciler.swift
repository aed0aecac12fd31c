import BourseCore
import BoursePostTrade
import BourseProjections
import GRDB

/// Runs reconciliations (`Reconciliation`) of the venue's captured trades for a date against a street file,
/// and keeps each run and its breaks in `post-trade.sqlite`: a break stays open in the review queue until an
/// operator resolves it, saying how; who resolved it and when is kept with it. Each trade that matched is
/// cleared by a journaled command, so that its lifecycle shows it.
public final class Reconciler: Sendable {
    let desk: CaptureDesk
    let venue: Venue
    let projections: Projections
    let clock: @Sendable () -> Int64
    /// Resolutions are free text of at most this many bytes.
    public static let resolutionBytesMax = 1_024

    public init(desk: CaptureDesk, venue: Venue, projections: Projections, clock: @escaping @Sendable () -> Int64) {
        self.desk = desk
        self.venue = venue
        self.projections = projections
        self.clock = clock
    }

    public struct Run: Sendable, Equatable {
        public var id: Int64
        public var tradeDate: CivilDate
        public var name: String
        public var house: Int
        public var street: Int
        public var matched: Int
        public var breaks: Int
        /// Street rows the form check refused, one line each: not reconciled.
        public var unreadable: [String]
        public var actor: String
        public var createdAt: Int64
    }

    public struct BreakRecord: Sendable, Equatable {
        public var id: Int64
        public var run: Int64
        public var kind: String
        public var tradeID: String
        public var house: String
        public var street: String
        /// `open` or `resolved`.
        public var state: String
        public var resolution: String
        public var resolvedBy: String
        public var resolvedAt: Int64?
    }

    public enum Failure: Error, CustomStringConvertible {
        case file(String)
        case unavailable(String)
        public var description: String {
            switch self {
            case .file(let reason): "the street file is refused: \(reason)"
            case .unavailable(let reason): reason
            }
        }
    }

    /// Reconciles the captures traded on `date` (cancelled ones left out) with the street file's rows.
    public func run(tradeDate date: CivilDate, name: String, file: [UInt8], actor: String) async throws -> Run {
        let rows: [TradeFile.Row]
        do throws(TradeFile.FileError) { rows = try TradeFile.read(file, name: name) } catch { throw Failure.file(error.reason) }
        var street: [Reconciliation.Record] = [], unreadable: [String] = []
        for row in rows {
            switch row.trade {
            case .success(let t):
                street.append(Reconciliation.Record(tradeID: t.tradeID, account: t.account.text, symbol: t.symbol, side: t.side, quantity: t.quantity,
                                                    price: t.price, tradeDate: t.tradeDate, settlementDate: t.settlementDate))
            case .failure(let error): unreadable.append(error.description)
            }
        }
        if let problem = await projections.wait("post_trade", for: try await venue.lastSequence()) { throw Failure.unavailable(problem) }
        let trades = try await projections.store.query("""
            SELECT * FROM pt_trades WHERE origin = 'capture' AND trade_date = ? AND state <> 'cancelled' ORDER BY id
            """, [.int(Int64(date.daysSinceEpoch))])
        let ids = Set(trades.map { AccountID(UInt32($0.int("account")!)) })
        let numbers = try await venue.read { engine in Dictionary(uniqueKeysWithValues: ids.map { ($0, engine.accountSummary($0)?.number.text ?? "\($0)") }) }
        let house = trades.map { r in
            Reconciliation.Record(tradeID: r.text("reference")!, account: numbers[AccountID(UInt32(r.int("account")!))]!,
                                  symbol: (try? Symbol(validating: r.text("symbol")!))!, side: r.text("side") == "buy" ? .buy : .sell,
                                  quantity: Quantity(r.int("qty")!), price: Price(units: r.int("price")!), tradeDate: date,
                                  settlementDate: r.int("settlement_date").map { CivilDate(daysSinceEpoch: Int($0)) })
        }
        let result = Reconciliation.reconcile(house: house, street: street.filter { $0.tradeDate == date })
        let run = try record(date, name, house: house.count, street: street.count, result, unreadable: unreadable, actor: actor)
        // What matched is cleared, journaled one trade at a time; a trade cleared by an earlier run stays as it is.
        let captures = Dictionary(trades.map { ($0.text("reference")!, UInt64($0.text("id")!.dropFirst(2)) ?? 0) }, uniquingKeysWith: { a, _ in a })
        for reference in result.matched {
            guard let n = captures[reference] else { continue }
            _ = try await venue.execute(.clearTrade(.capture(n), reconciliation: UInt64(run.id)))
        }
        return run
    }

    private func record(_ date: CivilDate, _ name: String, house: Int, street: Int, _ result: Reconciliation.Result, unreadable: [String],
                        actor: String) throws -> Run {
        let now = clock()
        return try desk.queue.database.write { db in
            try db.execute(sql: """
                INSERT INTO recon_runs (trade_date, name, house, street, matched, breaks, unreadable, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [date.daysSinceEpoch, name, house, street, result.matched.count, result.breaks.count,
                                 unreadable.joined(separator: "\n"), actor, now])
            let run = db.lastInsertedRowID
            for b in result.breaks {
                try db.execute(sql: """
                    INSERT INTO recon_breaks (run, kind, trade_id, house, street, state, resolution, resolved_by) VALUES (?, ?, ?, ?, ?, 'open', '', '')
                    """, arguments: [run, b.kind.rawValue, b.tradeID, b.house, b.street])
            }
            return try Self.run(db, run)!
        }
    }

    /// Resolves an open break, saying how.
    public func resolve(_ id: Int64, resolution: String, actor: String) throws -> BreakRecord {
        guard !resolution.isEmpty, resolution.utf8.count <= Self.resolutionBytesMax else {
            throw RecordRefusal.invalid("resolution must be 1 to \(Self.resolutionBytesMax) bytes")
        }
        let now = clock()
        return try desk.queue.database.write { db in
            guard let b = try Self.breakRecord(db, id) else { throw RecordRefusal.notFound("no break \(id)") }
            guard b.state == "open" else { throw RecordRefusal.invalid("break \(id) was resolved by \(b.resolvedBy): \(b.resolution)") }
            try db.execute(sql: "UPDATE recon_breaks SET state = 'resolved', resolution = ?, resolved_by = ?, resolved_at = ? WHERE id = ?",
                           arguments: [resolution, actor, now, id])
            return try Self.breakRecord(db, id)!
        }
    }

    public func runs(limit: Int) throws -> [Run] {
        try desk.queue.database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM recon_runs ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Self.run) }
    }

    public func run(_ id: Int64) throws -> Run? { try desk.queue.database.read { db in try Self.run(db, id) } }

    public func breaks(run: Int64?, state: String?, limit: Int) throws -> [BreakRecord] {
        try desk.queue.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recon_breaks WHERE (? IS NULL OR run = ?) AND (? IS NULL OR state = ?) ORDER BY id LIMIT ?",
                             arguments: [run, run, state, state, limit]).map(Self.breakRecord)
        }
    }

    private static func run(_ db: Database, _ id: Int64) throws -> Run? {
        try Row.fetchOne(db, sql: "SELECT * FROM recon_runs WHERE id = ?", arguments: [id]).map(run)
    }

    private static func run(_ row: Row) -> Run {
        let unreadable: String = row["unreadable"]
        return Run(id: row["id"], tradeDate: CivilDate(daysSinceEpoch: row["trade_date"]), name: row["name"], house: row["house"], street: row["street"],
                   matched: row["matched"], breaks: row["breaks"], unreadable: unreadable.isEmpty ? [] : unreadable.split(separator: "\n").map(String.init),
                   actor: row["actor"], createdAt: row["created_at"])
    }

    private static func breakRecord(_ db: Database, _ id: Int64) throws -> BreakRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM recon_breaks WHERE id = ?", arguments: [id]).map(breakRecord)
    }

    private static func breakRecord(_ row: Row) -> BreakRecord {
        BreakRecord(id: row["id"], run: row["run"], kind: row["kind"], tradeID: row["trade_id"], house: row["house"], street: row["street"],
                    state: row["state"], resolution: row["resolution"], resolvedBy: row["resolved_by"], resolvedAt: row["resolved_at"])
    }
}
