/// `POST /v2/orders` bodies as clients nearly always send them, read in one pass: one flat object of the
/// fields below whose values are printable ASCII strings without escapes, numbers without exponent,
/// booleans or null, each key once. Any other body, and any body that would not decode, gives nil, and
/// `BodyDecoder` reads it instead, so every answer and every error message stay what it makes of the body.
/// On the order path a general decoder cost a twentieth of the server's time.
extension OrderRequest {
    static func plain(_ body: UnsafeRawBufferPointer) -> OrderRequest? {
        var reader = PlainObjectReader(body)
        var symbol, qty, side, type, timeInForce, limitPrice, stopPrice, trailPrice, trailPercent: PlainObjectReader.Value?
        var clientOrderID, extendedHours, displayQty, postOnly, stp, expireAt: PlainObjectReader.Value?
        let complete = reader.readObject { key, value in
            // A key named twice: JSONDecoder's choice between the two is its own.
            func set(_ field: inout PlainObjectReader.Value?) -> Bool {
                guard field == nil else { return false }
                field = value
                return true
            }
            switch key {
            case "symbol": return set(&symbol)
            case "qty": return set(&qty)
            case "side": return set(&side)
            case "type": return set(&type)
            case "time_in_force": return set(&timeInForce)
            case "limit_price": return set(&limitPrice)
            case "stop_price": return set(&stopPrice)
            case "trail_price": return set(&trailPrice)
            case "trail_percent": return set(&trailPercent)
            case "client_order_id": return set(&clientOrderID)
            case "extended_hours": return set(&extendedHours)
            case "display_qty": return set(&displayQty)
            case "post_only": return set(&postOnly)
            case "stp": return set(&stp)
            case "expire_at": return set(&expireAt)
            default: return false  // any other field: the full reader accepts or names it
            }
        }
        guard complete, let symbol = symbol?.string, let qty = qty?.wholeNumber, let side = side?.string,
              let type = type?.string, let timeInForce = timeInForce?.string,
              let limitPrice = limitPrice.optionalString, let stopPrice = stopPrice.optionalString,
              let trailPrice = trailPrice.optionalString, let trailPercent = trailPercent.optionalString,
              let clientOrderID = clientOrderID.optionalString, let extendedHours = extendedHours.optionalBool,
              let displayQty = displayQty.optionalWholeNumber, let postOnly = postOnly.optionalBool,
              let stp = stp.optionalString, let expireAt = expireAt.optionalString
        else { return nil }
        return OrderRequest(
            symbol: symbol, qty: WholeNumber(qty), side: side, type: type, time_in_force: timeInForce,
            limit_price: limitPrice, stop_price: stopPrice, trail_price: trailPrice, trail_percent: trailPercent,
            client_order_id: clientOrderID, extended_hours: extendedHours, display_qty: displayQty.map(WholeNumber.init),
            post_only: postOnly, stp: stp, expire_at: expireAt)
    }
}

/// Reads one JSON object of the plain kind `OrderRequest.plain` takes, or tells that the bytes are not
/// of that kind.
struct PlainObjectReader {
    enum Value: Equatable {
        case string(String)
        /// A number's text, as `BodyDecoder` gives it for a string field.
        case number(String)
        case bool(Bool)
        case null

        var string: String? { if case .string(let s) = self { s } else { nil } }
        /// What `WholeNumber` decodes: a string or a number's text it parses.
        var wholeNumber: Int64? {
            switch self {
            case .number(let s), .string(let s): OrderRequest.WholeNumber.parse(s)
            default: nil
            }
        }
    }

    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Reads the whole body as one object, handing each member to `member`, which returns false to give
    /// up. True when the body was an object of the plain kind and every member was taken.
    mutating func readObject(_ member: (String, Value) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if take(UInt8(ascii: "}")) { return atEnd() }
        while true {
            skipSpace()
            guard let key = readString() else { return false }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard let value = readValue(), member(key, value) else { return false }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return false }
            return atEnd()
        }
    }

    private mutating func atEnd() -> Bool {
        skipSpace()
        return i == bytes.count
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    private mutating func take(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard bytes.count - i >= n else { return false }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    /// A string of printable ASCII with no escapes.
    private mutating func readString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(i - 1)]), as: UTF8.self)
            }
            guard b >= 0x20, b < 0x7F, b != UInt8(ascii: "\\") else { return nil }
            i += 1
        }
        return nil
    }

    private mutating func readValue() -> Value? {
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "\""): return readString().map(Value.string)
        case UInt8(ascii: "t"): return take("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return take("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return take("null") ? .null : nil
        default: return readNumber().map(Value.number)
        }
    }

    /// JSON's number form without an exponent (no leading zeros; a point followed by digits), up to 40
    /// characters; its text.
    private mutating func readNumber() -> String? {
        let start = i
        _ = take(UInt8(ascii: "-"))
        func digits() -> Int {
            let from = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - from
        }
        let first = i
        let count = digits()
        guard count > 0, !(count > 1 && bytes[first] == UInt8(ascii: "0")) else { return nil }
        if take(UInt8(ascii: ".")) { guard digits() > 0 else { return nil } }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") { return nil }
        guard i - start <= 40 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }
}

private extension Optional where Wrapped == PlainObjectReader.Value {
    // Each is nil when the value is of the wrong kind (JSONDecoder names the error), else the field:
    // absent and null both decode as no value.
    var optionalString: String?? {
        switch self {
        case nil, .null?: .some(nil)
        case .string(let s)?, .number(let s)?: .some(s)
        default: nil
        }
    }

    var optionalBool: Bool?? {
        switch self {
        case nil, .null?: .some(nil)
        case .bool(let b)?: .some(b)
        default: nil
        }
    }

    var optionalWholeNumber: Int64?? {
        switch self {
        case nil, .null?: .some(nil)
        case let value?: value.wholeNumber.map { .some($0) }
        }
    }
}
