import BourseCore

/// What the order projection's store answers: the same statements on either store.
public struct OrderQueries: Sendable {
    public let store: any ProjectionStore

    public init(store: any ProjectionStore) { self.store = store }

    /// Which of an account's orders a listing wants, as Alpaca's `GET /v2/orders` filters them.
    public struct OrderFilter: Sendable {
        public enum Status: String, Sendable { case open, closed, all }
        public var status = Status.open
        public var symbols: [String]?
        public var side: Side?
        /// Created strictly after and strictly before these times, nanoseconds.
        public var after: Int64?
        public var until: Int64?
        public var ascending = false
        public var limit = 50
        /// Legs are left out, to be listed under their parents (`legs(of:account:)`).
        public var nested = false

        public init() {}
    }

    /// The account's orders the filter picks, newest first unless it asks for oldest first.
    public func orders(account: UInt32, _ filter: OrderFilter) async throws -> [OrderRecord] {
        var conditions = ["account = ?"]
        var arguments: [SQLValue] = [.int(Int64(account))]
        // Nested, a list is open while any of its orders is: its parent is listed with the open ones.
        let openLegs = "id IN (SELECT parent FROM orders WHERE parent IS NOT NULL AND ended = 0)"
        switch (filter.status, filter.nested) {
        case (.open, false): conditions.append("ended = 0")
        case (.closed, false): conditions.append("ended = 1")
        case (.open, true): conditions.append("(ended = 0 OR \(openLegs))")
        case (.closed, true): conditions.append("ended = 1 AND NOT \(openLegs)")
        case (.all, _): break
        }
        if let symbols = filter.symbols {
            conditions.append("symbol IN (" + symbols.map { _ in "?" }.joined(separator: ", ") + ")")
            arguments += symbols.map { .text($0) }
        }
        if filter.nested { conditions.append("parent IS NULL") }
        if let side = filter.side {
            conditions.append("side = ?")
            arguments.append(.text(side.name))
        }
        if let after = filter.after {
            conditions.append("created_at > ?")
            arguments.append(.int(after))
        }
        if let until = filter.until {
            conditions.append("created_at < ?")
            arguments.append(.int(until))
        }
        let order = filter.ascending ? "ASC" : "DESC"
        return try await store.query("""
            SELECT * FROM orders WHERE \(conditions.joined(separator: " AND ")) ORDER BY created_at \(order), id \(order) LIMIT ?
            """, arguments + [.int(Int64(filter.limit))]).compactMap(OrdersProjection.record)
    }

    /// The legs of these orders, by parent, oldest first.
    public func legs(of parents: [UInt64], account: UInt32) async throws -> [UInt64: [OrderRecord]] {
        guard !parents.isEmpty else { return [:] }
        let marks = parents.map { _ in "?" }.joined(separator: ", ")
        let rows = try await store.query("SELECT * FROM orders WHERE account = ? AND parent IN (\(marks)) ORDER BY id",
                                         [.int(Int64(account))] + parents.map { .int(Int64(bitPattern: $0)) })
        return Dictionary(grouping: rows.compactMap(OrdersProjection.record), by: { $0.parent!.rawValue })
    }

    public func order(_ id: UInt64, account: UInt32) async throws -> OrderRecord? {
        try await store.query("SELECT * FROM orders WHERE id = ? AND account = ?", [.int(Int64(bitPattern: id)), .int(Int64(account))])
            .first.flatMap(OrdersProjection.record)
    }

