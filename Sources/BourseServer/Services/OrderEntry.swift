import Foundation
import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import HTTPTypes

/// Placing an order, the one way both entry paths take: the router's `POST /v2/orders` and the order entry
/// handler on the event loop. It reads the request into the engine's order, claims the client order id,
/// and turns the venue's acknowledgement into the answer, counting each step in the metrics.
struct OrderEntry: Sendable {
    let venue: Venue
    let orders: OpenOrderIndex
    let limiter: RateLimiter
    let metrics: Metrics
    let keys: KeyStore

    typealias Failure = Routes.Failure

    /// A new order (or list) ready for the venue, its client order id claimed.
    struct Placing: Sendable {
        var submission: OrderRequest.Submission
        var order: NewOrder { submission.order }
        var clientOrderID: String?
        var note: [UInt8] { ClientOrderID.note(clientOrderID) }
    }

    /// The key of an API key and secret (in Alpaca's headers, or in HTTP Basic authentication as Alpaca's
    /// Broker API takes them), or of a web session's bearer token.
    func key(keyID: String?, secret: String?, authorization: String?) -> StoredKey? {
        if let keyID, let secret {
            return keys.authenticate(keyID: keyID, secret: secret)
        }
        guard let authorization else { return nil }
        if authorization.hasPrefix("Bearer ") {
            return keys.authenticate(token: String(authorization.dropFirst(7)), now: wallClockNanos())
        }
        if authorization.hasPrefix("Basic "), authorization.utf8.count <= 512,
           let decoded = Data(base64Encoded: String(authorization.dropFirst(6))),
           let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":") {
            return keys.authenticate(keyID: String(pair[..<colon]), secret: String(pair[pair.index(after: colon)...]))
        }
        return nil
    }

    /// The router's path (which counts the request before reading it): the order placed and its answer, or
    /// the failure that says why not.
    func place(_ request: OrderRequest, _ key: StoredKey) async throws(Failure) -> (HTTPResponse.Status, String) {
        let placing = try prepare(request, key)
        let received = monotonicNanos()
        let result: Result<Sequencer.Acknowledgement, Venue.Failure>
        do {
            result = .success(try await venue.execute(placing.submission.command, note: placing.note))
        } catch {
            result = .failure(error)
        }
        return placed(placing, result, received: received)
    }

    /// The order a request describes for the key's account, with its client order id claimed; throws the
    /// answer when the order is invalid or the id names another order.
    func prepare(_ request: OrderRequest, _ key: StoredKey) throws(Failure) -> Placing {
        switch request.submission(account: AccountID(key.account), newID: venue.newOrderID) {
        case .success(let submission): return try claim(submission, request.client_order_id)
        case .failure(.invalid(let message)): throw Failure.unprocessable(message)
        }
    }

    /// `prepare` for the order entry handler, which has not been through the router's checks: nil, with
    /// nothing done, when the router should answer instead (the order is invalid, or the key over its rate
    /// limit).
    func prepareWithinLimit(_ request: OrderRequest, _ key: StoredKey) throws(Failure) -> Placing? {
        guard case .success(let submission) = request.submission(account: AccountID(key.account), newID: venue.newOrderID),
              limiter.take(key.keyID) == nil else { return nil }
        metrics.count("bourse_order_requests_total", ["path": "event_loop"])
        return try claim(submission, request.client_order_id)
    }

    private func claim(_ submission: OrderRequest.Submission, _ clientOrderID: String?) throws(Failure) -> Placing {
        let order = submission.order
        if let clientOrderID, orders.claim(clientOrderID, account: order.account.rawValue, order: order.orderID.rawValue) != nil {
            throw Failure.unprocessable("client_order_id must be unique: \(clientOrderID) names another order")
        }
        return Placing(submission: submission, clientOrderID: clientOrderID)
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
            return Routes.errorText(Routes.failure(failure))
        }
        metrics.ackLatency.recordNanoseconds(monotonicNanos() - received)
        for event in ack.events {
            if case .orderRejected(_, _, let reason) = event {
                metrics.count("bourse_orders_total", ["outcome": "rejected"])
                metrics.count("bourse_order_rejections_total", ["reason": reason.code])
                return Routes.errorText(Self.rejection(reason))
            }
        }
        let placed: API.Order
        switch placing.submission {
        case .order(let order): placed = API.order(order, events: ack.events, at: ack.command.time, clientOrderID: placing.clientOrderID)
        case .list(let list): placed = API.order(list, events: ack.events, at: ack.command.time, clientOrderID: placing.clientOrderID)
        }
        metrics.count("bourse_orders_total", ["outcome": placed.status.rawValue])
        return (.ok, placed.json)
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
}
