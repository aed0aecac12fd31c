import BourseCore

/// MessagePack for the market data stream, as Alpaca offers it to clients that ask for it: the JSON the
/// stream writes is transcoded value for value (numbers with a fraction or exponent become float64, others
/// integers, and a time under the key `t` MessagePack's timestamp extension, as Alpaca sends it), and a
/// client's binary frames are read back into JSON for the same request parser.
enum MessagePack {
    indirect enum Value: Equatable {
        case null
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case string(String)
        case array([Value])
        case map([(String, Value)])
        /// The timestamp extension (type -1): seconds and nanoseconds since the epoch.
        case timestamp(seconds: Int64, nanoseconds: UInt32)

        static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.null, .null): true
            case (.bool(let x), .bool(let y)): x == y
            case (.int(let x), .int(let y)): x == y
            case (.double(let x), .double(let y)): x == y
            case (.string(let x), .string(let y)): x == y
            case (.array(let x), .array(let y)): x == y
            case (.map(let x), .map(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            case (.timestamp(let s, let n), .timestamp(let t, let m)): s == t && n == m
            default: false
            }
        }
    }

    /// Nesting deeper than this is refused, so a hostile frame cannot exhaust the stack.
    static let depthMax = JSONValue.depthMax

    // MARK: JSON text → Value → MessagePack

    static func encode(json: String) -> [UInt8]? {
        guard let value = self.value(json: json) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(json.utf8.count)
        write(value, to: &out)
        return out
    }

    /// The value JSON text transcodes to, read by `JSONValue`; nil for text that is not JSON.
    static func value(json: String) -> Value? {
        (try? JSONValue.parse(Array(json.utf8))).flatMap { value($0, key: nil) }
    }

    /// A JSON value as MessagePack's: a number without fraction or exponent that fits is an integer, any
    /// other a float64, and a time under a `t` key a timestamp.
    private static func value(_ json: JSONValue, key: String?) -> Value? {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let text):
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let int = Int64(text) { return .int(int) }
            return Double(text).map { .double($0) }
        case .string(let text):
            if key == "t", let nanos = API.parseTime(text) {
                let (seconds, rest) = nanos.quotientAndRemainder(dividingBy: 1_000_000_000)
                return rest < 0 ? .timestamp(seconds: seconds - 1, nanoseconds: UInt32(rest + 1_000_000_000))
                    : .timestamp(seconds: seconds, nanoseconds: UInt32(rest))
            }
            return .string(text)
        case .array(let items):
            var out: [Value] = []
            for item in items {
                guard let v = value(item, key: nil) else { return nil }
                out.append(v)
            }
            return .array(out)
        case .object(let members):
            var out: [(String, Value)] = []
            for (k, item) in members {
                guard let v = value(item, key: k) else { return nil }
                out.append((k, v))
            }
            return .map(out)
        }
    }

    static func write(_ value: Value, to out: inout [UInt8]) {
        func be(_ v: UInt64, _ bytes: Int) { for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        func header(_ count: Int, fix: UInt8, fixMax: Int, _ c16: UInt8, _ c32: UInt8) {
            if count <= fixMax { out.append(fix | UInt8(count)) } else if count <= 0xffff { out.append(c16); be(UInt64(count), 2) } else { out.append(c32); be(UInt64(count), 4) }
        }
        switch value {
        case .null: out.append(0xc0)
        case .bool(let b): out.append(b ? 0xc3 : 0xc2)
        case .int(let i):
            if i >= 0 && i < 128 { out.append(UInt8(i)) }
            else if i < 0 && i >= -32 { out.append(UInt8(bitPattern: Int8(i))) }
            else if i >= 0 && i <= 0xff { out.append(0xcc); be(UInt64(i), 1) }
            else if i >= 0 && i <= 0xffff { out.append(0xcd); be(UInt64(i), 2) }
            else if i >= 0 && i <= 0xffff_ffff { out.append(0xce); be(UInt64(i), 4) }
            else if i >= 0 { out.append(0xcf); be(UInt64(i), 8) }
            else if i >= -128 { out.append(0xd0); be(UInt64(bitPattern: i), 1) }
            else if i >= -32_768 { out.append(0xd1); be(UInt64(bitPattern: i), 2) }
            else if i >= -2_147_483_648 { out.append(0xd2); be(UInt64(bitPattern: i), 4) }
            else { out.append(0xd3); be(UInt64(bitPattern: i), 8) }
        case .double(let d): out.append(0xcb); be(d.bitPattern, 8)
        case .string(let s):
            let bytes = Array(s.utf8)
            if bytes.count < 32 { out.append(0xa0 | UInt8(bytes.count)) }
            else if bytes.count <= 0xff { out.append(0xd9); be(UInt64(bytes.count), 1) }
            else if bytes.count <= 0xffff { out.append(0xda); be(UInt64(bytes.count), 2) }
            else { out.append(0xdb); be(UInt64(bytes.count), 4) }
            out.append(contentsOf: bytes)
        case .array(let items):
            header(items.count, fix: 0x90, fixMax: 15, 0xdc, 0xdd)
            for item in items { write(item, to: &out) }
        case .map(let pairs):
            header(pairs.count, fix: 0x80, fixMax: 15, 0xde, 0xdf)
            for (key, item) in pairs {
                write(.string(key), to: &out)
                write(item, to: &out)
            }
        case .timestamp(let seconds, let nanoseconds):
            if seconds >= 0, seconds >> 34 == 0 {
                // timestamp 64: 30 bits of nanoseconds, 34 of seconds.
                out += [0xd7, 0xff]
                be(UInt64(nanoseconds) << 34 | UInt64(seconds), 8)
            } else {
                // timestamp 96.
                out += [0xc7, 12, 0xff]
                be(UInt64(nanoseconds), 4)
                be(UInt64(bitPattern: seconds), 8)
            }
        }
    }

    // MARK: MessagePack → Value → JSON text

    static func decode(_ bytes: [UInt8]) -> Value? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.read(depth: 0), reader.i == bytes.count else { return nil }
        return value
    }

    static func json(_ value: Value) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): d.isFinite ? "\(d)" : "null"
        case .string(let s): API.quoted(s)
        case .array(let items): "[" + items.map(json).joined(separator: ",") + "]"
        case .map(let pairs): "{" + pairs.map { API.quoted($0.0) + ":" + json($0.1) }.joined(separator: ",") + "}"
        case .timestamp(let seconds, let nanoseconds): "\"" + API.time(Timestamp(nanos: seconds * 1_000_000_000 + Int64(nanoseconds))) + "\""
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var i = 0

        mutating func uint(_ count: Int) -> UInt64? {
            guard i + count <= bytes.count else { return nil }
            var v: UInt64 = 0
            for b in bytes[i..<(i + count)] { v = v << 8 | UInt64(b) }
            i += count
            return v
        }

        mutating func string(_ count: Int) -> Value? {
            guard count >= 0, i + count <= bytes.count else { return nil }
            defer { i += count }
            return .string(String(decoding: bytes[i..<(i + count)], as: UTF8.self))
        }

        mutating func array(_ count: Int, depth: Int) -> Value? {
            guard count <= bytes.count - i else { return nil }
            var items: [Value] = []
            for _ in 0..<count {
                guard let item = read(depth: depth + 1) else { return nil }
                items.append(item)
            }
            return .array(items)
        }

        mutating func map(_ count: Int, depth: Int) -> Value? {
            guard count <= bytes.count - i else { return nil }
            var pairs: [(String, Value)] = []
            for _ in 0..<count {
                guard case .string(let key)? = read(depth: depth + 1), let item = read(depth: depth + 1) else { return nil }
                pairs.append((key, item))
            }
            return .map(pairs)
        }

        mutating func read(depth: Int) -> Value? {
            guard depth < MessagePack.depthMax, i < bytes.count else { return nil }
            let tag = bytes[i]
            i += 1
            switch tag {
            case 0x00...0x7f: return .int(Int64(tag))
            case 0x80...0x8f: return map(Int(tag & 0x0f), depth: depth)
            case 0x90...0x9f: return array(Int(tag & 0x0f), depth: depth)
            case 0xa0...0xbf: return string(Int(tag & 0x1f))
            case 0xc0: return .null
            case 0xc2: return .bool(false)
            case 0xc3: return .bool(true)
            case 0xc4, 0xd9: return uint(1).flatMap { string(Int($0)) }
            case 0xc5, 0xda: return uint(2).flatMap { string(Int($0)) }
            case 0xc6, 0xdb: return uint(4).flatMap { string(Int($0)) }
            case 0xca: return uint(4).map { .double(Double(Float(bitPattern: UInt32($0)))) }
            case 0xcb: return uint(8).map { .double(Double(bitPattern: $0)) }
            case 0xcc: return uint(1).map { .int(Int64($0)) }
            case 0xcd: return uint(2).map { .int(Int64($0)) }
            case 0xce: return uint(4).map { .int(Int64($0)) }
            case 0xcf: return uint(8).flatMap { $0 <= UInt64(Int64.max) ? .int(Int64($0)) : nil }
            case 0xd0: return uint(1).map { .int(Int64(Int8(truncatingIfNeeded: $0))) }
            case 0xd1: return uint(2).map { .int(Int64(Int16(truncatingIfNeeded: $0))) }
            case 0xd2: return uint(4).map { .int(Int64(Int32(truncatingIfNeeded: $0))) }
            case 0xd3: return uint(8).map { .int(Int64(bitPattern: $0)) }
            case 0xdc: return uint(2).flatMap { array(Int($0), depth: depth) }
            case 0xdd: return uint(4).flatMap { array(Int($0), depth: depth) }
            case 0xde: return uint(2).flatMap { map(Int($0), depth: depth) }
            case 0xdf: return uint(4).flatMap { map(Int($0), depth: depth) }
            case 0xd7:
                guard uint(1) == 0xff, let v = uint(8), v & 0x3_ffff_ffff < 1 << 34, v >> 34 < 1_000_000_000 else { return nil }
                return .timestamp(seconds: Int64(v & 0x3_ffff_ffff), nanoseconds: UInt32(v >> 34))
            case 0xc7:
                guard uint(1) == 12, uint(1) == 0xff, let n = uint(4), n < 1_000_000_000, let s = uint(8) else { return nil }
                return .timestamp(seconds: Int64(bitPattern: s), nanoseconds: UInt32(n))
            case 0xe0...0xff: return .int(Int64(Int8(bitPattern: tag)))
            default: return nil
            }
        }
    }
}
