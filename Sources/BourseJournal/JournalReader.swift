import BourseCore

public enum JournalError: Error, CustomStringConvertible, Equatable, Sendable {
    case file(FileError)
    /// Damage that is not a torn tail: a whole entry follows it, or it is not in the last segment.
    case damaged(file: String, offset: Int, reason: String)
    case sequenceGap(file: String, offset: Int, expected: UInt64, found: UInt64)
    case badSegmentHeader(file: String, reason: String)
    case undecodable(file: String, offset: Int, DecodeError)
    /// Replay produced different events than the journal holds.
    case replayMismatch(sequence: UInt64, detail: String)
    case snapshotInvalid(file: String, reason: String)

    public var description: String {
        switch self {
        case .file(let e): "\(e)"
        case .damaged(let file, let offset, let reason): "journal damaged in \(file) at offset \(offset): \(reason)"
        case .sequenceGap(let file, let offset, let expected, let found):
            "journal sequence gap in \(file) at offset \(offset): expected \(expected), found \(found)"
        case .badSegmentHeader(let file, let reason): "bad segment header in \(file): \(reason)"
        case .undecodable(let file, let offset, let e): "undecodable entry in \(file) at offset \(offset): \(e)"
        case .replayMismatch(let sequence, let detail): "replay differs from the journal at sequence \(sequence): \(detail)"
        case .snapshotInvalid(let file, let reason): "snapshot \(file) is invalid: \(reason)"
        }
    }
}

/// What a crash mid-write leaves at the end of the last segment: an incomplete last write (fewer bytes than a
/// frame header, a whole header whose entry runs past the end of the file, or zeros where the file grew),
/// or a segment created and not yet written (fewer than a header's bytes, or a header and no entry).
/// Recovery reports it and, when repairing, cuts it off; anything else is damage.
public struct TornTail: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var offset: Int
    public var bytesDropped: Int
    /// The segment holds no entry: repair removes the file, whose name the next segment needs.
    public var holdsNoEntry: Bool
    public init(file: String, offset: Int, bytesDropped: Int, holdsNoEntry: Bool = false) {
        self.file = file
        self.offset = offset
        self.bytesDropped = bytesDropped
        self.holdsNoEntry = holdsNoEntry
    }
    public var description: String {
        holdsNoEntry ? "torn tail: \(file) holds no entry (\(bytesDropped) bytes, a crash while the segment was created); removed"
            : "torn tail in \(file): \(bytesDropped) bytes after offset \(offset) dropped"
    }
}

/// One entry as read: its command, and its events still in bytes for byte-for-byte comparison.
public struct JournalEntry {
    public var command: SequencedCommand
    public var eventBytes: UnsafeRawBufferPointer
    /// The gateway's note kept with the command; empty when there is none.
    public var note: UnsafeRawBufferPointer
}

/// One business date's part of the journal: its first entry (the rollover that opened it) and its segments.
public struct DatedPartition: Sendable, Equatable {
    public var date: CivilDate?
    public var firstSequence: UInt64
    public var segments: [String]
}

public struct Segment: Sendable {
    public var path: String
    public var firstSequence: UInt64
}

/// Reads a journal directory segment by segment and hands each whole entry to a closure.
public enum JournalReader {
    public static func segments(in directory: String) throws(JournalError) -> [Segment] {
        let names: [String]
        do { names = try Files.list(directory) } catch { throw .file(error) }
        return names.compactMap { name -> Segment? in
            guard name.hasPrefix("journal-"), name.hasSuffix(".log"),
                  let first = UInt64(name.dropFirst(8).dropLast(4)) else { return nil }
            return Segment(path: directory + "/" + name, firstSequence: first)
        }.sorted { $0.firstSequence < $1.firstSequence }
    }

