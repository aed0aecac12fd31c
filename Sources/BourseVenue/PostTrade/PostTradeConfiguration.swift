import BourseCore
import BoursePostTrade

extension VenueConfiguration {
    /// Business dates and settlement: who rolls the day over and when, and the settlement cycle.
    public struct PostTradeEntry: Codable, Sendable, Equatable {
        /// `automatic` (the default: the scheduler opens the first business date and rolls over at each
        /// cutoff) or `operator` (only `POST /admin/business-date/rollover` does).
        public var business_dates: String?
        /// New York time, `HH:MM`, at which a business day closes; 17:30 by default.
        public var cutoff: String?
        /// Settlement days after the trade date for trades on the book and captures that give no settlement
        /// date: 1 by default, 0 to 30.
        public var settlement_cycle: Int?
        /// Days the banks' calendar does not know: closed, or open (never a weekend).
        public var settlement_overrides: [SettlementOverride]?

        public struct SettlementOverride: Codable, Sendable, Equatable {
            public var date: String
            public var closed: Bool
        }

        public init(business_dates: String? = nil, cutoff: String? = nil, settlement_cycle: Int? = nil,
                    settlement_overrides: [SettlementOverride]? = nil) {
            self.business_dates = business_dates
            self.cutoff = cutoff
            self.settlement_cycle = settlement_cycle
            self.settlement_overrides = settlement_overrides
        }
    }

    static let postTradeSchema: [String: Schema] = [
        "business_dates": .leaf, "cutoff": .leaf, "settlement_cycle": .leaf,
        "settlement_overrides": .array(.object(["date": .leaf, "closed": .leaf])),
    ]

    /// The rules of business dates and settlement the file sets, on the venue's exchange calendar.
    public struct PostTradeRules: Sendable {
        public var automatic: Bool
        public var businessDay: BusinessDay
        public var settlement: SettlementCalendar
        public var cycle: Int
    }

    func postTradeRules() throws(Invalid) -> PostTradeRules {
        let entry = post_trade ?? PostTradeEntry()
        let exchange = try calendar()
        let automatic: Bool
        switch entry.business_dates ?? "automatic" {
        case "automatic": automatic = true
        case "operator": automatic = false
        case let other: throw Invalid(description: "post_trade.business_dates \"\(other)\" must be \"automatic\" or \"operator\"")
        }
        var cutoff = BusinessDay.cutoffDefault
        if let text = entry.cutoff {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard text.utf8.count == 5, parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
                throw Invalid(description: "post_trade.cutoff \"\(text)\" must be a New York time as HH:MM")
            }
            cutoff = h * 60 + m
        }
        let cycle = entry.settlement_cycle ?? 1
        guard (0...SettlementCalendar.cycleMax).contains(cycle) else {
            throw Invalid(description: "post_trade.settlement_cycle \(cycle) must be 0 to \(SettlementCalendar.cycleMax) days")
        }
        var overrides: [CivilDate: SettlementCalendar.Override] = [:]
        for o in entry.settlement_overrides ?? [] {
            guard let date = CivilDate(o.date) else {
                throw Invalid(description: "post_trade.settlement_overrides: \(o.date) is not \(CivilDate.supportedDescription)")
            }
            guard o.closed || !date.isWeekend else { throw Invalid(description: "post_trade.settlement_overrides: \(o.date) is a weekend day") }
            overrides[date] = o.closed ? .closed : .open
        }
        return PostTradeRules(automatic: automatic, businessDay: BusinessDay(exchange: exchange, cutoffMinute: cutoff),
                              settlement: SettlementCalendar(exchange: exchange, overrides: overrides), cycle: cycle)
    }
}
