import BourseCore
import BourseNode
import BoursePostTrade
import BourseProjections
import BourseVenue
import Hummingbird

/// Trades after the match (`/v1/trades`): trades executed elsewhere captured one at a time or in a batch,
/// idempotent by the submitter's `trade_id`, and every trade (the venue's fills side by side, and the
/// captured ones) with its place in the lifecycle. Captures come from admin keys (any account) and broker
/// keys (their firm's accounts); reads from those, risk keys, and trader keys for their own account.
extension Routes {
    /// Trades one batch may hold, and the body a batch may have.
    static let captureBatchMax = 1_000
    static let captureBodyBytesMax = 1 << 20

    func addTrades(to table: RouteTable) {
        table.add(.post, "/v1/trades", "Capture a trade executed elsewhere, or a batch ({\"trades\": […]}, answered {\"results\": […]}), each by its trade_id once",
                  body: .anyObject, answer: Answer(status: 200, schema: .anyObject, others: [(202, .ref("QueuedCapture"))])) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.captureBodyBytesMax)
            return try await handle(request) { key in
                guard key.role == .admin || key.role == .broker else {
                    throw Failure(status: .forbidden, code: 40310000, message: "a \(key.role.rawValue) key may not capture trades: it needs an admin or broker key")
                }
                if Self.isBatch(body) {
                    let batch: CaptureBatch = try Self.decode(body)
                    guard (1...Self.captureBatchMax).contains(batch.trades.count) else {
                        throw Failure.unprocessable("a batch holds 1 to \(Self.captureBatchMax) trades, not \(batch.trades.count)")
                    }
                    let answers = try await captureAll(batch.trades, key)
                    return Self.json(text: #"{"results":["# + answers.joined(separator: ",") + "]}")
                }
                let given: CaptureRequest = try Self.decode(body)
                switch try await capture([try await trade(given, key)])[0] {
                case .trade(let row): return Self.json(text: Self.trade(row))
                case .queued(let entry): return Self.json(text: Self.queued(entry), status: .accepted)
                case .refused(let refusal): throw Failure.unprocessable(refusal.description)
                }
            }
        }
        table.add(.get, "/v1/trades", "Trades, newest first, by state, date, account and symbol", query: [
            Parameter("state", .choice(TradesProjection.State.allCases.map(\.rawValue)), "Only trades in this state"),
            Parameter("origin", .choice(["book", "capture"]), "Only the venue's fills or only captured trades"),
            Parameter("account", .text, "Only this account (its number or id)"), Parameter("symbol", .text, "Only this symbol"),
            Parameter("trade_date", .date, "Only trades of this date"), Parameter("settlement_date", .date, "Only trades settling on this date"),
            Parameter("business_date", .date, "Only trades booked on this business date"),
            Parameter("page_token", .text, "Where the page before ended"), .limit(default: 100, max: 1_000),
        ], answer: .ok("TradeRecordPage")) { request, _ in
            try await handle(request) { key in try await listTrades(key, Query(request)) }
        }
        table.add(.post, "/v1/trades/:trade_id/cancel", "Cancel a trade, settled or not, booking its reverse (admin); a fill's two sides go together",
                  answer: .ok("TradeRecord")) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.admin], to: "cancel trades")
                let id = context.parameters.get("trade_id") ?? ""
                let ack = try await venue.execute(.cancelTrade(try await cancellation(of: id)))
                if case .commandRejected(let reason)? = ack.events.first { throw Failure.unprocessable("\(reason.code): \(reason.message)") }
                try await waitForTrades()
                let row = try await projections.store.query("SELECT * FROM pt_trades WHERE id = ?", [.text(id)]).first!
                let events = try await projections.store.query("SELECT * FROM pt_trade_events WHERE trade_id = ? ORDER BY id", [.text(id)])
                return Self.json(text: Self.trade(row, events: events))
            }
        }
        table.add(.get, "/v1/trades/:trade_id", "One trade with the events of its lifecycle", answer: .ok("TradeRecord")) { request, context in
            try await handle(request) { key in
                let id = context.parameters.get("trade_id") ?? ""
                try await waitForTrades()
                guard let row = try await projections.store.query("SELECT * FROM pt_trades WHERE id = ?", [.text(id)]).first,
                      try await mayRead(key, account: UInt32(row.int("account")!)) else {
                    throw Failure.notFound("no trade \(id)")
                }
                let events = try await projections.store.query("SELECT * FROM pt_trade_events WHERE trade_id = ? ORDER BY id", [.text(id)])
                return Self.json(text: Self.trade(row, events: events))
            }
        }
    }

    /// The cancellation of a trade as the view holds it: its terms and its other side, both from the journal.
    private func cancellation(of id: String) async throws -> TradeCancellation {
        try await waitForTrades()
        func row(_ id: String) async throws -> SQLRow? { try await projections.store.query("SELECT * FROM pt_trades WHERE id = ?", [.text(id)]).first }
        func terms(_ r: SQLRow) throws -> TradeTerms {
            guard let symbol = try? Symbol(validating: r.text("symbol")!), let traded = r.int("trade_date"), let settles = r.int("settlement_date") else {
                throw Failure.unprocessable("trade \(id) has no business date yet: it is cancelled once the venue's first business day is open")
            }
            return TradeTerms(account: AccountID(UInt32(r.int("account")!)), symbol: symbol, side: r.text("side") == "buy" ? .buy : .sell,
                              quantity: Quantity(r.int("qty")!), price: Price(units: r.int("price")!),
                              tradeDate: CivilDate(daysSinceEpoch: Int(traded)), settlementDate: CivilDate(daysSinceEpoch: Int(settles)))
        }
        let parts = id.split(separator: "-")
        if parts.count == 2, parts[0] == "C", let n = UInt64(parts[1]), let r = try await row(id) {
            return TradeCancellation(trade: .capture(n), terms: try terms(r), counterparty: .street)
        }
        if parts.count == 3, parts[0] == "F", let n = UInt64(parts[1]), let buyer = try await row("F-\(n)-B"), let seller = try await row("F-\(n)-S") {
            return TradeCancellation(trade: .fill(ExecutionID(n)), terms: try terms(buyer), counterparty: AccountID(UInt32(seller.int("account")!)))
        }
        throw Failure.notFound("no trade \(id)")
    }

    struct CaptureRequest: Decodable {
        var trade_id: String
        var account: String
        var symbol: String
        var side: String
        var qty: String
        var price: String
        var trade_date: String
        var settlement_date: String?
        var counterparty: String?
        var venue: String?
    }

    struct CaptureBatch: Decodable {
        var trades: [CaptureRequest]
    }

    /// Whether the body is an object with a `trades` member: a batch, not one trade.
    static func isBatch(_ body: ByteBuffer?) -> Bool {
        guard let body, case .object(let members)? = try? body.withUnsafeReadableBytes({ bytes throws(JSONValue.Malformed) in try JSONValue.parse(bytes) }) else {
            return false
        }
        return members.contains { $0.key == "trades" }
    }

    /// What became of one trade handed in.
    enum CaptureAnswer {
        case trade(SQLRow)
        case queued(CaptureQueue.Entry)
        case refused(CaptureDesk.Refusal)
    }

    /// A trade queued for a retry, as the API shows it.
    static func queued(_ entry: CaptureQueue.Entry) -> String {
        var text = #"{"trade_id":"#
        API.appendQuoted(entry.trade.tradeID, to: &text)
        text += #","status":"queued","queue_id":\#(entry.id),"reason":"#
        API.appendQuoted(entry.reason, to: &text)
        return text + "}"
    }

    /// A batch: each trade's form read on its own (one that is wrong is refused alone), then the rest booked
    /// together through the desk and read back from the view once; each outcome says accepted with the
    /// trade, queued, or refused with why.
    private func captureAll(_ batch: [CaptureRequest], _ key: StoredKey) async throws -> [String] {
        var forms: [Result<CapturedTrade, Failure>] = []
        for given in batch {
            do { forms.append(.success(try await trade(given, key))) } catch let failure as Failure { forms.append(.failure(failure)) }
        }
        var answers = try await capture(forms.compactMap { try? $0.get() })[...]
        return zip(batch, forms).map { given, form in
            var text = #"{"trade_id":"#
            API.appendQuoted(given.trade_id, to: &text)
            let (code, message): (String, String)
            switch form {
            case .failure(let failure): (code, message) = ("invalid", failure.message)
            case .success:
                switch answers.removeFirst() {
                case .trade(let row): return text + #","status":"accepted","trade":"# + Self.trade(row) + "}"
                case .queued(let entry): return Self.queued(entry)
                case .refused(let refusal): (code, message) = (refusal.code, refusal.message)
                }
            }
            text += #","status":"refused","code":"#
            API.appendQuoted(code, to: &text)
            text += #","message":"#
            API.appendQuoted(message, to: &text)
            return text + "}"
        }
    }

    /// The trade a request states, its form read and, for a broker key, its account checked to be the firm's.
    private func trade(_ given: CaptureRequest, _ key: StoredKey) async throws -> CapturedTrade {
        let (symbol, side) = (try Self.validSymbol(given.symbol), try Self.side(given.side))
        let (quantity, price) = (try Self.wholeShares(given.qty), try Self.price(given.price))
        let tradeDate = try Self.date(given.trade_date, "trade_date")
        let settlementDate = try given.settlement_date.map { try Self.date($0, "settlement_date") }
        let number = try Self.accountNumber(given.account)
        if key.role == .broker {
            // A broker captures for its firm's accounts only; another firm's is answered as unknown.
            guard let id = try await venue.account(number: number), let firm = key.firm, try node.broker.firm(of: id.rawValue) == firm else {
                throw Failure.notFound("no account \(given.account) in your firm")
            }
        }
        return CapturedTrade(tradeID: given.trade_id, account: number, symbol: symbol, side: side, quantity: quantity, price: price,
                             tradeDate: tradeDate, settlementDate: settlementDate, counterparty: given.counterparty, venue: given.venue,
                             source: .api(key: key.keyID))
    }

    /// Hands trades to the capture desk together and returns each one's row once the view has them.
    private func capture(_ trades: [CapturedTrade]) async throws -> [CaptureAnswer] {
        let submissions = await node.capture.submitAll(trades)
        if submissions.contains(where: { if case .captured = $0 { true } else { false } }) { try await waitForTrades() }
        var answers: [CaptureAnswer] = []
        for submission in submissions {
            switch submission {
            case .refused(let refusal): answers.append(.refused(refusal))
            case .queued(let entry): answers.append(.queued(entry))
            case .captured(let id):
                guard let row = try await projections.store.query("SELECT * FROM pt_trades WHERE id = ?", [.text("C-\(id)")]).first else {
                    throw Failure.unavailable("trade C-\(id) is not in the post-trade view")
                }
                answers.append(.trade(row))
            }
        }
        return answers
    }

    /// Waits until the post-trade view holds everything the venue has applied.
    private func waitForTrades() async throws {
        if let problem = await projections.wait("post_trade", for: try await venue.lastSequence()) { throw Failure.unavailable(problem) }
    }

    /// Whether the key may see an account's trades: its own for a trader key, its firm's for a broker key, all for risk and admin.
    private func mayRead(_ key: StoredKey, account: UInt32) async throws -> Bool {
        switch key.role {
        case .admin, .risk: return true
        case .broker: return try key.firm != nil && node.broker.firm(of: account) == key.firm
        default: return key.account == account
        }
    }

    private func listTrades(_ key: StoredKey, _ query: Query) async throws -> Response {
        try await waitForTrades()
        var sql = "SELECT * FROM pt_trades WHERE 1 = 1"
        var values: [SQLValue] = []
        for name in ["state", "origin"] {
            if let v = query[name] { sql += " AND \(name) = ?"; values.append(.text(v)) }
        }
        if let text = query["symbol"] {
            sql += " AND symbol = ?"
            values.append(.text(try Self.validSymbol(text).description))
        }
        for name in ["trade_date", "settlement_date", "business_date"] {
            if let date = query.date(name) { sql += " AND \(name) = ?"; values.append(.int(Int64(date.daysSinceEpoch))) }
        }
        if let text = query["account"] {
            var id = AccountID(uuid: text)
            if id == nil, let number = AccountNumber(text) { id = try await venue.account(number: number) }
            guard let id, try await mayRead(key, account: id.rawValue) else { throw Failure.notFound("no account \(text) you may read") }
            sql += " AND account = ?"
            values.append(.int(Int64(id.rawValue)))
        } else if key.role != .admin && key.role != .risk {
            guard key.role == .trader else { throw Failure.unprocessable("a broker key names the account: account is required") }
            sql += " AND account = ?"
            values.append(.int(Int64(key.account)))
        }
        if let token = query["page_token"] {
            let parts = token.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let sequence = Int64(parts[0]) else { throw Failure.unprocessable("page_token \"\(token)\" is not one this API gave") }
            sql += " AND (sequence < ? OR (sequence = ? AND id > ?))"
            values += [.int(sequence), .int(sequence), .text(String(parts[1]))]
        }
        let limit = query.integer("limit") ?? 100
        let rows = try await projections.store.query(sql + " ORDER BY sequence DESC, id LIMIT ?", values + [.int(Int64(limit + 1))])
        let page = rows.prefix(limit)
        var text = #"{"trades":["# + page.map { Self.trade($0) }.joined(separator: ",") + #"],"next_page_token":"#
        if rows.count > limit, let last = page.last {
            API.appendQuoted("\(last.int("sequence")!):\(last.text("id")!)", to: &text)
        } else {
            text += "null"
        }
        return Self.json(text: text + "}")
    }

    /// A trade as the API shows it; with its events when they are given.
    static func trade(_ row: SQLRow, events: [SQLRow]? = nil) -> String {
        func date(_ column: String) -> String {
            row.int(column).map { API.quoted("\(CivilDate(daysSinceEpoch: Int($0)))") } ?? "null"
        }
        var text = "{"
        for column in ["id", "origin", "reference"] { text += API.quoted(column) + ":" + API.quoted(row.text(column)!) + "," }
        text += #""account_id":"# + API.quoted(AccountID(UInt32(row.int("account")!)).uuid)
        text += #","symbol":"# + API.quoted(row.text("symbol")!) + #","side":"# + API.quoted(row.text("side")!)
        text += #","qty":"# + API.quoted(String(row.int("qty")!)) + #","price":"# + API.quoted(API.decimal(row.int("price")!))
        text += #","trade_date":"# + date("trade_date") + #","settlement_date":"# + date("settlement_date")
        for column in ["counterparty", "venue", "source", "state", "reason"] { text += "," + API.quoted(column) + ":" + API.quoted(row.text(column)!) }
        text += #","business_date":"# + date("business_date")
        text += #","created_at":"# + API.quoted(API.time(Timestamp(nanos: row.int("created_at")!)))
        text += #","updated_at":"# + API.quoted(API.time(Timestamp(nanos: row.int("updated_at")!)))
        if let events {
            text += #","events":["# + events.map { e in
                "{" + #""from":"# + API.quoted(e.text("from_state")!) + #","to":"# + API.quoted(e.text("to_state")!)
                    + #","reason":"# + API.quoted(e.text("reason")!)
                    + #","business_date":"# + (e.int("business_date").map { API.quoted("\(CivilDate(daysSinceEpoch: Int($0)))") } ?? "null")
                    + #","at":"# + API.quoted(API.time(Timestamp(nanos: e.int("time")!))) + "}"
            }.joined(separator: ",") + "]"
        }
        return text + "}"
    }
}
