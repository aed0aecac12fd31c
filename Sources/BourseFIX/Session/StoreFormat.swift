import BourseCore

/// The layout of the session store's segment files, shared by the writer and the reader. A segment is a
/// run of records, each `length (u32) · CRC-32C of the payload (u32) · payload`, little-endian. A payload is
/// a kind byte, the session's state when the kind says so, and messages:
///
///     kind 1 (messages)         count · message…
///     kind 2 (messages, state)  state · count · message…
///     kind 3 (reset)            state · count (0): the session starts over, older segments are void
///     kind 4 (messages, state changed)  state (no early reports) · early change · count · message…
///     state    nextSender · nextTarget · deliveredSequence · deliveredNumber (signed) · window (flag, signed)
///              · password digest (length, bytes) · early reports (count, position…)
///     early change  added (count, position…) · removed (count, position…): the early reports are those
///              of the state record before it in the segment, with these added, then these removed
///     position entry · number (signed)
///     message  sequence · sent (signed nanoseconds) · type (length, bytes) · body (length, bytes)
///
/// Integers are LEB128 varints (zigzag where signed). A save is its messages in records of at most
/// `messagesPerRecordMax`, the last carrying the state: a save is whole once its state record is, and the
/// records after the last state record of a file are a save cut short, never acknowledged.
enum StoreFormat {
    static let headerBytes = 8
    /// A record larger than this is damage, not a record.
    static let recordBytesMax = messagesPerRecordMax * (messageBytesMax + 64) + 1_400_000
    static let messagesPerRecordMax = 1_024
    /// A message body past this is refused when saved: the venue's own messages are far below it.
    static let messageBytesMax = 16_384

    enum Kind: UInt8 {
        case messages = 1
        case messagesAndState = 2
        case reset = 3
        case messagesAndStateChange = 4
    }

    /// A record's contents, decoded.
    struct Record {
        var state: SessionStore.State?
        /// Kind 4's: `state` has no early reports, the state record before it and this change give them.
        var earlyChange: SessionStore.EarlyChange?
        var messages: [SessionStore.Message]
        var reset = false
    }

    /// Appends the records of one save to `out`: its state whole, or with the change of its early reports
    /// since the segment's state record before it.
    static func encode(_ state: SessionStore.State, _ messages: ArraySlice<SessionStore.Message>, reset: Bool = false,
                       earlyChange: SessionStore.EarlyChange? = nil, into out: inout [UInt8]) {
        precondition(!reset || earlyChange == nil, "a reset record holds its state whole")
        var rest = messages
        repeat {
            let part = rest.prefix(messagesPerRecordMax)
            rest = rest.dropFirst(part.count)
            var w = ByteWriter(capacity: 64 + part.reduce(0) { $0 + $1.body.count + 32 })
            let kind: Kind = !rest.isEmpty ? .messages : reset ? .reset : earlyChange == nil ? .messagesAndState : .messagesAndStateChange
            w.write(kind.rawValue)
            if rest.isEmpty { write(state, &w, change: earlyChange) }
            w.writeVarint(UInt64(part.count))
            for m in part {
                w.writeVarint(UInt64(m.sequence))
                w.writeSigned(m.sent.nanos)
                w.writeVarint(UInt64(m.type.utf8.count))
                w.append(contentsOf: Array(m.type.utf8))
                w.writeVarint(UInt64(m.body.count))
                w.append(contentsOf: m.body)
            }
            w.withUnsafeBytes { payload in
                precondition(payload.count <= recordBytesMax, "a store record within its limit")
                withUnsafeBytes(of: UInt32(payload.count).littleEndian) { out += $0 }
                withUnsafeBytes(of: CRC32C.checksum(payload).littleEndian) { out += $0 }
                out += payload
            }
        } while !rest.isEmpty
    }

    private static func write(_ s: SessionStore.State, _ w: inout ByteWriter, change: SessionStore.EarlyChange?) {
        w.writeVarint(UInt64(s.nextSender))
        w.writeVarint(UInt64(s.nextTarget))
        w.writeVarint(s.deliveredSequence)
        w.writeSigned(Int64(s.deliveredNumber))
        w.writeBool(s.window != nil)
        w.writeSigned(Int64(s.window ?? 0))
        let password = Array((s.passwordSHA256 ?? "").utf8)
        w.writeVarint(UInt64(password.count))
        w.append(contentsOf: password)
        if let change {
            w.writeVarint(0)
            write(change.added, &w)
            write(change.removed, &w)
        } else {
            // Sorted, so that a state is written the same way each time.
            write(s.early.sorted { ($0.sequence, $0.number) < ($1.sequence, $1.number) }, &w)
        }
    }

