import BourseCore
import BourseJournal
import BourseNode
import BourseProjections
import CoreMetrics
import Foundation
import Synchronization

/// Ships every journal entry, in order, to the event topic (`EventTopic`), exactly once, and post-trade's
/// records to the topics of their business dates (`DatedTopics`) in the same transactions.
///
/// Only durable entries: it reads the journal's files when it starts or falls behind, and otherwise takes
/// the batches the sequencer hands its consumers once they are durable. Each transaction carries at most
/// `entriesPerTransactionMax` entries. Exactly once: the producer is transactional with a transactional id
/// of the venue's, so a publisher that starts again fences the one before it and aborts what that left
/// open; it then reads what the topic holds (`Held`) and goes on after it. A failed transaction is aborted
/// and the topic read again before anything is sent again.
public final class JournalPublisher: @unchecked Sendable {
    public struct Limits: Sendable {
        public var entriesPerTransactionMax = 4_096
        /// How far the sequencer may get ahead before the publisher reads the journal's files instead.
        public var lagEntriesMax = 1 << 18
        /// The pause after a failure, doubled each time up to this.
        public var retryNanosMax: Int64 = 10_000_000_000
        public init() {}
    }

    public struct Status: Sendable {
        /// Everything through this sequence is in the topic.
        public var published: UInt64 = 0
        public var head: UInt64 = 0
        public var transactions = 0
        public var entriesSent = 0
        /// Entries found in the topic above what it held in order, not sent again (a broker that keeps
        /// aborted records visible).
        public var entriesFoundSent = 0
        public var failures = 0
        public var lastFailure: String?
        /// Set when another publisher took over: this one has stopped for good.
        public var fenced = false
        public var lag: UInt64 { head > published ? head - published : 0 }
    }

    public let location: KafkaLocation
    public let topic: EventTopic
    public let dated: DatedTopics
    public let limits: Limits
    public let consumer: EventConsumer
    private let journal: String
    private let format: [UInt8]
    private let log: @Sendable (String) -> Void
    private let status = Mutex(Status())
    private let finished = DispatchSemaphore(value: 0)
    private let publishedGauge: Gauge
    private let lagGauge: Gauge
    private let transactionCounter: Counter
    private let failureCounter: Counter
    private let commitLatency: CoreMetrics.Timer
    private let lagLatency: CoreMetrics.Timer
    private let clock: @Sendable () -> Int64
    /// With synchronous replication, the acknowledgements waiting for what this publisher commits.
    public let gate: AcknowledgementGate?

    // The publisher's thread's own.
    private var producer: TransactionalProducer?
    private var router: SymbolRouter
    /// What is open after `published`, moved along as entries are sent.
    private var dates = BusinessDates()
    /// Dated topics known to exist, with their partition counts. Bounded: it forgets them all when full.
    private var datedPartitions: [String: Int32] = [:]
    static let datedTopicsKnownMax = 1_024
    private var published: UInt64 = 0
    private var found: Set<UInt64> = []
    private var retryPauseNanos: Int64 = 100_000_000
    private var scratch = ByteWriter(capacity: 1 << 12)
    private var value = ByteWriter(capacity: 1 << 12)

    public init(location: KafkaLocation, journal: String, keepsAccounts: Bool, openOrders: [(OrderID, Symbol)] = [],
                limits: Limits = .init(), gate: AcknowledgementGate? = nil, clock: @escaping @Sendable () -> Int64 = wallClockNanos,
                log: @escaping @Sendable (String) -> Void = { _ in }, metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.location = location
        topic = EventTopic(prefix: location.prefix, partitions: location.partitions)
        dated = DatedTopics(prefix: location.prefix, partitions: location.partitions)
        self.journal = journal
        format = JournalFormat.formatBytes(keepsAccounts: keepsAccounts)
        self.limits = limits
        self.log = log
        self.clock = clock
        self.gate = gate
        router = SymbolRouter(openOrders: openOrders)
        consumer = EventConsumer(name: "kafka", capacity: limits.lagEntriesMax)
        publishedGauge = Gauge(label: "bourse_kafka_published_sequence", factory: metrics)
        lagGauge = Gauge(label: "bourse_kafka_lag_entries", factory: metrics)
        transactionCounter = Counter(label: "bourse_kafka_transactions_total", factory: metrics)
        failureCounter = Counter(label: "bourse_kafka_failures_total", factory: metrics)
        commitLatency = CoreMetrics.Timer(label: "bourse_kafka_commit_seconds", factory: metrics)
        lagLatency = CoreMetrics.Timer(label: "bourse_kafka_lag_seconds", factory: metrics)
    }

