import BourseProjections
import Foundation

/// Leadership of a venue: a lease in a PostgreSQL row, timed by the database's clock alone (the nodes'
/// clocks may disagree; the database's is the one both ask). Taking a lease that has run out makes a new
/// term, one more than the last; only the holder of the current term may extend it.
///
/// The lease decides who should lead, not who can: a node that still believes it leads after its lease
/// was taken (frozen, or cut off from the database) cannot commit to the venue's log any more, because the
/// new leader's transactional producer fenced its own. With synchronous replication it therefore
/// acknowledges nothing.
public final class Lease: @unchecked Sendable {
    public struct Holding: Sendable, Equatable, CustomStringConvertible {
        public var term: UInt64
        public var holder: String
        /// Where the holder serves, for clients that asked another node.
        public var url: String
        /// Milliseconds until it runs out by the database's clock; negative once it has.
        public var remainingMs: Int64
        public var description: String { "term \(term) held by \(holder) at \(url)" }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static let holderLengthMax = 200
    public static let durationMsRange: ClosedRange<Int> = 500...600_000

    public let venue: String
    public let holder: String
    public let url: String
    public let durationMs: Int
    private let store: PostgresStore

    /// Connects and makes the lease table if it is missing.
    public init(location: String, venue: String, holder: String, url: String, durationMs: Int) throws {
        precondition(Self.durationMsRange.contains(durationMs), "a lease lasts \(Self.durationMsRange) ms")
        precondition(holder.utf8.count <= Self.holderLengthMax && url.utf8.count <= Self.holderLengthMax, "holder and url are bounded")
        let address: PostgresStore.Address
        switch PostgresStore.Address.parse(location) {
        case .success(let parsed): address = parsed
        case .failure(let invalid): throw Invalid(description: "the lease's database \(location): \(invalid)")
        }
        store = try PostgresStore(address)
        self.venue = venue
        self.holder = holder
        self.url = url
        self.durationMs = durationMs
        do {
            try makeTable()
        } catch {
            // Two nodes making it at once: one of them is refused the type it made; the table is there.
            try makeTable()
        }
    }

    private func makeTable() throws {
        _ = try store.querySynchronously("""
            CREATE TABLE IF NOT EXISTS bourse_leases (venue TEXT PRIMARY KEY, term BIGINT NOT NULL, holder TEXT NOT NULL,
                url TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)
            """, [])
    }

    /// Takes the lease when no one holds it (never taken, or run out): the new term. Nil while another holds it.
    public func acquire() throws -> UInt64? {
        let rows = try store.querySynchronously("""
            INSERT INTO bourse_leases (venue, term, holder, url, expires_at)
            VALUES (?, 1, ?, ?, now() + ? * interval '1 millisecond')
            ON CONFLICT (venue) DO UPDATE SET term = bourse_leases.term + 1, holder = excluded.holder, url = excluded.url,
                expires_at = excluded.expires_at
            WHERE bourse_leases.expires_at < now()
            RETURNING term
            """, [.text(venue), .text(holder), .text(url), .int(Int64(durationMs))])
        return rows.first?.int("term").map { UInt64($0) }
    }

    /// Extends the lease of `term` by a whole duration from now. False when the term is no longer this
    /// node's: someone took the lease after it ran out. (Run out and not taken, it is still this term's.)
    public func renew(term: UInt64) throws -> Bool {
        let rows = try store.querySynchronously("""
            UPDATE bourse_leases SET expires_at = now() + ? * interval '1 millisecond'
            WHERE venue = ? AND term = ? AND holder = ? RETURNING term
            """, [.int(Int64(durationMs)), .text(venue), .int(Int64(term)), .text(holder)])
        return !rows.isEmpty
    }

    /// Lets the lease of `term` run out now, so that a standby takes over at once (a node stopping).
    public func release(term: UInt64) throws {
        _ = try store.querySynchronously("""
            UPDATE bourse_leases SET expires_at = now() - interval '1 millisecond'
            WHERE venue = ? AND term = ? AND holder = ? RETURNING term
            """, [.text(venue), .int(Int64(term)), .text(holder)])
    }

    /// The venue's lease as the row has it, run out or not; nil before anyone took it.
    public func current() throws -> Holding? {
        let rows = try store.querySynchronously("""
            SELECT term, holder, url, CAST(EXTRACT(EPOCH FROM (expires_at - now())) * 1000 AS BIGINT) AS remaining_ms
            FROM bourse_leases WHERE venue = ?
            """, [.text(venue)])
        guard let row = rows.first, let term = row.int("term"), let holder = row.text("holder"), let url = row.text("url") else {
            return nil
        }
        return Holding(term: UInt64(term), holder: holder, url: url, remainingMs: row.int("remaining_ms") ?? 0)
    }

    public func close() { store.close() }
}
