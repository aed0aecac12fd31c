/// The UUIDs Alpaca's clients validate for orders, accounts and assets, derived from the engine's
/// integer ids without a table, so the same order has the same UUID after any restart or replay:
///
///     0b0a5e0K-HHHH-8000-8000-LLLLLLLLLLLL
///
/// `K` names the kind, `HHHH` holds the id's high 16 bits and the last group its low 48 bits; the third
/// and fourth groups mark a version 8 (custom) UUID of RFC 9562's variant. The engine's id is readable in
/// hex in the last groups.
public enum PublicID {
    public enum Kind: UInt8, Sendable {
        case order = 1
        case account = 2
        /// An asset's id carries its symbol, packed.
        case asset = 3
        case execution = 4
        case watchlist = 5
        /// A bank transfer (the engine's number) and a journal (the sequence of its command).
        case transfer = 6
        case journal = 7
        case bankRelationship = 8
    }

    public static func transfer(_ id: UInt64) -> String { uuid(.transfer, id) }
    public static func journal(_ id: UInt64) -> String { uuid(.journal, id) }

    public static func uuid(_ kind: Kind, _ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            let hex = Array("0123456789abcdef".utf8)
            let prefix = Array("0b0a5e0".utf8)
            for (i, c) in prefix.enumerated() { out[i] = c }
            out[7] = hex[Int(kind.rawValue)]
            out[8] = UInt8(ascii: "-")
            func put(_ v: UInt64, digits: Int, at start: Int) {
                for i in 0..<digits { out[start + i] = hex[Int(v >> (4 * UInt64(digits - 1 - i)) & 0xf)] }
            }
            put(value >> 48, digits: 4, at: 9)
            for (i, c) in Array("-8000-8000-".utf8).enumerated() { out[13 + i] = c }
            put(value & 0xffff_ffff_ffff, digits: 12, at: 24)
            return 36
        }
    }

    /// The engine's id in a UUID of `kind` as `uuid` writes it (either case); nil for any other text.
    public static func value(_ kind: Kind, _ text: String) -> UInt64? {
        let b = Array(text.utf8)
        guard b.count == 36 else { return nil }
        let fixed = "0b0a5e0\(kind.rawValue)-????-8000-8000-????????????"
        var value: UInt64 = 0
        for (c, f) in zip(b, fixed.utf8) {
            if f != UInt8(ascii: "?") {
                guard ((0x41...0x5a).contains(c) ? c | 0x20 : c) == f else { return nil }
                continue
            }
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}

extension OrderID {
    public var uuid: String { PublicID.uuid(.order, rawValue) }
    /// The order a UUID names, or nil when the text is not an order's UUID.
    public init?(uuid text: String) {
        guard let value = PublicID.value(.order, text) else { return nil }
        self.init(value)
    }
}

extension AccountID {
    public var uuid: String { PublicID.uuid(.account, UInt64(rawValue)) }
    public init?(uuid text: String) {
        guard let value = PublicID.value(.account, text), let raw = UInt32(exactly: value) else { return nil }
        self.init(raw)
    }
}

extension ExecutionID {
    public var uuid: String { PublicID.uuid(.execution, rawValue) }
}

extension Symbol {
    /// The asset's id.
    public var uuid: String { PublicID.uuid(.asset, packed) }
    public init?(uuid text: String) {
        guard let value = PublicID.value(.asset, text) else { return nil }
        self.init(packed: value)
    }
}
