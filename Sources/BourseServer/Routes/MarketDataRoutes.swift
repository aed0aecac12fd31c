import BourseCore
import BourseMarketData
import BourseVenue
import BourseNode
import Hummingbird

/// Market data from the venue's own books and history, in Alpaca's market data shapes.
extension Routes {
    func addMarketData(to table: RouteTable) {
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
    }

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
                              queue: queues.map { $0[i].map { API.QueuedOrder(id: $0.orderID.uuid, size: $0.shown.shares) } })
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
}
