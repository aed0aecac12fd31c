import BourseCore
import BourseVenue
import BourseMarketData
import BourseNode
import BourseProjections
import Foundation
import HTTPTypes
import Hummingbird

/// The REST API: Alpaca's Trading API v2 routes over the venue. Every route but `/healthz` needs an API
/// key in `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY`; a trader key acts on its own account only.
struct Routes: Sendable {
    let venue: Venue
    let keys: KeyStore
    let limiter: RateLimiter
    let metrics: Metrics
    let calendar: ExchangeCalendar
    let orders: OpenOrderIndex
    let orderQueries: OrderQueries
    let projections: Projections
    let market: MarketFeed
    /// The market data projection: books, bars and latest trades.
    let marketData: MarketProjection
    let updates: TradeUpdates
    let alerts: Alerts
    /// A bearer token that may read `/metrics` (a scraper's); nil: only risk and admin keys may.
    var metricsToken: String? = nil
    static let keyIDHeader = HTTPField.Name("APCA-API-KEY-ID")!
    static let secretHeader = HTTPField.Name("APCA-API-SECRET-KEY")!
    /// Request bodies larger than this are refused.
    static let bodyBytesMax = 16 << 10

    func add(to router: Router<BasicRequestContext>) {
        let table = RouteTable(router: router)
        table.add(.get, "/healthz", "Whether the node is alive: 503 with the reason once its sequencer has stopped", authenticated: false) { _, _ in
            if let reason = venue.sequencer.unavailableReason {
                return Self.json(["status": "failed", "reason": "sequencer: \(reason)"], status: .serviceUnavailable)
            }
            return Self.json(["status": "ok"])
        }
        table.add(.get, "/readyz", "Whether the venue takes orders and its projections follow the events; 503 with the reasons if not",
                  authenticated: false) { _, _ in readiness() }
        table.add(.get, "/metrics", "Prometheus metrics: with the server's metrics token as a bearer token, or a risk or admin key",
                  authenticated: false) { request, _ in
            guard mayReadMetrics(request.headers) else {
                return Self.error(Failure(status: .unauthorized, code: 40110000,
                                          message: "metrics need the metrics token (Authorization: Bearer …) or a risk or admin key"))
            }
            return try await renderMetrics()
        }
        table.add(.post, "/v1/sessions", "Sign in with {key_id, secret}: a bearer token for the web UI", authenticated: false) { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return startSession(body)
        }
        table.add(.delete, "/v1/sessions", "Sign out: ends the bearer token's session") { request, _ in
            try await handle(request) { _ in
                if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
                    keys.endSession(token: String(authorization.dropFirst(7)))
                }
                return Response(status: .noContent)
            }
        }
        table.add(.get, "/v2/account", "The key's account: cash, holds, buying power, equity, margin") { request, _ in
            try await handle(request) { key in try await account(key) }
        }
        table.add(.get, "/v2/positions", "The account's open positions") { request, _ in
            try await handle(request) { key in try await positions(key) }
        }
        table.add(.get, "/v2/positions/:symbol", "One open position") { request, context in
            try await handle(request) { key in try await position(key, context.parameters.get("symbol") ?? "") }
        }
        table.add(.delete, "/v2/positions/:symbol", "Close a position at market, what no order holds") { request, context in
            try await handle(request) { key in try await closePosition(key, context.parameters.get("symbol") ?? "") }
        }
        table.add(.get, "/v2/assets", "Listed symbols") { request, _ in try await handle(request) { _ in try await assets() } }
        table.add(.get, "/v1/book/:symbol", "Aggregated depth, ?depth=N levels a side") { request, context in
            try await handle(request) { _ in try await book(context.parameters.get("symbol") ?? "", request) }
        }
        table.add(.get, "/v2/stocks/:symbol/quotes/latest", "The best bid and offer") { request, context in
            try await handle(request) { _ in try await latestQuote(context.parameters.get("symbol") ?? "") }
        }
        table.add(.get, "/v2/stocks/:symbol/trades/latest", "The latest trade") { request, context in
            try await handle(request) { _ in try latestTrade(context.parameters.get("symbol") ?? "") }
        }
        table.add(.get, "/v2/stocks/:symbol/trades", "Recorded trades, oldest first: ?start, ?end (RFC 3339 or a date), ?limit") { request, context in
            try await handle(request) { _ in try recorded(context.parameters.get("symbol") ?? "", request, quotes: false) }
        }
        table.add(.get, "/v2/stocks/:symbol/quotes", "Recorded quotes (each change of the top of the book), oldest first: ?start, ?end, ?limit") { request, context in
            try await handle(request) { _ in try recorded(context.parameters.get("symbol") ?? "", request, quotes: true) }
        }
        table.add(.get, "/v2/stocks/:symbol/snapshot", "The latest trade and quote, and the minute, day and previous day bars") { request, context in
            try await handle(request) { _ in try await snapshot(context.parameters.get("symbol") ?? "") }
        }
        table.add(.get, "/v2/stocks/:symbol/bars", "OHLCV bars: ?timeframe=1Min|5Min|15Min|1Hour|1Day, ?start, ?end (RFC 3339 or a date), ?limit, ?sort=asc|desc") { request, context in
            try await handle(request) { _ in try bars(context.parameters.get("symbol") ?? "", request) }
        }
        table.add(.get, "/v2/clock", "Whether the exchange is open, and its next open and close") { request, _ in
            try await handle(request) { _ in clock() }
        }
        table.add(.get, "/v2/calendar", "Trading days from ?start to ?end with closes and settlement dates") { request, _ in
            try await handle(request) { _ in try sessions(request) }
        }
        table.add(.get, "/v2/account/activities", "Fills, deposits, withdrawals and transfers, newest first (?limit)") { request, _ in
            try await handle(request) { key in try await activities(key, request) }
        }
        table.add(.get, "/v1/account/positions/history", "Every change to the account's positions, newest first (?symbol, ?limit)") { request, _ in
            try await handle(request) { key in try await positionHistory(key, request) }
        }
        table.add(.get, "/v2/orders", "Orders, newest first: ?status=open (default), closed or all; ?limit") { request, _ in try await handle(request) { key in try await openOrders(key, request) } }
        table.add(.post, "/v2/orders", "Place an order") { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try await placeOrder(key, body) }
        }
        table.add(.get, "/v2/orders:by_client_order_id", "The order a ?client_order_id names") { request, _ in
            try await handle(request) { key in try await orderByClientID(key, request) }
        }
        table.add(.delete, "/v2/orders", "Cancel every open order") { request, _ in try await handle(request) { key in try await cancelAll(key) } }
        table.add(.get, "/v2/orders/:id", "One order, open or ended") { request, context in
            try await handle(request) { key in try await openOrder(key, context.parameters.get("id") ?? "") }
        }
        table.add(.patch, "/v2/orders/:id", "Cancel/replace: new quantity or prices under a new id") { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try await replaceOrder(key, context.parameters.get("id") ?? "", body) }
        }
        table.add(.delete, "/v2/orders/:id", "Cancel an order") { request, context in
            try await handle(request) { key in try await cancelOrder(key, context.parameters.get("id") ?? "") }
        }
        table.add(.post, "/v1/alerts", "Create a price alert: {symbol, condition: price_above|price_below|change_pct_above|change_pct_below, value, source: trade|nbbo}") { request, _ in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request) { key in try createAlert(key, body) }
        }
        table.add(.get, "/v1/alerts", "The account's alerts, newest first: ?status=active|fired|all (default all)") { request, _ in
            try await handle(request) { key in try listAlerts(key, request) }
        }
        table.add(.get, "/v1/alerts/:id", "One alert") { request, context in
            try await handle(request) { key in
                guard let id = UInt64(context.parameters.get("id") ?? ""), let alert = alerts.alert(id, account: key.account) else {
                    throw Failure.notFound("alert \(context.parameters.get("id") ?? "") does not exist")
                }
                return Self.json(text: alert.json)
            }
        }
        table.add(.delete, "/v1/alerts/:id", "Delete an alert") { request, context in
            try await handle(request) { key in
                guard let id = UInt64(context.parameters.get("id") ?? ""), try alerts.delete(id, account: key.account) else {
                    throw Failure.notFound("alert \(context.parameters.get("id") ?? "") does not exist")
                }
                return Response(status: .noContent)
            }
        }
        Admin(venue: venue).add(to: table, handle: handle)
        ProjectionAdmin(projections: projections).add(to: table, handle: handle)
        WebUI.add(to: table)
        let document = table.openAPI()
        table.add(.get, "/openapi.json", "This document", authenticated: false) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
        }
    }

    /// An API failure: an HTTP status and Alpaca's error body.
    struct Failure: Error {
        var status: HTTPResponse.Status
        var code: Int
        var message: String

        static func notFound(_ message: String) -> Failure { Failure(status: .notFound, code: 40410000, message: message) }
        static func unprocessable(_ message: String) -> Failure { Failure(status: .unprocessableContent, code: 42210000, message: message) }
        static func unavailable(_ message: String) -> Failure { Failure(status: .serviceUnavailable, code: 50310000, message: message) }
    }

    /// Authenticates, runs the handler and turns failures into Alpaca's error bodies, counting each answer
    /// by status.
    func handle(_ request: Request, _ body: (StoredKey) async throws -> Response) async throws -> Response {
        let response = try await answer(request, body)
        metrics.countAnswer(response.status.code)
        return response
    }

    /// The key a request authenticates with: an API key and secret in Alpaca's headers, or a web session's
    /// bearer token.
    private func key(_ headers: HTTPFields) -> StoredKey? {
        key(keyID: headers[Self.keyIDHeader], secret: headers[Self.secretHeader], authorization: headers[.authorization])
    }

    /// The key of those headers' values.
    func key(keyID: String?, secret: String?, authorization: String?) -> StoredKey? {
        if let keyID, let secret {
            return keys.authenticate(keyID: keyID, secret: secret)
        }
        if let authorization, authorization.hasPrefix("Bearer ") {
            return keys.authenticate(token: String(authorization.dropFirst(7)), now: wallClockNanos())
        }
        return nil
    }

    /// The headers that carry credentials: each may be given once.
    static let credentialHeaders: [HTTPField.Name] = [keyIDHeader, secretHeader, .authorization]

    private func answer(_ request: Request, _ body: (StoredKey) async throws -> Response) async throws -> Response {
        if let repeated = Self.credentialHeaders.first(where: { request.headers[values: $0].count > 1 }) {
            return Self.error(Failure(status: .unauthorized, code: 40110000, message: "\(repeated.rawName) is given more than once"))
        }
        guard let key = key(request.headers) else {
            return Self.error(Failure(status: .unauthorized, code: 40110000, message: "request is not authorized"))
        }
        if let wait = limiter.take(key.keyID) {
            var response = Self.error(Failure(status: .tooManyRequests, code: 42910000,
                                              message: "rate limit exceeded: \(Int(limiter.perSecond)) requests a second for each key"))
            response.headers[.retryAfter] = String(wait)
            return response
        }
        do {
            return try await body(key)
        } catch let failure as Failure {
            return Self.error(failure)
        } catch let failure as Venue.Failure {
            return Self.error(Self.failure(failure))
        }
    }

    /// The answer when the venue cannot take a command.
    static func failure(_ failure: Venue.Failure) -> Failure {
        switch failure {
        case .overloaded: Failure(status: .tooManyRequests, code: 42910000, message: "\(failure)")
        case .stopped: Failure(status: .serviceUnavailable, code: 50310000, message: "\(failure)")
        }
    }

    /// Ready when the sequencer takes commands and every projection (order history, trading stream,
    /// market data) still follows the event stream; otherwise 503 with each reason.
    private func readiness() -> Response {
        var problems: [String] = []
        if let reason = venue.sequencer.unavailableReason { problems.append("sequencer: \(reason)") }
        problems += projections.problems
        guard problems.isEmpty else {
            return Self.json(["status": "unavailable", "reasons": problems.joined(separator: "; ")], status: .serviceUnavailable)
        }
        return Self.json(["status": "ready"])
    }

    struct SessionRequest: Decodable {
        var key_id: String
        var secret: String
    }

    /// Signs in: answers the token, its key's account and role, and when it expires. Wrong keys are
    /// limited like any request of that key id, so a secret cannot be guessed at speed.
    private func startSession(_ body: ByteBuffer?) -> Response {
        let response: Response
        do {
            let request: SessionRequest = try Self.decode(body)
            // Key ids that do not exist share one bucket: the limiter's table holds only the store's keys.
            if let wait = limiter.take(keys.contains(keyID: request.key_id) ? request.key_id : RateLimiter.unknownKey) {
                var limited = Self.error(Failure(status: .tooManyRequests, code: 42910000, message: "too many sign-ins for this key"))
                limited.headers[.retryAfter] = String(wait)
                response = limited
            } else if let session = keys.startSession(keyID: request.key_id, secret: request.secret, now: wallClockNanos()) {
                response = Self.json(text: #"{"token":"\#(session.token)","account":"\#(session.key.account)","role":"\#(session.key.role.rawValue)","expires_at":"\#(API.time(Timestamp(nanos: session.expires)))"}"#)
            } else {
                response = Self.error(Failure(status: .unauthorized, code: 40110000, message: "the key or its secret is wrong"))
            }
        } catch let failure as Failure {
            response = Self.error(failure)
        } catch {
            response = Self.error(Failure.unprocessable("\(error)"))
        }
        metrics.countAnswer(response.status.code)
        return response
    }

    // MARK: - Account and positions

    private func account(_ key: StoredKey) async throws -> Response {
        let id = AccountID(key.account)
        guard let summary = try await venue.account(id) else {
            throw Failure.notFound("account \(id) does not exist")
        }
        return Self.json(API.Account(summary))
    }

    private func positions(_ key: StoredKey) async throws -> Response {
        let id = AccountID(key.account)
        let positions = try await venue.positions(of: id)
        return Self.json(positions.filter { $0.quantity.shares != 0 }.map(API.Position.init))
    }

    private func position(_ key: StoredKey, _ symbol: String) async throws -> Response {
        let id = AccountID(key.account)
        let positions = try await venue.positions(of: id)
        guard let position = positions.first(where: { $0.symbol.description == symbol && $0.quantity.shares != 0 }) else {
            throw Failure.notFound("position does not exist")
        }
        return Self.json(API.Position(position))
    }

    private func assets() async throws -> Response {
        let summaries = try await venue.symbols()
        return Self.json(summaries.map { s in
            API.Asset(id: s.symbol.description, symbol: s.symbol.description, name: s.symbol.description,
                      tradable: s.state == .open || s.state == .preOpen, shortable: s.easyToBorrow, easy_to_borrow: s.easyToBorrow)
        })
    }

    // MARK: - Alerts

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

    private func listAlerts(_ key: StoredKey, _ request: Request) throws -> Response {
        let status = request.uri.queryParameters.get("status").map { String($0) } ?? "all"
        guard ["active", "fired", "all"].contains(status) else { throw Failure.unprocessable("status must be active, fired or all") }
        let listed = alerts.list(account: key.account).filter { status == "all" || ($0.firedAt == nil) == (status == "active") }
        return Self.json(text: "[" + listed.map(\.json).joined(separator: ",") + "]")
    }

    // MARK: - Market data from the venue's own books

    /// The book as the market data stream has published it, once the stream has applied every command
    /// acknowledged before this request (so a client sees its own orders): the best `depth` levels a side
    /// (default 10, at most 10,000), each level's orders with `orders=true`, and the sequence numbers of
    /// the level 2 and 3 messages it reflects, from which a subscriber continues after a gap.
    private func book(_ text: String, _ request: Request) async throws -> Response {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        let query = request.uri.queryParameters
        let depth = query.get("depth").map { Int(String($0)) } ?? 10
        guard let depth, (1...10_000).contains(depth) else { throw Failure.unprocessable("depth must be from 1 to 10,000") }
        let withOrders: Bool
        switch query.get("orders").map({ String($0) }) {
        case nil, "false": withOrders = false
        case "true": withOrders = true
        case let other?: throw Failure.unprocessable("orders must be true or false, not \"\(other)\"")
        }
        let book = try await publishedBook(symbol, depth: depth, orders: withOrders)
        func levels(_ side: [VenueBooks.Level], _ queues: [[VenueBooks.ShownOrder]]?) -> [API.BookLevel] {
            side.enumerated().map { i, level in
                API.BookLevel(price: API.decimal(level.price), size: String(level.shown.shares), orders: level.orders,
                              queue: queues.map { $0[i].map { API.QueuedOrder(id: $0.orderID.rawValue, size: $0.shown.shares) } })
            }
        }
        return Self.json(API.Book(symbol: symbol.description, state: API.name(book.state), bids: levels(book.bids, book.bidOrders),
                                  asks: levels(book.asks, book.askOrders), last_trade: book.day.trades > 0 || book.day.last > 0 ? API.decimal(book.day.last) : nil,
                                  l2_sequence: book.sequences.l2, l3_sequence: book.sequences.l3, session: market.session,
                                  timestamp: API.time(Timestamp(nanos: wallClockNanos()))))
    }

    /// A listed symbol's book from the market data, after it has caught up with the venue.
    private func publishedBook(_ symbol: Symbol, depth: Int, orders: Bool = false) async throws -> BookSnapshot {
        let sequence = try await venue.lastSequence()
        if let problem = await projections.wait("market", for: sequence) {
            throw Failure(status: .serviceUnavailable, code: 50310000, message: problem)
        }
        guard let book = marketData.book(symbol, depth: depth, orders: orders) else { throw Failure.notFound("symbol \(symbol) is not listed") }
        return book
    }

    /// The best level of each side of a listed symbol's book.
    private func topOfBook(_ symbol: Symbol) async throws -> (bid: VenueBooks.Level?, ask: VenueBooks.Level?) {
        let book = try await publishedBook(symbol, depth: 1)
        return (book.bids.first, book.asks.first)
    }

    /// The best bid and offer in Alpaca's market data shape.
    private func latestQuote(_ text: String) async throws -> Response {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        let (bid, ask) = try await topOfBook(symbol)
        return Self.json(API.LatestQuote(symbol: symbol.description, quote: API.Quote(
            t: API.time(Timestamp(nanos: wallClockNanos())), ap: ask.map { API.decimal($0.price) } ?? "0", as: ask?.shown.shares ?? 0,
            bp: bid.map { API.decimal($0.price) } ?? "0", bs: bid?.shown.shares ?? 0)))
    }

    private func latestTrade(_ text: String) throws -> Response {
        guard let symbol = try? Symbol(validating: text), let trade = marketData.latestTrade(symbol) else {
            throw Failure.notFound("no trade in \(text)")
        }
        return Self.json(text: #"{"symbol":"\#(symbol)","trade":\#(MarketFeed.trade(trade))}"#)
    }

    /// Alpaca's snapshot: the latest trade and quote, the current minute bar, today's bar and the day before's.
    private func snapshot(_ text: String) async throws -> Response {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        let (bid, ask) = try await topOfBook(symbol)
        let now = wallClockNanos()
        let quote = #"{"t":"\#(API.time(Timestamp(nanos: now)))","ax":"BOURSE","ap":\#(ask.map { API.decimal($0.price) } ?? "0"),"as":\#(ask?.shown.shares ?? 0),"bx":"BOURSE","bp":\#(bid.map { API.decimal($0.price) } ?? "0"),"bs":\#(bid?.shown.shares ?? 0),"c":["R"],"z":"C"}"#
        let minute = marketData.bars(symbol, .minute, from: 0, to: .max, limit: .max).last
        let todayStart = Timeframe.day.start(now, calendar: calendar)
        let days = marketData.bars(symbol, .day, from: todayStart - 15 * 86_400_000_000_000, to: .max, limit: .max)
        let today = days.last.flatMap { $0.start == todayStart ? $0 : nil }
        let previous = days.last { $0.start < todayStart }
        func json(_ bar: Bar?) -> String { bar?.json ?? "null" }
        return Self.json(text: #"{"symbol":"\#(symbol)","latestTrade":\#(marketData.latestTrade(symbol).map(MarketFeed.trade) ?? "null"),"latestQuote":\#(quote),"minuteBar":\#(json(minute)),"dailyBar":\#(json(today)),"prevDailyBar":\#(json(previous))}"#)
    }

    /// Bars from the venue's own trades, oldest first unless `sort=desc`.
    private func bars(_ text: String, _ request: Request) throws -> Response {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        let query = request.uri.queryParameters
        let name = query.get("timeframe").map { String($0) } ?? "1Min"
        guard let timeframe = Timeframe(rawValue: name) else {
            throw Failure.unprocessable("timeframe must be one of \(Timeframe.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(name)\"")
        }
        let (start, end) = try Self.interval(request)
        let limit = try Self.limit(request, default: 1_000, max: 10_000)
        let sort = query.get("sort").map { String($0) } ?? "asc"
        guard sort == "asc" || sort == "desc" else { throw Failure.unprocessable("sort must be asc or desc") }
        var bars = marketData.bars(symbol, timeframe, from: start, to: end, limit: sort == "asc" ? limit : Int.max)
        if sort == "desc" { bars = Array(bars.suffix(limit).reversed()) }
        let body = #"{"bars":[\#(bars.map(\.json).joined(separator: ","))],"symbol":"\#(symbol)","timeframe":"\#(name)","next_page_token":null}"#
        // Closed bars never change: an answer whose bars have all closed may be cached for good. One with the
        // bar still open may not, but its ETag still spares sending it again unchanged.
        let now = wallClockNanos()
        let closed = bars.allSatisfy { timeframe.end(after: $0.start, calendar: calendar) <= now - 2_000_000_000 }
        return Self.cached(body, request, cacheControl: closed ? "public, max-age=31536000, immutable" : "no-cache")
    }

    /// A JSON answer with an ETag from its bytes: `If-None-Match` with the same tag gets 304 and no body.
    static func cached(_ body: String, _ request: Request, cacheControl: String) -> Response {
        let bytes = Array(body.utf8)
        let tag = "\"" + String(bytes.withUnsafeBytes { fnv1a($0) }, radix: 16) + "\""
        var headers: HTTPFields = [.contentType: "application/json", .eTag: tag, .cacheControl: cacheControl]
        if let wanted = request.headers[.ifNoneMatch], wanted.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag }) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - The exchange calendar

    private func clock() -> Response {
        let now = Timestamp(nanos: wallClockNanos())
        let (isOpen, nextOpen, nextClose) = calendar.clock(at: now)
        return Self.json(API.Clock(timestamp: API.time(now), is_open: isOpen, next_open: API.time(nextOpen),
                                   next_close: API.time(nextClose)))
    }

    /// Trading days from `start` to `end` (New York dates, at most 366 days apart), each with its
    /// settlement date (T+1).
    private func sessions(_ request: Request) throws -> Response {
        let today = ExchangeCalendar.newYorkDate(Timestamp(nanos: wallClockNanos()))
        let query = request.uri.queryParameters
        guard let start = query.get("start").map({ CivilDate(String($0)) }) ?? today,
              let end = query.get("end").map({ CivilDate(String($0)) }) ?? start.adding(days: 30) else {
            throw Failure.unprocessable("start and end must each be \(CivilDate.supportedDescription)")
        }
        guard start <= end, end.daysSinceEpoch - start.daysSinceEpoch <= 366 else {
            throw Failure.unprocessable("end must be on or after start, and at most 366 days later")
        }
        func time(_ minute: Int) -> String {
            let h = minute / 60, m = minute % 60
            return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
        }
        return Self.json(calendar.sessions(from: start, through: end).map { s in
            API.CalendarDay(date: s.date.description, open: time(s.openMinute), close: time(s.closeMinute),
                            settlement_date: calendar.tradingDay(after: s.date).description)
        })
    }

    // MARK: - Orders

    /// Open orders come from the engine, so an order just acknowledged is always there; ended ones from the
    /// order history, which follows the event stream a moment behind.
    private func openOrders(_ key: StoredKey, _ request: Request) async throws -> Response {
        let status = request.uri.queryParameters.get("status").map { String($0) } ?? "open"
        let limit = try Self.limit(request, default: 50, max: 500)
        let id = AccountID(key.account)
        switch status {
        case "open":
            let orders = try await venue.openOrders(of: id).prefix(limit).map { annotated(API.order($0)) }
            return Self.json(text: "[" + orders.map(\.json).joined(separator: ",") + "]")
        case "closed", "all":
            try await requireHistory()
            let orders = try await orderQueries.orders(account: key.account, endedOnly: status == "closed", limit: limit)
            return Self.json(text: "[" + orders.map { API.order($0).json }.joined(separator: ",") + "]")
        default:
            throw Failure.unprocessable("status must be open, closed or all, not \"\(status)\"")
        }
    }

    private func openOrder(_ key: StoredKey, _ text: String) async throws -> Response {
        let id = AccountID(key.account)
        let orders = try await venue.openOrders(of: id)
        if let order = orders.first(where: { String($0.orderID.rawValue) == text }) {
            // The engine's figures are current; the history adds when the order was created.
            var api = annotated(API.order(order))
            if let record = self.orders.openOrder(order.orderID.rawValue, account: key.account) {
                api.created_at = API.time(record.created)
                api.submitted_at = api.created_at
                api.updated_at = API.time(record.updated)
                api.replaces = record.replaces.map { String($0.rawValue) }
            }
            return Self.json(text: api.json)
        }
        try await requireHistory()
        guard let raw = UInt64(text), let record = try await orderQueries.order(raw, account: key.account) else {
            throw Failure.notFound("order \(text) does not exist")
        }
        return Self.json(text: API.order(record).json)
    }

    /// A client that timed out placing an order finds out here whether it was placed.
    private func orderByClientID(_ key: StoredKey, _ request: Request) async throws -> Response {
        guard let clientOrderID = request.uri.queryParameters.get("client_order_id").map({ String($0) }) else {
            throw Failure.unprocessable("client_order_id is required")
        }
        guard let order = orders.order(clientOrderID: clientOrderID, account: key.account) else {
            throw Failure.notFound("no order has client_order_id \(clientOrderID)")
        }
        return try await openOrder(key, String(order))
    }

    private func activities(_ key: StoredKey, _ request: Request) async throws -> Response {
        try await requireHistory()
        let limit = try Self.limit(request, default: 100, max: 1_000)
        let activities = try await orderQueries.activities(account: key.account, limit: limit)
        return Self.json(text: "[" + activities.map(API.activity).joined(separator: ",") + "]")
    }

    /// Bourse's extra: every change to the account's positions (fills, transfers), newest first.
    private func positionHistory(_ key: StoredKey, _ request: Request) async throws -> Response {
        try await requireHistory()
        let limit = try Self.limit(request, default: 100, max: 1_000)
        let symbol = request.uri.queryParameters.get("symbol").map { String($0) }
        return Self.json(try await orderQueries.positionChanges(account: key.account, symbol: symbol, limit: limit).map { c in
            PositionChange(symbol: c.symbol, time: API.time(Timestamp(nanos: c.time)), reason: c.reason, change: String(c.change),
                           qty: String(c.qty), price: API.decimal(c.price))
        })
    }

    struct PositionChange: Encodable {
        var symbol: String
        var time: String
        var reason: String
        var change: String
        var qty: String
        var price: String
    }

    /// What the order projection adds to an open order as the engine describes it: its client order id
    /// and GTD expiry.
    private func annotated(_ order: API.Order) -> API.Order {
        guard let id = UInt64(order.id) else { return order }
        var order = order
        let (clientOrderID, expiry) = orders.annotations(id)
        if let clientOrderID { order.client_order_id = clientOrderID }
        if let expiry { order.expire_at = API.time(Timestamp(nanos: expiry)) }
        return order
    }

    /// The order projection, holding everything the venue had acknowledged when the request came: a client
    /// reads what it was told of. Answers from a projection that stopped would be stale: refused, saying why.
    private func requireHistory() async throws {
        if let problem = await projections.wait("orders", for: try await venue.lastSequence()) {
            throw Failure(status: .serviceUnavailable, code: 50310000, message: problem)
        }
    }

    /// `start` and `end` of a request (RFC 3339 or a date), nanoseconds; the whole of time when absent.
    static func interval(_ request: Request) throws -> (Int64, Int64) {
        func instant(_ field: String) throws -> Int64? {
            guard let value = request.uri.queryParameters.get(field).map({ String($0) }) else { return nil }
            guard let nanos = API.parseTime(value) else { throw Failure.unprocessable("\(field) must be \(API.timeDescription), not \"\(value)\"") }
            return nanos
        }
        return (try instant("start") ?? 0, try instant("end") ?? Int64.max)
    }

    /// Trades or quotes from the market history, in Alpaca's historical shape.
    private func recorded(_ text: String, _ request: Request, quotes: Bool) throws -> Response {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        guard let history = marketData.history else { throw Failure.unavailable("this venue keeps no market history") }
        let (start, end) = try Self.interval(request)
        let limit = try Self.limit(request, default: 1_000, max: 10_000)
        let name = symbol.description
        if quotes {
            let rows = try history.quotes(name, from: start, to: end, limit: limit)
            let objects = rows.map { MarketFeed.quoteObject(name, .init(price: $0.bidPrice, size: $0.bidSize, askPrice: $0.askPrice, askSize: $0.askSize), sequence: $0.sequence, time: API.time(Timestamp(nanos: $0.time))) }
            return Self.json(text: #"{"quotes":[\#(objects.joined(separator: ","))],"symbol":"\#(name)","next_page_token":null}"#)
        }
        let rows = try history.trades(name, from: start, to: end, limit: limit)
        let objects = rows.map { MarketFeed.trade(id: $0.id, price: $0.price, size: $0.size, time: API.time(Timestamp(nanos: $0.time))) }
        return Self.json(text: #"{"trades":[\#(objects.joined(separator: ","))],"symbol":"\#(name)","next_page_token":null}"#)
    }

    static func limit(_ request: Request, default value: Int, max: Int) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return value }
        guard let limit = Int(String(text)), (1...max).contains(limit) else {
            throw Failure.unprocessable("limit must be from 1 to \(max)")
        }
        return limit
    }

    private func placeOrder(_ key: StoredKey, _ body: ByteBuffer?) async throws -> Response {
        metrics.count("bourse_order_requests_total", #"path="router""#)
        let request: OrderRequest = try body.flatMap { $0.withUnsafeReadableBytes(OrderRequest.plain) } ?? Self.decode(body)
        let placing = try prepare(request, key)
        let received = monotonicNanos()
        let result: Result<Sequencer.Acknowledgement, Venue.Failure>
        do {
            result = .success(try await venue.execute(.newOrder(placing.order), note: placing.note))
        } catch {
            result = .failure(error)
        }
        let (status, text) = placed(placing, result, received: received)
        return Self.json(text: text, status: status)
    }

    /// A new order ready for the venue, its client order id claimed.
    struct Placing: Sendable {
        var order: NewOrder
        var clientOrderID: String?
        var note: [UInt8] { ClientOrderID.note(clientOrderID) }
    }

    /// The order a request describes for the key's account, with its client order id claimed; throws the
    /// answer when the order is invalid or the id names another order.
    func prepare(_ request: OrderRequest, _ key: StoredKey) throws(Failure) -> Placing {
        switch request.order(id: venue.newOrderID(), account: AccountID(key.account)) {
        case .success(let order): return try claim(order, request.client_order_id)
        case .failure(.invalid(let message)): throw Failure.unprocessable(message)
        }
    }

    /// `prepare` for the order entry handler, which has not been through `answer`: nil, with nothing
    /// done, when the router should answer instead (the order is invalid, or the key over its rate limit).
    func prepareWithinLimit(_ request: OrderRequest, _ key: StoredKey) throws(Failure) -> Placing? {
        guard case .success(let order) = request.order(id: venue.newOrderID(), account: AccountID(key.account)),
              limiter.take(key.keyID) == nil else { return nil }
        metrics.count("bourse_order_requests_total", #"path="event_loop""#)
        return try claim(order, request.client_order_id)
    }

    private func claim(_ order: NewOrder, _ clientOrderID: String?) throws(Failure) -> Placing {
        if let clientOrderID, orders.claim(clientOrderID, account: order.account.rawValue, order: order.orderID.rawValue) != nil {
            throw Failure.unprocessable("client_order_id must be unique: \(clientOrderID) names another order")
        }
        return Placing(order: order, clientOrderID: clientOrderID)
    }

    /// The answer to a placed order once the venue acknowledged it (or could not take it), counted in the
    /// metrics: the order in Alpaca's shape, or the error.
    func placed(_ placing: Placing, _ result: Result<Sequencer.Acknowledgement, Venue.Failure>,
                received: Int64) -> (HTTPResponse.Status, String) {
        let ack: Sequencer.Acknowledgement
        switch result {
        case .success(let a): ack = a
        case .failure(let failure):
            // Not journaled: the id is free for the retry.
            if let clientOrderID = placing.clientOrderID {
                orders.release(clientOrderID, account: placing.order.account.rawValue, order: placing.order.orderID.rawValue)
            }
            return Self.errorText(Self.failure(failure))
        }
        metrics.ackLatency.record(nanos: monotonicNanos() - received)
        for event in ack.events {
            if case .orderRejected(_, _, let reason) = event {
                metrics.count("bourse_orders_total", "outcome=\"rejected\"")
                metrics.count("bourse_order_rejections_total", "reason=\"\(reason.code)\"")
                return Self.errorText(Self.rejection(reason))
            }
        }
        let placed = API.order(placing.order, events: ack.events, at: ack.command.time, clientOrderID: placing.clientOrderID)
        metrics.count("bourse_orders_total", "outcome=\"\(placed.status)\"")
        return (.ok, placed.json)
    }

    /// Metrics tell a venue's activity and its accounts' number: not for anyone who can reach the port.
    private func mayReadMetrics(_ headers: HTTPFields) -> Bool {
        if let token = metricsToken, let authorization = headers[.authorization], authorization.hasPrefix("Bearer ") {
            let given = Array(authorization.utf8.dropFirst(7)), wanted = Array(token.utf8)
            // Compared in constant time.
            var difference = given.count == wanted.count ? 0 : 1
            for (a, b) in zip(given, wanted) { difference |= Int(a ^ b) }
            if difference == 0 { return true }
        }
        guard Self.credentialHeaders.allSatisfy({ headers[values: $0].count <= 1 }), let key = key(headers) else { return false }
        return key.role == .risk || key.role == .admin
    }

    private func renderMetrics() async throws -> Response {
        let (openOrders, accounts) = try await venue.counts()
        let sequencer = venue.sequencer
        let text = metrics.render(histograms: [
            ("bourse_engine_batch_seconds", "Applying a batch of commands to the engine and encoding its journal entries.", sequencer.applyLatency),
            ("bourse_journal_commit_seconds", "Writing a batch to the journal and syncing it (fdatasync under fsync durability).", sequencer.commitLatency),
            ("bourse_sequencer_batch_commands", "Commands in a batch.", sequencer.batchSizes),
        ] + projections.runners.map { runner in
            ("bourse_projection_\(runner.name)_lag_seconds", "From a command's time to the commit of the \(runner.name) projection's transaction that applied it.",
             runner.lagLatency)
        }, gauges: projectionGauges() + [
            ("bourse_sequencer_queue_depth", "Commands waiting for the sequencer.", sequencer.queueDepth),
            ("bourse_open_orders", "Open orders in the engine.", openOrders),
            ("bourse_accounts", "Accounts in the engine.", accounts),
            ("bourse_websocket_connections{stream=\"trade_updates\"}", "Connections listening, by stream.", updates.hub.subscriberCount),
            ("bourse_websocket_connections{stream=\"market_data\"}", "Connections listening, by stream.", market.hub.subscriberCount),
            ("bourse_websocket_drops_total{stream=\"trade_updates\"}", "Connections closed for falling behind, by stream.", updates.hub.drops),
            ("bourse_websocket_drops_total{stream=\"market_data\"}", "Connections closed for falling behind, by stream.", market.hub.drops),
            ("bourse_market_history_dropped_total", "Batches of trades and quotes not recorded: too many waited to be written, or their transaction failed.", marketData.history?.dropped ?? 0),
            ("bourse_alerts_active", "Price alerts waiting to fire.", alerts.activeCount),
            ("bourse_web_sessions", "Web sessions signed in.", keys.sessionCount),
            ("bourse_rate_limit_buckets", "Keys the rate limiter keeps a bucket for (at most the keys the venue holds, and one for unknown key ids).", limiter.bucketCount),
        ])
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Each projection's position, lag, entries applied and whether it failed; the rows its store was sent.
    private func projectionGauges() -> [(name: String, help: String, value: Int)] {
        let statuses = projections.statuses
        // A family's series together, as the exposition format wants them.
        let families: [(String, String, (ProjectionRunner.Status) -> Int)] = [
            ("bourse_projection_position", "The last sequence each projection committed.", { Int($0.position) }),
            ("bourse_projection_lag_entries", "Entries published to each projection and not yet committed.", { Int($0.lag) }),
            ("bourse_projection_entries_applied_total", "Journal entries each projection applied since start.", { $0.entriesApplied }),
            ("bourse_projection_failed", "1 while a projection is stopped at an entry that failed.", { $0.failure == nil ? 0 : 1 }),
        ]
        var gauges: [(name: String, help: String, value: Int)] = []
        for (family, help, value) in families {
            for s in statuses { gauges.append((family + "{projection=\"\(s.name)\"}", help, value(s))) }
        }
        return gauges + [("bourse_projection_statements_total", "Statements sent to the projections' store since start (rows written, mostly).",
                          projections.store.statementsExecuted)]
    }

    /// Cancel/replace: the order continues under a new id with the new quantity and prices; the answer is
    /// the new order.
    private func replaceOrder(_ key: StoredKey, _ text: String, _ body: ByteBuffer?) async throws -> Response {
        let request: ReplaceRequest = try Self.decode(body)
        let account = AccountID(key.account)
        guard let raw = UInt64(text),
              let open = try await venue.openOrders(of: account).first(where: { $0.orderID.rawValue == raw }) else {
            throw Failure.notFound("order \(text) is not open; filled, canceled and expired orders are not kept yet")
        }
        let replace: ReplaceOrder
        switch request.replace(open, newID: venue.newOrderID()) {
        case .success(let r): replace = r
        case .failure(.invalid(let message)): throw Failure.unprocessable(message)
        }
        if let clientOrderID = request.client_order_id,
           orders.claim(clientOrderID, account: account.rawValue, order: replace.newOrderID.rawValue) != nil {
            throw Failure.unprocessable("client_order_id must be unique: \(clientOrderID) names another order")
        }
        let ack: Sequencer.Acknowledgement
        do {
            ack = try await venue.execute(.replace(replace), note: ClientOrderID.note(request.client_order_id))
        } catch {
            if let clientOrderID = request.client_order_id {
                orders.release(clientOrderID, account: account.rawValue, order: replace.newOrderID.rawValue)
            }
            throw error
        }
        for event in ack.events {
            if case .replaceRejected(_, _, _, let reason) = event {
                throw Self.rejection(reason)
            }
        }
        let order = NewOrder(orderID: replace.newOrderID, account: account, symbol: open.symbol, side: open.side, type: open.type,
                             timeInForce: open.timeInForce, quantity: replace.quantity,
                             limitPrice: replace.limitPrice ?? open.limitPrice, stopPrice: replace.stopPrice ?? open.stopPrice)
        let filledBefore = open.quantity.shares - open.leaves.shares
        return Self.json(text: API.order(order, events: ack.events, at: ack.command.time, filledBefore: filledBefore,
                                         clientOrderID: request.client_order_id).json)
    }

    private func cancelOrder(_ key: StoredKey, _ text: String) async throws -> Response {
        guard let raw = UInt64(text) else { throw Failure.notFound("order \(text) does not exist") }
        let ack = try await venue.execute(.cancel(CancelOrder(orderID: OrderID(raw), account: AccountID(key.account))))
        for event in ack.events {
            if case .cancelRejected(_, _, let reason) = event { throw Failure.unprocessable("\(reason.code): \(reason.message)") }
        }
        return Response(status: .noContent)
    }

    /// Cancels every open order of the account: 207 with each order's outcome, as Alpaca answers.
    private func cancelAll(_ key: StoredKey) async throws -> Response {
        let account = AccountID(key.account)
        let open = try await venue.openOrders(of: account)
        var outcomes: [CancelOutcome] = []
        for order in open {
            let ack = try await venue.execute(.cancel(CancelOrder(orderID: order.orderID, account: account)))
            let cancelled = ack.events.contains { if case .orderCancelled = $0 { true } else { false } }
            outcomes.append(CancelOutcome(id: String(order.orderID.rawValue), status: cancelled ? 200 : 500))
        }
        return Self.json(outcomes, status: HTTPResponse.Status(code: 207))
    }

    struct CancelOutcome: Encodable {
        var id: String
        var status: Int
    }

    /// Closes a position with a market order for what is not held by other orders: a sell of a long, a buy
    /// covering a short. Answers with that order.
    private func closePosition(_ key: StoredKey, _ text: String) async throws -> Response {
        let account = AccountID(key.account)
        let positions = try await venue.positions(of: account)
        guard let position = positions.first(where: { $0.symbol.description == text && $0.quantity.shares != 0 }) else {
            throw Failure.notFound("position does not exist")
        }
        let available = position.quantity.shares.magnitude - UInt64(position.held.shares)
        guard available > 0 else {
            throw Failure(status: .forbidden, code: 40310000, message: "all of the position is held by open orders")
        }
        let order = NewOrder(orderID: venue.newOrderID(), account: account, symbol: position.symbol,
                             side: position.quantity.shares > 0 ? .sell : .buy, type: .market, timeInForce: .day,
                             quantity: Quantity(Int64(available)))
        let ack = try await venue.execute(.newOrder(order))
        for event in ack.events {
            if case .orderRejected(_, _, let reason) = event {
                throw Self.rejection(reason)
            }
        }
        return Self.json(text: API.order(order, events: ack.events, at: ack.command.time).json)
    }

    /// A rejected order or replace as an answer: 403 for what the account may do (as Alpaca answers
    /// insufficient buying power), 422 for what the order says.
    static func rejection(_ reason: RejectReason) -> Failure {
        isRisk(reason) ? Failure(status: .forbidden, code: 40310000, message: "\(reason.code): \(reason.message)")
            : Failure.unprocessable("\(reason.code): \(reason.message)")
    }

    /// Rejections for what the account may do rather than for what the order says.
    static func isRisk(_ reason: RejectReason) -> Bool {
        switch reason {
        case .insufficientBuyingPower, .insufficientPosition, .notEasyToBorrow, .oppositeOrderOpen, .maintenanceDeficit,
             .accountBlocked, .accountClosed, .reduceOnly, .accountQuantityLimit, .notionalAboveLimit,
             .openOrdersPerSymbolLimit, .openOrdersLimit, .positionLimit, .unknownAccount:
            true
        default:
            false
        }
    }

    // MARK: - Helpers

    /// The body as JSON of `T`, or the failure that says what is wrong with it.
    static func decode<T: Decodable>(_ body: ByteBuffer?) throws -> T {
        guard let body else {
            throw Failure(status: .contentTooLarge, code: 41310000, message: "the request body is larger than \(bodyBytesMax) bytes")
        }
        if let problem = body.withUnsafeReadableBytes({ StrictJSON.problem($0) }) { throw Failure.unprocessable(problem) }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        } catch let error as DecodingError {
            throw Failure.unprocessable(StrictJSON.describe(error))
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ failure: Failure) -> Response {
        let (status, text) = errorText(failure)
        return json(text: text, status: status)
    }

    /// Alpaca's error body for a failure, and its status.
    static func errorText(_ failure: Failure) -> (HTTPResponse.Status, String) {
        var text = #"{"code":\#(failure.code),"message":"#
        API.appendQuoted(failure.message, to: &text)
        return (failure.status, text + "}")
    }
}
