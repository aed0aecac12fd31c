import BourseCore
import Crypto

/// The audit log's chain: each record holds the SHA-256 of the one before it and its own is computed over
/// its number, business date, kind, body and that previous hash, each length-prefixed so that no two
/// records encode alike. Changing, removing, inserting or reordering a record breaks the chain at the
/// first record affected, and `verify` names it.
public enum AuditChain {
    public static let hashBytes = 32
    /// The previous hash of the first record.
    public static let genesis = [UInt8](repeating: 0, count: hashBytes)
    public static let kindBytesMax = 64
    public static let bodyBytesMax = 1 << 20

    public struct Record: Sendable, Equatable {
        /// 1 for the first record, then one more each.
        public var number: UInt64
        public var businessDate: CivilDate
        public var kind: String
        /// The record's content in the writer's canonical encoding (the chain does not read it).
        public var body: [UInt8]
        public var previous: [UInt8]
        public var hash: [UInt8]
    }

    /// The record that follows `last` (nil for the first), sealed.
    public static func append(after last: Record?, businessDate: CivilDate, kind: String, body: [UInt8]) -> Record {
        precondition(kind.utf8.count <= kindBytesMax && body.count <= bodyBytesMax, "an audit record within its limits")
        let number = (last?.number ?? 0) + 1
        let previous = last?.hash ?? genesis
        return Record(number: number, businessDate: businessDate, kind: kind, body: body, previous: previous,
                      hash: seal(number: number, businessDate: businessDate, kind: kind, body: body, previous: previous))
    }

    static func seal(number: UInt64, businessDate: CivilDate, kind: String, body: [UInt8], previous: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        func put(_ value: UInt64) { withUnsafeBytes(of: value.bigEndian) { hasher.update(bufferPointer: $0) } }
        func put(_ bytes: [UInt8]) {
            put(UInt64(bytes.count))
            hasher.update(data: bytes)
        }
        put(number)
        put(UInt64(bitPattern: Int64(businessDate.daysSinceEpoch)))
        put(Array(kind.utf8))
        put(body)
        put(previous)
        return Array(hasher.finalize())
    }

    /// Where a chain is broken: the first record that does not hold, and why.
    public struct Break: Error, Sendable, Equatable, CustomStringConvertible {
        public var number: UInt64
        public var reason: String
        public var description: String { "audit record \(number): \(reason)" }
        public init(number: UInt64, reason: String) { (self.number, self.reason) = (number, reason) }
    }

    /// Checks records in order, from the first or from a record whose predecessor's hash is `previous`;
    /// nil when the chain holds.
    public static func verify(_ records: some Sequence<Record>, from first: UInt64 = 1, previous: [UInt8] = genesis) -> Break? {
        var expected = first
        var link = previous
        for record in records {
            guard record.number == expected else {
                return Break(number: record.number, reason: record.number > expected
                             ? "record \(expected) is missing before it" : "it comes after record \(expected - 1), out of order")
            }
            guard record.previous == link else {
                return Break(number: record.number, reason: "it names a previous hash the record before it does not have (one of them was changed)")
            }
            guard record.hash == seal(number: record.number, businessDate: record.businessDate, kind: record.kind, body: record.body,
                                      previous: record.previous) else {
                return Break(number: record.number, reason: "its hash does not match its contents (it was changed after it was written)")
            }
            link = record.hash
            expected += 1
        }
        return nil
    }
}
