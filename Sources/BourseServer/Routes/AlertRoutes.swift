import BourseCore
import BourseVenue
import BourseNode
import Hummingbird

/// Price alerts: an account's alerts on trades or on the NBBO.
extension Routes {
    func addAlerts(to table: RouteTable) {
        table.add(.post, "/v1/alerts", "Create a price alert", body: Schema.alertRequest, answer: .ok("Alert")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try createAlert(key, body) }
        }
        table.add(.get, "/v1/alerts", "The account's alerts, newest first",
                  query: [Parameter("status", .choice(["active", "fired", "all"]), "active, fired or all (the default)")], answer: .list("Alert")) { request, _ in
            try await handle(request) { key in try listAlerts(key, Query(request)) }
        }
        table.add(.get, "/v1/alerts/:id", "One alert", answer: .ok("Alert")) { request, context in
            try await handle(request) { key in
                guard let id = UInt64(context.parameters.get("id") ?? ""), let alert = alerts.alert(id, account: key.account) else {
                    throw Failure.notFound("alert \(context.parameters.get("id") ?? "") does not exist")
                }
                return Self.json(text: alert.json)
            }
        }
        table.add(.delete, "/v1/alerts/:id", "Delete an alert", answer: .noContent) { request, context in
            try await handle(request) { key in
                guard let id = UInt64(context.parameters.get("id") ?? ""), try alerts.delete(id, account: key.account) else {
                    throw Failure.notFound("alert \(context.parameters.get("id") ?? "") does not exist")
                }
                return Response(status: .noContent)
            }
        }
    }

    private struct AlertRequest: Decodable {
        var symbol: String
        var condition: String
        var value: String
        var source: String?
    }

    private func createAlert(_ key: StoredKey, _ body: ByteBuffer?) throws -> Response {
        let request: AlertRequest = try Self.decode(body)
        guard let symbol = try? Symbol(validating: request.symbol), marketData.book(symbol, depth: 0, orders: false) != nil else {
            throw Failure.unprocessable("symbol \(request.symbol) is not listed")
        }
        guard let condition = Alerts.Condition(rawValue: request.condition) else {
            throw Failure.unprocessable("condition must be one of \(Alerts.Condition.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(request.condition)\"")
        }
        guard let source = Alerts.Source(rawValue: request.source ?? "trade") else {
            throw Failure.unprocessable("source must be trade or nbbo, not \"\(request.source ?? "")\"")
        }
        let threshold: Int64
        if condition.isChange {
            // A percentage with at most two decimals, which may be negative: basis points.
            let negative = request.value.hasPrefix("-")
            guard let units = Price(dollars: negative ? String(request.value.dropFirst()) : request.value)?.units, units % 100 == 0,
                  units <= 100_000_000 else {
                throw Failure.unprocessable("value \"\(request.value)\" must be a percentage with at most two decimals, up to 10000")
            }
            threshold = (negative ? -1 : 1) * units / 100
        } else {
            guard let price = Price(dollars: request.value), price.units > 0 else {
                throw Failure.unprocessable("value \"\(request.value)\" must be a positive price with at most four decimals")
            }
            threshold = price.units
        }
        do {
            let alert = try alerts.create(account: key.account, symbol: symbol, condition: condition, source: source,
                                          threshold: threshold, now: wallClockNanos())
            return Self.json(text: alert.json)
        } catch Alerts.Refusal.tooMany(let reason) {
            throw Failure.unprocessable(reason)
        }
    }

    private func listAlerts(_ key: StoredKey, _ query: Query) throws -> Response {
        let status = query["status"] ?? "all"
        let listed = alerts.list(account: key.account).filter { status == "all" || ($0.firedAt == nil) == (status == "active") }
        return Self.json(text: "[" + listed.map(\.json).joined(separator: ",") + "]")
    }
}
