import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import Hummingbird

/// Corporate actions that change settlement (`/v1/admin/corporate-actions`): cash dividends and forward
/// splits, declared by an admin key as journaled commands and done by the rollovers of their dates.
extension Routes {
    func addCorporateActions(to table: RouteTable) {
        table.add(.post, "/v1/admin/corporate-actions/dividends", "Declare a cash dividend (admin)",
                  body: .object([("symbol", .string), ("per_share", .string), ("ex_date", .string), ("record_date", .string), ("pay_date", .string)]),
                  answer: .ok("CorporateAction")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.admin], to: "declare corporate actions")
                let given: DividendRequest = try Self.decode(body)
                guard let amount = Money(dollars: given.per_share) else { throw Failure.unprocessable("per_share must be a decimal with at most four decimals") }
                let d = Dividend(symbol: try Self.validSymbol(given.symbol), perShare: amount, exDate: try Self.date(given.ex_date, "ex_date"),
                                 recordDate: try Self.date(given.record_date, "record_date"), payDate: try Self.date(given.pay_date, "pay_date"))
                return try await declare(.declareDividend(d))
            }
        }
        table.add(.post, "/v1/admin/corporate-actions/splits", "Declare a forward split, ratio new shares for one (admin)",
                  body: .object([("symbol", .string), ("ratio", .integer), ("effective_date", .string)]), answer: .ok("CorporateAction")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.admin], to: "declare corporate actions")
                let given: SplitRequest = try Self.decode(body)
                return try await declare(.declareSplit(Split(symbol: try Self.validSymbol(given.symbol), ratio: given.ratio,
                                                             effectiveDate: try Self.date(given.effective_date, "effective_date"))))
            }
        }
        table.add(.get, "/v1/admin/corporate-actions", "Corporate actions declared, newest first (risk, admin)", answer: .list("CorporateAction")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read corporate actions")
                if let problem = await projections.wait("post_trade", for: try await venue.lastSequence()) { throw Failure.unavailable(problem) }
                let rows = try await projections.store.query("SELECT * FROM pt_corporate_actions ORDER BY id DESC LIMIT 1000", [])
                return Self.json(text: "[" + rows.map(Self.corporateAction).joined(separator: ",") + "]")
            }
        }
    }

    struct DividendRequest: Decodable {
        var symbol: String
        var per_share: String
        var ex_date: String
        var record_date: String
        var pay_date: String
    }

    struct SplitRequest: Decodable {
        var symbol: String
        var ratio: Int64
        var effective_date: String
    }

    private func declare(_ command: Command) async throws -> Response {
        let ack = try await venue.execute(command)
        switch ack.events.first {
        case .commandRejected(let reason)?: throw Failure.unprocessable("\(reason.code): \(reason.message)")
        case .dividendDeclared(let id, _)?, .splitDeclared(let id, _)?:
            if let problem = await projections.wait("post_trade", for: ack.command.sequence) { throw Failure.unavailable(problem) }
            let row = try await projections.store.query("SELECT * FROM pt_corporate_actions WHERE id = ?", [.int(Int64(id))]).first!
            return Self.json(text: Self.corporateAction(row))
        default:
            throw Failure.unavailable("the venue answered the declaration with nothing")
        }
    }

    static func corporateAction(_ row: SQLRow) -> String {
        #"{"id":\#(row.int("id")!),"kind":"# + API.quoted(row.text("kind")!) + #","symbol":"# + API.quoted(row.text("symbol")!)
            + #","detail":"# + API.quoted(row.text("detail")!) + #","declared_at":"# + API.quoted(API.time(Timestamp(nanos: row.int("declared_at")!))) + "}"
    }
}
