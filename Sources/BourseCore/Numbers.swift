/// A price as a count of 1/10,000 dollar (ITCH's four implied decimals). Never floating point.
public struct Price: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let unitsPerDollar: Int64 = 10_000
    /// Largest price the venue accepts: $10,000,000.0000. Keeps price × quantity products far from
    /// Int64's edge once quantities are bounded too (see `Quantity.max`).
    public static let max = Price(units: 100_000_000_000)
    public static let zero = Price(units: 0)

    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }

    /// Parses a dollar amount such as "101.25" or "0.0001"; nil for more than four decimals,
    /// a sign, or anything but digits and one dot.
    public init?(dollars text: Substring) {
        guard let units = parseFixedPoint(text, decimals: 4) else { return nil }
        self.units = units
    }
    public init?(dollars text: String) { self.init(dollars: text[...]) }

    @inlinable public static func < (a: Price, b: Price) -> Bool { a.units < b.units }
    public var description: String { formatFixedPoint(units, decimals: 4) }
}

/// A quantity in shares.
public struct Quantity: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Largest quantity in one order or position: one billion shares.
    public static let max = Quantity(1_000_000_000)
    public static let zero = Quantity(0)

    public var shares: Int64
    @inlinable public init(_ shares: Int64) { self.shares = shares }

    @inlinable public static func < (a: Quantity, b: Quantity) -> Bool { a.shares < b.shares }
    public var description: String { String(shares) }
}

/// Money as a count of 1/10,000 dollar.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let zero = Money(units: 0)
    /// Largest notional one order may have, whatever an account's limit says: $100 billion.
    public static let orderNotionalLimit = Money(units: 1_000_000_000_000_000)
    /// Largest total of cash the venue holds for the outside world (deposits less withdrawals), and so
    /// the largest cash balance: $10 trillion. With order notionals capped far below it, every balance
    /// and every sum of balances stays far from Int64's edge.
    public static let balanceLimit = Money(units: 100_000_000_000_000_000)

    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }
    public init(dollars: Int64) { self.units = dollars * 10_000 }

    /// Parses a dollar amount such as "10050.25"; nil for more than four decimals or a sign.
    public init?(dollars text: String) {
        guard let units = parseFixedPoint(text[...], decimals: 4) else { return nil }
        self.units = units
    }

    /// Dollars with thousands separators and at least two decimals: "10,050.00", "9,799.9999".
    public var grouped: String {
        let plain = formatFixedPoint(units, decimals: 4)
        let negative = plain.hasPrefix("-")
        let body = negative ? plain.dropFirst() : plain[...]
        let dot = body.firstIndex(of: ".")!
        var whole = ""
        for (i, c) in body[..<dot].enumerated() {
            if i > 0, (body.distance(from: body.startIndex, to: dot) - i) % 3 == 0 { whole.append(",") }
            whole.append(c)
        }
        return (negative ? "-" : "") + whole + body[dot...]
    }

    /// price × quantity, or nil when the product does not fit in Int64.
    @inlinable public static func notional(_ price: Price, _ qty: Quantity) -> Money? {
        let (product, overflow) = price.units.multipliedReportingOverflow(by: qty.shares)
        return overflow ? nil : Money(units: product)
    }

    @inlinable public static func < (a: Money, b: Money) -> Bool { a.units < b.units }
    /// Two decimals are what people read; the exact value has four.
    public var description: String { formatFixedPoint(units, decimals: 4) }
}

/// Nanoseconds since the Unix epoch, stamped by the sequencer. The engine never reads a clock.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let zero = Timestamp(nanos: 0)
    public var nanos: Int64
    @inlinable public init(nanos: Int64) { self.nanos = nanos }
    @inlinable public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanos < b.nanos }
    public var description: String { "\(nanos)ns" }
}

/// Parses an unsigned decimal with at most `decimals` fractional digits into a scaled integer.
func parseFixedPoint(_ text: Substring, decimals: Int) -> Int64? {
    var whole: Int64 = 0
    var fraction: Int64 = 0
    var fractionDigits = 0
    var seenDot = false
    var seenDigit = false
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            seenDigit = true
            let digit = Int64(byte - UInt8(ascii: "0"))
            if seenDot {
                fractionDigits += 1
                guard fractionDigits <= decimals else { return nil }
                fraction = fraction * 10 + digit
            } else {
                let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                guard !o1, !o2 else { return nil }
                whole = sum
            }
        case UInt8(ascii: "."):
            guard !seenDot else { return nil }
            seenDot = true
        default:
            return nil
        }
    }
    // "190." and ".5" are refused: a price is written with digits on both sides of its point, if it has one,
    // and without leading zeros ("0190.25").
    let first = text.utf8.first, second = text.utf8.dropFirst().first
    guard seenDigit, !seenDot || fractionDigits > 0, first != UInt8(ascii: "."),
          first != UInt8(ascii: "0") || second == nil || second == UInt8(ascii: ".") else { return nil }
    var scale: Int64 = 1
    for _ in 0..<decimals { scale *= 10 }
    for _ in fractionDigits..<decimals { fraction *= 10 }
    let (scaled, o1) = whole.multipliedReportingOverflow(by: scale)
    let (total, o2) = scaled.addingReportingOverflow(fraction)
    return o1 || o2 ? nil : total
}

/// Formats a scaled integer exactly, e.g. 1012500 with 4 decimals as "101.25".
/// Trailing zeros of the fraction are dropped but at least two decimals remain.
public func formatFixedPoint(_ value: Int64, decimals: Int) -> String {
    var scale: Int64 = 1
    for _ in 0..<decimals { scale *= 10 }
    let magnitude = value.magnitude
    let whole = magnitude / UInt64(scale)
    var fraction = String(magnitude % UInt64(scale))
    fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
    while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
    return (value < 0 ? "-" : "") + "\(whole).\(fraction)"
}

/// The same for totals past 64 bits.
public func formatFixedPoint(_ value: Int128, decimals: Int) -> String {
    if let small = Int64(exactly: value) { return formatFixedPoint(small, decimals: decimals) }
    var scale: UInt128 = 1
    for _ in 0..<decimals { scale *= 10 }
    var fraction = String(value.magnitude % scale)
    fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
    while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
    return (value < 0 ? "-" : "") + "\(value.magnitude / scale).\(fraction)"
}
