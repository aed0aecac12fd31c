import BourseCore
import BourseNode
import BourseProjections

/// Post-trade's audit log: every post-trade transaction the journal holds (captures, cancellations,
/// rollovers, each settlement outcome and mark, corporate actions, and margin calls) as one record of a hash chain
/// (`AuditChain`), numbered from 1 and dated with the business date it belongs to. A projection like the
/// others, so it is rebuilt from the journal to the same records and the same hashes; `bourse audit
/// verify` walks it and names the first record that does not hold.
public final class AuditProjection: Projection, @unchecked Sendable {
    public let name = "audit"
    public let schema = AuditProjection.tables

    /// The runner thread's own: the last record written, which the next one links to, and the business date.
    private var last: AuditChain.Record?
    private var businessDate: CivilDate?

    public init() {}

    static let tables = ProjectionSchema(version: 1, tables: [.init("pt_audit", key: "number")], statements: [
        """
        CREATE TABLE pt_audit (
            number {int} PRIMARY KEY, business_date {int} NOT NULL, kind TEXT NOT NULL, body {blob} NOT NULL,
            previous {blob} NOT NULL, hash {blob} NOT NULL, sequence {int} NOT NULL)
        """,
    ])

    public func load(from store: any ProjectionStore) throws {
        last = try store.querySynchronously("SELECT * FROM pt_audit ORDER BY number DESC LIMIT 1", []).first.map(Self.record)
        businessDate = last?.businessDate
    }

    public func apply(_ published: Published, isNew: Bool, writer: any StoreWriter) throws {
        for event in published.events {
            if case .businessDateRolled(let roll) = event { businessDate = roll.to }
            guard let kind = Self.kind(event) else { continue }
            // The event in the journal's own encoding, after the sequence of the command that made it.
            var w = ByteWriter(capacity: 128)
            w.writeVarint(published.command.sequence)
            w.write(event)
            let record = AuditChain.append(after: last, businessDate: businessDate ?? CivilDate(daysSinceEpoch: 0), kind: kind, body: w.bytes)
            try writer.execute("""
                INSERT INTO pt_audit (number, business_date, kind, body, previous, hash, sequence) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.int(Int64(record.number)), .int(Int64(record.businessDate.daysSinceEpoch)), .text(kind), .blob(record.body),
                      .blob(record.previous), .blob(record.hash), .int(Int64(published.command.sequence))])
            last = record
        }
    }

    /// The post-trade transactions the log keeps, by name; nil for the others.
    static func kind(_ event: Event) -> String? {
        switch event {
        case .businessDateRolled: "business_date_rolled"
        case .tradeCaptured: "trade_captured"
        case .tradeCancelled: "trade_cancelled"
        case .tradeCleared: "trade_cleared"
        case .obligationSettled: "obligation_settled"
        case .failMarked: "fail_marked"
        case .dividendDeclared: "dividend_declared"
        case .splitDeclared: "split_declared"
        case .dividendRecorded: "dividend_recorded"
        case .dividendPaid: "dividend_paid"
        case .positionSplit: "position_split"
        // The risk desk's decisions over an account: its calls, and when their liquidation began.
        case .marginCallChanged: "margin_call"
        default: nil
        }
    }

    public static func record(_ row: SQLRow) -> AuditChain.Record {
        AuditChain.Record(number: UInt64(row.int("number")!), businessDate: CivilDate(daysSinceEpoch: Int(row.int("business_date")!)),
                          kind: row.text("kind")!, body: row["body"].blob ?? [], previous: row["previous"].blob ?? [], hash: row["hash"].blob ?? [])
    }

    /// Walks the log in pages, in order; nil when the chain holds, else where it breaks. `checked` counts the records read.
    public static func verify(_ store: any ProjectionStore, checked: inout UInt64) throws -> AuditChain.Break? {
        var previous = AuditChain.genesis
        var next: UInt64 = 1
        while true {
            let rows = try store.querySynchronously("SELECT * FROM pt_audit WHERE number >= ? ORDER BY number LIMIT 10000", [.int(Int64(next))])
            let records = rows.map(record)
            if let broken = AuditChain.verify(records, from: next, previous: previous) { return broken }
            guard let last = records.last else { return nil }
            checked += UInt64(records.count)
            (previous, next) = (last.hash, last.number + 1)
        }
    }
}
