import BourseCore
import BourseNode
import Hummingbird

/// The exchange calendar: whether the market is open, and its trading days.
extension Routes {
    func addCalendar(to table: RouteTable) {
        table.add(.get, "/v2/clock", "Whether the exchange is open, and its next open and close", answer: .ok("Clock")) { request, _ in
            try await handle(request) { _ in clock() }
        }
        table.add(.get, "/v2/calendar", "Trading days with their open, close and settlement date", query: [
            Parameter("start", .date, "The first day (default today, New York)"),
            Parameter("end", .date, "The last day (default 30 days after start)"),
        ], answer: .list("CalendarDay")) { request, _ in
            try await handle(request) { _ in try sessions(Query(request)) }
        }
    }

    private func clock() -> Response {
        let now = Timestamp(nanos: wallClockNanos())
        let (isOpen, nextOpen, nextClose) = calendar.clock(at: now)
        return Self.json(API.Clock(timestamp: API.time(now), is_open: isOpen, next_open: API.time(nextOpen),
                                   next_close: API.time(nextClose)))
    }

    /// Trading days from `start` to `end` (New York dates, at most 366 days apart), each with its
    /// settlement date (T+1).
    private func sessions(_ query: Query) throws -> Response {
        let start = query.date("start") ?? ExchangeCalendar.newYorkDate(Timestamp(nanos: wallClockNanos()))
        let end = query.date("end") ?? start.adding(days: 30)
        guard start <= end, end.daysSinceEpoch - start.daysSinceEpoch <= 366 else {
            throw Failure.unprocessable("end must be on or after start, and at most 366 days later")
        }
        func time(_ minute: Int) -> String {
            let h = minute / 60, m = minute % 60
            return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
        }
        return Self.json(calendar.sessions(from: start, through: end).map { s in
            API.CalendarDay(date: s.date.description, open: time(s.openMinute), close: time(s.closeMinute),
                            settlement_date: calendar.tradingDay(after: s.date).description)
        })
    }
}
