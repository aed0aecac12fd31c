@testable import BourseServer
import Foundation
import GRDB
import Testing

@Suite("binding statement values")
struct StatementBindingTests {
    @Test("each kind of value is stored as bound: empty text and blobs stay empty, nil is NULL")
    func valuesRoundTrip() throws {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (i INTEGER, o INTEGER, s TEXT, e TEXT, n TEXT, b BLOB, z BLOB, f INTEGER)")
            try db.cachedStatement(sql: "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run { b in
                b.int(Int64.min)
                b.int(nil as Int64?)
                b.text("café")
                b.text("")
                b.text(nil as String?)
                b.blob([0, 1, 255])
                b.blob([])
                b.bool(true)
            }
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM t"))
            #expect(row["i"] as Int64? == Int64.min)
            #expect(row["o"] as Int64? == nil)
            #expect(row["s"] as String? == "café")
            #expect(row["e"] as String? == "")
            #expect(row["n"] as String? == nil)
            #expect((row["b"] as Data?).map(Array.init) == [0, 1, 255])
            #expect((row["z"] as Data?).map(Array.init) == [])
            #expect(row["f"] as Int64? == 1)
        }
    }

    @Test("a failed step is an error naming the statement, and the statement stays usable")
    func failureIsAnError() throws {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (k INTEGER PRIMARY KEY)")
            let insert = try db.cachedStatement(sql: "INSERT INTO t VALUES (?)")
            try insert.run { $0.int(1) }
            #expect(throws: DatabaseError.self) { try insert.run { $0.int(1) } }
            try insert.run { $0.int(2) }
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t") == 2)
        }
    }
}
