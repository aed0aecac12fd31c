import BourseCore
import Foundation
import GRDB

extension SessionStore {
    /// Moves the sessions of a data directory written before the store kept files (`fix.sqlite`: a table
    /// of sessions and one of the messages they sent) into the store at `directory`, so that every
    /// session goes on with its numbers, its password and its resends. Done once: the database is then
    /// renamed `fix.sqlite.imported`. Returns how many sessions and messages were moved; nil when there
    /// is nothing to import.
    public static func importSQLite(_ database: String, into directory: String) throws -> (sessions: Int, messages: Int)? {
        guard FileManager.default.fileExists(atPath: database) else { return nil }
        // A store that exists already was made by this build: the database is not read again over it.
        guard !FileManager.default.fileExists(atPath: directory) else {
            throw Failure(description: "\(database) and \(directory) both exist: the database was not imported; move one away")
        }
        let source = try DatabaseQueue(path: database)
        // Into a directory beside, renamed when whole: an import cut short leaves no half store behind.
        let partial = directory + ".importing"
        try? FileManager.default.removeItem(atPath: partial)
        let store = try SessionStore(path: partial)
        var counts = (sessions: 0, messages: 0)
        do {
            try source.read { db in
                let early = try db.columns(in: "sessions").contains { $0.name == "early" }
                for row in try Row.fetchAll(db, sql: "SELECT * FROM sessions ORDER BY name") {
                    let name: String = row["name"]
                    var state = State(nextSender: row["next_sender"], nextTarget: row["next_target"],
                                      deliveredSequence: UInt64(row["delivered_sequence"] as Int64), deliveredNumber: row["delivered_number"])
                    (state.window, state.passwordSHA256) = (row["window"], row["password_sha256"])
                    if early { state.early = decodeEarly(row["early"]) }
                    // The messages in runs, each saved with the state: the last run leaves it whole.
                    var batch: [Message] = []
                    let rows = try Row.fetchCursor(db, sql: "SELECT sequence, type, sent, body FROM messages WHERE session = ? ORDER BY sequence",
                                                   arguments: [name])
                    while let m = try rows.next() {
                        batch.append(Message(sequence: m["sequence"], type: m["type"], sent: Timestamp(nanos: m["sent"]), body: Array(m["body"] as Data)))
                        if batch.count == resendChunkMax {
                            try store.save(name, state, sending: batch)
                            counts.messages += batch.count
                            batch.removeAll(keepingCapacity: true)
                        }
                    }
                    try store.save(name, state, sending: batch)
                    counts.messages += batch.count
                    counts.sessions += 1
                }
            }
            store.close()
            try source.close()
            try FileManager.default.moveItem(atPath: partial, toPath: directory)
            try FileManager.default.moveItem(atPath: database, toPath: database + ".imported")
        } catch {
            store.close()
            throw Failure(description: "importing \(database) into \(directory): \(error)")
        }
        return counts
    }

    /// The early reports' positions as the database kept them: sixteen bytes each (entry, number), little-endian.
    static func decodeEarly(_ data: Data?) -> Set<ReportPosition> {
        guard let data, data.count % 16 == 0 else { return [] }
        let bytes = [UInt8](data)
        return Set(stride(from: 0, to: bytes.count, by: 16).map { i in
            bytes[i ..< i + 16].withUnsafeBytes { raw in
                ReportPosition(sequence: UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)),
                               number: Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))))
            }
        })
    }
}
