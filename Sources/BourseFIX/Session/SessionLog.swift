import BourseCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One session's part of the store: its segment files, `<serial>-<first number>.fixlog`, oldest first. A
/// segment holds messages numbered from its first number up to the next segment's; the newest is open
/// for appending. Used under the store's lock.
final class SessionLog {
    struct Segment {
        var serial: Int
        /// No message in this segment has a lower number, none in an older one this or a higher one.
        var firstSequence: Int
        var path: String
    }

    let directory: String
    let session: String
    private let keptMax: Int
    private let segmentMax: Int
    private var segments: [Segment] = []
    private var fd: Int32 = -1
    private var size = 0
    /// The last whole save's state; nil before any.
    private(set) var state: SessionStore.State?
    /// Where the last read stopped: a record of `segment` at `offset`, whose messages are numbered from
    /// `sequence` on. A resend reads on from there rather than from the segment's start.
    private var hint: (serial: Int, offset: Int, sequence: Int)?
    /// Set when a write failed partway and could not be undone: the file's end is not a record's.
    private var broken: String?

    init(directory: String, session: String, keptMax: Int, segmentMax: Int) throws {
        (self.directory, self.session, self.keptMax, self.segmentMax) = (directory, session, keptMax, segmentMax)
        // A session never saved has no directory yet: its first save makes it.
        let names = FileManager.default.fileExists(atPath: directory) ? try FileManager.default.contentsOfDirectory(atPath: directory) : []
        for name in names where name.hasSuffix(".fixlog") {
            let parts = name.dropLast(".fixlog".count).split(separator: "-")
            guard parts.count == 2, let serial = Int(parts[0]), let first = Int(parts[1]) else {
                throw SessionStore.Failure(description: "\(directory)/\(name): not a segment's name (<serial>-<first number>.fixlog)")
            }
            segments.append(Segment(serial: serial, firstSequence: first, path: directory + "/" + name))
        }
        segments.sort { $0.serial < $1.serial }
        try recover()
    }

