import BourseCore

/// The order projection's tables, and how an order becomes a row and back. Every key comes from the
/// journal (an order id, or where an event is: its sequence, its place among the command's events and
/// the side of a trade), so a projection resumed after crashes and one rebuilt from zero hold the same rows.
extension OrdersProjection {
    static let tables = ProjectionSchema(version: 5, tables: [
        .init("orders", key: "id"),
        .init("executions", key: "sequence, event, leg"),
        .init("activities", key: "sequence, event, account"),
        .init("position_changes", key: "sequence, event, leg"),
    ], statements: [
        """
        CREATE TABLE orders (
            id {int} PRIMARY KEY, account {int} NOT NULL, client_order_id TEXT, symbol TEXT NOT NULL,
            side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL, qty {int} NOT NULL,
            filled_qty {int} NOT NULL, filled_notional TEXT NOT NULL, limit_price {int}, stop_price {int},
            expire_at {int}, status TEXT NOT NULL, ended {int} NOT NULL, created_at {int} NOT NULL,
            updated_at {int} NOT NULL, filled_at {int}, canceled_at {int}, expired_at {int},
            replaced_by {int}, replaces {int}, sequence {int} NOT NULL, terms {blob} NOT NULL, order_class TEXT, parent {int})
        """,
        "CREATE INDEX orders_by_parent ON orders (parent) WHERE parent IS NOT NULL",
        "CREATE INDEX orders_by_account ON orders (account, created_at)",
        "CREATE INDEX open_orders ON orders (ended) WHERE ended = 0",
        """
        CREATE TABLE executions (
            sequence {int} NOT NULL, event {int} NOT NULL, leg {int} NOT NULL, execution_id {int} NOT NULL,
            account {int} NOT NULL, order_id {int} NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
            price {int} NOT NULL, qty {int} NOT NULL, leaves {int} NOT NULL, fee {int} NOT NULL, time {int} NOT NULL,
            PRIMARY KEY (sequence, event, leg))
        """,
        "CREATE INDEX executions_by_account ON executions (account, sequence)",
        """
        CREATE TABLE activities (
            sequence {int} NOT NULL, event {int} NOT NULL, account {int} NOT NULL, kind TEXT NOT NULL,
            time {int} NOT NULL, symbol TEXT, qty {int}, amount {int}, PRIMARY KEY (sequence, event, account))
        """,
        "CREATE INDEX activities_by_account ON activities (account, sequence)",
        """
        CREATE TABLE position_changes (
            sequence {int} NOT NULL, event {int} NOT NULL, leg {int} NOT NULL, account {int} NOT NULL,
            symbol TEXT NOT NULL, time {int} NOT NULL, reason TEXT NOT NULL, change {int} NOT NULL,
            qty {int} NOT NULL, price {int} NOT NULL, PRIMARY KEY (sequence, event, leg))
        """,
        "CREATE INDEX position_changes_by_account ON position_changes (account, symbol, sequence)",
    ])

    static let upsertOrder = """
        INSERT INTO orders (id, account, client_order_id, symbol, side, type, time_in_force, qty, filled_qty, filled_notional,
            limit_price, stop_price, expire_at, status, ended, created_at, updated_at, filled_at, canceled_at, expired_at,
            replaced_by, replaces, sequence, terms, order_class, parent)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET qty = excluded.qty, filled_qty = excluded.filled_qty,
            filled_notional = excluded.filled_notional, limit_price = excluded.limit_price, stop_price = excluded.stop_price,
            status = excluded.status, ended = excluded.ended, updated_at = excluded.updated_at, filled_at = excluded.filled_at,
            canceled_at = excluded.canceled_at, expired_at = excluded.expired_at, replaced_by = excluded.replaced_by,
            sequence = excluded.sequence, terms = excluded.terms, created_at = excluded.created_at, parent = excluded.parent
        """

    static func row(_ r: OrderRecord, sequence: Int64) -> [SQLValue] {
        var terms = ByteWriter(capacity: 128)
        terms.write(r.order)
        let o = r.order
        func int(_ v: Int64?) -> SQLValue { v.map(SQLValue.int) ?? .null }
        func id(_ v: OrderID?) -> SQLValue { int(v.map { Int64(bitPattern: $0.rawValue) }) }
        return [
            .int(Int64(bitPattern: o.orderID.rawValue)), .int(Int64(o.account.rawValue)), r.clientOrderID.map(SQLValue.text) ?? .null,
            .text(o.symbol.description), .text(o.side.name), .text(o.type.name), .text(o.timeInForce.name),
            .int(o.quantity.shares), .int(r.filled), .text(String(r.notional)), int(o.limitPrice?.units), int(o.stopPrice?.units),
            int(o.expireTime?.nanos), .text(r.status.rawValue), .int(r.isEnded ? 1 : 0), .int(r.created.nanos), .int(r.updated.nanos),
            int(r.filledAt?.nanos), int(r.canceledAt?.nanos), int(r.expiredAt?.nanos), id(r.replacedBy), id(r.replaces),
            .int(sequence), .blob(terms.bytes), r.orderClass.map { .text($0.name) } ?? .null, id(r.parent),
        ]
    }

    /// An order's row read back; nil for a row whose terms this build cannot read.
    static func record(_ row: SQLRow) -> OrderRecord? {
        guard let terms = row["terms"].blob else { return nil }
        let order: NewOrder? = terms.withUnsafeBytes { bytes in
            var reader = ByteReader(bytes)
            return try? reader.readNewOrder()
        }
        guard let order, let status = row.text("status").flatMap(OrderStatus.init), let created = row.int("created_at"), let updated = row.int("updated_at") else {
            return nil
        }
        func time(_ column: String) -> Timestamp? { row.int(column).map { Timestamp(nanos: $0) } }
        func id(_ column: String) -> OrderID? { row.int(column).map { OrderID(UInt64(bitPattern: $0)) } }
        var record = OrderRecord(order: order, filled: row.int("filled_qty") ?? 0,
                                 notional: row.text("filled_notional").flatMap { Int128($0) } ?? 0,
                                 status: status, created: Timestamp(nanos: created), updated: Timestamp(nanos: updated))
        record.filledAt = time("filled_at")
        record.canceledAt = time("canceled_at")
        record.expiredAt = time("expired_at")
        record.replacedBy = id("replaced_by")
        record.replaces = id("replaces")
        record.clientOrderID = row.text("client_order_id")
        record.orderClass = row.text("order_class").flatMap { name in OrderClass.allCases.first { $0.name == name } }
        record.parent = id("parent")
        return record
    }
}