    /// The journal's business dates as its segments hold them: the writer opens a segment at each
    /// rollover the engine accepted, so a date's entries are the segments from the one its rollover opens
    /// to the next date's. The entries before the first rollover belong to no date (`date` nil).
    public static func businessDates(in directory: String) throws(JournalError) -> [DatedPartition] {
        var partitions: [DatedPartition] = []
        for segment in try segments(in: directory) {
            var opened: CivilDate?
            // Its first entry only (a segment named 0 holds none: sequences start at 1).
            _ = try read(directory, after: max(segment.firstSequence, 1) - 1, through: segment.firstSequence) { entry throws(JournalError) in
                guard case .rollBusinessDate = entry.command.command else { return }
                var r = ByteReader(entry.eventBytes)
                if case .businessDateRolled(let roll)? = try? r.readEvent() { opened = roll.to }
            }
            if let opened {
                partitions.append(DatedPartition(date: opened, firstSequence: segment.firstSequence, segments: [segment.path]))
            } else if partitions.isEmpty {
                partitions.append(DatedPartition(date: nil, firstSequence: segment.firstSequence, segments: [segment.path]))
            } else {
                partitions[partitions.count - 1].segments.append(segment.path)
            }
        }
        return partitions
    }

    /// Whether the engine that wrote the journal keeps accounts, from the first segment's header; nil for
    /// a journal without segments.
    public static func keepsAccounts(in directory: String) throws(JournalError) -> Bool? {
        guard let first = try segments(in: directory).first else { return nil }
        let result: Result<Bool?, JournalError>
        do {
            result = try Files.withMapped(first.path) { b -> Result<Bool?, JournalError> in
                guard b.count >= JournalFormat.segmentHeaderBytes else { return .success(nil) }
                guard Array(b[0..<4]) == JournalFormat.segmentMagic,
                      CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<16])) == UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) else {
                    return .failure(.badSegmentHeader(file: first.path, reason: "header checksum mismatch"))
                }
                let flags = UInt16(b[6]) | UInt16(b[7]) << 8
                return .success(flags & JournalFormat.keepsAccountsFlag != 0)
            }
        } catch {
            throw .file(error)
        }
        return try result.get()
    }

    /// Visits every entry with a sequence above `after`, in order. A torn tail of the last segment is
    /// returned, never changed here (`cut` does that once the caller has checked what it read); any other
    /// damage throws. With `through`, reading stops at that entry and looks at nothing after it: a reader
    /// of a journal being written reads only what is durable.
    public static func read(
        _ directory: String, after: UInt64 = 0, through: UInt64 = .max,
        _ visit: (JournalEntry) throws(JournalError) -> Void
    ) throws(JournalError) -> (lastSequence: UInt64, tornTail: TornTail?) {
        let segments = try segments(in: directory).filter { $0.firstSequence <= through }
        var expected: UInt64? = nil
        var flags: UInt16? = nil
        var last: UInt64 = 0
        var torn: TornTail?
        for (i, segment) in segments.enumerated() {
            let isLast = i == segments.count - 1
            // Skip segments wholly before `after`; the next segment's first sequence bounds this one.
            if !isLast, segments[i + 1].firstSequence <= after + 1 {
                continue
            }
            let result: Result<TornTail?, JournalError>
            do {
                result = try Files.withMapped(segment.path) { b in
                    Result { () throws(JournalError) in
                        try readSegment(b, segment: segment, isLast: isLast, after: after, through: through, expected: &expected,
                                        flags: &flags, last: &last, visit)
                    }
                }
            } catch {
                throw .file(error)
            }
            torn = try result.get()
            if last >= through { break }
        }
        return (last, torn)
    }

    /// Cuts a torn tail off: the file truncated to its last whole entry, or removed when it holds none,
    /// and the change made durable.
    public static func cut(_ torn: TornTail) throws(JournalError) {
        do {
            if torn.holdsNoEntry {
                try Files.remove(torn.file)
            } else {
                try Files.truncate(torn.file, to: torn.offset)
            }
        } catch {
            throw .file(error)
        }
    }

    private static func readSegment(
        _ b: UnsafeRawBufferPointer, segment: Segment, isLast: Bool, after: UInt64, through: UInt64,
        expected: inout UInt64?, flags: inout UInt16?, last: inout UInt64,
        _ visit: (JournalEntry) throws(JournalError) -> Void
    ) throws(JournalError) -> TornTail? {
        let file = segment.path
        guard b.count >= JournalFormat.segmentHeaderBytes else {
            if isLast { return TornTail(file: file, offset: 0, bytesDropped: b.count, holdsNoEntry: true) }
            throw .badSegmentHeader(file: file, reason: "only \(b.count) bytes")
        }
        guard Array(b[0..<4]) == JournalFormat.segmentMagic else { throw .badSegmentHeader(file: file, reason: "not a journal segment") }
        var header = ByteReader(b)
        try? header.skip(4)
        let version = UInt16(b[4]) | UInt16(b[5]) << 8
        guard (Codec.oldestReadable...Codec.version).contains(version) else {
            throw .badSegmentHeader(file: file, reason: "codec version \(version), this build reads \(Codec.oldestReadable) to \(Codec.version)")
        }
        try? header.skip(4)
        let first = (try? header.readFixed64()) ?? 0
        let crc = (try? header.readFixed32()) ?? 0
        guard crc == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<16])) else {
            throw .badSegmentHeader(file: file, reason: "header checksum mismatch")
        }
        guard first == segment.firstSequence else { throw .badSegmentHeader(file: file, reason: "names sequence \(first)") }
        if let e = expected, e != first { throw .sequenceGap(file: file, offset: 0, expected: e, found: first) }
        let segmentFlags = UInt16(b[6]) | UInt16(b[7]) << 8
        if let f = flags, f != segmentFlags {
            throw .badSegmentHeader(file: file, reason: "engine flags \(segmentFlags) differ from the earlier segments' \(f)")
        }
        flags = segmentFlags

        var offset = JournalFormat.segmentHeaderBytes
        if isLast, b.count == offset {
            return TornTail(file: file, offset: 0, bytesDropped: b.count, holdsNoEntry: true)
        }
        while offset < b.count {
            guard let length = frameLength(b, at: offset) else {
                let reason = b.count - offset < JournalFormat.frameHeaderBytes ? "incomplete entry header"
                    : "entry header or payload checksum mismatch"
                if isLast, isIncompleteWrite(b, at: offset) {
                    return offset == JournalFormat.segmentHeaderBytes
                        ? TornTail(file: file, offset: 0, bytesDropped: b.count, holdsNoEntry: true)
                        : TornTail(file: file, offset: offset, bytesDropped: b.count - offset)
                }
                throw .damaged(file: file, offset: offset, reason: reason)
            }
            let payload = UnsafeRawBufferPointer(rebasing: b[(offset + JournalFormat.frameHeaderBytes)..<(offset + JournalFormat.frameHeaderBytes + length)])
            let entry: JournalEntry
            do throws(DecodeError) {
                entry = try JournalFormat.readPayload(payload)
            } catch {
                throw .undecodable(file: file, offset: offset, error)
            }
            let command = entry.command
            let wanted = expected ?? first
            guard command.sequence == wanted else {
                throw .sequenceGap(file: file, offset: offset, expected: wanted, found: command.sequence)
            }
            expected = command.sequence + 1
            last = command.sequence
            if command.sequence > after { try visit(entry) }
            if command.sequence >= through { return nil }
            offset += JournalFormat.frameHeaderBytes + length
        }
        return nil
    }

    /// The payload length of a whole, intact frame at `offset`; nil when it is not one.
    static func frameLength(_ b: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard b.count - offset >= JournalFormat.frameHeaderBytes else { return nil }
        let length = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let payloadCRC = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        let headerCRC = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
        guard headerCRC == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[offset..<(offset + 8)])),
              length <= JournalFormat.entryBytesMax,
              b.count - offset - JournalFormat.frameHeaderBytes >= length else { return nil }
        let start = offset + JournalFormat.frameHeaderBytes
        guard payloadCRC == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[start..<(start + length)])) else { return nil }
        return length
    }

    /// Whether the bytes from `offset` to the end are what an interrupted append leaves: less than a frame
    /// header, a header intact whose entry the file is too short to hold, or zeros (a file extended and
    /// not yet written). A whole entry whose checksum fails is none of these: it is damage, and an
    /// acknowledged entry, so it is never cut.
    static func isIncompleteWrite(_ b: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        let remaining = b.count - offset
        if remaining < JournalFormat.frameHeaderBytes { return true }
        let length = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let headerCRC = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
        if headerCRC == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[offset..<(offset + 8)])),
           length <= JournalFormat.entryBytesMax, remaining - JournalFormat.frameHeaderBytes < length {
            return true
        }
        return UnsafeRawBufferPointer(rebasing: b[offset...]).allSatisfy { $0 == 0 }
    }
}
