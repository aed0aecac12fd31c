import BourseJournal

/// Reads the event topic in the journal's order, by the rule `EventTopic` states: every partition at once,
/// sequence s + 1 next wherever it is, a sequence already read skipped. Used by a replay from Kafka.
public final class EventLogReader {
    /// Records held back while the next sequence is still to come from another partition.
    public static let heldBackRecordsMax = 1 << 20

    public let location: KafkaLocation
    private let reader: KafkaReader
    private let topic: String

    public init(location: KafkaLocation) throws(KafkaError) {
        self.location = location
        topic = EventTopic(prefix: location.prefix, partitions: location.partitions).name
        reader = try KafkaReader(brokers: location.brokers, topic: topic, headers: EventTopic.headerNames)
    }

    public struct Summary: Sendable {
        public var lastSequence: UInt64 = 0
        public var records = 0
        /// Records of a sequence read before (the same entry again).
        public var repeated = 0
        /// Whether the engine that wrote the log keeps accounts, from the records' format header.
        public var keepsAccounts: Bool?
    }

    /// Reads the topic from its start to its end as it is when called, handing `body` each entry once, in
    /// order; the first entry's record also says how the engine was configured (`Summary.keepsAccounts`,
    /// known before `body` is first called).
    @discardableResult
    public func read(_ body: (JournalEntry, _ keepsAccounts: Bool) throws -> Void) throws -> Summary {
        guard let partitions = try reader.partitionCount() else {
            throw KafkaError(message: "\(topic) does not exist at \(location.brokers)")
        }
        var summary = Summary()
        var ends: [Int32: Int64] = [:]
        var positions: [(partition: Int32, offset: Int64)] = []
        for p in 0..<partitions {
            let (low, high) = try reader.watermarks(p)
            if high > low { ends[p] = high }
            positions.append((p, low))
        }
        try reader.assign(positions)
        var waiting = [[KafkaRecord]](repeating: [], count: Int(partitions))
        var heads = [Int](repeating: 0, count: Int(partitions))
        var heldBack = 0
        var next: UInt64 = 1
        var idle = ContinuousClock.now
        while !ends.isEmpty {
            switch try reader.poll(timeoutMs: 100) {
            case .nothing:
                guard ContinuousClock.now - idle < .milliseconds(Int(reader.callTimeoutMs)) else {
                    throw KafkaError(message: "reading \(topic): nothing came for \(reader.callTimeoutMs) ms with partitions \(ends.keys.sorted()) not read to their end")
                }
                continue
            case .endOfPartition(let p, _):
                ends[p] = nil
            case .record(let record):
                idle = ContinuousClock.now
                if let end = ends[record.partition], record.offset >= end - 1 { ends[record.partition] = nil }
                summary.records += 1
                waiting[Int(record.partition)].append(record)
                heldBack += 1
                guard heldBack <= Self.heldBackRecordsMax else {
                    throw KafkaError(message: "reading \(topic): \(heldBack) records are held back waiting for sequence \(next)")
                }
            }
            // Hand on every sequence that is now at the head of a partition, skipping those read before.
            var moved = true
            while moved {
                moved = false
                for p in 0..<Int(partitions) where heads[p] < waiting[p].count {
                    let record = waiting[p][heads[p]]
                    let sequence = try Held.record(record, topic: topic).sequence
                    guard sequence <= next else { continue }
                    heads[p] += 1
                    heldBack -= 1
                    moved = true
                    if sequence < next {
                        summary.repeated += 1
                        continue
                    }
                    try deliver(record, sequence: sequence, &summary, body)
                    next += 1
                }
                for p in 0..<Int(partitions) where heads[p] > 4_096 {
                    waiting[p].removeFirst(heads[p])
                    heads[p] = 0
                }
            }
        }
        if heldBack > 0 {
            throw KafkaError(message: "\(topic) lacks sequence \(next): \(heldBack) records after it were read")
        }
        return summary
    }

    private func deliver(_ record: KafkaRecord, sequence: UInt64, _ summary: inout Summary,
                         _ body: (JournalEntry, Bool) throws -> Void) throws {
        let keepsAccounts: Bool
        switch JournalFormat.readFormat(record.headers[EventTopic.formatHeader] ?? []) {
        case .success(let keeps): keepsAccounts = keeps
        case .failure(let problem): throw KafkaError(message: "\(topic) [\(record.partition)] at offset \(record.offset): \(problem)")
        }
        if summary.keepsAccounts == nil { summary.keepsAccounts = keepsAccounts }
        try EventTopic.withEntry(record, sequence: sequence, topic: topic) { try body($0, keepsAccounts) }
        summary.lastSequence = sequence
    }
}
