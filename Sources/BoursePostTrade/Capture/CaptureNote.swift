import BourseCore

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

    public var note: [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.write(Self.noteKind)
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
        return w.bytes
    }

    public static func from(note: [UInt8]) -> CaptureNote? {
        guard note.first == noteKind else { return nil }
        return note.withUnsafeBytes { bytes -> CaptureNote? in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
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
}
