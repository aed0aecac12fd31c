/// The name people, files and other systems give an account (Alpaca's `account_number`, FIX's Account):
/// 1 to 20 of A–Z, a–z, 0–9 and '-'. The engine keeps its compact `AccountID`; an account's number is
/// given when it opens, journaled with that command, and never changes. Held as plain bytes, zero-padded,
/// because events that carry it must be plain data.
public struct AccountNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let lengthMax = 20
    private var packed: (UInt64, UInt64, UInt64) = (0, 0, 0)

    /// Nil for text that is not an account number; `problem` says why.
    public init?(_ text: String) {
        guard Self.problem(text) == nil else { return nil }
        for (i, byte) in text.utf8.enumerated() {
            let shift = UInt64(56 - 8 * (i % 8))
            switch i / 8 {
            case 0: packed.0 |= UInt64(byte) << shift
            case 1: packed.1 |= UInt64(byte) << shift
            default: packed.2 |= UInt64(byte) << shift
            }
        }
    }

    /// The number an account gets when none is given: its id in decimal.
    public init(defaultFor id: AccountID) { self.init(String(id.rawValue))! }

    public var text: String {
        var bytes: [UInt8] = []
        for word in [packed.0, packed.1, packed.2] {
            for i in 0..<8 {
                let byte = UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * i))
                if byte == 0 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func == (a: AccountNumber, b: AccountNumber) -> Bool { a.packed == b.packed }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(packed.0)
        hasher.combine(packed.1)
        hasher.combine(packed.2)
    }

    /// Why `text` is not an account number, as a sentence; nil when it is one.
    public static func problem(_ text: String) -> String? {
        let bytes = text.utf8
        guard (1...lengthMax).contains(bytes.count) else {
            return "an account number has 1 to \(lengthMax) characters, this one has \(text.count)"
        }
        guard bytes.allSatisfy(isAllowed) else {
            return "an account number holds only A-Z, a-z, 0-9 and '-', not \"\(text)\""
        }
        return nil
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"): true
        default: false
        }
    }

    /// Byte order, which for these characters is the text's order.
    public static func < (a: AccountNumber, b: AccountNumber) -> Bool { a.packed < b.packed }
    public var description: String { text }
}
