/// Where a node keeps its projections: `sqlite` (the default, a file in the data directory) or a
/// PostgreSQL database named by `postgres://user@host:port/database`.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresStore.Address)

    /// Reads `--store` (or the configuration's `store`); nil or `sqlite` is the file at `sqlitePath`.
    public static func parse(_ text: String?, sqlitePath: String) -> Result<StoreLocation, PostgresStore.Invalid> {
        guard let text, text != "sqlite" else { return .success(.sqlite(path: sqlitePath)) }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            return .failure(.init(description: "store must be sqlite or postgres://user@host:port/database, not \(text)"))
        }
        return PostgresStore.Address.parse(text).map(StoreLocation.postgres)
    }

    public func open() throws -> any ProjectionStore {
        switch self {
        case .sqlite(let path): try SQLiteStore(path: path)
        case .postgres(let address): try PostgresStore(address)
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let address): address.description
        }
    }
}