    public var currentStatus: Status {
        var s = status.withLock { $0 }
        s.head = max(s.published, consumer.lastOffered)
        return s
    }

    /// The producer's transactional id: one per venue, so that a publisher fences the one before it.
    public var transactionalID: String { Self.transactionalID(location) }

    public static func transactionalID(_ location: KafkaLocation) -> String { location.prefix + ".journal-publisher" }

    /// Fences whichever publisher of the venue's log runs now: what it left open is aborted, and it can
    /// commit nothing more (so, with synchronous replication, acknowledge nothing more). A standby taking
    /// over does this before it reads the log to its end.
    public static func fence(_ location: KafkaLocation) throws(KafkaError) {
        try TransactionalProducer(brokers: location.brokers, transactionalID: transactionalID(location)).initTransactions()
    }

    /// Makes the topic if it is missing, fences any earlier publisher, reads what the topic holds and
    /// publishes the journal's entries after it; before the sequencer starts. Returns how many it sent.
    @discardableResult
    public func open() throws -> Int {
        try connect()
        let before = status.withLock { $0.entriesSent }
        try catchUp(through: nil)
        return status.withLock { $0.entriesSent } - before
    }

    public func start() {
        let thread = Thread { [self] in
            defer { finished.signal() }
            run()
        }
        thread.name = "bourse-kafka-publisher"
        thread.start()
    }

    /// Waits until the thread has published everything it was given and ended (the sequencer stopped).
    public func waitUntilFinished() {
        finished.wait()
        finished.signal()
    }

    // MARK: The loop

    private func run() {
        var pending: [Published] = []
        while !status.withLock({ $0.fenced }) {
            do {
                if producer == nil {
                    try connect()
                    try catchUp(through: consumer.lastOffered)
                }
                if !pending.isEmpty {
                    try publish(pending[...], live: true)
                    pending.removeAll()
                }
                switch consumer.next() {
                case .events(let batch):
                    pending = batch
                case .overrun(let sequence):
                    log("kafka publisher fell behind at sequence \(sequence); reading from the journal")
                    try catchUp(through: consumer.resume())
                case .interrupted:
                    continue
                case .closed:
                    return
                }
                retryPauseNanos = 100_000_000
            } catch let error as KafkaError where error.isFenced {
                status.withLock {
                    $0.fenced = true
                    $0.lastFailure = "\(error)"
                }
                log("kafka publisher stopped: another publisher with transactional id \(transactionalID) took over (\(error))")
                gate?.close("another node publishes the venue's log now (transactional id \(transactionalID) fenced); this node acknowledges nothing more")
                return
            } catch {
                failed(error)
                if !pause() { return }
            }
        }
    }

    private func failed(_ error: any Error) {
        failureCounter.increment()
        status.withLock {
            $0.failures += 1
            $0.lastFailure = "\(error)"
        }
        log("kafka publisher: \(error); starting over from what the topic holds")
        // The transaction's fate is unknown: a fresh producer fences this one and aborts it, and the topic
        // is read again.
        producer = nil
    }

