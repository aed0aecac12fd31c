import GRDB

/// The venue's own small databases in the data directory (watchlists, the firms' records): written with
/// full synchronization, so a change the API acknowledged survives a power cut, and made by one migration.
enum ServiceDatabase {
    static func open(path: String, schema: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let database = try DatabaseQueue(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: schema) }
        try migrator.migrate(database)
        return database
    }
}

/// A change a service database refused, as a sentence; `notFound` for a record the account does not have.
public enum RecordRefusal: Error, Equatable {
    case invalid(String)
    case notFound(String)
}