    /// The order reports after `after` (an entry's sequence and a report's number in it) through the entry
    /// `through`, oldest first, at most `limit`: those of the orders `session` placed or asked about, or, when
    /// `accounts` is given, every report of those accounts.
    public func reports(session: String, accounts: [UInt32]?, after: (sequence: UInt64, number: Int), through: UInt64,
                        limit: Int) async throws -> [OrderReport] {
        let range: [SQLValue] = [.int(Int64(after.sequence)), .int(Int64(after.sequence)), .int(Int64(after.number)), .int(Int64(through))]
        let window = "(sequence > ? OR (sequence = ? AND number > ?)) AND sequence <= ?"
        let rows: [SQLRow]
        if let accounts {
            guard !accounts.isEmpty else { return [] }
            let marks = accounts.map { _ in "?" }.joined(separator: ", ")
            rows = try await store.query("SELECT * FROM order_reports WHERE account IN (\(marks)) AND \(window) ORDER BY sequence, number LIMIT \(limit)",
                                         accounts.map { .int(Int64($0)) } + range)
        } else {
            // Each side on its own index, merged: an OR across two columns would scan.
            rows = try await store.query("""
                SELECT * FROM (
                    SELECT * FROM (SELECT * FROM order_reports WHERE origin = ? AND \(window) ORDER BY sequence, number LIMIT \(limit)) mine
                    UNION
                    SELECT * FROM (SELECT * FROM order_reports WHERE request_origin = ? AND \(window) ORDER BY sequence, number LIMIT \(limit)) asked
                ) reports ORDER BY sequence, number LIMIT \(limit)
                """, [.text(session)] + range + [.text(session)] + range)
        }
        return rows.compactMap(OrderReport.init(row:))
    }

    /// Cash or shares moved in or out of an account, by Alpaca's activity code: deposits and withdrawals
    /// (a withdrawal returned by its bank or cancelled is a deposit back), shares moved, and cash journals.
    public enum TransferKind: String, Sendable, CaseIterable {
        case deposit = "CSD", withdrawal = "CSW", securities = "JNLS", cashJournal = "JNLC"
    }

