import BourseCore
import Foundation

/// JSON in the shape of Alpaca's Trading API v2: the same field names, numbers as strings.
enum API {
    static func decimal(_ units: Int64) -> String { formatFixedPoint(units, decimals: 4) }
    static func decimal(_ money: Money) -> String { decimal(money.units) }
    static func decimal(_ price: Price) -> String { decimal(price.units) }

    /// How a refusal names the times `parseTime` reads.
    static let timeDescription = "an RFC 3339 time or a date as YYYY-MM-DD, from 1678 to 2261"

    /// Nanoseconds since the epoch of an RFC 3339 time (`2026-11-20T14:30:00Z`, with an optional fraction
    /// and a `Z` or `±HH:MM` offset) or of a date's UTC midnight (`2026-11-20`); nil for anything else,
    /// and for a date outside `CivilDate.supported`, whose nanoseconds would not fit.
    static func parseTime(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ count: Int) -> Int64? {
            guard at + count <= b.count else { return nil }
            var value: Int64 = 0
            for c in b[at..<(at + count)] {
                guard (0x30...0x39).contains(c) else { return nil }
                value = value * 10 + Int64(c - 0x30)
            }
            return value
        }
        guard b.count >= 10, b[4] == 0x2d, b[7] == 0x2d, let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2),
              let date = CivilDate(validYear: Int(y), month: Int(mo), day: Int(d)) else { return nil }
        var nanos = Int64(date.daysSinceEpoch) * 86_400_000_000_000
        if b.count == 10 { return nanos }
        guard b.count >= 20, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3a, b[16] == 0x3a,
              let h = digits(11, 2), let mi = digits(14, 2), let s = digits(17, 2), h < 24, mi < 60, s < 60 else { return nil }
        nanos += ((h * 60 + mi) * 60 + s) * 1_000_000_000
        var i = 19
        if b[i] == 0x2e {
            i += 1
            var scale: Int64 = 100_000_000
            let first = i
            while i < b.count, (0x30...0x39).contains(b[i]) {
                nanos += Int64(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > first, i - first <= 9 else { return nil }
        }
        guard i < b.count else { return nil }
        if b[i] == 0x5a || b[i] == 0x7a { return i == b.count - 1 ? nanos : nil }
        guard b[i] == 0x2b || b[i] == 0x2d, b.count == i + 6, b[i + 3] == 0x3a, let oh = digits(i + 1, 2), let om = digits(i + 4, 2),
              oh < 24, om < 60 else { return nil }
        let offset = (oh * 60 + om) * 60_000_000_000
        let instant = b[i] == 0x2b ? nanos - offset : nanos + offset
        // The offset may carry an instant past the supported days; its UTC form must read back.
        return Self.supportedNanos.contains(instant) ? instant : nil
    }

    /// The instants of `CivilDate.supported`, UTC.
    static let supportedNanos = Int64(CivilDate.supported.lowerBound.daysSinceEpoch) * 86_400_000_000_000
        ..< Int64(CivilDate.supported.upperBound.daysSinceEpoch + 1) * 86_400_000_000_000

    /// RFC 3339 with nanoseconds, UTC, from the sequencer's timestamp, computed in integers rather than
    /// through a calendar object per response.
    static func time(_ t: Timestamp) -> String { t.rfc3339 }

    /// A JSON string literal. Symbols, ids and decimals need no escapes; the rest is escaped anyway.
    static func quoted(_ text: String) -> String {
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string; most strings (ids, symbols, numbers, times) need no escapes and
    /// are copied whole.
    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
