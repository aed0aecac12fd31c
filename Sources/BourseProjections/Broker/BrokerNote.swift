import BourseCore

/// Who asked for a broker's command, and what it said beside it: journaled in the command's note, so that
/// the audit trail and the broker's records are as durable as the command, and rebuilt with it.
public struct BrokerNote: Sendable, Equatable {
    /// The first byte of a note that carries a broker note (`ClientOrderID` uses 1).
    static let noteKind: UInt8 = 2
    public static let descriptionBytesMax = 256

    /// The key that asked, or `operator` for the venue's own staff.
    public var actor: String
    /// The bank relationship a transfer uses; 0 for none.
    public var relationship: UInt64
    /// A journal's description, as given.
    public var description: String

    public init(actor: String, relationship: UInt64 = 0, description: String = "") {
        precondition(actor.utf8.count <= 64 && description.utf8.count <= Self.descriptionBytesMax, "a broker note within its bounds")
        self.actor = actor
        self.relationship = relationship
        self.description = description
    }

    public var note: [UInt8] {
        var w = ByteWriter(capacity: 16 + actor.utf8.count + description.utf8.count)
        w.write(Self.noteKind)
        for text in [actor, description] {
            w.writeVarint(UInt64(text.utf8.count))
            w.append(contentsOf: Array(text.utf8))
        }
        w.writeVarint(relationship)
        return w.bytes
    }

    public static func from(note: [UInt8]) -> BrokerNote? {
        guard note.first == noteKind else { return nil }
        return note.withUnsafeBytes { bytes -> BrokerNote? in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
            func text() -> String? {
                guard let count = try? r.readVarint(), count <= 1_024, let raw = try? r.readBytes(Int(count)) else { return nil }
                return String(decoding: raw, as: UTF8.self)
            }
            guard let actor = text(), let description = text(), let relationship = try? r.readVarint(),
                  actor.utf8.count <= 64, description.utf8.count <= descriptionBytesMax else { return nil }
            return BrokerNote(actor: actor, relationship: relationship, description: description)
        }
    }
}
