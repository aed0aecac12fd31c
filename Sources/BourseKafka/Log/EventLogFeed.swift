import BourseCore
import BourseJournal
import BourseNode
import BourseProjections

/// The event topic as a projection's feed, in the journal's order from any sequence on, by the rule
/// `EventTopic` states: every partition at once, sequence s + 1 next wherever it is, a sequence read before
/// skipped. It keeps its place between reads, so one that goes on where it stopped reads on; one asked for
/// another place finds, in each partition, the first record above it by bisection (sequences rise within a
/// partition), with reads of single records.
public final class EventLogFeed: EntryFeed {
    /// Records held back while the next sequence is still to come from another partition.
    public static let heldBackRecordsMax = 1 << 20

    public let location: KafkaLocation
    public let topic: String
    private let reader: KafkaReader
    private let probe: KafkaReader

    /// The next sequence to hand on; 0 before the feed is placed.
    private var next: UInt64 = 0
    private var waiting: [[KafkaRecord]] = []
    private var heads: [Int] = []
    /// Records read and not yet handed on or skipped: after a read to the end, records above a sequence the
    /// topic lacks.
    private(set) var heldBack = 0
    /// Records read, and those of a sequence handed on before (the same entry again).
    private(set) var recordsRead = 0
    private(set) var repeated = 0
    /// Per partition, the offset after the last record or end seen: where the partition has been read to.
    private var readTo: [Int64] = []
    /// Whether the engine that wrote the entries handed on keeps accounts (their records' format header).
    public private(set) var keepsAccounts: Bool?

    public var source: String { "kafka://\(location.brokers)/\(topic)" }

    public init(location: KafkaLocation) throws(KafkaError) {
        self.location = location
        topic = EventTopic(prefix: location.prefix, partitions: location.partitions).name
        reader = try KafkaReader(brokers: location.brokers, topic: topic, headers: EventTopic.headerNames)
        probe = try KafkaReader(brokers: location.brokers, topic: topic, headers: EventTopic.headerNames)
    }

    public func read(after: UInt64, through: UInt64?, chunk: Int, _ body: ([Published]) throws -> Void) throws -> UInt64 {
        var batch: [Published] = []
        let last = try readRecords(after: after, through: through) { record, sequence in
            batch.append(try Self.decode(record, sequence: sequence, topic: topic))
            if batch.count >= chunk {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try body(batch) }
        return last
    }

    /// Hands `visit` the record of each sequence after `after` through `through` (the end as it is when
    /// called, when nil), once, in order. Returns the last sequence handed on.
    func readRecords(after: UInt64, through: UInt64?, _ visit: (KafkaRecord, UInt64) throws -> Void) throws -> UInt64 {
        if let through, through <= after { return after }
        if next != after + 1 { try place(after: after) }
        // Without a `through`, the end is where each partition ends now.
        var ends: [Int64]?
        if through == nil { ends = try (0..<Int32(waiting.count)).map { try reader.watermarks($0).high } }
        var idleSince = ContinuousClock.now
        func reached() -> Bool {
            if let through { return next > through }
            return ends!.indices.allSatisfy { readTo[$0] >= ends![$0] }
        }
        while !reached() {
            switch try reader.poll(timeoutMs: 100) {
            case .nothing:
                guard ContinuousClock.now - idleSince < .milliseconds(Int(reader.callTimeoutMs)) else {
                    throw KafkaError(message: "reading \(topic): sequence \(next) did not come in \(reader.callTimeoutMs) ms")
                }
                continue
            case .endOfPartition(let p, let offset):
                readTo[Int(p)] = max(readTo[Int(p)], offset)
                continue
            case .record(let record):
                idleSince = ContinuousClock.now
                let p = Int(record.partition)
                guard record.offset >= readTo[p] else { continue }
                readTo[p] = record.offset + 1
                waiting[p].append(record)
                heldBack += 1
                recordsRead += 1
                guard heldBack <= Self.heldBackRecordsMax else {
                    throw KafkaError(message: "reading \(topic): \(heldBack) records are held back waiting for sequence \(next)")
                }
            }
            try handOn(through: through, visit)
        }
        return next - 1
    }

    /// Hands on every sequence now at the head of a partition, skipping those read before.
    private func handOn(through: UInt64?, _ visit: (KafkaRecord, UInt64) throws -> Void) throws {
        var moved = true
        while moved {
            moved = false
            for p in waiting.indices where heads[p] < waiting[p].count {
                if let through, next > through { return }
                let record = waiting[p][heads[p]]
                let sequence = try Held.record(record, topic: topic).sequence
                guard sequence <= next else { continue }
                heads[p] += 1
                heldBack -= 1
                moved = true
                guard sequence == next else {
                    repeated += 1
                    continue
                }
                if case .success(let keeps) = JournalFormat.readFormat(record.headers[EventTopic.formatHeader] ?? []) { keepsAccounts = keeps }
                try visit(record, sequence)
                next += 1
            }
            for p in waiting.indices where heads[p] > 4_096 {
                waiting[p].removeFirst(heads[p])
                heads[p] = 0
            }
        }
    }

    /// Reads on from sequence `after + 1`: in each partition, from its first record above `after`.
    private func place(after: UInt64) throws {
        guard let partitions = try probe.partitionCount() else {
            throw KafkaError(message: "\(topic) does not exist at \(location.brokers)")
        }
        var positions: [(partition: Int32, offset: Int64)] = []
        for p in 0..<partitions {
            let (low, high) = try probe.watermarks(p)
            var (lo, hi) = (low, high)
            // The first offset from which every record is above `after`: it lies in [lo, hi].
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                guard let record = try probe.first(p, from: mid, before: hi),
                      try Held.record(record, topic: topic).sequence <= after else {
                    hi = mid
                    continue
                }
                lo = record.offset + 1
            }
            positions.append((p, lo))
        }
        try reader.assign(positions)
        waiting = Array(repeating: [], count: Int(partitions))
        heads = Array(repeating: 0, count: Int(partitions))
        readTo = positions.map(\.offset)
        heldBack = 0
        next = after + 1
    }

    static func decode(_ record: KafkaRecord, sequence: UInt64, topic: String) throws -> Published {
        try EventTopic.withEntry(record, sequence: sequence, topic: topic) { entry in
            var events: [Event] = []
            var reader = ByteReader(entry.eventBytes)
            do {
                while reader.remaining > 0 { events.append(try reader.readEvent()) }
            } catch {
                throw KafkaError(message: "\(topic) [\(record.partition)] at offset \(record.offset): undecodable event at byte \(reader.offset): \(error)")
            }
            return Published(command: entry.command, events: events, note: Array(entry.note))
        }
    }
}
