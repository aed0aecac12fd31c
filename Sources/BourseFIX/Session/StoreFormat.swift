import BourseCore

/// The layout of the session store's segment files, shared by the writer and the reader. A segment is a
/// run of records, each `length (u32) · CRC-32C of the payload (u32) · payload`, little-endian. A payload is
/// a kind byte, the session's state when the kind says so, and messages:
///
///     kind 1 (messages)         count · message…
///     kind 2 (messages, state)  state · count · message…
///     kind 3 (reset)            state · count (0): the session starts over, older segments are void
///     state    nextSender · nextTarget · deliveredSequence · deliveredNumber (signed) · window (flag, signed)
///              · password digest (length, bytes) · early reports (count, (entry, number (signed))…)
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
    }

    /// A record's contents, decoded.
    struct Record {
        var state: SessionStore.State?
        var messages: [SessionStore.Message]
        var reset = false
    }

    /// Appends the records of one save to `out`.
    static func encode(_ state: SessionStore.State, _ messages: ArraySlice<SessionStore.Message>, reset: Bool = false, into out: inout [UInt8]) {
        var rest = messages
        repeat {
            let part = rest.prefix(messagesPerRecordMax)
            rest = rest.dropFirst(part.count)
            var w = ByteWriter(capacity: 64 + part.reduce(0) { $0 + $1.body.count + 32 })
            w.write((rest.isEmpty ? reset ? Kind.reset : .messagesAndState : .messages).rawValue)
            if rest.isEmpty { write(state, &w) }
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

    private static func write(_ s: SessionStore.State, _ w: inout ByteWriter) {
        w.writeVarint(UInt64(s.nextSender))
        w.writeVarint(UInt64(s.nextTarget))
        w.writeVarint(s.deliveredSequence)
        w.writeSigned(Int64(s.deliveredNumber))
        w.writeBool(s.window != nil)
        w.writeSigned(Int64(s.window ?? 0))
        let password = Array((s.passwordSHA256 ?? "").utf8)
        w.writeVarint(UInt64(password.count))
        w.append(contentsOf: password)
        w.writeVarint(UInt64(s.early.count))
        for p in s.early.sorted(by: { ($0.sequence, $0.number) < ($1.sequence, $1.number) }) {
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
        let early = try length(&r, max: FIXSession.earlyReportsMax)
        for _ in 0 ..< early { s.early.insert(SessionStore.ReportPosition(sequence: try r.readVarint(), number: Int(try r.readSigned()))) }
        return s
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
