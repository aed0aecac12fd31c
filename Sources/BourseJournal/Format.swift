import BourseCore

/// On-disk layout shared by the writer and the reader.
///
/// Segment file `journal-<first sequence, 20 digits>.log`:
///   header: "BRSJ" | codec version u16 | engine flags u16 | first sequence u64 | CRC-32C of those 16 bytes u32
///   entries: length u32 | CRC-32C(payload) u32 | CRC-32C(the 8 bytes before) u32 | payload
///   payload: sequenced command | events byte count (varint) | events, each in the codec's form
///            [| note byte count (varint) | note]
/// The note is optional and opaque to the engine: what the gateway that submitted the command needs to
/// keep with it (an order's client order id), made durable with it. Replay ignores it.
/// The header CRC lets the reader trust a length before reading that far, so damage to a length
/// is found where it is rather than mistaken for the end of the file. The engine flags say how the engine
/// that wrote the journal was configured (bit 0: it keeps accounts), so a replay from the first entry
/// configures its engine the same way.
public enum JournalFormat {
    static let segmentMagic: [UInt8] = Array("BRSJ".utf8)
    static let segmentHeaderBytes = 20
    static let frameHeaderBytes = 12
    /// An entry holds one command and its events; a sweep of a deep book stays far below this.
    public static let entryBytesMax = 16 << 20
    /// A note is a few identifiers, never a payload.
    public static let noteBytesMax = 1 << 10

    static func segmentName(_ firstSequence: UInt64) -> String {
        "journal-" + paddedSequence(firstSequence) + ".log"
    }

    /// A sequence number in 20 digits, so that file names sort in sequence order.
    static func paddedSequence(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: 20 - digits.count) + digits
    }

    static let keepsAccountsFlag: UInt16 = 1

    static func segmentHeader(firstSequence: UInt64, keepsAccounts: Bool) -> [UInt8] {
        var w = ByteWriter(capacity: segmentHeaderBytes)
        w.append(contentsOf: segmentMagic)
        w.append(contentsOf: formatBytes(keepsAccounts: keepsAccounts))
        w.writeFixed64(firstSequence)
        w.writeFixed32(w.withUnsafeBytes { CRC32C.checksum($0) })
        return w.bytes
    }

    /// Appends one framed entry: the payload is written in place, then the frame header filled in.
    static func appendEntry(_ command: SequencedCommand, _ events: UnsafeBufferPointer<Event>, note: [UInt8],
                            to w: inout ByteWriter, scratch: inout ByteWriter) {
        let frameStart = w.count
        w.appendZeros(frameHeaderBytes)
        appendPayload(command, events, note: note, to: &w, scratch: &scratch)
        let payloadCount = w.count - frameStart - frameHeaderBytes
        precondition(payloadCount <= entryBytesMax, "journal entry of \(payloadCount) bytes")
        let (payloadCRC, headerCRC): (UInt32, UInt32) = w.withUnsafeBytes { b in
            let payload = UnsafeRawBufferPointer(rebasing: b[(frameStart + frameHeaderBytes)...])
            let payloadCRC = CRC32C.checksum(payload)
            var header = ByteWriter(capacity: 8)
            header.writeFixed32(UInt32(payloadCount))
            header.writeFixed32(payloadCRC)
            return (payloadCRC, header.withUnsafeBytes { CRC32C.checksum($0) })
        }
        w.storeFixed32(UInt32(payloadCount), at: frameStart)
        w.storeFixed32(payloadCRC, at: frameStart + 4)
        w.storeFixed32(headerCRC, at: frameStart + 8)
    }

    /// Appends an entry's payload, as a segment holds it and as it is published elsewhere (Kafka).
    public static func appendPayload(_ command: SequencedCommand, _ events: UnsafeBufferPointer<Event>, note: [UInt8],
                                     to w: inout ByteWriter, scratch: inout ByteWriter) {
        w.write(command)
        scratch.removeAll()
        for event in events { scratch.write(event) }
        w.writeVarint(UInt64(scratch.count))
        scratch.withUnsafeBytes { w.append($0) }
        if !note.isEmpty {
            precondition(note.count <= noteBytesMax, "journal note of \(note.count) bytes")
            w.writeVarint(UInt64(note.count))
            w.append(contentsOf: note)
        }
    }

    /// Reads an entry's payload: its command, its events still in bytes, and its note (empty when none).
    public static func readPayload(_ payload: UnsafeRawBufferPointer) throws(DecodeError) -> JournalEntry {
        var r = ByteReader(payload)
        let command = try r.readSequencedCommand()
        let count = try r.readVarint()
        let eventBytes = try r.readBytes(Int(clamping: count))
        var note = UnsafeRawBufferPointer(start: nil, count: 0)
        if r.remaining != 0 {
            let noteCount = try r.readVarint()
            note = try r.readBytes(Int(clamping: noteCount))
        }
        if r.remaining != 0 { throw DecodeError(.trailingBytes(r.remaining), at: r.offset) }
        return JournalEntry(command: command, eventBytes: eventBytes, note: note)
    }

    /// The segment header's codec version and engine flags, as a record published elsewhere carries them:
    /// codec version u16 | engine flags u16, little-endian.
    public static func formatBytes(keepsAccounts: Bool) -> [UInt8] {
        let flags = keepsAccounts ? keepsAccountsFlag : 0
        return [UInt8(Codec.version & 0xff), UInt8(Codec.version >> 8), UInt8(flags & 0xff), UInt8(flags >> 8)]
    }

    /// Reads `formatBytes`: whether the engine keeps accounts, or why the bytes cannot be read by this build.
    public static func readFormat(_ bytes: [UInt8]) -> Result<Bool, JournalError> {
        guard bytes.count == 4 else { return .failure(.badSegmentHeader(file: "format", reason: "\(bytes.count) bytes, not 4")) }
        let version = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        guard (Codec.oldestReadable...Codec.version).contains(version) else {
            return .failure(.badSegmentHeader(file: "format", reason: "codec version \(version), this build reads \(Codec.oldestReadable) to \(Codec.version)"))
        }
        return .success((UInt16(bytes[2]) | UInt16(bytes[3]) << 8) & keepsAccountsFlag != 0)
    }
}

public enum Durability: String, Sendable, CaseIterable {
    /// Written and fdatasync'ed before anything in the batch is acknowledged.
    case fsync
    /// Written to the OS before acknowledging: survives a crash of the process, not of the machine.
    case os
    /// Not written at all; for measuring everything but the journal.
    case none
}