    /// One entry of an account's activities: a fill (from its execution), or cash or shares moved.
    public struct Activity: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// `filled` is what the order had filled with this fill, counting it.
            case fill(orderID: UInt64, side: String, price: Int64, qty: Int64, leaves: Int64, fee: Int64, taker: Bool, filled: Int64)
            /// Cash (signed) or shares (signed) moved.
            case transfer(TransferKind, symbol: String?, qty: Int64?, amount: Int64?)
        }

        public var sequence: Int64
        public var event: Int64
        public var time: Int64
        public var symbol: String?
        public var kind: Kind
    }

    /// Which of an account's activities a listing wants, as Alpaca's `GET /v2/account/activities` filters
    /// them. An activity's place is (sequence, event, rank): rank 0 for a transfer, 1 + leg for a fill
    /// (the maker's row before the taker's).
    public struct ActivityFilter: Sendable {
        public var fills = true
        /// The transfers wanted; nil for all of them.
        public var transfers: [TransferKind]?
        /// Strictly after and strictly before these times, nanoseconds.
        public var after: Int64?
        public var until: Int64?
        public var ascending = false
        public var pageSize = 100
        /// Only activities past this place in the listing's direction (a page token).
        public var cursor: (sequence: Int64, event: Int64, rank: Int64)?

        public init() {}
    }

    /// The account's activities the filter picks, newest first unless it asks for oldest first: fills
    /// merged with the others by where their events are in the journal.
    public func activities(account: UInt32, _ filter: ActivityFilter) async throws -> [Activity] {
        func conditions(rank: String) -> (String, [SQLValue]) {
            var sql = ["account = ?"]
            var arguments: [SQLValue] = [.int(Int64(account))]
            if let after = filter.after { sql.append("time > ?"); arguments.append(.int(after)) }
            if let until = filter.until { sql.append("time < ?"); arguments.append(.int(until)) }
            if let c = filter.cursor {
                let op = filter.ascending ? ">" : "<"
                sql.append("(sequence \(op) ? OR (sequence = ? AND (event \(op) ? OR (event = ? AND \(rank) \(op) ?))))")
                arguments += [.int(c.sequence), .int(c.sequence), .int(c.event), .int(c.event), .int(c.rank)]
            }
            return (sql.joined(separator: " AND "), arguments)
        }
        let order = filter.ascending ? "ASC" : "DESC"
        var found: [(key: [Int64], activity: Activity)] = []
        if filter.fills {
            let (sql, arguments) = conditions(rank: "leg + 1")
            found += try await store.query("""
                SELECT *, (SELECT CAST(SUM(e.qty) AS BIGINT) FROM executions e WHERE e.account = executions.account AND e.order_id = executions.order_id
                           AND (e.sequence < executions.sequence OR (e.sequence = executions.sequence AND e.event <= executions.event))) AS filled
                FROM executions WHERE \(sql) ORDER BY sequence \(order), event \(order), leg \(order) LIMIT ?
                """, arguments + [.int(Int64(filter.pageSize))]).map { row in
                (key: [row.int("sequence")!, row.int("event")!, 1 + row.int("leg")!],
                 activity: Activity(sequence: row.int("sequence")!, event: row.int("event")!, time: row.int("time")!, symbol: row.text("symbol"),
                                    kind: .fill(orderID: UInt64(bitPattern: row.int("order_id")!), side: row.text("side")!, price: row.int("price")!,
                                                qty: row.int("qty")!, leaves: row.int("leaves")!, fee: row.int("fee")!, taker: row.int("leg") == 1,
                                                filled: row.int("filled") ?? row.int("qty")!)))
            }
        }
        if filter.transfers.map({ !$0.isEmpty }) ?? true {
            var (sql, arguments) = conditions(rank: "0")
            if let kinds = filter.transfers {
                sql += " AND kind IN (" + kinds.map { _ in "?" }.joined(separator: ", ") + ")"
                arguments += kinds.map { .text($0.rawValue) }
            }
            found += try await store.query("""
                SELECT * FROM activities WHERE \(sql) ORDER BY sequence \(order), event \(order) LIMIT ?
                """, arguments + [.int(Int64(filter.pageSize))]).map { row in
                (key: [row.int("sequence")!, row.int("event")!, 0],
                 activity: Activity(sequence: row.int("sequence")!, event: row.int("event")!, time: row.int("time")!, symbol: row.text("symbol"),
                                    kind: .transfer(TransferKind(rawValue: row.text("kind")!)!, symbol: row.text("symbol"), qty: row.int("qty"), amount: row.int("amount"))))
            }
        }
        let sorted = found.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        return (filter.ascending ? Array(sorted.prefix(filter.pageSize)) : Array(sorted.suffix(filter.pageSize).reversed())).map(\.activity)
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

extension OrderQueries {
    /// One change to an account's cash or holdings, from a fill or a transfer.
    public struct Holding: Sendable, Equatable {
        public var time: Int64
        public var symbol: String?
        /// Money units: a fill's proceeds less its fee (negative for a buy), a deposit or a withdrawal.
        public var cash: Int64
        public var shares: Int64
        /// A deposit, withdrawal or transfer of shares: value that came from outside rather than from trading.
        public var isFlow: Bool

        public init(time: Int64, symbol: String?, cash: Int64, shares: Int64, isFlow: Bool) {
            self.time = time
            self.symbol = symbol
            self.cash = cash
            self.shares = shares
            self.isFlow = isFlow
        }
    }

    /// Every change to the account's cash and holdings up to `until` (inclusive), oldest first.
    public func holdings(account: UInt32, until: Int64) async throws -> [Holding] {
        let arguments: [SQLValue] = [.int(Int64(account)), .int(until)]
        let fills = try await store.query("SELECT * FROM executions WHERE account = ? AND time <= ? ORDER BY sequence, event, leg",
                                          arguments).map { row -> (key: [Int64], holding: Holding) in
            let qty = row.int("qty")!, notional = row.int("price")! * qty, fee = row.int("fee")!
            let buy = row.text("side") == "buy"
            return ([row.int("sequence")!, row.int("event")!, 1 + row.int("leg")!],
                    Holding(time: row.int("time")!, symbol: row.text("symbol"), cash: (buy ? -notional : notional) - fee,
                            shares: buy ? qty : -qty, isFlow: false))
        }
        let others = try await store.query("SELECT * FROM activities WHERE account = ? AND time <= ? ORDER BY sequence, event",
                                           arguments).map { row -> (key: [Int64], holding: Holding) in
            ([row.int("sequence")!, row.int("event")!, 0],
             Holding(time: row.int("time")!, symbol: row.text("symbol"), cash: row.int("amount") ?? 0, shares: row.int("qty") ?? 0,
                     isFlow: true))
        }
        return (fills + others).sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.holding)
    }
}
