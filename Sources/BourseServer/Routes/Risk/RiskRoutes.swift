import BourseCore
import BourseNode
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
        table.add(.get, "/v1/risk/accounts/:account", "An account's P&L, exposure and margin at the last mark (by its number or id)",
                  answer: .ok("RiskFigures")) { request, context in
            try await handle(request) { key in
                let account = try await readableAccount(context.parameters.get("account") ?? "", key)
                try await waitForRisk()
                guard let text = node.risk.read({ book in book.account(account).map { Self.riskFigures($1, of: book, account: $0.id) } }) else {
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
                guard let text = node.risk.read({ book in book.client(name).map { Self.riskFigures($0, of: book, client: name) } }) else {
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
                return Self.json(text: node.risk.read { Self.riskFirm($0, top: limit) })
            }
        }
        table.add(.post, "/v1/risk/marks", "Take a mark now: every symbol's price for the risk figures; a close mark starts the day's P&L (risk, admin)",
                  body: .object([("close", .boolean)], optional: ["close"]), answer: .ok("RiskMark")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "take a mark")
                let given: MarkBody = (body?.readableBytes ?? 0) == 0 ? MarkBody() : try Self.decode(body)
                let request = MarkRequest(method: node.riskRules.markMethod, close: given.close ?? false)
                let ack = try await venue.execute(.mark(request))
                if case .commandRejected(let reason)? = ack.events.first { throw Failure.unprocessable("\(reason.code): \(reason.message)") }
                try await waitForRisk()
                return Self.json(text: node.risk.read { book in book.mark.map(Self.riskMark) ?? "null" })
            }
        }
    }

    struct MarkBody: Decodable {
        var close: Bool?
    }

    private func waitForRisk() async throws {
        if let problem = await projections.wait("risk", for: try await venue.lastSequence()) { throw Failure.unavailable(problem) }
    }

    static func riskMark(_ m: RiskMark) -> String {
        #"{"sequence":"# + String(m.sequence) + #","at":"# + API.quoted(API.time(m.time)) + #","method":"# + API.quoted(m.request.method.name)
            + #","close":"# + (m.request.close ? "true" : "false") + "}"
    }

    static func riskMoney(_ units: Int128) -> String { API.quoted(formatFixedPoint(units, decimals: 4)) }

    /// Figures as the API answers them, with what they are of and the mark and sequence they stand at.
    static func riskFigures(_ f: RiskFigures, of book: borrowing RiskBook, account: AccountID? = nil, client: String? = nil) -> String {
        var text = "{"
        if let account { text += #""account_id":"# + API.quoted(account.uuid) + "," }
        if let client { text += #""client":"# + API.quoted(client) + "," }
        text += #""mark":"# + (book.mark.map(riskMark) ?? "null") + #","last_close":"# + (book.lastClose.map(riskMark) ?? "null")
        text += #","sequence":"# + String(book.sequence) + #","accounts":"# + String(f.accounts)
        for (name, value) in [("cash", f.cash), ("long_market_value", f.longValue), ("short_market_value", f.shortValue),
                              ("gross_exposure", f.grossExposure), ("net_exposure", f.netExposure), ("equity", f.equity),
                              ("realized_pl", f.realized), ("unrealized_pl", f.unrealized), ("fees", f.fees), ("total_pl", f.totalPnL),
                              ("day_pl", f.dayPnL), ("reg_t_requirement", f.regTRequirement), ("house_requirement", f.houseRequirement),
                              ("excess", f.excess), ("deficit", f.deficit), ("largest_position", f.largestPosition)] {
            text += #",""# + name + #"":"# + riskMoney(value)
        }
        text += #","concentration_bp":"# + (f.concentrationBasisPoints.map { String($0) } ?? "null")
        return text + #","unpriced_positions":"# + String(f.unpricedPositions) + "}"
    }

    static func riskFirm(_ book: borrowing RiskBook, top: Int) -> String {
        let firm = book.firmFigures
        var text = #"{"firm":"# + riskFigures(firm, of: book) + #","symbols":["#
        text += book.bySymbol().sorted { $0.key.description < $1.key.description }.map { symbol, e in
            #"{"symbol":"# + API.quoted(symbol.description) + #","price":"# + (e.price.map { riskMoney(Int128($0)) } ?? "null")
                + #","qty":"# + API.quoted(String(e.quantity)) + #","long_market_value":"# + riskMoney(e.longValue)
                + #","short_market_value":"# + riskMoney(e.shortValue) + #","unrealized_pl":"# + riskMoney(e.unrealized)
                + #","realized_pl":"# + riskMoney(e.realized) + "}"
        }.joined(separator: ",")
        // The accounts with the most exposure, and every one in deficit first among equals.
        let ranked = zip(book.accounts, book.figures).sorted { a, b in
            a.1.grossExposure != b.1.grossExposure ? a.1.grossExposure > b.1.grossExposure : a.0.id.rawValue < b.0.id.rawValue
        }
        text += #"],"top_exposures":["# + ranked.prefix(top).map { riskFigures($0.1, of: book, account: $0.0.id) }.joined(separator: ",")
        text += #"],"accounts_in_deficit":"# + String(book.figures.filter { $0.excess < 0 }.count)
        return text + "}"
    }
}
