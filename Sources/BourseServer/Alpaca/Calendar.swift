import BourseCore

/// The clock and the calendar, as Alpaca writes them.
extension API {
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
}
