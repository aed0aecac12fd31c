/// A client's own id for an order (Alpaca's `client_order_id`): at most 128 printable ASCII characters,
/// unique per account among the orders the history keeps. It travels to the journal in the command's
/// note, so that it is durable exactly when the order is, and the history is rebuilt with it.
public enum ClientOrderID {
    public static let lengthMax = 128
    /// The first byte of a note that carries a client order id; other kinds may follow.
    private static let noteKind: UInt8 = 1

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

    public static func from(note: [UInt8]) -> String? {
        guard note.first == noteKind else { return nil }
        return String(decoding: note.dropFirst(), as: UTF8.self)
    }
}