    private static func write(_ positions: [SessionStore.ReportPosition], _ w: inout ByteWriter) {
        w.writeVarint(UInt64(positions.count))
        for p in positions {
            w.writeVarint(p.sequence)
            w.writeSigned(Int64(p.number))
        }
    }

    /// What is at `offset` of a segment's bytes `b`.
    enum Read {
        /// A whole record of `bytes` in all.
        case record(Record, bytes: Int)
        /// The bytes end within a record: read more, or it is the torn end of the file.
        case incomplete(needed: Int)
        /// Not a record: a bad length, checksum or payload.
        case damaged(String)
    }

    static func read(_ b: UnsafeRawBufferPointer, at offset: Int) -> Read {
        guard b.count - offset >= headerBytes else { return .incomplete(needed: headerBytes) }
        let length = Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        guard length > 0, length <= recordBytesMax else { return .damaged("a record length of \(length) bytes") }
        guard b.count - offset - headerBytes >= length else { return .incomplete(needed: headerBytes + length) }
        let payload = UnsafeRawBufferPointer(rebasing: b[(offset + headerBytes) ..< (offset + headerBytes + length)])
        guard CRC32C.checksum(payload) == crc else { return .damaged("a checksum mismatch") }
        do {
            return .record(try decode(payload), bytes: headerBytes + length)
        } catch {
            return .damaged("a payload that does not decode: \(error)")
        }
    }

    private static func decode(_ payload: UnsafeRawBufferPointer) throws -> Record {
        var r = ByteReader(payload)
        let kind = try r.readByte()
        guard let kind = Kind(rawValue: kind) else { throw DecodeError(.invalidTag("record kind", UInt64(kind)), at: 0) }
        var record = Record(state: nil, messages: [], reset: kind == .reset)
        if kind != .messages { record.state = try readState(&r) }
        if kind == .messagesAndStateChange {
            guard record.state?.early.isEmpty == true else { throw DecodeError(.invalidValue("early reports both whole and changed"), at: r.offset) }
            record.earlyChange = SessionStore.EarlyChange(added: try positions(&r), removed: try positions(&r))
        }
        let count = try r.readVarint()
        guard count <= messagesPerRecordMax else { throw DecodeError(.invalidValue("\(count) messages in a record"), at: r.offset) }
        record.messages.reserveCapacity(Int(count))
        for _ in 0 ..< count {
            let sequence = try int(&r)
            let sent = Timestamp(nanos: try r.readSigned())
            let type = String(decoding: try r.readBytes(try length(&r, max: 8)), as: UTF8.self)
            let body = Array(try r.readBytes(try length(&r, max: messageBytesMax)))
            record.messages.append(SessionStore.Message(sequence: sequence, type: type, sent: sent, body: body))
        }
        guard r.remaining == 0 else { throw DecodeError(.trailingBytes(r.remaining), at: r.offset) }
        return record
    }

    private static func readState(_ r: inout ByteReader) throws -> SessionStore.State {
        var s = SessionStore.State(nextSender: try int(&r), nextTarget: try int(&r), deliveredSequence: try r.readVarint(),
                                   deliveredNumber: Int(try r.readSigned()))
        let hasWindow = try r.readBool()
        let window = Int(try r.readSigned())
        s.window = hasWindow ? window : nil
        let password = try r.readBytes(try length(&r, max: 128))
        s.passwordSHA256 = password.isEmpty ? nil : String(decoding: password, as: UTF8.self)
        s.early = Set(try positions(&r))
        return s
    }

    private static func positions(_ r: inout ByteReader) throws -> [SessionStore.ReportPosition] {
        let count = try length(&r, max: FIXSession.earlyReportsMax)
        return try (0 ..< count).map { _ in SessionStore.ReportPosition(sequence: try r.readVarint(), number: Int(try r.readSigned())) }
    }

    private static func int(_ r: inout ByteReader) throws -> Int {
        let at = r.offset, value = try r.readVarint()
        guard value <= UInt64(Int.max) else { throw DecodeError(.invalidValue("a number past Int.max"), at: at) }
        return Int(value)
    }

    private static func length(_ r: inout ByteReader, max: Int) throws -> Int {
        let at = r.offset, value = try r.readVarint()
        guard value <= UInt64(max) else { throw DecodeError(.invalidValue("a length of \(value), more than \(max)"), at: at) }
        return Int(value)
    }
}
