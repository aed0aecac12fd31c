extension Timestamp {
    /// RFC 3339 with nanoseconds, UTC, computed in integers rather than through a calendar object: every
    /// order and trade message carries a time or two.
    public var rfc3339: String {
        let (date, nanosOfDay) = utcDay
        let seconds = nanosOfDay / 1_000_000_000
        // Written digit by digit: every order and trade message carries a time or two.
        return String(unsafeUninitializedCapacity: 30) { out in
            func put(_ value: Int64, _ width: Int, at end: Int) { Timestamp.put(value, width, at: end, in: out) }
            put(Int64(date.year), 4, at: 4)
            out[4] = UInt8(ascii: "-")
            put(Int64(date.month), 2, at: 7)
            out[7] = UInt8(ascii: "-")
            put(Int64(date.day), 2, at: 10)
            out[10] = UInt8(ascii: "T")
            put(seconds / 3_600, 2, at: 13)
            out[13] = UInt8(ascii: ":")
            put(seconds / 60 % 60, 2, at: 16)
            out[16] = UInt8(ascii: ":")
            put(seconds % 60, 2, at: 19)
            out[19] = UInt8(ascii: ".")
            put(nanosOfDay % 1_000_000_000, 9, at: 29)
            out[29] = UInt8(ascii: "Z")
            return 30
        }
    }
}

extension Timestamp {
    /// The UTC date and the nanoseconds into it. Int64 nanoseconds span the years 1677 to 2262: the year
    /// always has four digits.
    public var utcDay: (date: CivilDate, nanosOfDay: Int64) {
        var (days, nanosOfDay) = nanos.quotientAndRemainder(dividingBy: 86_400_000_000_000)
        if nanosOfDay < 0 { (days, nanosOfDay) = (days - 1, nanosOfDay + 86_400_000_000_000) }
        return (CivilDate(daysSinceEpoch: Int(days)), nanosOfDay)
    }

    /// Writes `value` as `width` decimal digits ending just before `end`.
    @inline(__always)
    public static func put(_ value: Int64, _ width: Int, at end: Int, in out: UnsafeMutableBufferPointer<UInt8>) {
        var v = value
        for i in stride(from: end - 1, through: end - width, by: -1) {
            out[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
    }
}
