import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The second store: a PostgreSQL database (through PostgresNIO), chosen by `--store postgres://…`. The
/// same statements as SQLite's, with numbered parameters. A write transaction runs on one connection and
/// sends its statements without waiting for each answer (pipelined), so that the round trips of a batch of
/// rows cost one; the first statement that failed is the transaction's error. Reads share a few connections
/// of their own. A connection that broke is made again at the next use.
public final class PostgresStore: ProjectionStore {
    public let dialect = SQLDialect.postgres
    public let location: String
    private let configuration: PostgresConnection.Configuration
    private let logger = Logger(label: "bourse-postgres")
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    /// The writers' connections have a thread of their own: on the shared event loops, which the HTTP gateway
    /// serves its connections on, a projection's statements waited behind the order load and fell minutes behind.
    private static let writerGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// One transaction at a time, as SQLite's single writer.
    private let writer = Mutex<PostgresConnection?>(nil)
    private let writeLock = NSLock()
    private let readers = Mutex<[PostgresConnection?]>(Array(repeating: nil, count: PostgresStore.readConnectionsMax))
    private let nextReader = Atomic<Int>(0)
    private let executed = Atomic<Int>(0)
    private let connectionIDs = Atomic<Int>(0)

    /// Connections for reads, at most.
    public static let readConnectionsMax = 4

    /// Where a store is: `postgres://user[:password]@host[:port]/database`.
    public struct Address: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String

        /// Reads a `postgres://` (or `postgresql://`) URL; nil with the reason when it is not one.
        public static func parse(_ text: String) -> Result<Address, Invalid> {
            guard let url = URL(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
                return .failure(Invalid(description: "a PostgreSQL store is named postgres://user@host:port/database, not \(text)"))
            }
            guard let host = url.host, !host.isEmpty else { return .failure(Invalid(description: "\(text) names no host")) }
            guard let user = url.user, !user.isEmpty else { return .failure(Invalid(description: "\(text) names no user")) }
            let database = String(url.path.drop { $0 == "/" })
            guard !database.isEmpty, !database.contains("/") else { return .failure(Invalid(description: "\(text) names no database")) }
            if let query = url.query, !query.isEmpty {
                return .failure(Invalid(description: "\(text): options (\(query)) are not supported"))
            }
            return .success(Address(host: host, port: url.port ?? 5432, user: user, password: url.password, database: database))
        }

