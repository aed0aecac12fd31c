import BourseCore
import BourseNode
import BoursePostTrade
import BourseVenue
import Hummingbird

/// The capture retry queue and its dead letters (`/v1/admin/capture-queue`): risk and admin keys list and
/// inspect; admin keys fix an entry's trade, replay it at once, or discard it. Each action is recorded
/// with the key that took it.
extension Routes {
    func addCaptureQueue(to table: RouteTable) {
        table.add(.get, "/v1/admin/capture-queue", "Captures waiting for a retry or dead, newest first (risk, admin)", query: [
            Parameter("state", .choice(CaptureQueue.State.allCases.map(\.rawValue)), "Only entries in this state"),
            Parameter("before", .integer(1...Int.max), "Only entries with a smaller id"), .limit(default: 100, max: 1_000),
        ], answer: .list("CaptureQueueEntry")) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the capture queue")
                let query = Query(request)
                let entries = try refusing {
                    try node.capture.queue.list(state: query["state"].flatMap(CaptureQueue.State.init), before: query.integer("before").map(Int64.init),
                                                limit: query.integer("limit") ?? 100)
                }
                return Self.json(text: "[" + entries.map { Self.entry($0) }.joined(separator: ",") + "]")
            }
        }
        table.add(.get, "/v1/admin/capture-queue/:id", "One queued capture with every action on it (risk, admin)", answer: .ok("CaptureQueueEntry")) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the capture queue")
                let id = try queueID(context)
                guard let entry = try refusing({ try node.capture.queue.entry(id) }) else { throw Failure.notFound("no queued capture \(id)") }
                return Self.json(text: Self.entry(entry, actions: try refusing { try node.capture.queue.actions(id) }))
            }
        }
        table.add(.patch, "/v1/admin/capture-queue/:id", "Fix a waiting or dead capture's trade (admin)",
                  body: .object(["account", "symbol", "side", "qty", "price", "trade_date", "settlement_date", "counterparty", "venue"].map { ($0, Schema.string) },
                                optional: ["account", "symbol", "side", "qty", "price", "trade_date", "settlement_date", "counterparty", "venue"]),
                  answer: .ok("CaptureQueueEntry")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in
                try Admin.require(key, [.admin], to: "fix a queued capture")
                let id = try queueID(context)
                let fix: QueueFix = try Self.decode(body)
                guard let entry = try refusing({ try node.capture.queue.entry(id) }) else { throw Failure.notFound("no queued capture \(id)") }
                let trade = try fix.applied(to: entry.trade)
                return Self.json(text: Self.entry(try refusing { try node.capture.queue.fix(id, trade, actor: key.keyID, now: wallClockNanos()) }))
            }
        }
        table.add(.post, "/v1/admin/capture-queue/:id/replay", "Attempt a waiting or dead capture now, its attempts counted afresh (admin)",
                  answer: .ok("CaptureQueueEntry")) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.admin], to: "replay a queued capture")
                let id = try queueID(context)
                let entry = try await refusingAsync { try await node.capture.replay(id, actor: key.keyID) }
                return Self.json(text: Self.entry(entry))
            }
        }
        table.add(.delete, "/v1/admin/capture-queue/:id", "Discard a waiting or dead capture (admin)", answer: .ok("CaptureQueueEntry")) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.admin], to: "discard a queued capture")
                let id = try queueID(context)
                return Self.json(text: Self.entry(try refusing { try node.capture.queue.operate(id, replay: false, actor: key.keyID, now: wallClockNanos()) }))
            }
        }
    }

    private func queueID(_ context: BasicRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else { throw Failure.notFound("no queued capture \(text)") }
        return id
    }

    struct QueueFix: Decodable {
        var account: String?
        var symbol: String?
        var side: String?
        var qty: String?
        var price: String?
        var trade_date: String?
        var settlement_date: String?
        var counterparty: String?
        var venue: String?

        /// The trade with the fields given replaced, each checked as a capture's is.
        func applied(to trade: CapturedTrade) throws -> CapturedTrade {
            var t = trade
            if let account { t.account = try Routes.accountNumber(account) }
            if let symbol { t.symbol = try Routes.validSymbol(symbol) }
            if let side { t.side = try Routes.side(side) }
            if let qty { t.quantity = try Routes.wholeShares(qty) }
            if let price { t.price = try Routes.price(price) }
            if let trade_date { t.tradeDate = try Routes.date(trade_date, "trade_date") }
            if let settlement_date { t.settlementDate = try Routes.date(settlement_date, "settlement_date") }
            for (name, text) in [("counterparty", counterparty), ("venue", venue)] {
                if let text, text.utf8.count > TradeFile.fieldBytesMax { throw Failure.unprocessable("\(name) is at most \(TradeFile.fieldBytesMax) bytes") }
            }
            if let counterparty { t.counterparty = counterparty }
            if let venue { t.venue = venue }
            return t
        }
    }

    static func entry(_ e: CaptureQueue.Entry, actions: [CaptureQueue.Action]? = nil) -> String {
        let t = e.trade
        func q(_ text: String?) -> String { text.map { API.quoted($0) } ?? "null" }
        let source = CaptureNote(reference: "", counterparty: "", venue: "", source: t.source).sourceText
        var text = #"{"id":\#(e.id),"trade_id":"# + q(t.tradeID) + #","account":"# + q(t.account.text) + #","symbol":"# + q(t.symbol.description)
        text += #","side":"# + q(t.side == .buy ? "buy" : "sell") + #","qty":"# + q(String(t.quantity.shares)) + #","price":"# + q(API.decimal(t.price))
        text += #","trade_date":"# + q("\(t.tradeDate)") + #","settlement_date":"# + q(t.settlementDate.map { "\($0)" })
        text += #","counterparty":"# + q(t.counterparty) + #","venue":"# + q(t.venue) + #","source":"# + q(source)
        text += #","state":"# + q(e.state.rawValue) + #","reason":"# + q(e.reason) + #","attempts":\#(e.attempts)"#
        text += #","next_attempt_at":"# + q(e.nextAttemptAt.map { API.time(Timestamp(nanos: $0)) })
        text += #","trade":"# + q(e.captureID.map { "C-\($0)" })
        text += #","created_at":"# + q(API.time(Timestamp(nanos: e.createdAt))) + #","updated_at":"# + q(API.time(Timestamp(nanos: e.updatedAt)))
        if let actions {
            text += #","actions":["# + actions.map { a in
                #"{"action":"# + q(a.action) + #","actor":"# + q(a.actor) + #","detail":"# + q(a.detail) + #","at":"# + q(API.time(Timestamp(nanos: a.at))) + "}"
            }.joined(separator: ",") + "]"
        }
        return text + "}"
    }
}
