/// A value bound to a statement's parameter or read from a row: the four kinds both stores share.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case text(String)
    case blob([UInt8])

    public var int: Int64? { if case .int(let v) = self { v } else { nil } }
    public var text: String? { if case .text(let v) = self { v } else { nil } }
    public var blob: [UInt8]? { if case .blob(let v) = self { v } else { nil } }
}

/// One row of a query's answer, its values in the order of the query's columns.
public struct SQLRow: Sendable, Equatable {
    public var columns: [String]
    public var values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(_ column: String) -> SQLValue {
        guard let i = columns.firstIndex(of: column) else { preconditionFailure("no column \(column) in \(columns)") }
        return values[i]
    }

    public func int(_ column: String) -> Int64? { self[column].int }
    public func text(_ column: String) -> String? { self[column].text }
}

/// The SQL the two stores read differently. Statements are written once, with `?` for parameters;
/// table definitions write `{int}` and `{blob}` for the column types.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres

    /// The statement as this store reads it: PostgreSQL numbers its parameters (`$1`).
    public func statement(_ sql: String) -> String {
        guard self == .postgres else { return sql }
        var result = ""
        var n = 0
        var quoted = false
        for c in sql {
            if c == "'" { quoted.toggle() }
            if c == "?" && !quoted {
                n += 1
                result += "$\(n)"
            } else {
                result.append(c)
            }
        }
        return result
    }

    /// A schema's text with this store's column types.
    public func schema(_ sql: String) -> String {
        switch self {
        case .sqlite: sql.replacingOccurrences(of: "{int}", with: "INTEGER").replacingOccurrences(of: "{blob}", with: "BLOB")
        case .postgres: sql.replacingOccurrences(of: "{int}", with: "BIGINT").replacingOccurrences(of: "{blob}", with: "BYTEA")
        }
    }
}

/// What a write transaction may do: run statements and ask queries. A store may send statements ahead
/// and report a failure only when the transaction commits; a query waits for its answer.
public protocol StoreWriter: AnyObject {
    func execute(_ sql: String, _ values: [SQLValue]) throws
    func query(_ sql: String, _ values: [SQLValue]) throws -> [SQLRow]
}

/// A projection's store: the tables of the projections it holds, and each one's position. Writes run on
/// the projection's own thread, one transaction at a time; reads may come from any task.
public protocol ProjectionStore: AnyObject, Sendable {
    var dialect: SQLDialect { get }
    /// Where the store is, for messages: a file, or a server and database.
    var location: String { get }

    /// Runs `body` in one transaction, committed when it returns and rolled back when it throws.
    func write<T>(_ body: (any StoreWriter) throws -> T) throws -> T

    /// A query outside any write, answered from what has been committed.
    func query(_ sql: String, _ values: [SQLValue]) async throws -> [SQLRow]

    /// The same, for a caller on a thread of its own (a command-line tool, a projection starting).
    func querySynchronously(_ sql: String, _ values: [SQLValue]) throws -> [SQLRow]

    /// Statements sent to the store since it opened, for the rate of rows applied.
    var statementsExecuted: Int { get }

    func close()
}

extension ProjectionStore {
    public func query(_ sql: String, _ values: SQLValue...) async throws -> [SQLRow] { try await query(sql, values) }
}
