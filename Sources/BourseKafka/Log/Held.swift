import BourseJournal

/// What the event topic holds, as a publisher that starts (or starts over after a failed transaction) finds
/// it: every sequence through `last`, and above it the sequences in `above`.
///
/// `above` is not empty only on a broker that lets read_committed readers see the records of aborted
/// transactions (the memory broker the tests use does). Such records are entries the journal held before
/// they were sent, byte for byte, so they are kept and never sent again: the publisher skips them. On
/// Kafka itself aborted records are hidden, and `above` is empty.
///
/// How it is found, without reading the whole topic: each record carries the first sequence its
/// transaction set out to publish (`bourse.txn`), which was `last + 1` when that transaction began, so
/// everything below it was held then. The newest such anchor, from each partition's last record, bounds
/// what is to be read: in each partition, the records from the anchor on (sequences rise within a partition).
struct Held: Equatable, Sendable {
    var last: UInt64
    var above: Set<UInt64>
    /// The newest anchor, and the business dates open when its transaction began: what was open after
    /// sequence `anchor - 1`.
    var anchor: UInt64 = 0
    var dates = BusinessDates()
    /// The record of `last`, when it was among those read (from the anchor on): what a publisher checks
    /// its journal against.
    var lastRecord: KafkaRecord?

    static let empty = Held(last: 0, above: [])

    /// Every record read must be one of ours, whole: a record without its headers is named with its offset.
    struct Record {
        var sequence: UInt64
        var anchor: UInt64
        var dates: BusinessDates
    }

    static func record(_ r: KafkaRecord, topic: String) throws(KafkaError) -> Record {
        guard let sequence = EventTopic.readBigEndian(r.headers[EventTopic.sequenceHeader]),
              let anchor = EventTopic.readBigEndian(r.headers[EventTopic.transactionHeader]), anchor <= sequence, anchor > 0 else {
            throw KafkaError(message: "\(topic) [\(r.partition)] at offset \(r.offset) is not a Bourse journal record: its \(EventTopic.sequenceHeader) or \(EventTopic.transactionHeader) header is missing or wrong")
        }
        if case .failure(let problem) = JournalFormat.readFormat(r.headers[EventTopic.formatHeader] ?? []) {
            throw KafkaError(message: "\(topic) [\(r.partition)] at offset \(r.offset): \(problem)")
        }
        guard let header = r.headers[EventTopic.dateHeader], let dates = BusinessDates(header: header) else {
            throw KafkaError(message: "\(topic) [\(r.partition)] at offset \(r.offset): its \(EventTopic.dateHeader) header is missing or is not two dates")
        }
        return Record(sequence: sequence, anchor: anchor, dates: dates)
    }

    /// Reads what `topic` holds. `window` is how many offsets to read back from a partition's end at first;
    /// it doubles until the anchor is reached.
    static func read(_ reader: KafkaReader, partitions: Int32, window: Int64) throws -> Held {
        var ends: [(partition: Int32, low: Int64, high: Int64)] = []
        var anchor: UInt64 = 0
        var dates = BusinessDates()
        for p in 0..<partitions {
            let (low, high) = try reader.watermarks(p)
            guard high > low else { continue }
            ends.append((p, low, high))
            if let last = try lastRecord(reader, p, low: low, high: high), last.anchor > anchor {
                (anchor, dates) = (last.anchor, last.dates)
            }
        }
        guard anchor > 0 else { return .empty }
        var held = Set<UInt64>()
        var records: [UInt64: KafkaRecord] = [:]
        for (p, low, high) in ends {
            var span = window
            while true {
                let start = max(low, high - span)
                var found: [(UInt64, KafkaRecord)] = []
                try reader.readToEnd(p, from: start) { r in found.append((try record(r, topic: reader.topic).sequence, r)) }
                if start == low || (found.first?.0 ?? 0) < anchor {
                    for (sequence, r) in found where sequence >= anchor {
                        held.insert(sequence)
                        // The first record of a sequence is the one readers take (`EventTopic`'s rule).
                        if records[sequence] == nil { records[sequence] = r }
                    }
                    break
                }
                span *= 2
            }
        }
        var last = anchor - 1
        while held.remove(last + 1) != nil { last += 1 }
        return Held(last: last, above: held, anchor: anchor, dates: dates, lastRecord: records[last])
    }

    /// The partition's last data record: transaction markers take offsets too, so it reads back further
    /// until one is found.
    private static func lastRecord(_ reader: KafkaReader, _ p: Int32, low: Int64, high: Int64) throws -> Record? {
        var span: Int64 = 8
        while true {
            let start = max(low, high - span)
            var last: Record?
            try reader.readToEnd(p, from: start) { r in last = try record(r, topic: reader.topic) }
            if last != nil || start == low { return last }
            span *= 4
        }
    }
}
