import BourseTestSupport
import BourseProjections
import Foundation
import Testing

/// Both stores answer the same statements alike: every test here runs on SQLite and on PostgreSQL.
@Suite("projection stores")
struct StoreTests {
    @Test("each kind of value is stored as bound: empty text and blobs stay empty, null stays null", arguments: StoreKind.all)
    func valuesRoundTrip(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try store.write { w in
                try w.execute(store.dialect.schema("CREATE TABLE t (k {int} PRIMARY KEY, i {int}, o {int}, s TEXT, e TEXT, n TEXT, b {blob}, z {blob})"), [])
                try w.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              [.int(1), .int(Int64.min), .null, .text("café 'quoted' ?"), .text(""), .null, .blob([0, 1, 255]), .blob([])])
            }
            let row = try #require(try store.querySynchronously("SELECT * FROM t", []).first)
            #expect(row.values == [.int(1), .int(Int64.min), .null, .text("café 'quoted' ?"), .text(""), .null, .blob([0, 1, 255]), .blob([])])
            let asked = try await store.query("SELECT s FROM t WHERE k = ? AND s = ?", .int(1), .text("café 'quoted' ?"))
            #expect(asked.map(\.values) == [[.text("café 'quoted' ?")]])
        }
    }

    @Test("a statement that fails rolls its whole transaction back, names itself, and the store goes on", arguments: StoreKind.all)
    func failureRollsBack(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try store.write { w in try w.execute(store.dialect.schema("CREATE TABLE t (k {int} PRIMARY KEY)"), []) }
            try store.write { w in try w.execute("INSERT INTO t VALUES (?)", [.int(1)]) }
            #expect {
                try store.write { w in
                    try w.execute("INSERT INTO t VALUES (?)", [.int(2)])
                    try w.execute("INSERT INTO t VALUES (?)", [.int(1)])
                }
            } throws: { "\($0)".contains("INSERT INTO t") || "\($0)".lowercased().contains("unique") || "\($0)".contains("duplicate") }
            try store.write { w in try w.execute("INSERT INTO t VALUES (?)", [.int(3)]) }
            #expect(try store.querySynchronously("SELECT k FROM t ORDER BY k", []).map(\.values) == [[.int(1)], [.int(3)]])
        }
    }

    @Test("an upsert keeps one row a key, with the last values", arguments: StoreKind.all)
    func upsert(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try store.write { w in
                try w.execute(store.dialect.schema("CREATE TABLE t (k {int} PRIMARY KEY, v TEXT NOT NULL)"), [])
                for v in ["a", "b", "c"] {
                    try w.execute("INSERT INTO t VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", [.int(7), .text(v)])
                }
            }
            #expect(try store.querySynchronously("SELECT * FROM t", []).map(\.values) == [[.int(7), .text("c")]])
        }
    }

    @Test("a new SQLite store has 1 KiB pages and keeps rows of many pages whole; one made with other pages keeps them")
    func sqlitePages() throws {
        let directory = NSTemporaryDirectory() + "bourse-pages-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let long = String(repeating: "0123456789", count: 500)
        let blob = (0 ..< 3_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        func pageBytes(_ store: SQLiteStore) throws -> SQLValue? { try store.querySynchronously("PRAGMA page_size", []).first?.values.first }
        func fill(_ store: SQLiteStore) throws {
            try store.write { w in
                try w.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, s TEXT, b BLOB)", [])
                try w.execute("INSERT INTO t VALUES (?, ?, ?)", [.int(1), .text(long), .blob(blob)])
            }
        }
        // Given a store made by a build with SQLite's 4 KiB pages,
        let old = try SQLiteStore(path: directory + "/old.sqlite", pageBytes: 4_096)
        try fill(old)
        old.close()
        // when this build opens it, then it keeps its pages and its rows.
        let reopened = try SQLiteStore(path: directory + "/old.sqlite")
        defer { reopened.close() }
        #expect(try pageBytes(reopened) == .int(4_096))
        #expect(try reopened.querySynchronously("SELECT s, b FROM t", []).map(\.values) == [[.text(long), .blob(blob)]])
        // A new store has 1 KiB pages; a row of several pages reads back whole.
        let new = try SQLiteStore(path: directory + "/new.sqlite")
        defer { new.close() }
        try fill(new)
        #expect(try pageBytes(new) == .int(Int64(SQLiteStore.pageBytesDefault)))
        #expect(SQLiteStore.pageBytesDefault == 1_024)
        #expect(try new.querySynchronously("SELECT s, b FROM t", []).map(\.values) == [[.text(long), .blob(blob)]])
    }
}
