import BourseCore
import BourseNode
import BourseProjections
import BourseRisk
import BourseVenue
import Hummingbird

/// The risk platform (`/v1/risk`): figures of an account, a client and the firm, each valued at one mark
/// that it names; and an operator's mark. Risk and admin keys read everything; a broker key its firm's
/// accounts, a trader key its own account.
extension Routes {
    /// Accounts the firm's answer lists by exposure.
    static let riskTopMax = 100

    func addRisk(to table: RouteTable) {
        addRiskAnalytics(to: table)
        addMarginCalls(to: table)
        table.add(.get, "/v1/risk/accounts/:account", "An account's P&L, exposure and margin at the last mark (by its number or id)",
                  answer: .ok("RiskFigures")) { request, context in
            try await handle(request) { key in
                let account = try await readableAccount(context.parameters.get("account") ?? "", key)
                try await waitForRisk()
                guard let text = node.risk.read({ book in book.account(account).map { RiskJSON.figures($1, of: book, account: $0.id) } }) else {
                    throw Failure.notFound("account \(account.uuid) has no risk figures")
                }
                return Self.json(text: text)
            }
        }
        table.add(.get, "/v1/risk/clients/:client", "A client's P&L, exposure and margin: its accounts' figures added up (risk, admin)",
                  answer: .ok("RiskFigures")) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read a client's risk")
                let name = context.parameters.get("client") ?? ""
                try await waitForRisk()
                guard let text = node.risk.read({ book in book.client(name).map { RiskJSON.figures($0, of: book, client: name) } }) else {
                    throw Failure.notFound("no client \(name) in the configuration's risk.clients")
                }
                return Self.json(text: text)
            }
        }
        table.add(.get, "/v1/risk/firm", "The firm's P&L, exposure and margin, per symbol, and the accounts with the most exposure (risk, admin)", query: [
            .limit(default: 10, max: Self.riskTopMax),
        ], answer: .ok("RiskFirm")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the firm's risk")
                let limit = Query(request).integer("limit") ?? 10
                try await waitForRisk()
                return Self.json(text: node.risk.read { RiskJSON.firm($0, top: limit) })
            }
        }
        table.add(.post, "/v1/risk/marks", "Take a mark now: every symbol's price for the risk figures; a close mark starts the day's P&L (risk, admin)",
                  body: .object([("close", .boolean)], optional: ["close"]), answer: .ok("RiskMark")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "take a mark")
                let given: MarkBody = (body?.readableBytes ?? 0) == 0 ? MarkBody() : try Self.decode(body)
                let ack: Sequencer.Acknowledgement
                do { ack = try await node.marks.mark(close: given.close ?? false) } catch let failure as MarkSource.MarkFailure {
                    throw Failure.unprocessable(failure.reason)
                }
                if case .commandRejected(let reason)? = ack.events.first { throw Failure.unprocessable("\(reason.code): \(reason.message)") }
                try await waitForRisk()
                return Self.json(text: node.risk.read { book in book.mark.map(RiskJSON.mark) ?? "null" })
            }
        }
    }

    func addRiskAnalytics(to table: RouteTable) {
        table.add(.get, "/v1/risk/scenarios", "The configured stress scenarios, each run now at the last mark (risk, admin)", query: [
            .limit(default: 10, max: Self.riskTopMax),
        ], answer: .ok(.array(.ref("RiskScenarioResult")))) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "run scenarios")
                let limit = Query(request).integer("limit") ?? 10
                try await waitForRisk()
                let results = try await node.riskDesk.scenarios()
                return Self.json(text: "[" + results.map { RiskJSON.stress($0, top: limit) }.joined(separator: ",") + "]")
            }
        }
        table.add(.post, "/v1/risk/scenarios", "Run a scenario given here: shocks in basis points for the market, sectors and symbols (risk, admin)", query: [
            .limit(default: 10, max: Self.riskTopMax),
        ], body: .object([("name", .string), ("market_bp", .integer), ("sectors", .map(.integer)), ("symbols", .map(.integer))],
                         optional: ["market_bp", "sectors", "symbols"]),
           answer: .ok("RiskScenarioResult")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "run scenarios")
                let given: VenueConfiguration.RiskEntry.ScenarioEntry = try Self.decode(body)
                let limit = Query(request).integer("limit") ?? 10
                try await waitForRisk()
                do {
                    return Self.json(text: RiskJSON.stress(try await node.riskDesk.run(given), top: limit))
                } catch let invalid as VenueConfiguration.Invalid {
                    throw Failure.unprocessable(invalid.description)
                }
            }
        }
        table.add(.get, "/v1/risk/var", "One-day value at risk at 95% and 99%, historical or Monte Carlo, for the firm, clients and accounts (risk, admin)", query: [
            Parameter("method", .choice(RiskDesk.Method.allCases.map(\.rawValue)), "historical (the default) or monte_carlo"),
            .limit(default: 10, max: Self.riskTopMax),
        ], answer: .ok("RiskValueAtRisk")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read value at risk")
                let query = Query(request)
                let method = query["method"].flatMap(RiskDesk.Method.init(rawValue:)) ?? .historical
                try await waitForRisk()
                return Self.json(text: RiskJSON.valueAtRisk(try await node.riskDesk.valueAtRisk(method), top: query.integer("limit") ?? 10))
            }
        }
    }

    func addMarginCalls(to table: RouteTable) {
        table.add(.get, "/v1/risk/margin-calls", "Margin calls, newest first: open ones, met ones, or all (risk, admin)", query: [
            Parameter("state", .choice(["open", "met", "all"]), "open (the default), met or all"), .limit(default: 100, max: 1_000),
        ], answer: .ok(.array(.ref("RiskMarginCall")))) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read margin calls")
                let query = Query(request)
                let state = query["state"] ?? "open"
                try await waitForRisk()
                let rows = try await projections.store.query(
                    "SELECT * FROM rk_margin_calls" + (state == "all" ? "" : " WHERE state = ?") + " ORDER BY id DESC LIMIT ?",
                    (state == "all" ? [] : [.text(state)]) + [.int(Int64(query.integer("limit") ?? 100))])
                return Self.json(text: "[" + rows.map { row in
                    RiskJSON.marginCall(RiskProjection.marginCall(row), state: row.text("state")!, metAt: row.int("met_at").map(Timestamp.init(nanos:)))
                }.joined(separator: ",") + "]")
            }
        }
    }

    struct MarkBody: Decodable {
        var close: Bool?
    }

    private func waitForRisk() async throws {
        if let problem = await projections.wait("risk", for: try await venue.lastSequence()) { throw Failure.unavailable(problem) }
    }
}
