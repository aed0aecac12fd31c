import BourseCore
import Foundation
import GRDB

/// Alpaca's watchlists: named lists of symbols per account, kept in `watchlists.sqlite` in the data
/// directory. Like alerts they are the venue's service, not commands, so they live in their own database,
/// written with full synchronization: a change the API acknowledged survives a power cut.
public final class Watchlists: Sendable {
    public static let perAccountMax = 100
    public static let symbolsMax = 1_000
    public static let nameLengthMax = 64

    public struct Watchlist: Sendable, Equatable {
        public var id: UInt64
        public var account: UInt32
        public var name: String
        public var symbols: [Symbol]
        public var createdAt: Int64
        public var updatedAt: Int64
    }

    public typealias Refusal = RecordRefusal

    private let database: DatabaseQueue

    public init(path: String) throws {
        database = try ServiceDatabase.open(path: path, schema: """
            CREATE TABLE watchlists (
                id INTEGER PRIMARY KEY, account INTEGER NOT NULL, name TEXT NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (account, name));
            CREATE TABLE watchlist_symbols (
                watchlist INTEGER NOT NULL, position INTEGER NOT NULL, symbol TEXT NOT NULL,
                PRIMARY KEY (watchlist, position));
            """)
    }

    public func list(account: UInt32) throws -> [Watchlist] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM watchlists WHERE account = ? ORDER BY id", arguments: [Int64(account)])
                .map { try Self.watchlist($0, db) }
        }
    }

    public func watchlist(_ id: UInt64, account: UInt32) throws -> Watchlist? {
        try database.read { db in try Self.find(db, id: id, account: account) }
    }

    public func watchlist(named name: String, account: UInt32) throws -> Watchlist? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM watchlists WHERE account = ? AND name = ?", arguments: [Int64(account), name])
                .map { try Self.watchlist($0, db) }
        }
    }

    public func create(account: UInt32, name: String, symbols: [Symbol], now: Int64) throws -> Watchlist {
        try Self.check(name: name, symbols: symbols)
        return try database.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM watchlists WHERE account = ?", arguments: [Int64(account)]) ?? 0
            guard count < Self.perAccountMax else { throw Refusal.invalid("an account keeps at most \(Self.perAccountMax) watchlists") }
            try Self.checkUnique(db, name: name, account: account, except: nil)
            try db.execute(sql: "INSERT INTO watchlists (account, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                           arguments: [Int64(account), name, now, now])
            let id = UInt64(db.lastInsertedRowID)
            try Self.store(db, id, symbols)
            return try Self.find(db, id: id, account: account)!
        }
    }

    /// Renames the watchlist and replaces its symbols, each when given.
    public func update(_ id: UInt64, account: UInt32, name: String?, symbols: [Symbol]?, now: Int64) throws -> Watchlist {
        try database.write { db in
            guard var watchlist = try Self.find(db, id: id, account: account) else { throw Refusal.notFound("watchlist not found") }
            if let name { watchlist.name = name }
            if let symbols { watchlist.symbols = symbols }
            try Self.check(name: watchlist.name, symbols: watchlist.symbols)
            try Self.checkUnique(db, name: watchlist.name, account: account, except: id)
            try db.execute(sql: "UPDATE watchlists SET name = ?, updated_at = ? WHERE id = ?", arguments: [watchlist.name, now, Int64(id)])
            try Self.store(db, id, watchlist.symbols)
            return try Self.find(db, id: id, account: account)!
        }
    }

    public func add(_ symbol: Symbol, to id: UInt64, account: UInt32, now: Int64) throws -> Watchlist {
        guard let watchlist = try watchlist(id, account: account) else { throw Refusal.notFound("watchlist not found") }
        guard !watchlist.symbols.contains(symbol) else { throw Refusal.invalid("\(symbol) is already in the watchlist") }
        return try update(id, account: account, name: nil, symbols: watchlist.symbols + [symbol], now: now)
    }

    public func remove(_ symbol: Symbol, from id: UInt64, account: UInt32, now: Int64) throws -> Watchlist {
        guard let watchlist = try watchlist(id, account: account) else { throw Refusal.notFound("watchlist not found") }
        guard watchlist.symbols.contains(symbol) else { throw Refusal.notFound("\(symbol) is not in the watchlist") }
        return try update(id, account: account, name: nil, symbols: watchlist.symbols.filter { $0 != symbol }, now: now)
    }

    public func delete(_ id: UInt64, account: UInt32) throws {
        try database.write { db in
            guard try Self.find(db, id: id, account: account) != nil else { throw Refusal.notFound("watchlist not found") }
            try db.execute(sql: "DELETE FROM watchlist_symbols WHERE watchlist = ?", arguments: [Int64(id)])
            try db.execute(sql: "DELETE FROM watchlists WHERE id = ?", arguments: [Int64(id)])
        }
    }

    private static func check(name: String, symbols: [Symbol]) throws {
        guard (1...nameLengthMax).contains(name.count), name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
            throw Refusal.invalid("a watchlist's name has 1 to \(nameLengthMax) printable characters")
        }
        guard symbols.count <= symbolsMax else { throw Refusal.invalid("a watchlist holds at most \(symbolsMax) symbols, not \(symbols.count)") }
        guard Set(symbols).count == symbols.count else { throw Refusal.invalid("a symbol is in the watchlist twice") }
    }

    private static func checkUnique(_ db: Database, name: String, account: UInt32, except id: UInt64?) throws {
        let holder = try Int64.fetchOne(db, sql: "SELECT id FROM watchlists WHERE account = ? AND name = ?", arguments: [Int64(account), name])
        if let holder, holder != Int64(id ?? 0) { throw Refusal.invalid("another watchlist is named \(name)") }
    }

    private static func store(_ db: Database, _ id: UInt64, _ symbols: [Symbol]) throws {
        try db.execute(sql: "DELETE FROM watchlist_symbols WHERE watchlist = ?", arguments: [Int64(id)])
        for (position, symbol) in symbols.enumerated() {
            try db.execute(sql: "INSERT INTO watchlist_symbols (watchlist, position, symbol) VALUES (?, ?, ?)",
                           arguments: [Int64(id), position, symbol.description])
        }
    }

    private static func find(_ db: Database, id: UInt64, account: UInt32) throws -> Watchlist? {
        try Row.fetchOne(db, sql: "SELECT * FROM watchlists WHERE id = ? AND account = ?", arguments: [Int64(id), Int64(account)])
            .map { try watchlist($0, db) }
    }

    private static func watchlist(_ row: Row, _ db: Database) throws -> Watchlist {
        let id: Int64 = row["id"]
        let symbols = try String.fetchAll(db, sql: "SELECT symbol FROM watchlist_symbols WHERE watchlist = ? ORDER BY position", arguments: [id])
            .compactMap { try? Symbol(validating: $0) }
        return Watchlist(id: UInt64(id), account: UInt32(row["account"] as Int64), name: row["name"], symbols: symbols,
                         createdAt: row["created_at"], updatedAt: row["updated_at"])
    }
}
