import CRdKafka

/// One record as read: where it is, and its key, value and the headers a reader asked for.
public struct KafkaRecord: Sendable, Equatable {
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]
    public var value: [UInt8]
    public var headers: [String: [UInt8]]
}

/// Reads partitions of one topic from offsets it is given (no consumer group: the reader keeps its own
/// positions), seeing only committed records (read_committed), and says when a partition's end is reached.
public final class KafkaReader: @unchecked Sendable {
    public enum Polled: Sendable {
        case record(KafkaRecord)
        /// The partition's end is reached: the offset the next record will have.
        case endOfPartition(Int32, next: Int64)
        case nothing
    }

    private let handle: KafkaHandle
    public let topic: String
    private let headerNames: [String]
    public let callTimeoutMs: Int32

    public init(brokers: String, topic: String, headers: [String], callTimeoutMs: Int32 = 30_000) throws(KafkaError) {
        self.topic = topic
        headerNames = headers
        self.callTimeoutMs = callTimeoutMs
        handle = try KafkaHandle(RD_KAFKA_CONSUMER, settings: [
            ("bootstrap.servers", brokers),
            // Required by librdkafka for a consumer; offsets are never committed to it.
            ("group.id", "bourse-reader"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("isolation.level", "read_committed"),
            ("enable.partition.eof", "true"),
            // A reader reads to an end and stops: it should not wait half a second at the end for more.
            ("fetch.wait.max.ms", "10"),
            // The venue creates its topics with their partition count; a broker's default never does.
            ("allow.auto.create.topics", "false"),
            ("log_level", "3"),
        ])
    }

    deinit { _ = rd_kafka_consumer_close(handle.pointer) }

    public func partitionCount() throws(KafkaError) -> Int32? {
        try handle.partitionCount(topic, timeoutMs: callTimeoutMs)
    }

    /// The first offset held and the offset after the last (control records of transactions included).
    public func watermarks(_ partition: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0, high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, callTimeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "watermarks of \(topic) [\(partition)]") }
        return (low, high)
    }

    /// Reads the given partitions from the given offsets from now on, and nothing else. What an earlier
    /// assignment fetched is dropped first, so that no record from before comes after.
    public func assign(_ positions: [(partition: Int32, offset: Int64)]) throws(KafkaError) {
        let cleared = rd_kafka_assign(handle.pointer, nil)
        guard cleared == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(cleared, "unassigning \(topic)") }
        guard let list = rd_kafka_topic_partition_list_new(Int32(positions.count)) else { throw KafkaError(message: "no partition list") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in positions {
            rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = offset
        }
        let err = rd_kafka_assign(handle.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "assigning \(topic)") }
    }

    public func poll(timeoutMs: Int32) throws(KafkaError) -> Polled {
        guard let message = rd_kafka_consumer_poll(handle.pointer, timeoutMs) else { return .nothing }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .endOfPartition(m.partition, next: m.offset) }
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(m.err, "reading \(topic) [\(m.partition)] at \(m.offset)") }
        var headers: [String: [UInt8]] = [:]
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            for name in headerNames {
                var value: UnsafeRawPointer?
                var size = 0
                if rd_kafka_header_get_last(list, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    headers[name] = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                }
            }
        }
        return .record(KafkaRecord(
            partition: m.partition, offset: m.offset,
            key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) } ?? [],
            value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? [],
            headers: headers))
    }

    /// The first record of `partition` at `offset` or after and before `end`; nil when there is none (only
    /// the markers of transactions).
    public func first(_ partition: Int32, from offset: Int64, before end: Int64) throws -> KafkaRecord? {
        guard offset < end else { return nil }
        try assign([(partition, offset)])
        let deadline = ContinuousClock.now + .milliseconds(Int(callTimeoutMs))
        while true {
            switch try poll(timeoutMs: 100) {
            case .record(let record):
                guard record.partition == partition, record.offset >= offset else { continue }
                return record.offset < end ? record : nil
            case .endOfPartition(let ended, let next):
                if ended == partition, next >= end { return nil }
            case .nothing:
                guard ContinuousClock.now < deadline else {
                    throw KafkaError(message: "reading \(topic) [\(partition)] at \(offset): nothing in \(callTimeoutMs) ms")
                }
            }
        }
    }

    /// Reads `partition` from `offset` to its end as it is now, handing each record to `body`.
    public func readToEnd(_ partition: Int32, from offset: Int64, _ body: (KafkaRecord) throws -> Void) throws {
        let (_, high) = try watermarks(partition)
        guard offset < high else { return }
        try assign([(partition, offset)])
        var deadline = ContinuousClock.now + .milliseconds(Int(callTimeoutMs))
        while true {
            switch try poll(timeoutMs: 100) {
            case .record(let record):
                // What a former assignment fetched may still come: only this partition, from `offset`.
                guard record.partition == partition, record.offset >= offset else { continue }
                try body(record)
                if record.offset >= high - 1 { return }
                deadline = ContinuousClock.now + .milliseconds(Int(callTimeoutMs))
            case .endOfPartition(let ended, _):
                if ended == partition { return }
            case .nothing:
                guard ContinuousClock.now < deadline else {
                    throw KafkaError(message: "reading \(topic) [\(partition)] from \(offset) to \(high): no end in \(callTimeoutMs) ms")
                }
            }
        }
    }
}
