/// What `JSONDecoder` lets pass and an exchange must not: a key given twice in one object (the decoder keeps
/// one of the two silently, so `{"qty":"1","qty":"0"}` would place one of them) and nesting deep enough to
/// exhaust a stack. Every JSON body and message from a client is checked here before it is decoded; the
/// check is one pass over bytes already bounded in size.
public enum StrictJSON {
    /// Objects and arrays nested deeper than this are refused; no request of ours nests past three.
    public static let depthMax = 32

    /// The first problem with `bytes`, as a sentence; nil when they are one JSON value with no repeated key.
    /// Malformed JSON is left for the decoder to name.
    public static func problem(_ bytes: UnsafeRawBufferPointer) -> String? {
        var scanner = Scanner(bytes: bytes)
        do {
            try scanner.value(depth: 0)
            return nil
        } catch .duplicate(let key) {
            return "the key \"\(key)\" is given more than once"
        } catch .tooDeep {
            return "the body nests objects and arrays more than \(depthMax) deep"
        } catch {
            return nil
        }
    }

    public static func problem(_ bytes: [UInt8]) -> String? { bytes.withUnsafeBytes { problem($0) } }

    enum Stop: Error {
        case duplicate(String)
        case tooDeep
        case malformed
    }

    /// A decoding error as a sentence naming where it is: "qty must be a string", "symbol is required".
    public static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? "." + key.stringValue }.joined()
            return p.isEmpty ? "the body" : String(p.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, _): return "\(key.stringValue) is required"
        case .typeMismatch(let type, let context): return "\(path(context)) must be \(type == String.self ? "a string" : "\(type)")"
        case .valueNotFound(_, let context): return "\(path(context)) must not be null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)) \(context.debugDescription)"
        @unknown default: return "the body could not be read"
        }
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        mutating func value(depth: Int) throws(Stop) {
            skipSpace()
            guard i < bytes.count else { throw .malformed }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                guard depth < StrictJSON.depthMax else { throw .tooDeep }
                i += 1
                var keys = Set<[UInt8]>()
                skipSpace()
                if take(UInt8(ascii: "}")) { return }
                repeat {
                    skipSpace()
                    let key = try string()
                    guard keys.insert(key).inserted else { throw .duplicate(String(decoding: key, as: UTF8.self)) }
                    skipSpace()
                    guard take(UInt8(ascii: ":")) else { throw .malformed }
                    try value(depth: depth + 1)
                    skipSpace()
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")) else { throw .malformed }
            case UInt8(ascii: "["):
                guard depth < StrictJSON.depthMax else { throw .tooDeep }
                i += 1
                skipSpace()
                if take(UInt8(ascii: "]")) { return }
                while true {
                    try value(depth: depth + 1)
                    skipSpace()
                    if !take(UInt8(ascii: ",")) { break }
                }
                guard take(UInt8(ascii: "]")) else { throw .malformed }
            case UInt8(ascii: "\""):
                _ = try string()
            default:
                // A number or a literal: its bytes up to the next delimiter; the decoder judges them.
                let start = i
                while i < bytes.count, !Self.delimiters.contains(bytes[i]) { i += 1 }
                guard i > start else { throw .malformed }
            }
        }

        private static let delimiters: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "]"),
                                                     UInt8(ascii: "}"), UInt8(ascii: ":"), UInt8(ascii: "\"")]

        /// A string's bytes with its escapes resolved, so that `"q\u0074y"` and `"qty"` are the same key.
        mutating func string() throws(Stop) -> [UInt8] {
            guard take(UInt8(ascii: "\"")) else { throw .malformed }
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                switch b {
                case UInt8(ascii: "\""): return out
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { throw .malformed }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "u"):
                        guard bytes.count - i >= 4, let unit = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 4)]), as: UTF8.self), radix: 16) else {
                            throw .malformed
                        }
                        i += 4
                        // Surrogates stay as their code units: two spellings of one key still compare equal.
                        if let scalar = Unicode.Scalar(unit) { out.append(contentsOf: Array(String(Character(scalar)).utf8)) } else {
                            out.append(contentsOf: [0xFF, UInt8(unit >> 8), UInt8(unit & 0xFF)])
                        }
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    default: out.append(e)
                    }
                default: out.append(b)
                }
            }
            throw .malformed
        }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }
    }
}