    /// Finds the last whole save: the newest segment is read to its end; what follows its last state
    /// record (a save cut short by a crash) is cut off, and a segment with no state record at all (cut
    /// short at its first save) is removed, so that the one before holds the state.
    private func recover() throws {
        while let newest = segments.last {
            var last: (state: SessionStore.State, end: Int)?
            var startsWithReset = false
            _ = try Self.scan(newest.path, from: 0) { record, offset, end in
                if var state = record.state {
                    if let change = record.earlyChange {
                        guard let before = last?.state else {
                            throw SessionStore.Failure(description: "\(newest.path) at \(offset): a change of the early reports with no state before it in the segment")
                        }
                        state.early = before.early.union(change.added).subtracting(change.removed)
                    }
                    last = (state, end)
                }
                if offset == 0 { startsWithReset = record.reset }
                return true
            }
            guard let last else {
                guard unlink(newest.path) == 0 else { throw failure("unlink", newest.path) }
                segments.removeLast()
                continue
            }
            fd = open(newest.path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard fd >= 0 else { throw failure("open", newest.path) }
            if lseek(fd, 0, SEEK_END) != off_t(last.end), ftruncate(fd, off_t(last.end)) != 0 { throw failure("truncate", newest.path) }
            state = last.state
            size = last.end
            if startsWithReset { try removeBeforeNewest() }
            return
        }
    }

    /// Appends one save: its messages, then its state, in records written at once. The state's early reports
    /// go as their change since the segment's last state record when that is known and smaller; a
    /// segment's first state record holds them whole, so that older segments can go.
    func append(_ state: SessionStore.State, _ messages: [SessionStore.Message], earlyChange: SessionStore.EarlyChange? = nil) throws {
        if let broken { throw SessionStore.Failure(description: broken) }
        if let large = messages.first(where: { $0.body.count > StoreFormat.messageBytesMax }) {
            throw SessionStore.Failure(description: "session \(session): message \(large.sequence) has \(large.body.count) bytes, more than the store's \(StoreFormat.messageBytesMax)")
        }
        var rolled = false
        if fd < 0 || size >= segmentMax {
            try roll(first: messages.first?.sequence ?? state.nextSender)
            rolled = true
        }
        let change = size == 0 ? nil : earlyChange.flatMap { Self.checked($0, from: self.state, to: state) }
        var bytes: [UInt8] = []
        StoreFormat.encode(state, messages[...], earlyChange: change, into: &bytes)
        let path = segments[segments.count - 1].path
        if let error = Self.writeAll(fd, bytes) {
            // Undone, so that the file ends with a whole record again; if that fails too, nothing more is
            // appended until the store is opened again (which cuts the torn end off).
            if ftruncate(fd, off_t(size)) != 0 { broken = "\(path): a write failed and could not be undone" }
            throw SessionStore.Failure(description: "write \(path) at \(size): \(String(cString: strerror(error)))")
        }
        size += bytes.count
        self.state = state
        if rolled { try prune() }
    }

    /// `change` when it takes `base`'s early reports to `state`'s and is smaller than them; nil to write them
    /// whole. Checked in the change's own size: each added one new, each removed one there before.
    static func checked(_ change: SessionStore.EarlyChange, from base: SessionStore.State?, to state: SessionStore.State) -> SessionStore.EarlyChange? {
        guard let base, change.added.count + change.removed.count < state.early.count else { return nil }
        let added = Set(change.added), removed = Set(change.removed)
        guard added.count == change.added.count, removed.count == change.removed.count,
              base.early.count + added.count - removed.count == state.early.count,
              change.added.allSatisfy({ !base.early.contains($0) && (state.early.contains($0) || removed.contains($0)) }),
              change.removed.allSatisfy({ (base.early.contains($0) || added.contains($0)) && !state.early.contains($0) }) else {
            assertionFailure("the early reports' change does not take the saved ones to the new ones")
            return nil
        }
        assert(base.early.union(change.added).subtracting(change.removed) == state.early, "the early reports' change takes the saved ones to the new ones")
        return change
    }

    /// Closes the newest segment and opens a new one, whose messages are numbered from `first` on.
    private func roll(first: Int) throws {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        if segments.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let serial = (segments.last?.serial ?? 0) + 1
        let path = directory + "/" + String(format: "%08d-%d.fixlog", serial, first)
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard opened >= 0 else { throw failure("create", path) }
        segments.append(Segment(serial: serial, firstSequence: first, path: path))
        fd = opened
        size = 0
    }

    /// Removes the oldest segments while every message in them is older than the newest `keptMax`.
    private func prune() throws {
        guard let next = state?.nextSender else { return }
        while segments.count > 1, segments[1].firstSequence - 1 <= next - 1 - keptMax {
            guard unlink(segments[0].path) == 0 else { throw failure("unlink", segments[0].path) }
            if hint?.serial == segments[0].serial { hint = nil }
            segments.removeFirst()
        }
    }

    /// Starts a segment with a reset record holding `state`, then removes every older one. Should the
    /// process stop in between, opening the store finishes the removal: the newest segment begins with
    /// the reset.
    func reset(_ state: SessionStore.State) throws {
        if let broken { throw SessionStore.Failure(description: broken) }
        try roll(first: state.nextSender)
        var bytes: [UInt8] = []
        StoreFormat.encode(state, [], reset: true, into: &bytes)
        if let error = Self.writeAll(fd, bytes) {
            broken = "\(segments[segments.count - 1].path): a reset failed partway"
            throw SessionStore.Failure(description: "write \(segments[segments.count - 1].path): \(String(cString: strerror(error)))")
        }
        size = bytes.count
        self.state = state
        try removeBeforeNewest()
    }

    private func removeBeforeNewest() throws {
        for segment in segments.dropLast() where unlink(segment.path) != 0 && errno != ENOENT { throw failure("unlink", segment.path) }
        segments.removeFirst(segments.count - 1)
        hint = nil
    }

    /// The messages numbered `first` through `last`, oldest first, at most `max`.
    func messages(from first: Int, through last: Int, max: Int) throws -> [SessionStore.Message] {
        guard first <= last, !segments.isEmpty else { return [] }
        let index = segments.lastIndex { $0.firstSequence <= first } ?? 0
        var start = 0
        if let hint, hint.serial == segments[index].serial, hint.sequence <= first { start = hint.offset }
        var found: [SessionStore.Message] = []
        var done = false
        for segment in segments[index...] where !done {
            _ = try Self.scan(segment.path, from: segment.serial == segments[index].serial ? start : 0) { record, offset, _ in
                for m in record.messages where m.sequence >= first {
                    if m.sequence > last || found.count == max {
                        hint = (segment.serial, offset, record.messages.first?.sequence ?? m.sequence)
                        done = true
                        return false
                    }
                    found.append(m)
                }
                return true
            }
        }
        return found
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    // MARK: Files

    /// Calls `visit` with each whole record from `start` (the record, its offset, the offset after it) until
    /// it returns false or the file ends; returns where reading stopped. The end of a file may be a record
    /// cut short, or zeros (a power cut's); a damaged record with anything else after it is an error
    /// naming the file and the offset.
    static func scan(_ path: String, from start: Int, _ visit: (StoreFormat.Record, Int, Int) throws -> Bool) throws -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { Glibc.close(fd) }
        var buffer: [UInt8] = []
        var bufferStart = start, position = 0, atEnd = false
        while true {
            switch buffer.withUnsafeBytes({ StoreFormat.read($0, at: position) }) {
            case .record(let record, let bytes):
                let offset = bufferStart + position
                position += bytes
                if try !visit(record, offset, offset + bytes) { return offset }
            case .incomplete(let needed):
                if atEnd { return bufferStart + position }
                buffer.removeFirst(position)
                bufferStart += position
                position = 0
                let want = Swift.max(needed - buffer.count, readBytes)
                let had = buffer.count
                buffer += [UInt8](repeating: 0, count: want)
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + had, want, off_t(bufferStart + had)) }
                guard n >= 0 else { throw failure("read", path) }
                buffer.removeLast(want - n)
                atEnd = n < want
            case .damaged(let reason):
                let offset = bufferStart + position
                if try zeros(fd, from: offset) { return offset }
                throw SessionStore.Failure(description: "\(path) at \(offset): \(reason)")
            }
        }
    }

    /// Segments are read this much at a time.
    private static let readBytes = 1_024 * 1_024

    private static func zeros(_ fd: Int32, from offset: Int) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var at = offset
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(at)) }
            guard n > 0 else { return n == 0 }
            guard chunk[..<n].allSatisfy({ $0 == 0 }) else { return false }
            at += n
        }
    }

    /// Writes everything, retrying interrupted and partial writes; returns nil or the errno.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += n
            }
            return nil
        }
    }

    private static func failure(_ operation: String, _ path: String) -> SessionStore.Failure {
        SessionStore.Failure(description: "\(operation) \(path): \(String(cString: strerror(errno)))")
    }

    private func failure(_ operation: String, _ path: String) -> SessionStore.Failure { Self.failure(operation, path) }
}
