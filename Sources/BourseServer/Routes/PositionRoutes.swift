import BourseCore
import Hummingbird

/// The key's account's positions: reading them, and closing one or all at market.
extension Routes {
    func addPositions(to table: RouteTable, at mount: Mount) {
        table.add(.get, mount.prefix + "/positions", "The account's open positions", answer: .list("Position")) { request, context in
            try await handle(request, mount, context) { key in try await positions(key) }
        }
        table.add(.delete, mount.prefix + "/positions", "Close every position at market, what no order holds; 207 with each outcome",
                  query: [Parameter("cancel_orders", .boolean, "Cancel the account's open orders first")],
                  answer: Answer(status: 207, schema: .array(Schema.closeOutcome))) { request, context in
            try await handle(request, mount, context) { key in try await closeAll(key, Query(request)) }
        }
        table.add(.get, mount.prefix + "/positions/:symbol_or_asset_id", "One open position, by symbol or asset id", answer: .ok("Position")) { request, context in
            try await handle(request, mount, context) { key in
                let position = try await position(key, context.parameters.get("symbol_or_asset_id") ?? "")
                return Self.json(API.Position(position, exchange: exchanges[position.symbol] ?? ""))
            }
        }
        table.add(.delete, mount.prefix + "/positions/:symbol_or_asset_id", "Close a position at market: all that no order holds, or qty shares, or a percentage",
                  query: [Parameter("qty", .text, "Whole shares to close"),
                          Parameter("percentage", .text, "Percent of the position to close, up to 100, rounded down to whole shares")],
                  answer: .ok("Order")) { request, context in
            try await handle(request, mount, context) { key in
                let position = try await position(key, context.parameters.get("symbol_or_asset_id") ?? "")
                return Self.json(text: try await close(position, key, shares: try Self.sharesToClose(position, Query(request))).get().json)
            }
        }
    }

    private func positions(_ key: StoredKey) async throws -> Response {
        let positions = try await venue.positions(of: AccountID(key.account))
        return Self.json(positions.filter { $0.quantity.shares != 0 }.map { API.Position($0, exchange: exchanges[$0.symbol] ?? "") })
    }

    /// The open position a path names by symbol or asset id.
    private func position(_ key: StoredKey, _ text: String) async throws -> PositionSummary {
        guard let symbol = Self.symbol(text) else { throw Failure.notFound("position does not exist: \(text) is neither a symbol nor an asset id") }
        let positions = try await venue.positions(of: AccountID(key.account))
        guard let position = positions.first(where: { $0.symbol == symbol && $0.quantity.shares != 0 }) else {
            throw Failure.notFound("position does not exist: the account holds no \(symbol)")
        }
        return position
    }

    /// A symbol named by its ticker or its asset id.
    static func symbol(_ text: String) -> Symbol? {
        Symbol(uuid: text) ?? (try? Symbol(validating: text))
    }

    /// Shares of the position no open order holds.
    static func available(_ p: PositionSummary) -> Int64 { Int64(p.quantity.shares.magnitude) - p.held.shares }

    /// How many shares a close takes: what `qty` or `percentage` says (a percentage of the whole position,
    /// rounded down to whole shares), else all that is available. More than is available is refused.
    static func sharesToClose(_ p: PositionSummary, _ query: Query) throws -> Int64 {
        let available = available(p)
        let shares: Int64
        switch (query["qty"], query["percentage"]) {
        case (nil, nil):
            shares = available
        case (let text?, nil):
            guard let qty = OrderRequest.WholeNumber.parse(text), qty > 0 else {
                throw Failure.unprocessable("qty must be a whole number of shares above zero, not \"\(text)\"")
            }
            shares = qty
        case (nil, let text?):
            // Four decimals of a percent, read exactly as a price is.
            guard let percent = Price(dollars: text), percent.units > 0, percent.units <= 1_000_000 else {
                throw Failure.unprocessable("percentage must be above 0 and at most 100 with at most four decimals, not \"\(text)\"")
            }
            let whole = Int64(p.quantity.shares.magnitude)
            shares = Int64(Int128(whole) * Int128(percent.units) / 1_000_000)
            guard shares > 0 else {
                throw Failure.unprocessable("percentage \(text) of \(whole) shares is less than one share")
            }
        case (_?, _?):
            throw Failure.unprocessable("give qty or percentage, not both")
        }
        guard available > 0 else {
            throw Failure(status: .forbidden, code: 40310000, message: "all \(p.quantity.shares.magnitude) shares of \(p.symbol) are held by open orders")
        }
        guard shares <= available else {
            throw Failure(status: .forbidden, code: 40310000,
                          message: "insufficient qty available for order (requested: \(shares), available: \(available), held for orders: \(p.held.shares))")
        }
        return shares
    }

    /// A market order for `shares` of the position, the way out of it (a sell of a long, a buy covering a
    /// short): the order as placed, or why it was refused.
    private func close(_ p: PositionSummary, _ key: StoredKey, shares: Int64) async throws -> Result<API.Order, Failure> {
        let order = NewOrder(orderID: venue.newOrderID(), account: AccountID(key.account), symbol: p.symbol,
                             side: p.quantity.shares > 0 ? .sell : .buy, type: .market, timeInForce: .day, quantity: Quantity(shares))
        let ack = try await venue.execute(.newOrder(order))
        for event in ack.events {
            if case .orderRejected(_, _, let reason) = event { return .failure(OrderEntry.rejection(reason)) }
        }
        return .success(API.order(order, events: ack.events, at: ack.command.time))
    }

    /// Closes every position, after cancelling the open orders if asked: one outcome per position, as
    /// Alpaca answers (`symbol`, `status`, and the order or why there is none).
    private func closeAll(_ key: StoredKey, _ query: Query) async throws -> Response {
        let account = AccountID(key.account)
        if query.boolean("cancel_orders") == true {
            for order in try await venue.openOrders(of: account) {
                _ = try await venue.execute(.cancel(CancelOrder(orderID: order.orderID, account: account)))
            }
        }
        var outcomes: [String] = []
        for p in try await venue.positions(of: account) where p.quantity.shares != 0 {
            let available = Self.available(p)
            let outcome = available > 0 ? try await close(p, key, shares: available)
                : .failure(Failure(status: .forbidden, code: 40310000, message: "all \(p.quantity.shares.magnitude) shares of \(p.symbol) are held by open orders"))
            switch outcome {
            case .success(let order):
                outcomes.append(#"{"symbol":"\#(p.symbol)","status":200,"order_id":"\#(order.id)","body":\#(order.json)}"#)
            case .failure(let failure):
                let body = #"{"code":\#(failure.code),"message":\#(API.quoted(failure.message)),"symbol":"\#(p.symbol)","available":\#(available),"existing_qty":\#(p.quantity.shares),"held_for_orders":\#(p.held.shares)}"#
                outcomes.append(#"{"symbol":"\#(p.symbol)","status":\#(failure.status.code),"order_id":null,"body":\#(body)}"#)
            }
        }
        return Self.json(text: "[" + outcomes.joined(separator: ",") + "]", status: HTTPResponse.Status(code: 207))
    }
}