    /// False once the sequencer has closed the consumer: the node is stopping.
    private func pause() -> Bool {
        let deadline = monotonicNanos() + retryPauseNanos
        retryPauseNanos = min(retryPauseNanos * 2, limits.retryNanosMax)
        while monotonicNanos() < deadline {
            if consumer.isClosed { return false }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return true
    }

    /// Creates the event topic when it is missing; refuses one with another partition count.
    public func ensureTopic() throws(KafkaError) {
        // A producer fences no one until it calls initTransactions.
        try TransactionalProducer(brokers: location.brokers, transactionalID: transactionalID).ensureTopic(topic, location: location)
    }

    // MARK: Steps

    private func connect() throws {
        let admin = try TransactionalProducer(brokers: location.brokers, transactionalID: transactionalID)
        try admin.ensureTopic(topic, location: location)
        try admin.initTransactions()
        let reader = try KafkaReader(brokers: location.brokers, topic: topic.name, headers: EventTopic.headerNames)
        let held = try Held.read(reader, partitions: topic.partitions, window: Int64(limits.entriesPerTransactionMax) * 2 + 16)
        try checkJournalHolds(held.last, logged: held.lastRecord)
        producer = admin
        // What the topic holds is what is published: a topic that lost entries (a broker that keeps
        // nothing on disk, restarted) is given them again from the journal.
        if held.last < published {
            log("kafka: \(topic.name) holds entries through sequence \(held.last) only, where \(published) were published; publishing them again")
        }
        published = held.last
        gate?.advance(to: published)
        found = held.above
        // The business date the newest transaction began with, moved past what it held.
        dates = held.dates
        if held.last >= held.anchor, held.anchor > 0 {
            try JournalFeed.read(journal, after: held.anchor - 1, through: held.last, chunk: limits.entriesPerTransactionMax) { entries in
                for entry in entries { dates.apply(entry.events) }
            }
        }
        status.withLock { $0.published = published }
        publishedGauge.record(Int64(published))
        if !held.above.isEmpty {
            log("kafka: \(topic.name) holds \(held.above.count) entries above sequence \(held.last) from a transaction that was never committed; they are kept, not sent again")
        }
    }

    /// The journal holds what the topic holds, as the topic holds it; otherwise another node led the
    /// venue after this one's journal was written (it is a former primary), and publishing from it would
    /// give one sequence two entries.
    private func checkJournalHolds(_ last: UInt64, logged record: KafkaRecord?) throws {
        guard last > 0 else { return }
        let journalLast = try UnreplicatedTail.lastSequence(journal)
        guard journalLast >= last else {
            throw KafkaError(message: "\(topic.name) holds entries through sequence \(last), this journal only through \(journalLast): another node led the venue since; serve --standby follows the log")
        }
        var logged: Published?, local: Published?
        if let record {
            logged = try EventLogFeed.decode(record, sequence: last, topic: topic.name)
        } else {
            _ = try EventLogFeed(location: location).read(after: last - 1, through: last, chunk: 1) { logged = $0.first }
        }
        try JournalFeed.read(journal, after: last - 1, through: last, chunk: 1) { local = $0.first }
        guard let logged, let local, UnreplicatedTail.same(logged, local) else {
            throw KafkaError(message: "\(topic.name) and this journal differ at sequence \(last): another node led the venue since; serve --standby sets this journal's tail aside and follows the log")
        }
    }

    private func catchUp(through: UInt64?) throws {
        try JournalFeed.read(journal, after: published, through: through, chunk: limits.entriesPerTransactionMax) { entries in
            try publish(entries[...])
        }
    }

    /// Publishes the entries after `published`, in transactions of at most `entriesPerTransactionMax`.
    private func publish(_ entries: ArraySlice<Published>, live: Bool = false) throws {
        guard let producer else { return }
        var rest = entries.drop { $0.command.sequence <= published }
        while let first = rest.first {
            precondition(first.command.sequence == published + 1,
                         "kafka publisher at \(published) was handed sequence \(first.command.sequence)")
            let chunk = rest.prefix(limits.entriesPerTransactionMax)
            rest = rest.dropFirst(chunk.count)
            let anchor = EventTopic.bigEndian(published + 1)
            let began = dates.header
            var open = false
            var sent = 0, foundSent = 0
            for entry in chunk {
                let sequence = entry.command.sequence
                let symbol = router.route(entry)
                let records = DatedTopics.records(entry, dates: &dates)
                if found.remove(sequence) != nil {
                    foundSent += 1
                    continue
                }
                if !open {
                    try producer.begin()
                    open = true
                }
                value.removeAll()
                entry.events.withUnsafeBufferPointer { events in
                    JournalFormat.appendPayload(entry.command, events, note: entry.note, to: &value, scratch: &scratch)
                }
                let key = symbol.map { Array($0.description.utf8) } ?? []
                try value.withUnsafeBytes { bytes throws(KafkaError) in
                    try producer.produce(topic: topic.name, partition: topic.partition(of: symbol), key: key, value: bytes, headers: [
                        (EventTopic.sequenceHeader, EventTopic.bigEndian(sequence)),
                        (EventTopic.transactionHeader, anchor),
                        (EventTopic.formatHeader, format),
                        (EventTopic.dateHeader, began),
                    ])
                }
                for record in records {
                    let name = dated.name(record.date)
                    let partitions = try datedTopic(name, producer)
                    try Array(record.value.utf8).withUnsafeBytes { bytes in
                        try producer.produce(topic: name, partition: EventTopic.partition(of: record.symbol, count: partitions),
                                             key: Array(record.symbol.description.utf8), value: bytes, headers: [
                            (EventTopic.sequenceHeader, EventTopic.bigEndian(sequence)),
                            (EventTopic.transactionHeader, anchor),
                        ])
                    }
                }
                sent += 1
            }
            if open {
                let started = monotonicNanos()
                try producer.commit()
                commitLatency.recordNanoseconds(monotonicNanos() - started)
                if live { lagLatency.recordNanoseconds(clock() - chunk.first!.command.time.nanos) }
                transactionCounter.increment()
            }
            published = chunk.last!.command.sequence
            gate?.advance(to: published)
            publishedGauge.record(Int64(published))
            lagGauge.record(Int64(max(consumer.lastOffered, published) - published))
            status.withLock {
                $0.published = published
                $0.entriesSent += sent
                $0.entriesFoundSent += foundSent
                if open { $0.transactions += 1 }
            }
        }
    }
}

extension JournalPublisher {
    /// The partition count of a business date's topic, made when it is missing. One made earlier with
    /// another count is used as it is: the symbol rule is applied to its count.
    private func datedTopic(_ name: String, _ producer: TransactionalProducer) throws(KafkaError) -> Int32 {
        if let known = datedPartitions[name] { return known }
        if datedPartitions.count >= Self.datedTopicsKnownMax { datedPartitions.removeAll() }
        let count: Int32
        if let existing = try producer.handle.partitionCount(name, timeoutMs: producer.limits.callTimeoutMs) {
            count = existing
        } else {
            try producer.handle.createTopic(name, partitions: dated.partitions, replication: Int32(location.replication),
                                            settings: location.topicSettings, timeoutMs: producer.limits.callTimeoutMs)
            count = dated.partitions
        }
        datedPartitions[name] = count
        return count
    }
}

extension TransactionalProducer {
    /// Creates the venue's event topic when it is missing, and refuses one with another partition count:
    /// the partition of a symbol's entries would change.
    func ensureTopic(_ topic: EventTopic, location: KafkaLocation) throws(KafkaError) {
        if let count = try handle.partitionCount(topic.name, timeoutMs: limits.callTimeoutMs) {
            guard count == topic.partitions else {
                throw KafkaError(message: "\(topic.name) has \(count) partitions, the venue's log is configured with \(topic.partitions)")
            }
            return
        }
        try handle.createTopic(topic.name, partitions: topic.partitions, replication: Int32(location.replication),
                               settings: location.topicSettings, timeoutMs: limits.callTimeoutMs)
    }
}
