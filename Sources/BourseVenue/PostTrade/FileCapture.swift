import BourseCore
import BoursePostTrade
import Foundation
import GRDB

/// Trade files dropped into `capture/inbox` in the data directory (`TradeFile`'s CSV, one file a batch):
/// each file's rows go through the capture desk together, every row's outcome is written beside it as
/// `NAME.result.csv` in `capture/done` (which the API reads its rows from), and the file moves to `capture/done`. A
/// file the format refuses as a whole moves to `capture/failed` with its reason in the result file.
///
/// A file is processed once, even across a crash mid-file: until its record is written the file stays in
/// the inbox and is taken again at the next start, and taking it again books nothing twice (captures are
/// idempotent by trade id, and a trade queued is not queued again). A file whose name and bytes were
/// recorded before is only moved out of the inbox.
public final class FileCapture: Sendable {
    public let directory: String
    let desk: CaptureDesk
    let clock: @Sendable () -> Int64

    public var inbox: String { directory + "/inbox" }
    public var done: String { directory + "/done" }
    public var failed: String { directory + "/failed" }

    public init(directory: String, desk: CaptureDesk, clock: @escaping @Sendable () -> Int64) throws {
        self.directory = directory
        self.desk = desk
        self.clock = clock
        for path in [directory, inbox, done, failed] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    /// What became of one file.
    public struct FileRecord: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var digest: String
        public var bytes: Int
        /// `done`, or `refused` when the format refused the whole file.
        public var state: String
        public var reason: String
        public var rows: Int
        public var captured: Int
        public var queued: Int
        public var refused: Int
        public var resultPath: String
        public var receivedAt: Int64
    }

    public struct RowOutcome: Sendable, Equatable {
        public var line: Int
        public var tradeID: String
        /// `captured`, `queued` or `refused`.
        public var status: String
        /// The venue's trade id (`C-…`) or the retry queue's entry (`Q-…`); empty when refused.
        public var id: String
        public var reason: String
    }

    /// Runs until cancelled, looking at the inbox once a second.
    public func run(log: @escaping @Sendable (String) -> Void) async {
        while !Task.isCancelled {
            do { _ = try await scan() } catch { log("trade files: \(error)") }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Processes every file in the inbox, in name order; returns their records.
    @discardableResult
    public func scan() async throws -> [FileRecord] {
        let names = try FileManager.default.contentsOfDirectory(atPath: inbox)
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".tmp") }.sorted()
        var records: [FileRecord] = []
        for name in names { records.append(try await process(name)) }
        return records
    }

    /// What reading a file gives, in order: a record already (known, or refused whole) and nothing more;
    /// or that it opened, then its rows a part at a time.
    private enum Part: Sendable {
        case finished(FileRecord)
        case opened(digest: String, bytes: Int)
        case rows([TradeFile.Row])
    }

    func process(_ name: String) async throws -> FileRecord {
        let path = inbox + "/" + name
        // Reading, hashing and parsing (a file may hold 256 MiB) run on a thread of their own, as does
        // finishing. The rows are booked as they are read: a part waits in the stream at most until the
        // desk takes it, and the file's size bounds them all.
        let (parts, sink) = AsyncThrowingStream<Part, any Error>.makeStream()
        startOwnThread { [self] in
            do {
                try read(name, path) { sink.yield($0) }
                sink.finish()
            } catch {
                sink.finish(throwing: error)
            }
        }
        var iterator = parts.makeAsyncIterator()
        let (digest, bytes): (String, Int)
        switch try await iterator.next() {
        case .finished(let record)?: return record
        case .opened(let d, let b)?: (digest, bytes) = (d, b)
        case .rows?, nil: preconditionFailure("a file's rows come after it opens")
        }
        var rows: [TradeFile.Row] = []
        var failure: (any Error)?
        let submissions = await desk.submitParts {
            do {
                guard case .rows(let part)? = try await iterator.next() else { return nil }
                rows += part
                return part.compactMap { try? $0.trade.get() }
            } catch {
                failure = error
                return nil
            }
        }
        // The whole file's form was checked before its first row was booked; should reading still fail,
        // the file stays in the inbox and is taken again, booking nothing twice.
        if let failure { throw failure }
        let (given, booked) = (rows, submissions)
        return try await onOwnThread { [self] in
            try finish(name, path, digest: digest, bytes: bytes, refusal: nil, rows: Self.outcomes(given, booked))
        }
    }

