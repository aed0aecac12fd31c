import BourseCore
import BourseNode

/// What a capture says beyond the terms the engine books: who took the other side, where, and how the
/// trade came in. Journaled in the capture command's note, so that post-trade's views are rebuilt with it.
public struct CaptureNote: Sendable, Equatable {
    /// The first byte of a note that carries a capture (1 and 3 are client order ids, 2 a broker's note).
    static let noteKind: UInt8 = 4
    public static let sourceBytesMax = 256

    public var reference: String
    public var counterparty: String
    public var venue: String
    public var source: CapturedTrade.Source

    public init(reference: String, counterparty: String, venue: String, source: CapturedTrade.Source) {
        precondition(reference.utf8.count <= ShortText.bytesMax && counterparty.utf8.count <= TradeFile.fieldBytesMax
                     && venue.utf8.count <= TradeFile.fieldBytesMax, "a capture note within its bounds")
        (self.reference, self.counterparty, self.venue, self.source) = (reference, counterparty, venue, source)
    }

    /// `api:KEY`, `file:NAME:ROW` or `fix:SESSION`, as views show it.
    public var sourceText: String {
        switch source {
        case .api(let key): "api:\(key)"
        case .file(let name, let row): "file:\(name):\(row)"
        case .fix(let session): "fix:\(session)"
        }
    }

    /// The note of a trade captured alone: the kind, then the fields.
    public var note: [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(Self.noteKind)
        write(into: &w)
        return w.bytes
    }

    public static func from(note: [UInt8]) -> CaptureNote? {
        guard note.first == noteKind else { return nil }
        return note.withUnsafeBytes { bytes -> CaptureNote? in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
            return read(from: &r)
        }
    }

    /// The notes of a capture batch's trades, in their order, as `CaptureBatch.details` holds them.
    public static func details(_ notes: [CaptureNote]) -> [UInt8] {
        var w = ByteWriter(capacity: notes.count * 32)
        for note in notes { note.write(into: &w) }
        return w.bytes
    }

    /// The notes of a capture command's trades, one per trade in order (nil where the journal holds none: a
    /// trade captured alone without a note, a batch without details); nil for another command. A batch's
    /// details that do not read as its notes are an error.
    public static func notes(of published: Published) throws(Malformed) -> [CaptureNote?]? {
        switch published.command.command {
        case .captureTrade:
            return [from(note: published.note)]
        case .captureTrades(let batch):
            if batch.details.isEmpty { return Array(repeating: nil, count: batch.reports.count) }
            let notes = batch.details.withUnsafeBytes { bytes -> [CaptureNote?]? in
                var r = ByteReader(bytes)
                var notes: [CaptureNote?] = []
                notes.reserveCapacity(batch.reports.count)
                while notes.count < batch.reports.count {
                    guard let note = read(from: &r) else { return nil }
                    notes.append(note)
                }
                return r.remaining == 0 ? notes : nil
            }
            guard let notes else { throw Malformed(sequence: published.command.sequence) }
            return notes
        default:
            return nil
        }
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var sequence: UInt64
        public var description: String { "the capture batch at sequence \(sequence) holds details that are not its trades' notes" }
    }

    private func write(into w: inout ByteWriter) {
        let (kind, text, row): (UInt8, String, Int) = switch source {
        case .api(let key): (0, key, 0)
        case .file(let name, let row): (1, name, row)
        case .fix(let session): (2, session, 0)
        }
        precondition(text.utf8.count <= Self.sourceBytesMax, "a key, file name or session fits a capture note")
        for field in [reference, counterparty, venue, text] {
            w.writeVarint(UInt64(field.utf8.count))
            w.append(contentsOf: Array(field.utf8))
        }
        w.write(kind)
        w.writeVarint(UInt64(row))
    }

    private static func read(from r: inout ByteReader) -> CaptureNote? {
        func text(_ max: Int) -> String? {
            guard let count = try? r.readVarint(), count <= UInt64(max), let raw = try? r.readBytes(Int(count)) else { return nil }
            return String(decoding: raw, as: UTF8.self)
        }
        guard let reference = text(ShortText.bytesMax), let counterparty = text(TradeFile.fieldBytesMax),
              let venue = text(TradeFile.fieldBytesMax), let origin = text(sourceBytesMax),
              let kind = try? r.readByte(), let row = try? r.readVarint(), row <= UInt64(TradeFile.rowsMax + 1) else { return nil }
        let source: CapturedTrade.Source
        switch kind {
        case 0: source = .api(key: origin)
        case 1: source = .file(name: origin, row: Int(row))
        case 2: source = .fix(session: origin)
        default: return nil
        }
        return CaptureNote(reference: reference, counterparty: counterparty, venue: venue, source: source)
    }
}
