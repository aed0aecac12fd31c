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
    /// check of every SendingTime and TransactTime): `YYYYMMDD` and `-HH:MM:S` read as two words.
    public static func isTimestamp(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 17 || (b.count >= 19 && b.count <= 27 && b[17] == UInt8(ascii: ".")), let base = b.baseAddress else { return false }
        let zeros: UInt64 = 0x3030_3030_3030_3030
        // Each byte of a word xor "0…0" is below 10 for a digit: adding 0x76 sets the high bit of the others.
        func nonDigits(_ x: UInt64) -> UInt64 { (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080 }
        let date = UnsafeRawPointer(base).loadUnaligned(as: UInt64.self) ^ zeros
        let time = UnsafeRawPointer(base + 8).loadUnaligned(as: UInt64.self)
        let separators: UInt64 = 0x00FF_0000_FF00_00FF
        let expected = UInt64(UInt8(ascii: ":")) << 48 | UInt64(UInt8(ascii: ":")) << 24 | UInt64(UInt8(ascii: "-"))
        let clock = time ^ zeros
        let secondUnits = b[16] &- UInt8(ascii: "0")
        guard nonDigits(date) == 0, time & separators == expected, nonDigits(clock) & ~separators & 0x8080_8080_8080_8080 == 0,
              secondUnits < 10 else { return false }
        func digit(_ word: UInt64, _ byte: Int) -> Int { Int(truncatingIfNeeded: word >> UInt64(8 * byte)) & 0xFF }
        let year = digit(date, 0) * 1_000 + digit(date, 1) * 100 + digit(date, 2) * 10 + digit(date, 3)
        let month = digit(date, 4) * 10 + digit(date, 5), day = digit(date, 6) * 10 + digit(date, 7)
        let hour = digit(clock, 1) * 10 + digit(clock, 2), minute = digit(clock, 4) * 10 + digit(clock, 5)
        let second = digit(clock, 7) * 10 + Int(secondUnits)
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        guard (1678...2261).contains(year), (1...12).contains(month), (1...days).contains(day), hour < 24, minute < 60, second < 61 else {
            return false
        }
        var fraction = 0
        for i in 18 ..< max(18, b.count) { fraction |= Int(b[i] &- UInt8(ascii: "0") < 10 ? 0 : 1) }
        return fraction == 0
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
