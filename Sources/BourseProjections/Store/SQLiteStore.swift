import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The embedded store: one SQLite database (through GRDB) in the data directory, in write-ahead-log mode,
/// so that reads go on while a projection writes.
public final class SQLiteStore: ProjectionStore {
    public let dialect = SQLDialect.sqlite
    public let path: String
    public var location: String { path }
    private let pool: DatabasePool
    private let executed = Atomic<Int>(0)

    /// The page of a new database. A commit writes each page it changed, whole, to the write-ahead log, and
    /// the projections commit hundreds of small transactions a second: against SQLite's 4 KiB, 1 KiB pages
    /// halve the bytes the projections write per order, and so the wait of the journal's fdatasync on the
    /// same disk (BENCHMARKS.md, "The projections' pages"). A database keeps the page size it was made with.
    public static let pageBytesDefault = 1_024

    /// `pageBytes` applies to a database this makes; one that exists keeps its own.
    public init(path: String, pageBytes: Int = SQLiteStore.pageBytesDefault) throws {
        precondition(pageBytes >= 512 && pageBytes <= 65_536 && pageBytes & (pageBytes - 1) == 0, "a page of \(pageBytes) bytes")
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Before anything is written: the write-ahead log, set when the pool opens, fixes the size.
            try db.execute(sql: "PRAGMA page_size = \(pageBytes)")
            // A projection of the journal: losing the last transactions to a power cut only means reading a
            // little more of the journal at the next start.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    public var statementsExecuted: Int { executed.load(ordering: .relaxed) }

    public func write<T>(_ body: (any StoreWriter) throws -> T) throws -> T {
        try pool.write { db in
            let writer = Writer(db)
            defer { executed.add(writer.count, ordering: .relaxed) }
            return try body(writer)
        }
    }

    public func query(_ sql: String, _ values: [SQLValue]) async throws -> [SQLRow] {
        try await pool.read { db in try Self.rows(db, sql, values) }
    }

    public func querySynchronously(_ sql: String, _ values: [SQLValue]) throws -> [SQLRow] {
        try pool.read { db in try Self.rows(db, sql, values) }
    }

    public func close() {
        try? pool.close()
    }

    private static func rows(_ db: Database, _ sql: String, _ values: [SQLValue]) throws -> [SQLRow] {
        let arguments = StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .null: nil
            case .int(let v): v
            case .text(let v): v
            case .blob(let v): Data(v)
            }
        })
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
            SQLRow(columns: Array(row.columnNames), values: row.databaseValues.map { value in
                switch value.storage {
                case .null: .null
                case .int64(let i): .int(i)
                case .string(let s): .text(s)
                case .blob(let d): .blob(Array(d))
                // No table of ours holds a real; an aggregate that makes one is read as its text.
                case .double(let d): .text(String(d))
                }
            })
        }
    }

    /// Statements run by their prepared, cached form.
    private final class Writer: StoreWriter {
        let db: Database
        var count = 0

        init(_ db: Database) { self.db = db }

        func execute(_ sql: String, _ values: [SQLValue]) throws {
            let statement = try db.cachedStatement(sql: sql)
            try statement.bind(values)
            let code = sqlite3_step(statement.sqliteStatement)
            sqlite3_reset(statement.sqliteStatement)
            guard code == SQLITE_DONE || code == SQLITE_ROW else {
                let message = sqlite3_errmsg(db.sqliteConnection).map { String(cString: $0) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
            }
            count += 1
        }

        func query(_ sql: String, _ values: [SQLValue]) throws -> [SQLRow] {
            try SQLiteStore.rows(db, sql, values)
        }
    }
}

extension Statement {
    /// Binds `values` in order through SQLite's C API: GRDB's `StatementArguments` box every value into an
    /// existential, which on the projections' path cost about as much as SQLite's own work.
    func bind(_ values: [SQLValue]) throws {
        let handle = sqliteStatement
        precondition(values.count == Int(sqlite3_bind_parameter_count(handle)), "every parameter is bound: \(sql)")
        // SQLite copies the bytes it is given (`SQLITE_TRANSIENT`), so they need live only for the call.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(handle, index)
            case .int(let v): code = sqlite3_bind_int64(handle, index, v)
            case .text(var v):
                // An empty buffer may have no address, which SQLite would take for NULL.
                code = v.utf8.isEmpty ? sqlite3_bind_text(handle, index, "", 0, transient)
                    : v.withUTF8 { sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), transient) }
            case .blob(let b):
                code = b.isEmpty ? sqlite3_bind_zeroblob(handle, index, 0)
                    : b.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
            }
            guard code == SQLITE_OK else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "binding parameter \(index) failed", sql: sql)
            }
        }
    }
}
