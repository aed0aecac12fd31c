import BourseCore
import BourseNode
import BoursePostTrade
import BourseVenue
import Hummingbird

/// House against street (`/v1/admin/reconciliations`): an admin key hands in the clearing house's contract file
/// for a trade date (its CSV as text); every break goes to the review queue, where an admin key resolves it
/// saying how (`/v1/admin/reconciliation-breaks`), kept with who and when. Risk keys read.
extension Routes {
    /// A street file handed in through the API, at most.
    static let streetFileBytesMax = 8 << 20

    func addReconciliations(to table: RouteTable) {
        table.add(.post, "/v1/admin/reconciliations", "Reconcile a trade date's captures with a street file (admin)",
                  body: .object([("trade_date", .string), ("name", .string), ("csv", .string)], optional: ["name"]),
                  answer: .ok("Reconciliation")) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.streetFileBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.admin], to: "reconcile")
                let given: ReconciliationRequest = try Self.decode(body)
                let date = try Self.date(given.trade_date, "trade_date")
                do {
                    let run = try await node.reconciler.run(tradeDate: date, name: given.name ?? "street.csv", file: Array(given.csv.utf8), actor: key.keyID)
                    return Self.json(text: Self.reconciliation(run, breaks: try refusing { try node.reconciler.breaks(run: run.id, state: nil, limit: 100_000) }))
                } catch let failure as Reconciler.Failure {
                    throw Failure.unprocessable(failure.description)
                }
            }
        }
        table.add(.get, "/v1/admin/reconciliations", "Reconciliations run, newest first (risk, admin)", query: [.limit(default: 100, max: 1_000)],
                  answer: .list("Reconciliation")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read reconciliations")
                let runs = try refusing { try node.reconciler.runs(limit: Query(request).integer("limit") ?? 100) }
                return Self.json(text: "[" + runs.map { Self.reconciliation($0, breaks: nil) }.joined(separator: ",") + "]")
            }
        }
        table.add(.get, "/v1/admin/reconciliation-breaks", "Breaks in the review queue, oldest first (risk, admin)", query: [
            Parameter("state", .choice(["open", "resolved"]), "Only breaks in this state"), Parameter("run", .integer(1...Int.max), "Only this run's"),
            .limit(default: 1_000, max: 10_000),
        ], answer: .list("ReconciliationBreak")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read reconciliations")
                let query = Query(request)
                let breaks = try refusing { try node.reconciler.breaks(run: query.integer("run").map(Int64.init), state: query["state"], limit: query.integer("limit") ?? 1_000) }
                return Self.json(text: "[" + breaks.map(Self.reconciliationBreak).joined(separator: ",") + "]")
            }
        }
        table.add(.post, "/v1/admin/reconciliation-breaks/:id/resolve", "Resolve a break, saying how (admin)",
                  body: .object([("resolution", .string)]), answer: .ok("ReconciliationBreak")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.admin], to: "resolve breaks")
                let text = context.parameters.get("id") ?? ""
                guard let id = Int64(text) else { throw Failure.notFound("no break \(text)") }
                let given: Resolution = try Self.decode(body)
                return Self.json(text: Self.reconciliationBreak(try refusing { try node.reconciler.resolve(id, resolution: given.resolution, actor: key.keyID) }))
            }
        }
    }

    struct ReconciliationRequest: Decodable {
        var trade_date: String
        var name: String?
        var csv: String
    }

    struct Resolution: Decodable {
        var resolution: String
    }

    static func reconciliation(_ r: Reconciler.Run, breaks: [Reconciler.BreakRecord]?) -> String {
        var text = #"{"id":\#(r.id),"trade_date":"# + API.quoted("\(r.tradeDate)") + #","name":"# + API.quoted(r.name)
        text += #","house":\#(r.house),"street":\#(r.street),"matched":\#(r.matched),"breaks":\#(r.breaks),"unreadable":["#
        text += r.unreadable.map { API.quoted($0) }.joined(separator: ",") + #"],"actor":"# + API.quoted(r.actor)
        text += #","created_at":"# + API.quoted(API.time(Timestamp(nanos: r.createdAt)))
        if let breaks { text += #","break_records":["# + breaks.map(reconciliationBreak).joined(separator: ",") + "]" }
        return text + "}"
    }

    static func reconciliationBreak(_ b: Reconciler.BreakRecord) -> String {
        #"{"id":\#(b.id),"run":\#(b.run),"kind":"# + API.quoted(b.kind) + #","trade_id":"# + API.quoted(b.tradeID) + #","house":"# + API.quoted(b.house)
            + #","street":"# + API.quoted(b.street) + #","state":"# + API.quoted(b.state) + #","resolution":"# + API.quoted(b.resolution)
            + #","resolved_by":"# + API.quoted(b.resolvedBy) + #","resolved_at":"# + (b.resolvedAt.map { API.quoted(API.time(Timestamp(nanos: $0))) } ?? "null") + "}"
    }
}
