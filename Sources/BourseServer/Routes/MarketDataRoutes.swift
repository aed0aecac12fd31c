import BourseCore
import BourseMarketData
import BourseVenue
import BourseNode
import Hummingbird

/// Market data from the venue's own books and history, in Alpaca's market data shapes: each series for
/// several symbols (`/v2/stocks/bars?symbols=…`) or one (`/v2/stocks/{symbol}/bars`), paged with
/// `next_page_token`, and the latest trade, quote, bar and snapshot.
extension Routes {
    func addMarketData(to table: RouteTable) {
        table.add(.get, "/v1/book/:symbol", "Aggregated depth: the best levels a side, with each level's orders if asked", query: [
            Parameter("depth", .integer(1...10_000), "Levels a side (default 10)"),
            Parameter("orders", .boolean, "Each level's shown orders in time priority"),
        ], answer: .ok("Book")) { request, context in
            try await handle(request) { _ in try await book(context.parameters.get("symbol") ?? "", Query(request)) }
        }
        for series in Series.all {
            table.add(.get, "/v2/stocks/\(series.name)", "\(series.summary) of several symbols, by symbol, paged",
                      query: [Self.symbolsParameter] + series.parameters,
                      answer: .ok(Schema.series(series.name, series.item))) { request, _ in
                try await handle(request) { _ in
                    let query = Query(request)
                    return try await self.series(series, try Self.symbols(query), query, single: false, request)
                }
            }
            table.add(.get, "/v2/stocks/:symbol/\(series.name)", "\(series.summary) of one symbol, paged", query: series.parameters,
                      answer: .ok(Schema.singleSeries(series.name, series.item))) { request, context in
                try await handle(request) { _ in
                    try await self.series(series, [try Self.listedSymbol(context)], Query(request), single: true, request)
                }
            }
        }
        for latest in Latest.allCases {
            table.add(.get, "/v2/stocks/\(latest.rawValue)/latest", "The latest \(latest.singular) of several symbols",
                      query: [Self.symbolsParameter, Self.currencyParameter, Self.feedParameter],
                      answer: .ok(.object([(latest.rawValue, .map(.ref(latest.item)))]))) { request, _ in
                try await handle(request) { _ in
                    var objects: [String] = []
                    for symbol in try Self.symbols(Query(request)) {
                        if let object = try await self.latest(latest, symbol) { objects.append(#""\#(symbol)":\#(object)"#) }
                    }
                    return Self.json(text: #"{"\#(latest.rawValue)":{\#(objects.joined(separator: ","))}}"#)
                }
            }
            table.add(.get, "/v2/stocks/:symbol/\(latest.rawValue)/latest", "The latest \(latest.singular) of one symbol",
                      query: [Self.currencyParameter, Self.feedParameter],
                      answer: .ok(.object([("symbol", .string), (latest.singular, .ref(latest.item))]))) { request, context in
                try await handle(request) { _ in
                    let symbol = try Self.listedSymbol(context)
                    guard let object = try await self.latest(latest, symbol) else { throw Failure.notFound("no \(latest.singular) in \(symbol) yet") }
                    return Self.json(text: #"{"symbol":"\#(symbol)","\#(latest.singular)":\#(object)}"#)
                }
            }
        }
        table.add(.get, "/v2/stocks/snapshots", "The latest trade and quote and the minute, day and previous day bars of several symbols",
                  query: [Self.symbolsParameter, Self.currencyParameter, Self.feedParameter], answer: .ok(.map(.ref("Snapshot")))) { request, _ in
            try await handle(request) { _ in
                var objects: [String] = []
                for symbol in try Self.symbols(Query(request)) where marketData.offers(symbol) {
                    objects.append(#""\#(symbol)":\#(try await snapshot(symbol))"#)
                }
                return Self.json(text: "{" + objects.joined(separator: ",") + "}")
            }
        }
        table.add(.get, "/v2/stocks/:symbol/snapshot", "The latest trade and quote and the minute, day and previous day bars",
                  query: [Self.currencyParameter, Self.feedParameter], answer: .ok("Snapshot")) { request, context in
            try await handle(request) { _ in
                let symbol = try Self.listedSymbol(context)
                return Self.json(text: #"{"symbol":"\#(symbol)","# + (try await snapshot(symbol)).dropFirst())
            }
        }
    }

    static let symbolsParameter = Parameter("symbols", .list, "Symbols, comma-separated (required)")
    static let currencyParameter = Parameter("currency", .choice(["USD"]), "Prices are in US dollars")
    /// Alpaca's feeds are other venues' data; Bourse serves its own.
    static let feedParameter = Parameter("feed", .unsupported("Bourse serves its own venue's data; leave feed out"), "Not supported")
    static let asofParameter = Parameter("asof", .unsupported("Bourse lists no symbol changes; leave asof out"), "Not supported")

    /// Bars, trades or quotes: a series each symbol has in time order.
    enum Series: Sendable {
        case bars, trades, quotes
        static let all: [Series] = [.bars, .trades, .quotes]

        var name: String {
            switch self {
            case .bars: "bars"
            case .trades: "trades"
            case .quotes: "quotes"
            }
        }

        /// The component each item of the series is.
        var item: String {
            switch self {
            case .bars: "Bar"
            case .trades: "Trade"
            case .quotes: "Quote"
            }
        }

        var summary: String {
            switch self {
            case .bars: "OHLCV bars from the venue's trades"
            case .trades: "Recorded trades"
            case .quotes: "Recorded quotes (each change of the top of the book)"
            }
        }

        var parameters: [Parameter] {
            var list = [
                Parameter("start", .time, "From this time (RFC 3339 or a date)"),
                Parameter("end", .time, "To this time (RFC 3339 or a date)"),
                Parameter.limit(default: 1_000, max: 10_000),
                Parameter("page_token", .text, "The next_page_token of the page before"),
                Parameter("sort", .choice(["asc", "desc"]), "asc (the default) or desc by time"),
                Routes.currencyParameter, Routes.feedParameter, Routes.asofParameter,
            ]
            if self == .bars {
                list.insert(Parameter("timeframe", .choice(Timeframe.allCases.map(\.rawValue)), "The bar's length (default 1Min)"), at: 0)
                list.append(Parameter("adjustment", .choice(["raw"]), "Bourse lists no corporate actions: bars are raw"))
            }
            return list
        }
    }

    enum Latest: String, CaseIterable {
        case trades, quotes, bars
        var singular: String { String(rawValue.dropLast()) }
        var item: String { singular.prefix(1).uppercased() + singular.dropFirst() }
    }

    /// The symbols a `symbols` parameter names, each once, in order; required.
    static func symbols(_ query: Query) throws -> [Symbol] {
        guard let names = query.list("symbols") else { throw Failure.unprocessable("symbols is required") }
        var seen = Set<Symbol>()
        return try names.compactMap { name in
            guard let symbol = try? Symbol(validating: name) else { throw Failure.unprocessable("symbols: \"\(name)\" is not a valid symbol") }
            return seen.insert(symbol).inserted ? symbol : nil
        }.sorted()
    }

    /// The symbol a path names; it must be valid (listed or not, its series are simply empty when not).
    static func listedSymbol(_ context: BasicRequestContext) throws -> Symbol {
        let text = context.parameters.get("symbol") ?? ""
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        return symbol
    }

    /// A page of a series for `symbols`, in symbol order then time order: at most `limit` items in all, and
    /// a token for the next page when more remain.
    private func series(_ series: Series, _ symbols: [Symbol], _ query: Query, single: Bool, _ request: Request) async throws -> Response {
        let (start, end) = (query.time("start") ?? 0, query.time("end") ?? Int64.max)
        let limit = query.integer("limit") ?? 1_000
        let descending = query["sort"] == "desc"
        let timeframe = query["timeframe"].flatMap(Timeframe.init) ?? .minute
        var token: API.PageToken?
        if let text = query["page_token"] {
            guard let read = API.PageToken(text), symbols.contains(read.symbol) else {
                throw Failure.unprocessable("page_token \"\(text)\" is not a page of this request")
            }
            token = read
        }
        if series != .bars {
            guard let history = marketData.history else { throw Failure.unavailable("this venue keeps no market history") }
            // A client sees the trades it was told of: the history holds what the stream sent before the request.
            try await marketDataCaughtUp()
            history.settle()
        }
        var closed = true
        let now = wallClockNanos()
        // Up to `count` items from `from` on (inclusive), each with its position.
        func fetch(_ symbol: Symbol, _ from: Int64?, _ count: Int) throws -> [(json: String, position: Int64)] {
            switch series {
            case .bars:
                let bars = marketData.bars(symbol, timeframe, from: start, to: end, limit: .max)
                let picked = descending ? bars.reversed().filter { $0.start <= (from ?? .max) }.prefix(count)
                    : bars.filter { $0.start >= (from ?? .min) }.prefix(count)
                closed = closed && picked.allSatisfy { timeframe.end(after: $0.start, calendar: calendar) <= now - 2_000_000_000 }
                return picked.map { ($0.json, $0.start) }
            case .trades:
                return try marketData.history!.trades(symbol.description, from: start, to: end, cursor: from.map { UInt64($0) },
                                                      descending: descending, limit: count).map { (API.trade($0), Int64($0.sequence)) }
            case .quotes:
                return try marketData.history!.quotes(symbol.description, from: start, to: end, cursor: from.map { UInt64($0) },
                                                      descending: descending, limit: count).map { (API.quote($0), Int64($0.sequence)) }
            }
        }
        var pages: [(Symbol, [String])] = []
        var next: API.PageToken?
        var remaining = limit
        for symbol in symbols where symbol >= (token?.symbol ?? symbol) {
            // One more than fits tells whether the series goes on.
            let items = try fetch(symbol, symbol == token?.symbol ? token?.position : nil, remaining + 1)
            if items.count > remaining {
                if remaining > 0 { pages.append((symbol, items.prefix(remaining).map(\.json))) }
                next = API.PageToken(symbol: symbol, position: items[remaining].position)
                break
            }
            if !items.isEmpty { pages.append((symbol, items.map(\.json))) }
            remaining -= items.count
        }
        let nextToken = next.map { "\"" + $0.text + "\"" } ?? "null"
        let body: String
        if single {
            let symbol = symbols[0]
            body = #"{"\#(series.name)":[\#(pages.first?.1.joined(separator: ",") ?? "")],"symbol":"\#(symbol)","next_page_token":\#(nextToken)}"#
        } else {
            let members = pages.map { #""\#($0.0)":[\#($0.1.joined(separator: ","))]"# }
            body = #"{"\#(series.name)":{\#(members.joined(separator: ","))},"next_page_token":\#(nextToken)}"#
        }
        guard series == .bars else { return Self.json(text: body) }
        // Closed bars never change: an answer whose bars have all closed may be cached for good. One with the
        // bar still open may not, but its ETag still spares sending it again unchanged.
        return Self.cached(body, request, cacheControl: closed ? "public, max-age=31536000, immutable" : "no-cache")
    }

    /// The latest trade, quote or minute bar of a symbol; nil when it has none.
    private func latest(_ latest: Latest, _ symbol: Symbol) async throws -> String? {
        switch latest {
        case .trades: return marketData.latestTrade(symbol).map(MarketFeed.trade)
        case .bars:
            let bars: [Bar] = marketData.bars(symbol, .minute, from: 0, to: .max, limit: .max)
            return bars.last?.json
        case .quotes:
            guard marketData.offers(symbol) else { return nil }
            let book = try await publishedBook(symbol, depth: 1)
            let (bid, ask) = (book.bids.first, book.asks.first)
            return API.quote(bidPrice: bid.map { $0.price.units }, bidSize: bid?.shown.shares ?? 0, askPrice: ask.map { $0.price.units },
                             askSize: ask?.shown.shares ?? 0, time: wallClockNanos())
        }
    }

    /// Alpaca's snapshot: the latest trade and quote, the current minute bar, today's bar and the day before's.
    private func snapshot(_ symbol: Symbol) async throws -> String {
        guard marketData.offers(symbol) else { throw Failure.notFound("symbol \(symbol) is not listed") }
        let quote = try await latest(.quotes, symbol) ?? "null"
        let now = wallClockNanos()
        let minute = marketData.bars(symbol, .minute, from: 0, to: .max, limit: .max).last
        let todayStart = Timeframe.day.start(now, calendar: calendar)
        let days = marketData.bars(symbol, .day, from: todayStart - 15 * 86_400_000_000_000, to: .max, limit: .max)
        let today = days.last.flatMap { $0.start == todayStart ? $0 : nil }
        let previous = days.last { $0.start < todayStart }
        func json(_ bar: Bar?) -> String { bar?.json ?? "null" }
        return #"{"latestTrade":\#(marketData.latestTrade(symbol).map(MarketFeed.trade) ?? "null"),"latestQuote":\#(quote),"minuteBar":\#(json(minute)),"dailyBar":\#(json(today)),"prevDailyBar":\#(json(previous))}"#
    }

    /// The book as the market data stream has published it, once the stream has applied every command
    /// acknowledged before this request (so a client sees its own orders): the best `depth` levels a side
    /// (default 10), each level's orders with `orders=true`, and the sequence numbers of the level 2 and 3
    /// messages it reflects, from which a subscriber continues after a gap.
    private func book(_ text: String, _ query: Query) async throws -> Response {
        guard let symbol = try? Symbol(validating: text) else { throw Failure.notFound("symbol \(text) is not listed") }
        let book = try await publishedBook(symbol, depth: query.integer("depth") ?? 10, orders: query.boolean("orders") ?? false)
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
        try await marketDataCaughtUp()
        guard let book = marketData.book(symbol, depth: depth, orders: orders) else { throw Failure.notFound("symbol \(symbol) is not listed") }
        return book
    }

    /// Waits until the market data projection has applied every command acknowledged before now.
    private func marketDataCaughtUp() async throws {
        if let problem = await projections.wait("market", for: try await venue.lastSequence()) {
            throw Failure(status: .serviceUnavailable, code: 50310000, message: problem)
        }
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
