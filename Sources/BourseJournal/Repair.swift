#if canImport(Glibc)
import Glibc
#endif
import BourseCore

/// What an operator may do about damage that recovery refuses to repair: cut the journal where it stops
/// being readable. Nothing happens unless asked, and nothing is deleted: the bytes cut from a segment are
/// kept beside it in `<segment>.cut-<offset>`, and whole files set aside are renamed `<name>.removed`.
public enum JournalRepair {
    /// Where the journal stops being readable and what cutting it there would set aside.
    public struct Plan: Equatable, Sendable, CustomStringConvertible {
        /// The error that stops reading; nil when the journal reads whole.
        public var damage: JournalError?
        /// The last sequence before the cut.
        public var lastSequence: UInt64
        public var tornTail: TornTail?
        /// The segment cut, and the offset it is cut at (0: the whole file goes).
        public var cutFile: String?
        public var cutOffset: Int
        public var cutBytes: Int
        /// Later segments, and snapshots past `lastSequence`, set aside whole.
        public var setAside: [String]

        public var description: String {
            guard let cutFile else {
                return "the journal reads whole to sequence \(lastSequence)" + (tornTail.map { "; \($0)" } ?? "")
            }
            var lines = damage.map { ["\($0)", "the journal reads whole to sequence \(lastSequence)"] }
                ?? ["the journal is kept through sequence \(lastSequence)"]
            lines.append(cutOffset == 0 ? "cutting sets aside \(cutFile) whole (\(cutBytes) bytes)"
                : "cutting removes \(cutBytes) bytes from \(cutFile) after offset \(cutOffset), kept in \(cutFile).cut-\(cutOffset)")
            for path in setAside { lines.append("cutting sets aside \(path) as \(path).removed") }
            return lines.joined(separator: "\n")
        }
    }

    /// Reads the journal in `directory` to its first damage, changing nothing.
    public static func plan(_ directory: String) throws(JournalError) -> Plan {
        var last: UInt64 = 0
        var damage: JournalError?
        var torn: TornTail?
        do {
            torn = try JournalReader.read(directory) { entry in last = entry.command.sequence }.tornTail
        } catch let error {
            switch error {
            case .damaged, .sequenceGap, .badSegmentHeader, .undecodable: damage = error
            default: throw error
            }
        }
        guard let damage else {
            return Plan(damage: nil, lastSequence: last, tornTail: torn, cutFile: nil, cutOffset: 0, cutBytes: 0, setAside: [])
        }
        let (file, offset) = damage.location
        let segments = try JournalReader.segments(in: directory).map(\.path)
        let later = segments.drop { $0 != file }.dropFirst()
        let snapshots: [Snapshots.Info]
        do { snapshots = try Snapshots.list(directory) } catch { throw .file(error) }
        let size = fileSize(file)
        return Plan(damage: damage, lastSequence: last, tornTail: nil, cutFile: file, cutOffset: offset,
                    cutBytes: size - offset, setAside: Array(later) + snapshots.filter { $0.sequence > last }.map(\.path))
    }

    /// What cutting the journal after `sequence` would set aside: the entries after it, which a former
    /// primary journaled and the venue's log never received (so none of them was acknowledged). Nil when
    /// the journal ends at or before `sequence`.
    public static func plan(_ directory: String, keepingThrough sequence: UInt64) throws(JournalError) -> Plan? {
        let segments = try JournalReader.segments(in: directory)
        guard let index = segments.lastIndex(where: { $0.firstSequence <= sequence + 1 }) else {
            // The first segment begins after the entry: the journal starts past it (a snapshot's seed).
            throw .sequenceGap(file: segments.first?.path ?? directory, offset: 0, expected: sequence + 1,
                               found: segments.first?.firstSequence ?? 0)
        }
        let segment = segments[index]
        var cutOffset: Int?
        if segment.firstSequence == sequence + 1 {
            cutOffset = 0
        } else {
            let found: Result<Int?, JournalError>
            do {
                found = try Files.withMapped(segment.path) { b in
                    Result { () throws(JournalError) -> Int? in
                        var offset = JournalFormat.segmentHeaderBytes
                        while let length = JournalReader.frameLength(b, at: offset) {
                            let start = offset + JournalFormat.frameHeaderBytes
                            let entry: JournalEntry
                            do throws(DecodeError) {
                                entry = try JournalFormat.readPayload(UnsafeRawBufferPointer(rebasing: b[start..<(start + length)]))
                            } catch {
                                throw .undecodable(file: segment.path, offset: offset, error)
                            }
                            if entry.command.sequence == sequence + 1 { return offset }
                            offset = start + length
                        }
                        return nil
                    }
                }
            } catch {
                throw .file(error)
            }
            cutOffset = try found.get()
        }
        guard let cutOffset else { return nil }
        let snapshots: [Snapshots.Info]
        do { snapshots = try Snapshots.list(directory) } catch { throw .file(error) }
        let size = fileSize(segment.path)
        return Plan(damage: nil, lastSequence: sequence, tornTail: nil, cutFile: segment.path, cutOffset: cutOffset,
                    cutBytes: size - cutOffset,
                    setAside: segments[(index + 1)...].map(\.path) + snapshots.filter { $0.sequence > sequence }.map(\.path))
    }

