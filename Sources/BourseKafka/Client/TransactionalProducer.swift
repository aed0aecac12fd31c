import CRdKafka

/// A producer whose records become visible all at once or not at all (a Kafka transaction), idempotent
/// (a retried send is never written twice), and fenced by the next producer with the same transactional
/// id: once that one has called `initTransactions`, every call of this one fails and none of its records
/// that were not committed ever will be.
public final class TransactionalProducer: @unchecked Sendable {
    let handle: KafkaHandle

    /// The producer's limits: how many records and bytes may wait in it, and how long a call may wait on the broker.
    public struct Limits: Sendable {
        public var queuedRecordsMax = 1_000_000
        public var queuedKibibytesMax = 1 << 20
        public var transactionTimeoutMs: Int32 = 60_000
        public var callTimeoutMs: Int32 = 30_000
        public init() {}
    }

    public let limits: Limits

    public init(brokers: String, transactionalID: String, limits: Limits = .init()) throws(KafkaError) {
        self.limits = limits
        handle = try KafkaHandle(RD_KAFKA_PRODUCER, settings: [
            ("bootstrap.servers", brokers),
            ("transactional.id", transactionalID),
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("transaction.timeout.ms", String(limits.transactionTimeoutMs)),
            ("queue.buffering.max.messages", String(limits.queuedRecordsMax)),
            ("queue.buffering.max.kbytes", String(limits.queuedKibibytesMax)),
            ("linger.ms", "1"),
            // The venue creates its topics with their partition count; a broker's default never does.
            ("allow.auto.create.topics", "false"),
            ("log_level", "3"),
        ])
    }

    /// Registers the transactional id with the broker: aborts what an earlier producer with the same id
    /// left open, and fences that producer.
    public func initTransactions() throws(KafkaError) {
        if let error = rd_kafka_init_transactions(handle.pointer, limits.callTimeoutMs) { throw KafkaError(taking: error, "init_transactions") }
    }

    public func begin() throws(KafkaError) {
        if let error = rd_kafka_begin_transaction(handle.pointer) { throw KafkaError(taking: error, "begin_transaction") }
    }

    /// Sends every record produced since `begin` and makes them visible together.
    public func commit() throws(KafkaError) {
        if let error = rd_kafka_commit_transaction(handle.pointer, limits.callTimeoutMs) { throw KafkaError(taking: error, "commit_transaction") }
    }

    public func abort() throws(KafkaError) {
        if let error = rd_kafka_abort_transaction(handle.pointer, limits.callTimeoutMs) { throw KafkaError(taking: error, "abort_transaction") }
    }

    /// Queues one record of the open transaction; its bytes are copied. When the queue is full it serves
    /// the producer's events until there is room, for at most the call timeout.
    public func produce(topic: String, partition: Int32, key: [UInt8], value: UnsafeRawBufferPointer,
                        headers: [(name: String, value: [UInt8])]) throws(KafkaError) {
        let deadline = ContinuousClock.now + .milliseconds(Int(limits.callTimeoutMs))
        while true {
            let err = send(topic: topic, partition: partition, key: key, value: value, headers: headers)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL, ContinuousClock.now < deadline else {
                throw KafkaError(err, "producing to \(topic) [\(partition)]")
            }
            rd_kafka_poll(handle.pointer, 10)
        }
    }

    private func send(topic: String, partition: Int32, key: [UInt8], value: UnsafeRawBufferPointer,
                      headers: [(name: String, value: [UInt8])]) -> rd_kafka_resp_err_t {
        topic.withCString { topicName in
            key.withUnsafeBytes { keyBytes in
                // The header names (each ending in a NUL) and values side by side in one buffer, valid for the call.
                var names: [UInt8] = [], blob: [UInt8] = []
                for header in headers {
                    names += header.name.utf8
                    names.append(0)
                    blob += header.value
                }
                return names.withUnsafeBytes { nameBytes in
                    blob.withUnsafeBytes { blobBytes in
                        var vus = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 5 + headers.count)
                        vus[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        vus[0].u.cstr = topicName
                        vus[1].vtype = RD_KAFKA_VTYPE_PARTITION
                        vus[1].u.i32 = partition
                        vus[2].vtype = RD_KAFKA_VTYPE_VALUE
                        vus[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        vus[2].u.mem.size = value.count
                        vus[3].vtype = RD_KAFKA_VTYPE_KEY
                        vus[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                        vus[3].u.mem.size = keyBytes.count
                        vus[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        vus[4].u.i = RD_KAFKA_MSG_F_COPY
                        // Header values are copied by librdkafka as the record is made, inside this call.
                        var nameOffset = 0, offset = 0
                        for i in 0..<headers.count {
                            vus[5 + i].vtype = RD_KAFKA_VTYPE_HEADER
                            vus[5 + i].u.header.name = (nameBytes.baseAddress! + nameOffset).assumingMemoryBound(to: CChar.self)
                            vus[5 + i].u.header.val = UnsafeRawPointer(blobBytes.baseAddress.map { $0 + offset })
                            vus[5 + i].u.header.size = headers[i].value.count
                            nameOffset += headers[i].name.utf8.count + 1
                            offset += headers[i].value.count
                        }
                        let error = rd_kafka_produceva(handle.pointer, vus, vus.count)
                        guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                        let code = rd_kafka_error_code(error)
                        rd_kafka_error_destroy(error)
                        return code
                    }
                }
            }
        }
    }
}
