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
    let node: DataDirectory.Node
    let keys: KeyStore
    let limiter: RateLimiter
    let metrics: Metrics
    let market: MarketFeed
    let updates: TradeUpdates
    /// A bearer token that may read `/metrics` (a scraper's); nil: only risk and admin keys may.
    var metricsToken: String? = nil
    static let keyIDHeader = HTTPField.Name("APCA-API-KEY-ID")!
    static let secretHeader = HTTPField.Name("APCA-API-SECRET-KEY")!
    /// Request bodies larger than this are refused.
    static let bodyBytesMax = 16 << 10

    var venue: Venue { node.venue }
    var calendar: ExchangeCalendar { node.calendar }
    var orders: OpenOrderIndex { node.orders.index }
    var orderQueries: OrderQueries { node.orderQueries }
    var projections: Projections { node.projections }
    /// The market data projection: books, bars and latest trades.
    var marketData: MarketProjection { node.market }
    var alerts: Alerts { node.alerts }
    /// Each symbol's primary listing market, from the configuration.
    var exchanges: [Symbol: String] { node.exchanges }

    /// Every route, one resource at a time; the OpenAPI document is made from the table at the end.
    func add(to router: Router<BasicRequestContext>) {
        let known = UnknownRoutes.Known()
        router.middlewares.add(UnknownRoutes(known: known))
        let table = RouteTable(router: router, metrics: metrics, known: known)
        addHealth(to: table)
        addSessions(to: table)
        for mount in [Mount.own, .broker] {
            addAccounts(to: table, at: mount)
            addPositions(to: table, at: mount)
            addWatchlists(to: table, at: mount)
            addOrders(to: table, at: mount)
        }
        addAssets(to: table)
        addMarketData(to: table)
        addCalendar(to: table)
        addAlerts(to: table)
        addBrokerAccounts(to: table)
        addFunding(to: table)
        addJournals(to: table)
        addEvents(to: table)
        addTrades(to: table)
        addBusinessDate(to: table)
        addCaptureQueue(to: table)
        addCaptureFiles(to: table)
        addCorporateActions(to: table)
        addReconciliations(to: table)
        addLedger(to: table)
        addRisk(to: table)
        Admin(venue: venue).add(to: table, handle: handle)
        ProjectionAdmin(projections: projections, fixSessions: node.fixSessions).add(to: table, handle: handle)
        WebUI.add(to: table)
        let document = table.openAPI()
        table.add(.get, "/openapi.json", "This document", authenticated: false, answer: .ok(.anyObject)) { _, _ in
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

    /// The key a request authenticates with: an API key and secret in Alpaca's headers, or a web session's
    /// bearer token.
    func key(_ headers: HTTPFields) -> StoredKey? {
        key(keyID: headers[Self.keyIDHeader], secret: headers[Self.secretHeader], authorization: headers[.authorization])
    }

    /// The key of those headers' values.
    func key(keyID: String?, secret: String?, authorization: String?) -> StoredKey? {
        entry.key(keyID: keyID, secret: secret, authorization: authorization)
    }

    /// Placing orders, as the event-loop path places them too.
    var entry: OrderEntry { OrderEntry(venue: venue, orders: orders, limiter: limiter, metrics: metrics, keys: keys) }

    static let credentialHeaders: [HTTPField.Name] = [keyIDHeader, secretHeader, .authorization]

    /// Authenticates, runs the handler and turns failures into Alpaca's error bodies.
    func handle(_ request: Request, _ body: (StoredKey) async throws -> Response) async throws -> Response {
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

    // MARK: - Helpers

    /// Runs a change to one of the venue's service databases (watchlists, the firms' records), turning its
    /// refusals into answers.
    func refusing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let refusal as RecordRefusal {
            switch refusal {
            case .invalid(let message): throw Failure.unprocessable(message)
            case .notFound(let message): throw Failure.notFound(message)
            }
        }
    }

    /// The body as JSON of `T`, or the failure that says what is wrong with it.
    static func decode<T: Decodable>(_ body: ByteBuffer?) throws -> T {
        guard let body else {
            throw Failure(status: .contentTooLarge, code: 41310000, message: "the request body is larger than \(bodyBytesMax) bytes")
        }
        do {
            let value = try body.withUnsafeReadableBytes { bytes throws(JSONValue.Malformed) in try JSONValue.parse(bytes) }
            return try BodyDecoder.decode(T.self, from: value)
        } catch let error as JSONValue.Malformed {
            throw Failure.unprocessable(error.message)
        } catch let error as BodyDecoder.UnknownField {
            throw Failure.unprocessable("\(error.path) is not a field of this request")
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
