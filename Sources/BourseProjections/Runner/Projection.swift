import BourseNode

/// State derived from the journal: it reads entries in order from a position, applies them, and commits
/// what it wrote together with the last sequence applied in one transaction of its store, so that after
/// any crash it resumes exactly once. A projection belongs to its runner's thread; what others may read of
/// it is theirs to guard.
public protocol Projection: AnyObject {
    /// Names it in its store, in `bourse projections`, in metrics and in `/readyz`.
    var name: String { get }
    /// Its tables; a new version rebuilds them from the journal.
    var schema: ProjectionSchema { get }

    /// Loads what it keeps in memory from what its tables hold (at start, after a transaction was rolled
    /// back, after a rebuild emptied them).
    func load(from store: any ProjectionStore) throws

    /// Applies one command's events, writing through `writer`. `isNew` says whether the entry's effects
    /// have never been told to anyone live (a trading stream): false when the entry is read again, in a
    /// rebuild or after a restart.
    func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws

    /// Writes what the transaction's entries left pending, just before it commits.
    func flush(writer: any StoreWriter) throws

    /// Whether someone waits on what it applies live (a FIX session on its order reports): its runner then
    /// takes each batch at once instead of pausing to gather a larger transaction.
    var isPrompt: Bool { get }
}

extension Projection {
    public func flush(writer: any StoreWriter) throws {}
    public var isPrompt: Bool { false }
}

/// A projection's tables: how to make them, and a version that, when it changes, empties and remakes them.
public struct ProjectionSchema: Sendable {
    public struct Table: Sendable {
        public var name: String
        /// The columns of its primary key, which order its rows (a dump, a checksum).
        public var key: String

        public init(_ name: String, key: String) {
            self.name = name
            self.key = key
        }
    }

    public var version: Int
    /// Dropped in reverse order on a rebuild or a new version.
    public var tables: [Table]
    /// `CREATE TABLE` and `CREATE INDEX` statements, with `{int}` and `{blob}` for the types (`SQLDialect`).
    public var statements: [String]

    public init(version: Int, tables: [Table], statements: [String]) {
        self.version = version
        self.tables = tables
        self.statements = statements
    }
}