    /// Cuts the journal as `plan` says: the damaged segment's bytes from the cut on go to a file beside
    /// it, later segments and snapshots past the cut are renamed, and each change is made durable.
    public static func apply(_ plan: Plan, directory: String) throws(JournalError) {
        guard let file = plan.cutFile else {
            if let torn = plan.tornTail { try JournalReader.cut(torn) }
            return
        }
        do {
            if plan.cutOffset == 0 {
                try Files.rename(file, file + ".removed")
            } else {
                let bytes = try Files.readAll(file)
                let kept = file + ".cut-\(plan.cutOffset)"
                let fd = try Files.open(kept, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
                defer { close(fd) }
                try Files.writeAll(fd, Array(bytes[plan.cutOffset...]), path: kept)
                try Files.syncData(fd, path: kept)
                try Files.truncate(file, to: plan.cutOffset)
            }
            for path in plan.setAside { try Files.rename(path, path + ".removed") }
            try markRewritten(directory, after: plan.lastSequence)
            try Files.syncDirectory(directory)
        } catch {
            throw .file(error)
        }
    }

    // MARK: What was derived from a cut journal

    /// A journal cut after a sequence may be written on past it with other entries (a former primary's
    /// tail set aside, the leader's entries followed in its place). This file, in the journal's directory,
    /// holds the lowest such sequence until whatever derives from the journal (a projection's rows) has
    /// been made again past it.
    static let rewrittenFile = "rewritten-after"

    /// The sequence after which the journal was cut and what derives from it must be made again; nil if
    /// nothing must.
    public static func rewritten(_ directory: String) -> UInt64? {
        guard let bytes = try? Files.readAll(directory + "/" + rewrittenFile) else { return nil }
        return UInt64(String(decoding: bytes.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
    }

    /// Says that what derives from the journal agrees with it again.
    public static func clearRewritten(_ directory: String) throws(JournalError) {
        guard rewritten(directory) != nil else { return }
        do {
            try Files.remove(directory + "/" + rewrittenFile)
            try Files.syncDirectory(directory)
        } catch {
            throw .file(error)
        }
    }

    private static func markRewritten(_ directory: String, after sequence: UInt64) throws(FileError) {
        let lowest = min(rewritten(directory) ?? .max, sequence)
        let path = directory + "/" + rewrittenFile
        let fd = try Files.open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        defer { close(fd) }
        try Files.writeAll(fd, Array("\(lowest)\n".utf8), path: path + ".tmp")
        try Files.syncData(fd, path: path + ".tmp")
        try Files.rename(path + ".tmp", path)
    }

    private static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}

extension JournalError {
    /// The file and offset the error names (0 for a whole segment's problem).
    var location: (file: String, offset: Int) {
        switch self {
        case .damaged(let file, let offset, _), .sequenceGap(let file, let offset, _, _), .undecodable(let file, let offset, _):
            (file, offset)
        case .badSegmentHeader(let file, _), .snapshotInvalid(let file, _): (file, 0)
        case .file(let e): (e.path, 0)
        case .replayMismatch: ("", 0)
        }
    }
}
