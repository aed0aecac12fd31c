import BourseCore

/// The order projection's tables, and how an order becomes a row and back. Every key comes from the
/// journal (an order id, or where an event is: its sequence, its place among the command's events and
/// the side of a trade), so a projection resumed after crashes and one rebuilt from zero hold the same rows.
extension OrdersProjection {
    static let tables = ProjectionSchema(version: 8, tables: [
        .init("orders", key: "id"),
        .init("executions", key: "sequence, event, leg"),
        .init("activities", key: "sequence, event, account"),
        .init("position_changes", key: "sequence, event, leg"),
        .init("order_reports", key: "sequence, number"),
    ], statements: [
        """
        CREATE TABLE orders (
            id {int} PRIMARY KEY, account {int} NOT NULL, client_order_id TEXT, symbol TEXT NOT NULL,
            side TEXT NOT NULL, type TEXT NOT NULL, time_in_force TEXT NOT NULL, qty {int} NOT NULL,
            filled_qty {int} NOT NULL, filled_notional TEXT NOT NULL, limit_price {int}, stop_price {int},
            expire_at {int}, status TEXT NOT NULL, ended {int} NOT NULL, created_at {int} NOT NULL,
            updated_at {int} NOT NULL, filled_at {int}, canceled_at {int}, expired_at {int},
            replaced_by {int}, replaces {int}, sequence {int} NOT NULL, terms {blob} NOT NULL, order_class TEXT, parent {int},
            origin TEXT)
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
        """
        CREATE TABLE order_reports (
            sequence {int} NOT NULL, number {int} NOT NULL, time {int} NOT NULL, kind TEXT NOT NULL, account {int} NOT NULL,
            origin TEXT, request_origin TEXT, order_id {int} NOT NULL, terms {blob}, client_order_id TEXT, request_id TEXT,
            orig_client_order_id TEXT, filled_qty {int} NOT NULL, avg_price {int} NOT NULL, leaves_qty {int} NOT NULL,
            last_price {int}, last_qty {int}, execution_id {int}, reason TEXT, text TEXT, PRIMARY KEY (sequence, number))
        """,
        // A drop copy reads by account; an order entry session by the session that placed or asked, which only
        // FIX's rows have (partial indexes: the rest pay nothing for them).
        "CREATE INDEX order_reports_by_account ON order_reports (account, sequence, number)",
        "CREATE INDEX order_reports_by_origin ON order_reports (origin, sequence, number) WHERE origin IS NOT NULL",
        "CREATE INDEX order_reports_by_request_origin ON order_reports (request_origin, sequence, number) WHERE request_origin IS NOT NULL",
    ])

    static let upsertOrder = """
        INSERT INTO orders (id, account, client_order_id, symbol, side, type, time_in_force, qty, filled_qty, filled_notional,
            limit_price, stop_price, expire_at, status, ended, created_at, updated_at, filled_at, canceled_at, expired_at,
            replaced_by, replaces, sequence, terms, order_class, parent, origin)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET account = excluded.account, client_order_id = excluded.client_order_id,
            symbol = excluded.symbol, side = excluded.side, type = excluded.type, time_in_force = excluded.time_in_force,
            qty = excluded.qty, filled_qty = excluded.filled_qty, filled_notional = excluded.filled_notional,
            limit_price = excluded.limit_price, stop_price = excluded.stop_price, expire_at = excluded.expire_at,
            status = excluded.status, ended = excluded.ended, created_at = excluded.created_at,
            updated_at = excluded.updated_at, filled_at = excluded.filled_at, canceled_at = excluded.canceled_at,
            expired_at = excluded.expired_at, replaced_by = excluded.replaced_by, replaces = excluded.replaces,
            sequence = excluded.sequence, terms = excluded.terms, order_class = excluded.order_class,
            parent = excluded.parent, origin = excluded.origin
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
            r.origin.map(SQLValue.text) ?? .null,
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
        record.origin = row.text("origin")
        return record
    }
}

extension OrderReport {
    /// Rows written by one statement at most: a transaction's reports go in a few statements, not one each.
    static let rowsPerInsertMax = 32

    /// The insert of `rows` reports, made once per count.
    static let inserts: [String] = (0 ... rowsPerInsertMax).map { rows in
        let values = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
        return """
            INSERT INTO order_reports (sequence, number, time, kind, account, origin, request_origin, order_id, terms, client_order_id,
                request_id, orig_client_order_id, filled_qty, avg_price, leaves_qty, last_price, last_qty, execution_id, reason, text)
            VALUES \(values)
            """
    }

    var row: [SQLValue] {
        func text(_ v: String?) -> SQLValue { v.map(SQLValue.text) ?? .null }
        func int(_ v: Int64?) -> SQLValue { v.map(SQLValue.int) ?? .null }
        var terms: SQLValue = .null
        if let order {
            var writer = ByteWriter(capacity: 128)
            writer.write(order)
            terms = .blob(writer.bytes)
        }
        return [
            .int(Int64(sequence)), .int(Int64(number)), .int(time.nanos), .text(kind.rawValue), .int(Int64(account)), text(origin),
            text(requestOrigin), .int(Int64(bitPattern: orderID.rawValue)), terms, text(clientOrderID), text(requestID),
            text(origClientOrderID), .int(filled), .int(averagePrice), .int(leaves), int(lastPrice?.units), int(lastQuantity),
            int(executionID.map { Int64(bitPattern: $0) }), text(reason), text(self.text),
        ]
    }

    /// A report's row read back; nil for a row this build cannot read.
    init?(row: SQLRow) {
        guard let sequence = row.int("sequence"), let number = row.int("number"), let time = row.int("time"),
              let kind = row.text("kind").flatMap(Kind.init), let account = row.int("account"), let id = row.int("order_id") else { return nil }
        var order: NewOrder?
        if let terms = row["terms"].blob {
            order = terms.withUnsafeBytes { bytes in
                var reader = ByteReader(bytes)
                return try? reader.readNewOrder()
            }
            guard order != nil else { return nil }
        }
        self.init(sequence: UInt64(sequence), number: Int(number), time: Timestamp(nanos: time), kind: kind, account: UInt32(account),
                  origin: row.text("origin"), requestOrigin: row.text("request_origin"), orderID: OrderID(UInt64(bitPattern: id)),
                  order: order, clientOrderID: row.text("client_order_id"), requestID: row.text("request_id"),
                  origClientOrderID: row.text("orig_client_order_id"), filled: row.int("filled_qty") ?? 0,
                  averagePrice: row.int("avg_price") ?? 0, leaves: row.int("leaves_qty") ?? 0,
                  lastPrice: row.int("last_price").map { Price(units: $0) }, lastQuantity: row.int("last_qty"),
                  executionID: row.int("execution_id").map { UInt64(bitPattern: $0) }, reason: row.text("reason"), text: row.text("text"))
    }
}
