/// Each projection's position in its store, in the table `projection_positions`: the last sequence it
/// applied and the version of its tables, written in the same transaction as what it applied.
public enum Positions {
    static let table = """
        CREATE TABLE IF NOT EXISTS projection_positions (
            name TEXT PRIMARY KEY, sequence {int} NOT NULL, schema_version {int} NOT NULL)
        """

    /// "bourse.po" in ASCII: the lock that opening a projection holds for its transaction.
    static let openingLockKey: Int64 = 0x626F_7572_7365_2E70

    /// Opens `projection`'s tables in `store`, making them if they are missing or of another version
    /// (and then from position 0). Returns the position.
    public static func open(_ projection: any Projection, in store: any ProjectionStore) throws -> UInt64 {
        try store.write { writer in
            // Processes that open projections of one database at once (`bourse project`) take turns: two
            // CREATE TABLE IF NOT EXISTS at once may both try to make it.
            if store.dialect == .postgres { _ = try writer.query("SELECT pg_advisory_xact_lock(?) AS held", [.int(openingLockKey)]) }
            try writer.execute(store.dialect.schema(table), [])
            let rows = try writer.query("SELECT sequence, schema_version FROM projection_positions WHERE name = ?", [.text(projection.name)])
            if let row = rows.first, row.int("schema_version") == Int64(projection.schema.version) {
                return UInt64(row.int("sequence") ?? 0)
            }
            try remake(projection, store.dialect, writer)
            return 0
        }
    }

    /// Empties `projection`'s tables and sets its position to 0, in one transaction.
    public static func reset(_ projection: any Projection, in store: any ProjectionStore) throws {
        try store.write { writer in
            try writer.execute(store.dialect.schema(table), [])
            try remake(projection, store.dialect, writer)
        }
    }

    private static func remake(_ projection: any Projection, _ dialect: SQLDialect, _ writer: any StoreWriter) throws {
        for table in projection.schema.tables.reversed() { try writer.execute("DROP TABLE IF EXISTS \(table.name)", []) }
        for statement in projection.schema.statements { try writer.execute(dialect.schema(statement), []) }
        try writer.execute("""
            INSERT INTO projection_positions (name, sequence, schema_version) VALUES (?, 0, ?)
            ON CONFLICT (name) DO UPDATE SET sequence = 0, schema_version = excluded.schema_version
            """, [.text(projection.name), .int(Int64(projection.schema.version))])
    }

    /// Records `sequence` as applied, inside the transaction that applied the entries after `previous`.
    /// A compare-and-set: if the store holds another position, another process applied entries meanwhile,
    /// and the transaction is refused, so that no entry is ever applied twice.
    static func record(_ name: String, _ sequence: UInt64, after previous: UInt64, _ writer: any StoreWriter) throws {
        let moved = try writer.query("UPDATE projection_positions SET sequence = ? WHERE name = ? AND sequence = ? RETURNING sequence",
                                     [.int(Int64(sequence)), .text(name), .int(Int64(previous))])
        guard moved.count == 1 else { throw Moved(name: name, expected: previous) }
    }

    public struct Moved: Error, CustomStringConvertible {
        public var name: String
        public var expected: UInt64
        public var description: String {
            "the store no longer holds projection \(name) at sequence \(expected): another process applied entries to it"
        }
    }

    /// The position a projection's store records, without opening it; nil if it has none.
    public static func recorded(_ name: String, in store: any ProjectionStore) throws -> UInt64? {
        let exists = try store.querySynchronously(store.dialect == .sqlite
            ? "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'projection_positions'"
            : "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'projection_positions'", [])
        guard exists.first?.int("n") == 1 else { return nil }
        return try store.querySynchronously("SELECT sequence FROM projection_positions WHERE name = ?", [.text(name)])
            .first?.int("sequence").map(UInt64.init)
    }

    /// A checksum of each of the projection's tables, over every row in key order: a projection resumed
    /// after crashes and one rebuilt from zero hold the same rows exactly when these are equal.
    public static func checksums(_ projection: any Projection, in store: any ProjectionStore) throws -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for table in projection.schema.tables {
            var hash = FNV1a()
            for row in try store.querySynchronously("SELECT * FROM \(table.name) ORDER BY \(table.key)", []) {
                for value in row.values { hash.add(value) }
                hash.add(0xFF)
            }
            result[table.name] = hash.value
        }
        return result
    }
}

/// FNV-1a, 64-bit, over values as their kind and bytes: a checksum that both stores compute alike.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func add<S: Sequence<UInt8>>(_ bytes: S) { for b in bytes { add(b) } }

    mutating func add(_ v: SQLValue) {
        switch v {
        case .null: add(0)
        case .int(let i):
            add(1)
            withUnsafeBytes(of: i.littleEndian) { add($0) }
        case .text(let t):
            add(2)
            add(t.utf8)
        case .blob(let b):
            add(3)
            add(b)
        }
    }
}
