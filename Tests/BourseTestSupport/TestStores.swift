import BourseProjections
import Foundation

/// The two projection stores, for tests that run on each. PostgreSQL is the throwaway cluster that
/// `scripts/test` starts (`scripts/postgres`) and names in `BOURSE_TEST_POSTGRES`; each test gets a
/// database of its own in it.
public enum StoreKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public static let all = allCases
    public var description: String { rawValue }

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The cluster's address; an error saying how to get one when the tests were started without it.
    public static func postgresCluster() throws -> PostgresStore.Address {
        guard let url = ProcessInfo.processInfo.environment["BOURSE_TEST_POSTGRES"] else {
            throw Unavailable(description: "BOURSE_TEST_POSTGRES is not set: scripts/test starts a throwaway PostgreSQL cluster (scripts/postgres start) and sets it")
        }
        return try PostgresStore.Address.parse(url).get()
    }

    /// A new, empty place for a store: a directory's file, or a new database in the cluster. Returns how to
    /// name it (`--store`) and how to open it.
    public func makeLocation(in directory: String) throws -> String {
        switch self {
        case .sqlite:
            return directory + "/projections.sqlite"
        case .postgres:
            var address = try Self.postgresCluster()
            let admin = try PostgresStore(address)
            defer { admin.close() }
            let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            _ = try admin.querySynchronously("CREATE DATABASE \(name)", [])
            address.database = name
            return "postgres://\(address.user)@\(address.host):\(address.port)/\(name)"
        }
    }

    public func open(_ location: String) throws -> any ProjectionStore {
        switch self {
        case .sqlite: try SQLiteStore(path: location)
        case .postgres: try PostgresStore(try PostgresStore.Address.parse(location).get())
        }
    }
}

/// Runs `body` with a new, empty store of `kind`, closed afterwards.
public func withStore<T>(_ kind: StoreKind, _ body: (any ProjectionStore) async throws -> T) async throws -> T {
    let directory = NSTemporaryDirectory() + "bourse-store-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try kind.open(try kind.makeLocation(in: directory))
    defer { store.close() }
    return try await body(store)
}
