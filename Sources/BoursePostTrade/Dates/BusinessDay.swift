import BourseCore

/// The venue's business days and their cutoff: a business day is a day the exchange trades; work that
/// arrives after the cutoff (New York time) or on a day without trading belongs to the next business day.
/// The rollover that closes a day and opens the next is due at the cutoff (`rolloverDue`). Pure: the clock
/// is an argument.
public struct BusinessDay: Sendable {
    public var exchange: ExchangeCalendar
    /// Minutes after midnight, New York time, at which a business day closes for new work.
    public var cutoffMinute: Int

    /// 17:30, after the close and the late trade reports.
    public static let cutoffDefault = 17 * 60 + 30

    public init(exchange: ExchangeCalendar = .nyse, cutoffMinute: Int = cutoffDefault) {
        precondition((0..<24 * 60).contains(cutoffMinute), "a cutoff within the day")
        (self.exchange, self.cutoffMinute) = (exchange, cutoffMinute)
    }

    public func isBusinessDay(_ date: CivilDate) -> Bool { exchange.session(on: date) != nil }

    /// The first business day on or after `date`.
    public func onOrAfter(_ date: CivilDate) -> CivilDate {
        isBusinessDay(date) ? date : exchange.tradingDay(after: date)
    }

    /// The business day after `date`.
    public func after(_ date: CivilDate) -> CivilDate { exchange.tradingDay(after: date) }

    /// The business day work arriving at `time` belongs to.
    public func businessDate(at time: Timestamp) -> CivilDate {
        let local = ExchangeCalendar.newYorkDate(time)
        guard isBusinessDay(local) else { return onOrAfter(local) }
        return time < cutoff(of: local) ? local : after(local)
    }

    /// The instant `date`'s business day closes.
    public func cutoff(of date: CivilDate) -> Timestamp { ExchangeCalendar.instant(date, minute: cutoffMinute) }

    /// Whether the venue, on business day `current`, is due to roll over at `time`: the day's cutoff has
    /// passed. After a stop of several days each missed rollover is due in turn, one day at a time.
    public func rolloverDue(current: CivilDate, at time: Timestamp) -> Bool { time >= cutoff(of: current) }
}
