import Foundation
import GRDB
import GRDBSQLite

/// Values bound in order to a prepared statement's parameters through SQLite's C API. The read models
/// write up to nine rows for an order that fills; GRDB's `StatementArguments` box every value of a row
/// into an array of existentials, which cost about as much as SQLite's own work on that path.
struct Bindings {
    fileprivate let handle: SQLiteStatement
    private var index: Int32 = 0
    /// The first bind that failed, and its result code.
    fileprivate private(set) var failure: (index: Int32, code: Int32)?

    fileprivate init(_ handle: SQLiteStatement) { self.handle = handle }

    /// SQLite copies the bytes it is given (`SQLITE_TRANSIENT`), so they need live only for the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private mutating func check(_ code: Int32) {
        if code != SQLITE_OK, failure == nil { failure = (index, code) }
    }

    mutating func int(_ value: Int64) {
        index += 1
        check(sqlite3_bind_int64(handle, index, value))
    }

    mutating func int(_ value: Int64?) {
        guard let value else { return null() }
        int(value)
    }

    mutating func bool(_ value: Bool) { int(value ? 1 : 0) }

    mutating func text(_ value: String) {
        index += 1
        // An empty buffer may have no address, which SQLite would take for NULL.
        if value.utf8.isEmpty { return check(sqlite3_bind_text(handle, index, "", 0, Self.transient)) }
        var value = value
        check(value.withUTF8 { sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), Self.transient) })
    }

    mutating func text(_ value: String?) {
        guard let value else { return null() }
        text(value)
    }

    mutating func blob(_ bytes: [UInt8]) {
        index += 1
        if bytes.isEmpty { return check(sqlite3_bind_zeroblob(handle, index, 0)) }  // as for text
        check(bytes.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), Self.transient) })
    }

    mutating func null() {
        index += 1
        check(sqlite3_bind_null(handle, index))
    }

    fileprivate var count: Int32 { index }
}

extension Statement {
    /// Binds every parameter with `bind` and runs the statement, which must return no rows.
    func run(_ bind: (inout Bindings) -> Void) throws {
        var bindings = Bindings(sqliteStatement)
        bind(&bindings)
        precondition(bindings.count == sqlite3_bind_parameter_count(sqliteStatement), "every parameter is bound: \(sql)")
        if let (index, code) = bindings.failure {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "binding parameter \(index) failed", sql: sql)
        }
        let code = sqlite3_step(sqliteStatement)
        sqlite3_reset(sqliteStatement)
        guard code == SQLITE_DONE else {
            let message = sqlite3_db_handle(sqliteStatement).flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
        }
    }
}
