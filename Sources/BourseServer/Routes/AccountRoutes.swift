import BourseCore
import Hummingbird

/// The key's account: its balances, positions and what happened to them, and the listed symbols.
extension Routes {
    func addAccounts(to table: RouteTable) {
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
        table.add(.get, "/v2/account/activities", "Fills, deposits, withdrawals and transfers, newest first (?limit)") { request, _ in
            try await handle(request) { key in try await activities(key, request) }
        }
        table.add(.get, "/v1/account/positions/history", "Every change to the account's positions, newest first (?symbol, ?limit)") { request, _ in
            try await handle(request) { key in try await positionHistory(key, request) }
        }
    }

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
        return Self.json(positions.filter { $0.quantity.shares != 0 }.map { API.Position($0, exchange: exchanges[$0.symbol] ?? "") })
    }

    private func position(_ key: StoredKey, _ symbol: String) async throws -> Response {
        let id = AccountID(key.account)
        let positions = try await venue.positions(of: id)
        guard let position = positions.first(where: { $0.symbol.description == symbol && $0.quantity.shares != 0 }) else {
            throw Failure.notFound("position does not exist")
        }
        return Self.json(API.Position(position, exchange: exchanges[position.symbol] ?? ""))
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

    private func assets() async throws -> Response {
        let summaries = try await venue.symbols()
        return Self.json(summaries.map { s in
            API.Asset(id: s.symbol.uuid, exchange: exchanges[s.symbol] ?? "", symbol: s.symbol.description, name: s.symbol.description,
                      tradable: s.state == .open || s.state == .preOpen, shortable: s.easyToBorrow, easy_to_borrow: s.easyToBorrow)
        })
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
}