    private func read(_ name: String, _ path: String, _ give: (Part) -> Void) throws {
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= TradeFile.bytesMax else {
            return give(.finished(try finish(name, path, digest: "size-\(size)", bytes: size,
                                             refusal: "\(name) has \(size) bytes, more than the \(TradeFile.bytesMax) a file may have", rows: [])))
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let digest = TradeFile.digest(bytes)
        if let known = try record(name: name, digest: digest) {
            try move(path, to: known.state == "done" ? done : failed, name)
            return give(.finished(known))
        }
        var reader: TradeFile.Reader
        do throws(TradeFile.FileError) {
            reader = try TradeFile.Reader(bytes, name: name)
        } catch {
            return give(.finished(try finish(name, path, digest: digest, bytes: bytes.count, refusal: error.reason, rows: [])))
        }
        give(.opened(digest: digest, bytes: bytes.count))
        while let rows = try reader.next(CaptureDesk.windowMax) { give(.rows(rows)) }
    }

    /// Each row's outcome, in order: the form check's refusal, or what the desk made of its trade.
    private static func outcomes(_ rows: [TradeFile.Row], _ submissions: [CaptureDesk.Submission]) -> [RowOutcome] {
        var submissions = submissions[...]
        return rows.map { row in
            switch row.trade {
            case .failure(let error):
                return RowOutcome(line: row.line, tradeID: "", status: "refused", id: "", reason: error.reason)
            case .success(let trade):
                switch submissions.removeFirst() {
                case .captured(let id): return RowOutcome(line: row.line, tradeID: trade.tradeID, status: "captured", id: "C-\(id)", reason: "")
                case .queued(let entry): return RowOutcome(line: row.line, tradeID: trade.tradeID, status: "queued", id: "Q-\(entry.id)", reason: entry.reason)
                case .refused(let refusal): return RowOutcome(line: row.line, tradeID: trade.tradeID, status: "refused", id: "", reason: refusal.description)
                }
            }
        }
    }

    /// Writes the result file, then the record, then moves the file: each step may be repeated after a crash.
    private func finish(_ name: String, _ path: String, digest: String, bytes: Int, refusal: String?, rows: [RowOutcome]) throws -> FileRecord {
        let target = refusal == nil ? done : failed
        let resultPath = target + "/" + name + ".result.csv"
        var text = Array((refusal.map { "error\n" + Self.field($0) + "\n" } ?? "line,trade_id,status,id,reason\n").utf8)
        // Bytes appended, not strings joined: a file may have a million rows.
        text.reserveCapacity(text.count + rows.count * 40)
        for row in rows {
            text += String(row.line).utf8
            text.append(UInt8(ascii: ","))
            text += Self.field(row.tradeID).utf8
            text.append(UInt8(ascii: ","))
            text += row.status.utf8
            text.append(UInt8(ascii: ","))
            text += row.id.utf8
            text.append(UInt8(ascii: ","))
            text += Self.field(row.reason).utf8
            text.append(UInt8(ascii: "\n"))
        }
        try Self.writeDurably(text, to: resultPath)
        let count = { (status: String) in rows.filter { $0.status == status }.count }
        let record = try desk.queue.database.write { db -> FileRecord in
            try db.execute(sql: """
                INSERT INTO capture_files (name, digest, bytes, state, reason, rows, captured, queued, refused, result_path, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [name, digest, bytes, refusal == nil ? "done" : "refused", refusal ?? "", rows.count, count("captured"),
                                 count("queued"), count("refused"), resultPath, clock()])
            return try Self.file(db, db.lastInsertedRowID)!
        }
        try move(path, to: target, name)
        return record
    }

    /// Moves a processed file out of the inbox; a name taken there by an earlier file gets a number.
    private func move(_ path: String, to folder: String, _ name: String) throws {
        var target = folder + "/" + name
        var n = 1
        while FileManager.default.fileExists(atPath: target) {
            n += 1
            target = folder + "/" + name + ".\(n)"
        }
        try FileManager.default.moveItem(atPath: path, toPath: target)
    }

    /// A CSV field, quoted when it needs to be.
    static func field(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Writes a file whole or not at all: a temporary beside it, synced, renamed over it, the folder synced.
    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        let folder = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if folder >= 0 { fsync(folder); close(folder) }
    }

    // MARK: - Records

    public func record(name: String, digest: String) throws -> FileRecord? {
        try desk.queue.database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM capture_files WHERE name = ? AND digest = ?", arguments: [name, digest]).map(Self.file)
        }
    }

    public func files(before: Int64?, limit: Int) throws -> [FileRecord] {
        try desk.queue.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM capture_files WHERE id < ? ORDER BY id DESC LIMIT ?", arguments: [before ?? Int64.max, limit]).map(Self.file)
        }
    }

    public func file(_ id: Int64) throws -> FileRecord? { try desk.queue.database.read { db in try Self.file(db, id) } }

    /// What became of a file's rows after `afterLine`, read from its result file (the record of each row;
    /// a file refused whole has none).
    public func rows(of file: Int64, afterLine: Int, limit: Int) throws -> [RowOutcome] {
        guard let record = try self.file(file), record.state == "done" else { return [] }
        let records = try TradeFile.records([UInt8](try Data(contentsOf: URL(fileURLWithPath: record.resultPath))))
        return records.dropFirst().compactMap { f -> RowOutcome? in
            guard f.count == 5, let line = Int(f[0]), line > afterLine else { return nil }
            return RowOutcome(line: line, tradeID: f[1], status: f[2], id: f[3], reason: f[4])
        }.prefix(limit).map { $0 }
    }

    private static func file(_ db: Database, _ id: Int64) throws -> FileRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM capture_files WHERE id = ?", arguments: [id]).map(file)
    }

    private static func file(_ row: Row) -> FileRecord {
        FileRecord(id: row["id"], name: row["name"], digest: row["digest"], bytes: row["bytes"], state: row["state"], reason: row["reason"],
                   rows: row["rows"], captured: row["captured"], queued: row["queued"], refused: row["refused"],
                   resultPath: row["result_path"], receivedAt: row["received_at"])
    }
}