        /// The address without its password, for messages.
        public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ address: Address) throws {
        location = address.description
        var configuration = PostgresConnection.Configuration(host: address.host, port: address.port, username: address.user,
                                                             password: address.password, database: address.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
        // Fails now, naming the server, rather than at the first projection's write.
        _ = try withWriter { _ in }
    }

    public var statementsExecuted: Int { executed.load(ordering: .relaxed) }

    public func write<T>(_ body: (any StoreWriter) throws -> T) throws -> T {
        writeLock.lock()
        defer { writeLock.unlock() }
        return try withWriter { connection in
            let w = Writer(connection, logger)
            w.send("BEGIN", [])
            do {
                let result = try body(w)
                w.send("COMMIT", [])
                try w.settle()
                executed.add(w.count, ordering: .relaxed)
                return result
            } catch {
                // Whatever failed, the transaction is abandoned; a broken connection is made again next time.
                try? w.settle()
                _ = try? connection.query(PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger).wait()
                throw error
            }
        }
    }

    public func query(_ sql: String, _ values: [SQLValue]) async throws -> [SQLRow] {
        let connection = try await reader()
        let result = try await connection.query(Self.query(dialect.statement(sql), values), logger: logger).get()
        return try result.rows.map(Self.row)
    }

    public func querySynchronously(_ sql: String, _ values: [SQLValue]) throws -> [SQLRow] {
        try withWriter { connection in
            try connection.query(Self.query(dialect.statement(sql), values), logger: logger).wait().rows.map(Self.row)
        }
    }

    public func close() {
        var connections: [PostgresConnection?] = readers.withLock { r in
            defer { r = r.map { _ in nil } }
            return r
        }
        connections.append(writer.withLock { c in
            defer { c = nil }
            return c
        })
        for case let connection? in connections { _ = try? connection.close().wait() }
    }

    private func connect() throws -> PostgresConnection {
        do {
            return try PostgresConnection.connect(on: Self.writerGroup.any(), configuration: configuration,
                                                  id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger).wait()
        } catch {
            throw StoreError(description: "cannot connect to \(location): \(String(reflecting: error))")
        }
    }

    private func withWriter<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try writer.withLock { c -> PostgresConnection in
            if let open = c, !open.isClosed { return open }
            let made = try connect()
            c = made
            return made
        }
        return try body(connection)
    }

    private func reader() async throws -> PostgresConnection {
        let slot = nextReader.add(1, ordering: .relaxed).newValue % Self.readConnectionsMax
        if let open = readers.withLock({ $0[slot] }), !open.isClosed { return open }
        let made = try await PostgresConnection.connect(on: group.any(), configuration: configuration,
                                                        id: connectionIDs.add(1, ordering: .relaxed).newValue, logger: logger)
        let kept = readers.withLock { r -> PostgresConnection? in
            if let open = r[slot], !open.isClosed { return open }
            r[slot] = made
            return nil
        }
        if let kept {
            try? await made.close()
            return kept
        }
        return made
    }

    struct StoreError: Error, CustomStringConvertible {
        var description: String
    }

    private static func query(_ sql: String, _ values: [SQLValue]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: binds.appendNull()
            case .int(let v): binds.append(v)
            case .text(let v): binds.append(v)
            case .blob(let v): binds.append(ByteBuffer(bytes: v))
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    private static func row(_ row: PostgresRow) throws -> SQLRow {
        var columns: [String] = []
        var values: [SQLValue] = []
        for cell in row {
            columns.append(cell.columnName)
            guard cell.bytes != nil else {
                values.append(.null)
                continue
            }
            switch cell.dataType {
            case .int8: values.append(.int(try cell.decode(Int64.self)))
            case .int4: values.append(.int(Int64(try cell.decode(Int32.self))))
            case .int2: values.append(.int(Int64(try cell.decode(Int16.self))))
            case .bytea: values.append(.blob(Array(buffer: try cell.decode(ByteBuffer.self))))
            case .bool: values.append(.int(try cell.decode(Bool.self) ? 1 : 0))
            default: values.append(.text(try cell.decode(String.self)))
            }
        }
        return SQLRow(columns: columns, values: values)
    }

    /// Sends statements on, keeping each answer's future; `settle` waits for them all in order.
    private final class Writer: StoreWriter {
        let connection: PostgresConnection
        let logger: Logger
        var sent: [(sql: String, future: EventLoopFuture<PostgresQueryResult>)] = []
        var count = 0

        init(_ connection: PostgresConnection, _ logger: Logger) {
            self.connection = connection
            self.logger = logger
        }

        func send(_ sql: String, _ values: [SQLValue]) {
            sent.append((sql, connection.query(PostgresStore.query(SQLDialect.postgres.statement(sql), values), logger: logger)))
        }

        func execute(_ sql: String, _ values: [SQLValue]) throws {
            send(sql, values)
            count += 1
            // Bounded: a long transaction does not keep every answer in memory.
            if sent.count >= 1_024 { try settle() }
        }

        func query(_ sql: String, _ values: [SQLValue]) throws -> [SQLRow] {
            send(sql, values)
            let answer = sent.removeLast()
            try settle()
            do {
                return try answer.future.wait().rows.map(PostgresStore.row)
            } catch {
                throw StoreError(description: "\(String(reflecting: error)) in \(sql)")
            }
        }

        /// Waits for every statement sent; throws the first failure, naming its statement.
        func settle() throws {
            defer { sent.removeAll(keepingCapacity: true) }
            var first: (any Error)?
            for (sql, future) in sent {
                do { _ = try future.wait() } catch where first == nil {
                    first = StoreError(description: "\(String(reflecting: error)) in \(sql)")
                } catch {}
            }
            if let first { throw first }
        }
    }
}
