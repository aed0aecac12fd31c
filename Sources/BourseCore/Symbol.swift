/// A ticker: 1 to 8 characters of A–Z, 0–9 and '.', packed big-endian into a UInt64 so that it
/// compares, hashes and encodes as one integer.
public struct Symbol: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let lengthMax = 8
    public let packed: UInt64

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case tooLong(length: Int)
        case invalidCharacter(Character)
        public var description: String {
            switch self {
            case .empty: "a symbol needs at least one character"
            case .tooLong(let length): "a symbol has at most 8 characters, this one has \(length)"
            case .invalidCharacter(let c): "a symbol holds only A-Z, 0-9 and '.', not '\(c)'"
            }
        }
    }

    public init(validating text: String) throws(ParseError) {
        let bytes = text.utf8
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= Self.lengthMax else { throw .tooLong(length: text.count) }
        var packed: UInt64 = 0
        for byte in bytes {
            guard Self.isAllowed(byte) else { throw .invalidCharacter(Character(Unicode.Scalar(byte))) }
            packed = packed << 8 | UInt64(byte)
        }
        // Left-align so that shorter symbols sort before longer ones sharing a prefix.
        self.packed = packed << (8 * UInt64(Self.lengthMax - bytes.count))
    }

    /// Accepts a packed value read from storage; nil when it is not a valid symbol.
    public init?(packed: UInt64) {
        var sawEnd = false
        var length = 0
        for index in 0..<Self.lengthMax {
            let byte = UInt8(truncatingIfNeeded: packed >> (8 * UInt64(Self.lengthMax - 1 - index)))
            if byte == 0 { sawEnd = true; continue }
            guard !sawEnd, Self.isAllowed(byte) else { return nil }
            length += 1
        }
        guard length > 0 else { return nil }
        self.packed = packed
    }

    @inlinable public static func < (a: Symbol, b: Symbol) -> Bool { a.packed < b.packed }

    public var description: String {
        var bytes: [UInt8] = []
        for index in 0..<Self.lengthMax {
            let byte = UInt8(truncatingIfNeeded: packed >> (8 * UInt64(Self.lengthMax - 1 - index)))
            if byte == 0 { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: ".")
    }
}
