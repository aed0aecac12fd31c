/// A client's own id for an order (Alpaca's `client_order_id`): at most 128 printable ASCII characters,
/// unique per account among the orders the history keeps. It travels to the journal in the command's
/// note, so that it is durable exactly when the order is, and the history is rebuilt with it.
public enum ClientOrderID {
    public static let lengthMax = 128
    /// The first byte of a note that carries a client order id; other kinds may follow.
    private static let noteKind: UInt8 = 1
    /// A client order id with the FIX session that sent it: the kind, the id's length and bytes, the
    /// session's length and bytes, and for a cancel or replace the order's id it named (OrigClOrdID), length
    /// and bytes. The session's execution reports follow its orders by it.
    private static let originNoteKind: UInt8 = 3
    /// FIX session names (`SENDER>TARGET`) fit in this.
    public static let originLengthMax = 120

    /// The reason `text` is not a usable client order id, if it is not.
    public static func problem(_ text: String) -> String? {
        if text.isEmpty { return "client_order_id must not be empty" }
        if text.utf8.count > lengthMax { return "client_order_id must be at most \(lengthMax) characters, not \(text.utf8.count)" }
        if !text.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) {
            return "client_order_id must be printable ASCII without spaces"
        }
        return nil
    }

    public static func note(_ id: String?) -> [UInt8] {
        guard let id else { return [] }
        return [noteKind] + Array(id.utf8)
    }

    public static func note(_ id: String, origin: String, original: String? = nil) -> [UInt8] {
        precondition(id.utf8.count <= lengthMax && origin.utf8.count <= originLengthMax && (original?.utf8.count ?? 0) <= lengthMax,
                     "a note's ids and origin are bounded")
        var note = [originNoteKind, UInt8(id.utf8.count)] + Array(id.utf8) + [UInt8(origin.utf8.count)] + Array(origin.utf8)
        if let original { note += [UInt8(original.utf8.count)] + Array(original.utf8) }
        return note
    }

    public static func from(note: [UInt8]) -> String? {
        if note.first == originNoteKind { return fields(note)?.id }
        guard note.first == noteKind else { return nil }
        return String(decoding: note.dropFirst(), as: UTF8.self)
    }

    /// The FIX session a command came from, if it came from one.
    public static func origin(note: [UInt8]) -> String? { fields(note)?.origin }

    /// The order's id a FIX cancel or replace named (OrigClOrdID).
    public static func original(note: [UInt8]) -> String? { fields(note)?.original }

    private static func fields(_ note: [UInt8]) -> (id: String, origin: String, original: String?)? {
        guard note.first == originNoteKind, note.count >= 2 else { return nil }
        let idEnd = 2 + Int(note[1])
        guard note.count > idEnd else { return nil }
        let originEnd = idEnd + 1 + Int(note[idEnd])
        guard note.count >= originEnd else { return nil }
        var original: String?
        if note.count > originEnd {
            guard note.count == originEnd + 1 + Int(note[originEnd]) else { return nil }
            original = String(decoding: note[(originEnd + 1)...], as: UTF8.self)
        }
        return (String(decoding: note[2 ..< idEnd], as: UTF8.self), String(decoding: note[(idEnd + 1) ..< originEnd], as: UTF8.self), original)
    }
}
