import BourseCore
import BourseNode
import Hummingbird

/// The exchange calendar: whether the market is open, and its trading days.
extension Routes {
    func addCalendar(to table: RouteTable) {
        table.add(.get, "/v2/clock", "Whether the exchange is open, and its next open and close") { request, _ in
            try await handle(request) { _ in clock() }
        }
        table.add(.get, "/v2/calendar", "Trading days from ?start to ?end with closes and settlement dates") { request, _ in
            try await handle(request) { _ in try sessions(request) }
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
    private func sessions(_ request: Request) throws -> Response {
        let today = ExchangeCalendar.newYorkDate(Timestamp(nanos: wallClockNanos()))
        let query = request.uri.queryParameters
        guard let start = query.get("start").map({ CivilDate(String($0)) }) ?? today,
              let end = query.get("end").map({ CivilDate(String($0)) }) ?? start.adding(days: 30) else {
            throw Failure.unprocessable("start and end must each be \(CivilDate.supportedDescription)")
        }
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
