import BourseCore
import BourseNode
import BourseEngine
import BoursePostTrade
import BourseProjections

/// The venue's clock, outside the engine (which has none): with automatic sessions it opens every
/// configured symbol when the calendar's session opens and closes it at the close (DAY orders expire
/// then); at any time it expires GTD orders once their time has come, and moves bank transfers on when
/// their simulated bank's step is due; with automatic business dates it opens the first and rolls over
/// at each cutoff, after a close mark; and it retries the captures due in the retry queue. Each action is a
/// command through the sequencer, journaled like any other.
public struct Scheduler: Sendable {
    let venue: Venue
    let calendar: ExchangeCalendar
    let symbols: [Symbol]
    let automatic: Bool
    let postTrade: VenueConfiguration.PostTradeRules
    let capture: CaptureDesk
    let marks: MarkSource
    let now: @Sendable () -> Int64

    public init(node: DataDirectory.Node, now: @escaping @Sendable () -> Int64 = wallClockNanos) {
        venue = node.venue
        calendar = node.calendar
        symbols = node.configuration.symbols.compactMap { try? Symbol(validating: $0.symbol) }
        automatic = node.configuration.sessions?.automatic ?? false
        postTrade = node.postTrade
        capture = node.capture
        marks = node.marks
        self.now = now
    }

    /// What the calendar says every symbol's state should be at `t`.
    static func sessionState(_ calendar: ExchangeCalendar, at t: Int64) -> TradingState {
        calendar.clock(at: Timestamp(nanos: t)).isOpen ? .open : .closed
    }

    /// Runs until cancelled, once a second.
    public func run() async {
        var last: TradingState?
        while !Task.isCancelled {
            last = (try? await tick(after: last)) ?? last
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// One step: sets the symbols' states when the calendar's state is not `last` (at start, and at each
    /// open and close; between them an operator's halt or close stands), and expires what is due. Returns
    /// the calendar's state.
    @discardableResult
    func tick(after last: TradingState?) async throws -> TradingState? {
        let t = now()
        var state: TradingState?
        if automatic {
            let wanted = Self.sessionState(calendar, at: t)
            state = wanted
            if wanted != last {
                let current = try await venue.read { engine in symbols.map { engine.summary(of: $0)?.state } }
                for (symbol, now) in zip(symbols, current) where now != nil && now != wanted {
                    // A halted symbol stays halted through an open, until an operator resumes it.
                    if wanted == .open && now == .halted { continue }
                    _ = try await venue.execute(.setTradingState(symbol, wanted))
                }
                // The session's close is the risk platform's: the day's P&L is measured from this mark.
                if last == .open && wanted == .closed { _ = try await marks.mark(close: true) }
            }
        }
        // Asked of the engine itself, which the projections follow a moment behind. The firms' simulated
        // banks move transfers on; the engine decides which, from the command's time.
        let (expiry, transfer) = try await venue.read { ($0.nextGTDExpiry, $0.nextTransferDue) }
        if let expiry, expiry.nanos <= t { _ = try await venue.execute(.expireOrders) }
        if let transfer, transfer.nanos <= t { _ = try await venue.execute(.advanceTransfers) }
        // The next rollover waits for the last one's settlement cycle to be applied (it goes on in parts).
        let (current, settling) = try await venue.read { ($0.businessDate, $0.settlementInProgress != nil) }
        if postTrade.automatic, !settling, let roll = Self.rollover(postTrade, current: current, at: t) {
            // The business day closes at a close mark: the next day's P&L is measured from it.
            if roll.from != nil { _ = try await marks.mark(close: true) }
            _ = try await venue.execute(.rollBusinessDate(roll))
        }
        try await capture.retryDue()
        return state
    }

    /// The rollover due at `t` on business day `current`, if one is: the first business date when there is
    /// none, the next business day once the current one's cutoff has passed. After a stop of several days
    /// each missed day is rolled in turn, one a tick, so that each day's settlement cycle runs.
    static func rollover(_ rules: VenueConfiguration.PostTradeRules, current: CivilDate?, at t: Int64) -> BusinessDateRoll? {
        let to: CivilDate
        if let current {
            guard rules.businessDay.rolloverDue(current: current, at: Timestamp(nanos: t)) else { return nil }
            to = rules.businessDay.after(current)
        } else {
            to = rules.businessDay.businessDate(at: Timestamp(nanos: t))
        }
        return BusinessDateRoll(from: current, to: to, settlesOn: rules.settlement.settlementDate(tradeDate: to, cycle: rules.cycle))
    }
}
