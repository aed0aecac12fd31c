import BourseCore

/// FIX's value formats read from and written to bytes, in integers: prices never pass through a float.
public enum FIXValue {
    /// A non-negative integer of at most 18 digits, without sign or leading zeros beyond a single "0".
    @inline(__always)
    public static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        if bytes.count > 1, bytes[0] == UInt8(ascii: "0") { return nil }
        var value = 0
        for c in bytes {
            guard c &- UInt8(ascii: "0") < 10 else { return nil }
            value = value &* 10 &+ Int(c &- UInt8(ascii: "0"))
        }
        return value
    }

    public static func integer(_ bytes: ArraySlice<UInt8>) -> Int? { bytes.withUnsafeBufferPointer { integer($0) } }

    /// A price (FIX's Price type) in ten-thousandths: at most four decimals, as the venue's prices have.
    public static func price(_ text: String) -> Price? {
        Price(dollars: text).flatMap { $0.units > 0 ? $0 : nil }
    }

    /// A quantity (FIX's Qty type) in whole shares: "100" or "100.00", never a fraction of a share.
    public static func quantity(_ text: String) -> Quantity? {
        var whole = Substring(text)
        if let dot = text.firstIndex(of: ".") {
            guard text[text.index(after: dot)...].allSatisfy({ $0 == "0" }) else { return nil }
            whole = text[..<dot]
        }
        guard let shares = integer(ArraySlice(whole.utf8)), shares > 0 else { return nil }
        return Quantity(Int64(shares))
    }

    /// UTCTimestamp: `YYYYMMDD-HH:MM:SS` with an optional fraction of 1 to 9 digits.
    public static func timestamp(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { timestamp($0) }
    }

    public static func timestamp(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard b.count == 17 || (b.count >= 19 && b.count <= 27 && b[17] == UInt8(ascii: ".")) else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var v = 0
            for i in range {
                let d = b[i] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v &* 10 &+ Int(d)
            }
            return v
        }
        guard b[8] == UInt8(ascii: "-"), b[11] == UInt8(ascii: ":"), b[14] == UInt8(ascii: ":"),
              let year = digits(0 ..< 4), let month = digits(4 ..< 6), let day = digits(6 ..< 8),
              let date = CivilDate(validYear: year, month: month, day: day),
              let hour = digits(9 ..< 11), hour < 24, let minute = digits(12 ..< 14), minute < 60,
              let second = digits(15 ..< 17), second < 61 else { return nil }
        var fraction: Int64 = 0
        if b.count > 17 {
            guard let f = digits(18 ..< b.count) else { return nil }
            fraction = Int64(f)
            for _ in 0 ..< 9 - (b.count - 18) { fraction *= 10 }
        }
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3_600 + minute * 60 + min(second, 59))
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        return Timestamp(nanos: nanos + fraction)
    }

    /// Whether the bytes are a UTCTimestamp, checked without computing the instant (the dictionary's
    /// check of every SendingTime and TransactTime).
    public static func isTimestamp(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 17 || (b.count >= 19 && b.count <= 27 && b[17] == UInt8(ascii: ".")),
              b[8] == UInt8(ascii: "-"), b[11] == UInt8(ascii: ":"), b[14] == UInt8(ascii: ":") else { return false }
        var v = 0
        func two(_ i: Int) -> Int? {
            let (a, c) = (b[i] &- UInt8(ascii: "0"), b[i + 1] &- UInt8(ascii: "0"))
            return a < 10 && c < 10 ? Int(a) * 10 + Int(c) : nil
        }
        guard let century = two(0), let yy = two(2), let month = two(4), let day = two(6), let hour = two(9), let minute = two(12),
              let second = two(15) else { return false }
        let year = century * 100 + yy
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        guard (1678...2261).contains(year), (1...12).contains(month), (1...days).contains(day), hour < 24, minute < 60, second < 61 else {
            return false
        }
        for i in 18 ..< max(18, b.count) { v |= Int(b[i] &- UInt8(ascii: "0") < 10 ? 0 : 1) }
        return v == 0
    }

    /// A UTCTimestamp with milliseconds, as QuickFIX writes and reads by default.
    public static func format(_ time: Timestamp) -> String {
        let (date, nanosOfDay) = time.utcDay
        let seconds = nanosOfDay / 1_000_000_000
        return String(unsafeUninitializedCapacity: 21) { out in
            func put(_ value: Int64, _ width: Int, at end: Int) { Timestamp.put(value, width, at: end, in: out) }
            put(Int64(date.year), 4, at: 4)
            put(Int64(date.month), 2, at: 6)
            put(Int64(date.day), 2, at: 8)
            out[8] = UInt8(ascii: "-")
            put(seconds / 3_600, 2, at: 11)
            out[11] = UInt8(ascii: ":")
            put(seconds / 60 % 60, 2, at: 14)
            out[14] = UInt8(ascii: ":")
            put(seconds % 60, 2, at: 17)
            out[17] = UInt8(ascii: ".")
            put(nanosOfDay % 1_000_000_000 / 1_000_000, 3, at: 21)
            return 21
        }
    }

    /// LocalMktDate: `YYYYMMDD`.
    public static func date(_ date: CivilDate) -> String {
        String(date.year * 10_000 + date.month * 100 + date.day)
    }

    /// A price as FIX writes it: dollars with the decimals it needs ("190", "190.25", "0.0001").
    public static func format(_ price: Price) -> String { decimal(price.units) }

    /// Ten-thousandths as a decimal without trailing zeros.
    public static func decimal(_ units: Int64) -> String {
        let sign = units < 0 ? "-" : ""
        let magnitude = units.magnitude
        let whole = magnitude / 10_000
        var fraction = magnitude % 10_000
        guard fraction != 0 else { return sign + String(whole) }
        var digits = 4
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let text = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: digits - text.count) + text
    }
}
