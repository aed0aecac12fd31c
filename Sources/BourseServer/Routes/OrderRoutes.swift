import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import HTTPTypes
import Hummingbird

/// Orders: placing, replacing and cancelling them through the venue, and reading them back.
extension Routes {
    func addOrders(to table: RouteTable, at mount: Mount) {
        table.add(.get, mount.prefix + "/orders", "The account's orders, newest first by default", query: Self.orderFilters, answer: .list("Order")) { request, context in
            try await handle(request, mount, context) { key in try await listOrders(key, Query(request)) }
        }
        table.add(.post, mount.prefix + "/orders", "Place an order (prices and quantities as strings or numbers)", body: Schema.orderRequest, answer: .ok("Order")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request, mount, context) { key in try await placeOrder(key, body) }
        }
        table.add(.get, mount.prefix + "/orders:by_client_order_id", "The order a client order id names",
                  query: [Parameter("client_order_id", .text, "The client's id of the order (required)")], answer: .ok("Order")) { request, context in
            try await handle(request, mount, context) { key in try await orderByClientID(key, Query(request)) }
        }
        table.add(.delete, mount.prefix + "/orders", "Cancel every open order; 207 with each outcome",
                  answer: Answer(status: 207, schema: .array(.object([("id", .uuid), ("status", .integer)])))) { request, context in try await handle(request, mount, context) { key in try await cancelAll(key) } }
        table.add(.get, mount.prefix + "/orders/:id", "One order, open or ended", answer: .ok("Order")) { request, context in
            try await handle(request, mount, context) { key in try await openOrder(key, context.parameters.get("id") ?? "") }
        }
        table.add(.patch, mount.prefix + "/orders/:id", "Cancel/replace: new quantity or prices under a new id", body: Schema.replaceRequest, answer: .ok("Order")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request, mount, context) { key in try await replaceOrder(key, context.parameters.get("id") ?? "", body) }
        }
        table.add(.delete, mount.prefix + "/orders/:id", "Cancel an order", answer: .noContent) { request, context in
            try await handle(request, mount, context) { key in try await cancelOrder(key, context.parameters.get("id") ?? "") }
        }
    }

    static let orderFilters = [
        Parameter("status", .choice(["open", "closed", "all"]), "open (the default), closed or all"),
        Parameter.limit(default: 50, max: 500),
        Parameter("after", .time, "Only orders submitted after this time"),
        Parameter("until", .time, "Only orders submitted before this time"),
        Parameter("direction", .choice(["asc", "desc"]), "By submission time: desc (the default) or asc"),
        Parameter("nested", .boolean, "Show an order's legs under it rather than as orders of their own"),
        Parameter("side", .choice(["buy", "sell"]), "Only buys or only sells"),
        Parameter("symbols", .list, "Only orders in these symbols, comma-separated"),
    ]

    /// Orders as the order projection has them once it holds everything acknowledged before the request.
    private func listOrders(_ key: StoredKey, _ query: Query) async throws -> Response {
        var filter = OrderQueries.OrderFilter()
        filter.status = query["status"].flatMap(OrderQueries.OrderFilter.Status.init) ?? .open
        filter.limit = query.integer("limit") ?? 50
        filter.after = query.time("after")
        filter.until = query.time("until")
        filter.ascending = query["direction"] == "asc"
        filter.side = query["side"].map { $0 == "buy" ? .buy : .sell }
        filter.symbols = query.list("symbols")
        filter.nested = query.boolean("nested") ?? false
        try await requireHistory()
        let records = try await orderQueries.orders(account: key.account, filter)
        let legs = filter.nested
            ? try await orderQueries.legs(of: records.filter { $0.orderClass != nil }.map(\.order.orderID.rawValue), account: key.account)
            : [:]
        return Self.json(text: "[" + records.map { record in
            var o = API.order(record)
            if let mine = legs[record.order.orderID.rawValue] { o.legs = mine.map(API.order) }
            return o.json
        }.joined(separator: ",") + "]")
    }

    /// The order a path names: its UUID, or the engine's id in decimal (as the journal shows it).
    static func orderID(_ text: String) -> OrderID? {
        OrderID(uuid: text) ?? (text.utf8.allSatisfy { (0x30...0x39).contains($0) } ? UInt64(text).map(OrderID.init) : nil)
    }

    private func openOrder(_ key: StoredKey, _ text: String) async throws -> Response {
        guard let id = Self.orderID(text) else { throw Failure.notFound("order \(text) does not exist") }
        return try await order(key, id)
    }

    private func order(_ key: StoredKey, _ id: OrderID) async throws -> Response {
        try await requireHistory()
        if let open = orders.openOrder(id.rawValue, account: key.account) { return Self.json(text: API.order(open).json) }
        guard let record = try await orderQueries.order(id.rawValue, account: key.account) else {
            throw Failure.notFound("order \(id.uuid) does not exist")
        }
        return Self.json(text: API.order(record).json)
    }

    /// A client that timed out placing an order finds out here whether it was placed.
    private func orderByClientID(_ key: StoredKey, _ query: Query) async throws -> Response {
        guard let clientOrderID = query["client_order_id"] else {
            throw Failure.unprocessable("client_order_id is required")
        }
        guard let order = orders.order(clientOrderID: clientOrderID, account: key.account) else {
            throw Failure.notFound("no order has client_order_id \(clientOrderID)")
        }
        return try await self.order(key, OrderID(order))
    }

    /// The order projection, holding everything the venue had acknowledged when the request came: a client
    /// reads what it was told of. Answers from a projection that stopped would be stale: refused, saying why.
    func requireHistory() async throws {
        if let problem = await projections.wait("orders", for: try await venue.lastSequence()) {
            throw Failure(status: .serviceUnavailable, code: 50310000, message: problem)
        }
    }

    private func placeOrder(_ key: StoredKey, _ body: ByteBuffer?) async throws -> Response {
        metrics.count("bourse_order_requests_total", ["path": "router"])
        let request: OrderRequest = try body.flatMap { $0.withUnsafeReadableBytes(OrderRequest.plain) } ?? Self.decode(body)
        let (status, text) = try await entry.place(request, key)
        return Self.json(text: text, status: status)
    }

    /// Cancel/replace: the order continues under a new id with the new quantity and prices; the answer is
    /// the new order.
    private func replaceOrder(_ key: StoredKey, _ text: String, _ body: ByteBuffer?) async throws -> Response {
        let request: ReplaceRequest = try Self.decode(body)
        let account = AccountID(key.account)
        guard let id = Self.orderID(text), let open = try await venue.openOrders(of: account).first(where: { $0.orderID == id }) else {
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
                throw OrderEntry.rejection(reason)
            }
        }
        let order = NewOrder(orderID: replace.newOrderID, account: account, symbol: open.symbol, side: open.side, type: open.type,
                             timeInForce: open.timeInForce, quantity: replace.quantity,
                             limitPrice: replace.limitPrice ?? open.limitPrice, stopPrice: replace.stopPrice ?? open.stopPrice)
        let filledBefore = open.quantity.shares - open.leaves.shares
        var answer = API.order(order, events: ack.events, at: ack.command.time, filledBefore: filledBefore, clientOrderID: request.client_order_id)
        answer.replaces = open.orderID.uuid
        return Self.json(text: answer.json)
    }

    private func cancelOrder(_ key: StoredKey, _ text: String) async throws -> Response {
        guard let id = Self.orderID(text) else { throw Failure.notFound("order \(text) does not exist") }
        let ack = try await venue.execute(.cancel(CancelOrder(orderID: id, account: AccountID(key.account))))
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
        // Cancelling one order of a list ends the others with it: those are not cancelled again.
        var ended = Set<OrderID>()
        for order in open where !ended.contains(order.orderID) {
            let ack = try await venue.execute(.cancel(CancelOrder(orderID: order.orderID, account: account)))
            for case .orderCancelled(let id, _, _, _) in ack.events where id != order.orderID { ended.insert(id) }
            let cancelled = ack.events.contains { if case .orderCancelled(order.orderID, _, _, _) = $0 { true } else { false } }
            outcomes.append(CancelOutcome(id: order.orderID.uuid, status: cancelled ? 200 : 500))
        }
        outcomes += open.filter { ended.contains($0.orderID) }.map { CancelOutcome(id: $0.orderID.uuid, status: 200) }
        return Self.json(outcomes, status: HTTPResponse.Status(code: 207))
    }

    struct CancelOutcome: Encodable {
        var id: String
        var status: Int
    }
}
