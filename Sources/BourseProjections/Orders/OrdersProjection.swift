import BourseCore
import BourseNode
import Synchronization

/// The order projection: every order's last state, executions, account activities and position changes,
/// from one `OrderLifecycle` whose changes also feed the open-order index (`index`) and, for entries never
/// told before, whoever listens live (the trading stream). A transaction writes each order once, in its
/// last state, however often its entries changed it. Rows are keyed by order id, which names one order:
/// the gateways assign ids counting up and never use one twice (the engine would take an ended order's id
/// again; a journal that did so would keep only the last order of that id here).
public final class OrdersProjection: Projection, @unchecked Sendable {
    public let name = "orders"
    public let schema = OrdersProjection.tables
    /// Open orders, client order ids and GTD expiries, for the gateways; kept by this projection.
    public let index = OpenOrderIndex()
    private let listeners = Mutex<[@Sendable (Published, [OrderChange]) -> Void]>([])
    private let reportListeners = Mutex<[@Sendable ([OrderReport]) -> Void]>([])
    /// Sessions waiting on the order reports live, each counted while it waits.
    private let waiting = Atomic<Int>(0)

    // The runner thread's own.
    private var positions: [PositionKey: Int64] = [:]
    private var pending: [UInt64: (record: OrderRecord, sequence: Int64)] = [:]
    /// Orders in the order they first changed in the transaction, so that rows are written in a stable order.
    private var pendingIDs: [UInt64] = []
    /// The transaction's order reports, written together at its end.
    private var pendingReports: [OrderReport] = []

    struct PositionKey: Hashable {
        var account: UInt32
        var symbol: Symbol
    }

    public init() {}

    static let reportEntriesKept: Int64 = 20_000_000
    static let reportPruneEvery: Int64 = 100_000

