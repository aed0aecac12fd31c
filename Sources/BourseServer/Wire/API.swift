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
    static func time(_ t: Timestamp) -> String {
        var (days, nanosOfDay) = t.nanos.quotientAndRemainder(dividingBy: 86_400_000_000_000)
        if nanosOfDay < 0 { (days, nanosOfDay) = (days - 1, nanosOfDay + 86_400_000_000_000) }
        // Int64 nanoseconds span the years 1677 to 2262: always four digits.
        let date = CivilDate(daysSinceEpoch: Int(days))
        let seconds = nanosOfDay / 1_000_000_000
        // Written digit by digit: every order and trade message carries a time or two.
        return String(unsafeUninitializedCapacity: 30) { out in
            func put(_ value: Int64, _ width: Int, at end: Int) {
                var v = value
                for i in stride(from: end - 1, through: end - width, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
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

    struct BookLevel: Encodable {
        var price: String
        var size: String
        var orders: Int
        /// With `?orders=true`: the level's shown orders in time priority.
        var queue: [QueuedOrder]?
    }

    struct QueuedOrder: Encodable {
        var id: String
        var size: Int64
    }

    struct Book: Encodable {
        var symbol: String
        var state: String
        var bids: [BookLevel]
        var asks: [BookLevel]
        var last_trade: String?
        /// The `sq` of the last level 2 and level 3 messages this book reflects, in the stream's `session`.
        var l2_sequence: UInt64
        var l3_sequence: UInt64
        var session: String
        var timestamp: String
    }

    struct Quote: Encodable {
        var t: String
        var ax = "BOURSE"
        var ap: String
        var `as`: Int64
        var bx = "BOURSE"
        var bp: String
        var bs: Int64
        var c: [String] = []
        var z = "C"
    }

    struct LatestQuote: Encodable {
        var symbol: String
        var quote: Quote
    }

    static func name(_ state: TradingState) -> String {
        switch state {
        case .preOpen: "pre_open"
        case .open: "open"
        case .halted: "halted"
        case .closed: "closed"
        }
    }

    struct Clock: Encodable {
        var timestamp: String
        var is_open: Bool
        var next_open: String
        var next_close: String
    }

    struct CalendarDay: Encodable {
        var date: String
        var open: String
        var close: String
        var settlement_date: String
    }

    struct Account: Encodable {
        var id: String
        var account_number: String
        var status: String
        var currency = "USD"
        var cash: String
        var buying_power: String?
        var equity: String?
        var portfolio_value: String?
        var long_market_value: String?
        var short_market_value: String?
        var initial_margin: String?
        var maintenance_margin: String?
        var multiplier: String
        var shorting_enabled: Bool
        var trading_blocked: Bool
        var account_blocked: Bool
        var pattern_day_trader = false
        // Bourse's extras.
        var cash_on_hold: String
        var settled_cash: String
        var unsettled_cash: String
        var realized_pl: String
        var unrealized_pl: String?
        var open_orders: Int

        init(_ s: AccountSummary) {
            id = s.account.uuid
            account_number = s.number.text
            status = s.state == .closed ? "ACCOUNT_CLOSED" : "ACTIVE"
            cash = API.decimal(s.cash)
            buying_power = s.buyingPower.map(API.decimal)
            equity = s.equity.map(API.decimal)
            portfolio_value = equity
            long_market_value = s.longMarketValue.map(API.decimal)
            short_market_value = s.shortMarketValue.map(API.decimal)
            initial_margin = s.initialRequirement.map(API.decimal)
            maintenance_margin = s.maintenanceRequirement.map(API.decimal)
            multiplier = s.kind == .margin ? "2" : "1"
            shorting_enabled = s.kind == .margin
            trading_blocked = s.state == .blocked || s.state == .closed
            account_blocked = s.state == .closed
            cash_on_hold = API.decimal(s.cashHold)
            settled_cash = API.decimal(s.settledCash)
            unsettled_cash = API.decimal(s.unsettledCash)
            realized_pl = API.decimal(s.realizedPnL)
            unrealized_pl = s.unrealizedPnL.map(API.decimal)
            open_orders = s.openOrders
        }
    }

    struct Position: Encodable {
        var asset_id: String
        var symbol: String
        var exchange: String
        var asset_class = "us_equity"
        var qty: String
        var qty_available: String
        var side: String
        var avg_entry_price: String?
        var cost_basis: String
        var market_value: String?
        var current_price: String?
        var unrealized_pl: String?
        var realized_pl: String

        init(_ p: PositionSummary, exchange: String) {
            asset_id = p.symbol.uuid
            symbol = p.symbol.description
            self.exchange = exchange
            qty = String(p.quantity.shares)
            qty_available = String(p.quantity.shares.magnitude - UInt64(p.held.shares))
            side = p.quantity.shares < 0 ? "short" : "long"
            avg_entry_price = p.averageCost.map(API.decimal)
            cost_basis = API.decimal(p.costBasis)
            market_value = p.marketValue.map(API.decimal)
            current_price = p.mark.map(API.decimal)
            unrealized_pl = p.unrealizedPnL.map(API.decimal)
            realized_pl = API.decimal(p.realizedPnL)
        }
    }

    struct Asset: Encodable {
        var id: String
        var `class` = "us_equity"
        /// The primary listing market; Bourse's own code appears only as a trade's or quote's venue.
        var exchange: String
        var symbol: String
        var name: String
        var status = "active"
        var tradable: Bool
        var marginable = true
        var shortable: Bool
        var easy_to_borrow: Bool
        var fractionable = false
    }

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

    static func name(_ type: OrderType) -> String { type.name }

    static func name(_ tif: TimeInForce) -> String { tif.name }
}
