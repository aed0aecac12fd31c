import BourseCore
import BourseNode
import BourseVenue
import Hummingbird

/// The venue's business date (`/v1/admin/business-date`): what is open, where its trades settle, when it
/// closes; and the operator's rollover, the same journaled command the scheduler sends at the cutoff.
extension Routes {
    func addBusinessDate(to table: RouteTable) {
        table.add(.get, "/v1/admin/business-date", "The open business date, where its trades settle and when it closes (risk, admin)",
                  answer: .ok("BusinessDate")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the business date")
                return Self.json(text: try await businessDate())
            }
        }
        table.add(.post, "/v1/admin/business-date/rollover", "Close the business day and open the next, settling what is due (admin)",
                  answer: .ok("BusinessDate")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.admin], to: "roll the business date over")
                let rules = node.postTrade
                let current = try await venue.read { $0.businessDate }
                let to = current.map { rules.businessDay.after($0) } ?? rules.businessDay.businessDate(at: Timestamp(nanos: wallClockNanos()))
                let roll = BusinessDateRoll(from: current, to: to, settlesOn: rules.settlement.settlementDate(tradeDate: to, cycle: rules.cycle))
                let ack = try await venue.execute(.rollBusinessDate(roll))
                if case .commandRejected(let reason)? = ack.events.first { throw Failure.unprocessable("\(reason.code): \(reason.message)") }
                return Self.json(text: try await businessDate())
            }
        }
    }

    private func businessDate() async throws -> String {
        let (date, settles) = try await venue.read { ($0.businessDate, $0.settlementDateOfFills) }
        let rules = node.postTrade
        func quoted(_ d: CivilDate?) -> String { d.map { API.quoted("\($0)") } ?? "null" }
        let (h, m) = (rules.businessDay.cutoffMinute / 60, rules.businessDay.cutoffMinute % 60)
        let cutoff = (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
        return #"{"business_date":"# + quoted(date) + #","settles_on":"# + quoted(settles)
            + #","closes_at":"# + (date.map { API.quoted(API.time(rules.businessDay.cutoff(of: $0))) } ?? "null")
            + #","cutoff":"# + API.quoted(cutoff) + #","rollover":"# + API.quoted(rules.automatic ? "automatic" : "operator")
            + #","settlement_cycle":"# + String(rules.cycle) + "}"
    }
}