    /// `listener` is told, on the projection's thread, each entry never told before and the changes it
    /// made to orders (possibly none).
    public func listen(_ listener: @escaping @Sendable (Published, [OrderChange]) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// `listener` is told, on the projection's thread, the order reports of each entry never told before
    /// that has any (the same reports the `order_reports` table receives).
    public func listenReports(_ listener: @escaping @Sendable ([OrderReport]) -> Void) {
        reportListeners.withLock { $0.append(listener) }
    }

    /// A session starts or stops waiting on the order reports live: while any waits, entries are applied
    /// as soon as they come.
    public func waitForReports(_ starts: Bool) { waiting.add(starts ? 1 : -1, ordering: .relaxed) }

    public var isPrompt: Bool { waiting.load(ordering: .relaxed) > 0 }

    public func load(from store: any ProjectionStore) throws {
        let open = try store.querySynchronously("SELECT * FROM orders WHERE ended = 0", []).compactMap(Self.record)
        let claims = try store.querySynchronously("""
            SELECT account, client_order_id, id FROM orders WHERE client_order_id IS NOT NULL ORDER BY id DESC LIMIT ?
            """, [.int(Int64(OpenOrderIndex.clientOrderIDsMax))]).map { row in
            (UInt32(row.int("account")!), row.text("client_order_id")!, UInt64(bitPattern: row.int("id")!))
        }
        index.load(open: open, claims: claims)
        positions = [:]
        for row in try store.querySynchronously("""
            SELECT account, symbol, qty FROM (
                SELECT account, symbol, qty,
                    row_number() OVER (PARTITION BY account, symbol ORDER BY sequence DESC, event DESC, leg DESC) AS n
                FROM position_changes) latest
            WHERE n = 1
            """, []) {
            guard let symbol = try? Symbol(validating: row.text("symbol")!) else { continue }
            positions[PositionKey(account: UInt32(row.int("account")!), symbol: symbol)] = row.int("qty")
        }
        pending = [:]
        pendingIDs = []
        pendingReports = []
    }

    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        let sequence = Int64(published.command.sequence)
        let time = published.command.time.nanos
        let changes = index.apply(published)
        for change in changes {
            // An order refused for a duplicate id has the id of the open order it collided with: that
            // order's row stays (the refusal is told on the trading stream only).
            if change.event == .rejected, index.isOpen(change.record.order.orderID.rawValue) { continue }
            pend(change.record, sequence)
        }
        // A decrement changes an open order's quantity without an update of its own: its row follows it.
        for case .selfTradeDecremented(let id, let account, _, _) in published.events {
            if let record = index.openOrder(id.rawValue, account: account.rawValue) { pend(record, sequence) }
        }
        let reports = OrderReport.reports(published, changes) { [index] id, account in index.openOrder(id.rawValue, account: account.rawValue) }
        pendingReports.append(contentsOf: reports)
        // Reports are kept for the newest `reportEntriesKept` entries: by sequence alone, so that a rebuild
        // keeps the same rows. A FIX session away for longer resumes from the oldest kept.
        if sequence % Self.reportPruneEvery == 0, sequence > Self.reportEntriesKept {
            try writer.execute("DELETE FROM order_reports WHERE sequence <= ?", [.int(sequence - Self.reportEntriesKept)])
        }
        if isNew {
            for listener in listeners.withLock({ $0 }) { listener(published, changes) }
            if !reports.isEmpty {
                for listener in reportListeners.withLock({ $0 }) { listener(reports) }
            }
        }
        for (i, event) in published.events.enumerated() {
            let at: [SQLValue] = [.int(sequence), .int(Int64(i))]
            switch event {
            case .trade(let t):
                // The maker's row first, then the taker's: the order the account's activities list them in.
                for (leg, account, order, side, fee, leaves) in [
                    (0, t.makerAccount, t.makerOrderID, t.takerSide.opposite, t.makerFee, t.makerLeaves),
                    (1, t.takerAccount, t.takerOrderID, t.takerSide, t.takerFee, t.takerLeaves),
                ] {
                    try writer.execute("""
                        INSERT INTO executions (sequence, event, leg, execution_id, account, order_id, symbol, side, price, qty, leaves, fee, time)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, at + [.int(Int64(leg)), .int(Int64(bitPattern: t.executionID.rawValue)), .int(Int64(account.rawValue)),
                                   .int(Int64(bitPattern: order.rawValue)), .text(t.symbol.description), .text(side.name),
                                   .int(t.price.units), .int(t.quantity.shares), .int(leaves.shares), .int(fee.units), .int(time)])
                    let signed = side == .buy ? t.quantity.shares : -t.quantity.shares
                    try position(account, t.symbol, change: signed, price: t.price.units, reason: "fill", at + [.int(Int64(leg))], time, writer)
                }
            case .securitiesTransferredIn(let account, let symbol, let qty, let cost):
                try position(account, symbol, change: qty.shares, price: cost.units, reason: "transfer_in", at + [.int(0)], time, writer)
                try activity(account, .securities, symbol: symbol, qty: qty.shares, amount: nil, at, time, writer)
            case .securitiesTransferredOut(let account, let symbol, let qty):
                try position(account, symbol, change: -qty.shares, price: 0, reason: "transfer_out", at + [.int(0)], time, writer)
                try activity(account, .securities, symbol: symbol, qty: -qty.shares, amount: nil, at, time, writer)
            case .cashDeposited(let account, let amount):
                try activity(account, .deposit, symbol: nil, qty: nil, amount: amount.units, at, time, writer)
            case .cashWithdrawn(let account, let amount):
                try activity(account, .withdrawal, symbol: nil, qty: nil, amount: -amount.units, at, time, writer)
            case .journalPosted(let journal, let basis):
                switch journal.asset {
                case .cash(let amount):
                    try activity(journal.from, .cashJournal, symbol: nil, qty: nil, amount: -amount.units, at, time, writer)
                    try activity(journal.to, .cashJournal, symbol: nil, qty: nil, amount: amount.units, at, time, writer)
                case .shares(let symbol, let qty):
                    // The shares arrive at the cost per share they leave with.
                    let price = basis.units / qty.shares
                    try position(journal.from, symbol, change: -qty.shares, price: 0, reason: "journal_out", at + [.int(0)], time, writer)
                    try position(journal.to, symbol, change: qty.shares, price: price, reason: "journal_in", at + [.int(1)], time, writer)
                    try activity(journal.from, .securities, symbol: symbol, qty: -qty.shares, amount: nil, at, time, writer)
                    try activity(journal.to, .securities, symbol: symbol, qty: qty.shares, amount: nil, at, time, writer)
                }
            case .transferChanged(_, let request, let status, _):
                // Cash leaves the account when an outgoing transfer is queued, and comes back if it does not complete.
                let amount = request.amount.units
                switch (request.direction, status) {
                case (.incoming, .complete), (.outgoing, .rejected), (.outgoing, .canceled):
                    try activity(request.account, .deposit, symbol: nil, qty: nil, amount: amount, at, time, writer)
                case (.outgoing, .queued):
                    try activity(request.account, .withdrawal, symbol: nil, qty: nil, amount: -amount, at, time, writer)
                default:
                    break
                }
            default:
                break
            }
        }
    }

    private func pend(_ record: OrderRecord, _ sequence: Int64) {
        let id = record.order.orderID.rawValue
        if pending.updateValue((record, sequence), forKey: id) == nil { pendingIDs.append(id) }
    }

    public func flush(writer: any StoreWriter) throws {
        var start = 0
        while start < pendingReports.count {
            let chunk = pendingReports[start ..< min(start + OrderReport.rowsPerInsertMax, pendingReports.count)]
            try writer.execute(OrderReport.inserts[chunk.count], chunk.flatMap(\.row))
            start += chunk.count
        }
        pendingReports.removeAll(keepingCapacity: true)
        for id in pendingIDs {
            let (record, sequence) = pending[id]!
            try writer.execute(Self.upsertOrder, Self.row(record, sequence: sequence))
        }
        pending.removeAll(keepingCapacity: true)
        pendingIDs.removeAll(keepingCapacity: true)
    }

    private func position(_ account: AccountID, _ symbol: Symbol, change: Int64, price: Int64, reason: String,
                          _ at: [SQLValue], _ time: Int64, _ writer: any StoreWriter) throws {
        let key = PositionKey(account: account.rawValue, symbol: symbol)
        let quantity = positions[key, default: 0] + change
        positions[key] = quantity
        try writer.execute("""
            INSERT INTO position_changes (sequence, event, leg, account, symbol, time, reason, change, qty, price)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, at + [.int(Int64(account.rawValue)), .text(symbol.description), .int(time), .text(reason), .int(change),
                       .int(quantity), .int(price)])
    }

    private func activity(_ account: AccountID, _ kind: OrderQueries.TransferKind, symbol: Symbol?, qty: Int64?, amount: Int64?,
                          _ at: [SQLValue], _ time: Int64, _ writer: any StoreWriter) throws {
        try writer.execute("""
            INSERT INTO activities (sequence, event, account, kind, time, symbol, qty, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, at + [.int(Int64(account.rawValue)), .text(kind.rawValue), .int(time), symbol.map { .text($0.description) } ?? .null,
                       qty.map(SQLValue.int) ?? .null, amount.map(SQLValue.int) ?? .null])
    }
}
