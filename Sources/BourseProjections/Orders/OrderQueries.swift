import BourseCore

/// What the order projection's store answers: the same statements on either store.
public struct OrderQueries: Sendable {
    public let store: any ProjectionStore

    public init(store: any ProjectionStore) { self.store = store }

    /// The account's orders, newest first: ended ones (`closed`) or all.
    public func orders(account: UInt32, endedOnly: Bool, limit: Int) async throws -> [OrderRecord] {
        try await store.query("""
            SELECT * FROM orders WHERE account = ? \(endedOnly ? "AND ended = 1" : "") ORDER BY created_at DESC, id DESC LIMIT ?
            """, [.int(Int64(account)), .int(Int64(limit))]).compactMap(OrdersProjection.record)
    }

    public func order(_ id: UInt64, account: UInt32) async throws -> OrderRecord? {
        try await store.query("SELECT * FROM orders WHERE id = ? AND account = ?", [.int(Int64(bitPattern: id)), .int(Int64(account))])
            .first.flatMap(OrdersProjection.record)
    }

    /// One entry of an account's activities: a fill (from its execution), or cash or shares moved.
    public struct Activity: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case fill(orderID: UInt64, side: String, price: Int64, qty: Int64, leaves: Int64, fee: Int64, taker: Bool)
            /// `CSD`, `CSW` or `JNLS`, with the cash (signed) or the shares (signed) it moved.
            case transfer(code: String, symbol: String?, qty: Int64?, amount: Int64?)
        }

        public var sequence: Int64
        public var event: Int64
        public var time: Int64
        public var symbol: String?
        public var kind: Kind
    }

    /// The account's activities, newest first: fills merged with the others by where their events are in
    /// the journal (a trade's maker row before its taker's).
    public func activities(account: UInt32, limit: Int) async throws -> [Activity] {
        let arguments: [SQLValue] = [.int(Int64(account)), .int(Int64(limit))]
        let fills = try await store.query("""
            SELECT * FROM executions WHERE account = ? ORDER BY sequence DESC, event DESC, leg DESC LIMIT ?
            """, arguments).map { row in
            (key: [row.int("sequence")!, row.int("event")!, 1 + row.int("leg")!],
             activity: Activity(sequence: row.int("sequence")!, event: row.int("event")!, time: row.int("time")!, symbol: row.text("symbol"),
                                kind: .fill(orderID: UInt64(bitPattern: row.int("order_id")!), side: row.text("side")!, price: row.int("price")!,
                                            qty: row.int("qty")!, leaves: row.int("leaves")!, fee: row.int("fee")!, taker: row.int("leg") == 1)))
        }
        let others = try await store.query("SELECT * FROM activities WHERE account = ? ORDER BY sequence DESC, event DESC LIMIT ?",
                                           arguments).map { row in
            (key: [row.int("sequence")!, row.int("event")!, 0],
             activity: Activity(sequence: row.int("sequence")!, event: row.int("event")!, time: row.int("time")!, symbol: row.text("symbol"),
                                kind: .transfer(code: row.text("kind")!, symbol: row.text("symbol"), qty: row.int("qty"), amount: row.int("amount"))))
        }
        return (fills + others).sorted { $0.key.lexicographicallyPrecedes($1.key) }.suffix(limit).reversed().map(\.activity)
    }

    public struct PositionChange: Sendable, Equatable {
        public var symbol: String
        public var time: Int64
        public var reason: String
        public var change: Int64
        public var qty: Int64
        public var price: Int64
    }

    /// The account's position changes, newest first, optionally for one symbol.
    public func positionChanges(account: UInt32, symbol: String?, limit: Int) async throws -> [PositionChange] {
        let rows = try await store.query("""
            SELECT * FROM position_changes WHERE account = ? \(symbol == nil ? "" : "AND symbol = ?")
            ORDER BY sequence DESC, event DESC, leg DESC LIMIT ?
            """, [.int(Int64(account))] + (symbol.map { [.text($0)] } ?? []) + [.int(Int64(limit))])
        return rows.map { row in
            PositionChange(symbol: row.text("symbol")!, time: row.int("time")!, reason: row.text("reason")!, change: row.int("change")!,
                           qty: row.int("qty")!, price: row.int("price")!)
        }
    }
}
