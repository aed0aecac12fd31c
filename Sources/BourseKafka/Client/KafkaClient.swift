import CRdKafka

/// An error librdkafka reported, with its name, its sentence, and what it allows: a retry, an abort of the
/// transaction and a new one, or nothing (fatal: the client is finished, as a fenced producer is).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var name: String
    public var message: String
    public var isFatal = false
    public var isRetriable = false
    public var requiresAbort = false

    public var description: String { "\(name): \(message)" }

    init(_ code: rd_kafka_resp_err_t, _ context: String) {
        self.code = code.rawValue
        name = String(cString: rd_kafka_err2name(code))
        message = context + ": " + String(cString: rd_kafka_err2str(code))
    }

    init(message: String) {
        code = -1
        name = "BOURSE"
        self.message = message
    }

    /// Takes (and destroys) librdkafka's error object.
    init(taking error: OpaquePointer, _ context: String) {
        code = rd_kafka_error_code(error).rawValue
        name = String(cString: rd_kafka_error_name(error))
        message = context + ": " + String(cString: rd_kafka_error_string(error))
        isFatal = rd_kafka_error_is_fatal(error) != 0
        isRetriable = rd_kafka_error_is_retriable(error) != 0
        requiresAbort = rd_kafka_error_txn_requires_abort(error) != 0
        rd_kafka_error_destroy(error)
    }

    /// Another producer with the same transactional id has started: this one may never commit again.
    public var isFenced: Bool {
        code == RD_KAFKA_RESP_ERR__FENCED.rawValue || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED.rawValue
            || code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH.rawValue
    }
}

public enum KafkaLibrary {
    /// The library's version as it runs, which may not be the headers' one.
    public static var version: String { String(cString: rd_kafka_version_str()) }
}

/// One librdkafka client handle, made from settings; every setting is checked by librdkafka when it is set,
/// so a misspelt one is refused by name.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ kind: rd_kafka_type_t, settings: [(String, String)]) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError(message: "librdkafka could not make a configuration") }
        var text = [CChar](repeating: 0, count: 512)
        for (name, value) in settings {
            guard rd_kafka_conf_set(conf, name, value, &text, text.count) == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(message: "setting \(name)=\(value): \(text.string)")
            }
        }
        guard let handle = rd_kafka_new(kind, conf, &text, text.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(message: "librdkafka refused the client: \(text.string)")
        }
        pointer = handle
    }

    deinit { rd_kafka_destroy(pointer) }

    /// The partition count of `topic`, nil when the broker does not know it.
    func partitionCount(_ topic: String, timeoutMs: Int32) throws(KafkaError) -> Int32? {
        guard let handle = rd_kafka_topic_new(pointer, topic, nil) else { throw KafkaError(message: "no topic handle for \(topic)") }
        defer { rd_kafka_topic_destroy(handle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 0, handle, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError(err, "metadata of \(topic)") }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1 else { return nil }
        let entry = metadata.pointee.topics[0]
        if entry.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || entry.partition_cnt == 0 { return nil }
        guard entry.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(entry.err, "metadata of \(topic)") }
        return entry.partition_cnt
    }

    /// Creates `topic` with `partitions` partitions and the given topic settings; a topic that exists is
    /// left as it is (its partition count is the caller's to check).
    func createTopic(_ topic: String, partitions: Int32, replication: Int32, settings: [(String, String)], timeoutMs: Int32) throws(KafkaError) {
        var text = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, partitions, replication, &text, text.count) else {
            throw KafkaError(message: "topic \(topic): \(text.string)")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (name, value) in settings {
            let err = rd_kafka_NewTopic_set_config(newTopic, name, value)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "topic \(topic) setting \(name)") }
        }
        guard let queue = rd_kafka_queue_new(pointer) else { throw KafkaError(message: "no queue for the admin request") }
        defer { rd_kafka_queue_destroy(queue) }
        var topics: [OpaquePointer?] = [newTopic]
        rd_kafka_CreateTopics(pointer, &topics, 1, nil, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMs) else { throw KafkaError(message: "creating \(topic): no answer in \(timeoutMs) ms") }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(eventError, "creating \(topic)") }
        guard let result = rd_kafka_event_CreateTopics_result(event) else { throw KafkaError(message: "creating \(topic): not a CreateTopics result") }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count), count == 1, let one = results[0] else { return }
        let err = rd_kafka_topic_result_error(one)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else {
            let detail = rd_kafka_topic_result_error_string(one).map { String(cString: $0) } ?? ""
            throw KafkaError(err, "creating \(topic) \(detail)")
        }
    }
}

extension [CChar] {
    /// The text up to the first NUL, as librdkafka writes its messages into a buffer.
    var string: String { String(decoding: prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
}
