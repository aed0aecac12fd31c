import BourseCore
import BourseJournal
import BourseKafka
import BourseNode
import BourseProjections
import BourseTestSupport
import Foundation
import Glibc
import Testing

/// The journal on Kafka, exactly once: `bourse serve --kafka` killed without warning while orders flow,
/// again and again, each time started again on the same directory and topic. At the end the event topic
/// holds every journal entry once, byte for byte, in order within each partition and in the partition its
/// symbol names, and a replay from the topic reaches the journal's state.
@Suite("the journal on Kafka")
struct KafkaPublicationTests {
    static let kills = 8

    /// The broker `scripts/test` started; a test that needs it and has none fails, saying why.
    static func broker() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["BOURSE_TEST_KAFKA"], !url.isEmpty else {
            throw Missing(description: "BOURSE_TEST_KAFKA is not set: scripts/test starts a broker (scripts/kafka start) and sets it")
        }
        let version = KafkaLibrary.version
        guard !version.hasPrefix("2.0.") else {
            throw Missing(description: "librdkafka \(version) is loaded, which cannot talk to the test broker: scripts/test sets LD_LIBRARY_PATH to scripts/kafka lib")
        }
        return url
    }

    struct Missing: Error, CustomStringConvertible { var description: String }

    @Test("killed at random points while orders flow, the topic holds every entry once and in order, and a replay from it reaches the journal's state")
    func killedWhileOrdersFlow() async throws {
        let broker = try Self.broker()
        let directory = makeTemporaryDirectory("bourse-kafka-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A topic of this run's own on the shared broker.
        let prefix = "crash-\(UInt32.random(in: 0...UInt32.max))"
        let log = "\(broker)/\(prefix)"
        let location = try KafkaLocation.parse(log + "?partitions=4").get()
        let arguments = "--kafka '\(log)?partitions=4' --rate-limit 1000000 --rate-burst 1000000"
        var rng = SplitMix64(seed: 21)
        var placed = 0
        for kill in 0..<Self.kills {
            let served = try await ServeProcessTests.Served.start(directory: directory, arguments: arguments)
            #expect(served.port != 0, "start \(kill): \(served.printed)")
            guard served.port != 0 else { return }
            let keys = [try ServeProcessTests.trader(directory), try ProjectionCrashTests.key(directory, account: 2)]
            try await Task.sleep(for: .seconds(1))
            // A count of acknowledged orders, not a time, so that a slow machine still kills after real work.
            let killAfter = Int(40 + rng.next() % 160)
            let acknowledged = ProjectionCrashTests.Count()
            let flowing = Task { await ProjectionCrashTests.flow(port: served.port, keys: keys, acknowledged: acknowledged) }
            // Bounded for the suite's first minutes, when every suite starts its parts at once: a first start
            // once acknowledged nothing for 30 s there.
            let deadline = ContinuousClock.now + .seconds(90)
            while acknowledged.value.load(ordering: .relaxed) < killAfter, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            if !served.process.isRunning { Issue.record("start \(kill) ended by itself: \(await served.ended(within: 1))") }
            Glibc.kill(served.process.processIdentifier, SIGKILL)
            let counted = await flowing.value
            #expect(counted >= killAfter, "start \(kill): \(counted) of \(killAfter) orders acknowledged before the kill; first refusal: \(acknowledged.firstRefusal.withLock { $0 } ?? "none")")
            placed += counted
        }
        #expect(placed >= 400, "orders acknowledged across the kills")
        // A last start publishes what the kills left unpublished; a clean stop publishes the rest.
        let last = try await ServeProcessTests.Served.start(directory: directory, arguments: arguments)
        #expect(last.port != 0, "\(last.printed)")
        last.process.interrupt()
        // Bounded for the suite's busiest minutes, when the broker is shared with the failover test.
        let ended = await last.ended(within: 120)
        #expect(ended.status == 0, "\(ended.errors.suffix(2_000))")

        let journal = directory + "/journal"
        var expected: [UInt64: [UInt8]] = [:]
        var scratch = ByteWriter(capacity: 1 << 12)
        let journalEnd = try JournalFeed.read(journal, after: 0, through: nil, chunk: 4_096) { entries in
            for entry in entries {
                var value = ByteWriter(capacity: 256)
                entry.events.withUnsafeBufferPointer { JournalFormat.appendPayload(entry.command, $0, note: entry.note, to: &value, scratch: &scratch) }
                expected[entry.command.sequence] = value.bytes
            }
        }
        #expect(journalEnd > 1_000)

        // Every record, partition by partition, as the topic holds it.
        let reader = try KafkaReader(brokers: location.brokers, topic: prefix + ".events", headers: [EventTopic.sequenceHeader])
        let topic = EventTopic(prefix: prefix, partitions: 4)
        #expect(try reader.partitionCount() == 4)
        var seen: [UInt64: Int] = [:]
        var misplaced: [String] = []
        for partition in Int32(0)..<4 {
            var previous: UInt64 = 0
            try reader.readToEnd(partition, from: 0) { record in
                let sequence = try #require(EventTopic.readBigEndian(record.headers[EventTopic.sequenceHeader]))
                seen[sequence, default: 0] += 1
                #expect(sequence > previous, "partition \(partition): sequence \(sequence) after \(previous)")
                previous = sequence
                #expect(record.value == expected[sequence], "sequence \(sequence): the record's bytes differ from the journal's entry")
                let symbol = record.key.isEmpty ? nil : try Symbol(validating: String(decoding: record.key, as: UTF8.self))
                if topic.partition(of: symbol) != partition { misplaced.append("\(sequence) in \(partition)") }
            }
        }
        let twice = seen.filter { $0.value > 1 }.keys.sorted()
        let missing = (1...journalEnd).filter { seen[$0] == nil }
        #expect(twice.isEmpty, "sequences published more than once: \(twice.prefix(20))")
        #expect(missing.isEmpty, "journal entries not in the topic: \(missing.prefix(20)) (\(missing.count))")
        #expect(seen.count == Int(journalEnd), "the topic holds \(seen.count) sequences, the journal \(journalEnd)")
        #expect(misplaced.isEmpty, "records outside their symbol's partition: \(misplaced.prefix(20))")

        // A replay from the topic reaches the state a replay of the journal reaches.
        let (fromJournal, journalOutput) = try await JournalCommandTests.run(["replay", directory])
        let (fromKafka, kafkaOutput) = try await JournalCommandTests.run(["replay", "--log", log])
        #expect(fromJournal == 0 && fromKafka == 0, "\(journalOutput)\n\(kafkaOutput)")
        let hash = { (output: String) in output.split(separator: "\n").first { $0.hasPrefix("state hash") } }
        #expect(hash(journalOutput) != nil && hash(journalOutput) == hash(kafkaOutput), "journal:\n\(journalOutput)\nkafka:\n\(kafkaOutput)")
        #expect(kafkaOutput.contains("entries        \(journalEnd) (last sequence \(journalEnd))"), "\(kafkaOutput)")
        print("kafka under SIGKILL: \(placed) orders acknowledged over \(Self.kills) kills, \(journalEnd) entries in \(prefix).events")
    }
}

extension KafkaPublicationTests {
    @Test("a transaction cut off by the next publisher's start is aborted; what the broker still shows of it is kept and nothing is sent twice")
    func cutOffTransaction() async throws {
        let broker = try Self.broker()
        let directory = try JournalCommandTests.dataDirectory(count: 3_000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = directory + "/journal"
        let prefix = "cut-\(UInt32.random(in: 0...UInt32.max))"
        let location = try KafkaLocation.parse("\(broker)/\(prefix)?partitions=3").get()
        var limits = JournalPublisher.Limits()
        limits.entriesPerTransactionMax = 500

        // A first publisher sends the journal's first 1,000 entries, then a transaction of 500 more that it
        // never commits: the process died.
        let first = JournalPublisher(location: location, journal: journal, keepsAccounts: false)
        try first.ensureTopic()
        var producerLimits = TransactionalProducer.Limits()
        producerLimits.callTimeoutMs = 5_000
        let producer = try TransactionalProducer(brokers: location.brokers, transactionalID: first.transactionalID, limits: producerLimits)
        try producer.initTransactions()
        let topic = EventTopic(prefix: prefix, partitions: 3)
        var scratch = ByteWriter(capacity: 1 << 12)
        let format = JournalFormat.formatBytes(keepsAccounts: false)
        try JournalFeed.read(journal, after: 0, through: 1_500, chunk: 500) { entries in
            try producer.begin()
            for entry in entries {
                var value = ByteWriter(capacity: 256)
                entry.events.withUnsafeBufferPointer { JournalFormat.appendPayload(entry.command, $0, note: entry.note, to: &value, scratch: &scratch) }
                try value.withUnsafeBytes { bytes in
                    try producer.produce(topic: topic.name, partition: Int32(entry.command.sequence % 3), key: [], value: bytes, headers: [
                        (EventTopic.sequenceHeader, EventTopic.bigEndian(entry.command.sequence)),
                        (EventTopic.transactionHeader, EventTopic.bigEndian(entries.first!.command.sequence)),
                        (EventTopic.formatHeader, format),
                        (EventTopic.dateHeader, []),
                    ])
                }
            }
            // The last transaction is left open, its records sent.
            if entries.last!.command.sequence < 1_500 { try producer.commit() } else { Thread.sleep(forTimeInterval: 0.5) }
        }

        let publisher = JournalPublisher(location: location, journal: journal, keepsAccounts: false, limits: limits)
        try publisher.open()
        let status = publisher.currentStatus
        #expect(status.published == 3_000)
        // Either the broker hides the aborted records (Kafka) and they are sent again, or it shows what
        // reached it (the test broker) and that is kept: from 1,500 to 2,000 entries sent now.
        #expect((1_500...2_000).contains(status.entriesSent + status.entriesFoundSent), "sent \(status.entriesSent), found \(status.entriesFoundSent)")
        // The cut-off producer is fenced: it can never commit again.
        #expect(throws: KafkaError.self) { try producer.commit() }

        let reader = try EventLogReader(location: location)
        var next: UInt64 = 1
        let summary = try reader.read { entry, _ in
            #expect(entry.command.sequence == next)
            next += 1
        }
        #expect(summary.lastSequence == 3_000 && summary.repeated == 0, "\(summary)")
    }
}

extension KafkaPublicationTests {
    /// A broker of the test's own, to freeze without touching the other tests': the tansu that
    /// `scripts/setup --test` installs, started as `scripts/kafka start` starts it.
    final class OwnBroker {
        static let tansu = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/kafka/bin/tansu").path
        let process = Process()
        let url: String
        var pid: Int32 { process.processIdentifier }

        init() throws {
            guard FileManager.default.isExecutableFile(atPath: Self.tansu) else {
                throw Missing(description: "\(Self.tansu) is missing: scripts/setup --test installs it")
            }
            let port = try Self.freePort()
            url = "kafka://127.0.0.1:\(port)"
            process.executableURL = URL(fileURLWithPath: Self.tansu)
            process.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                                 "--storage-engine", "memory://tansu/", "--cluster-id", "bourse-test"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            while (try? RawSocket(port: port)) == nil {
                guard process.isRunning, Date() < deadline else { throw Missing(description: "the test's broker did not listen on \(port)") }
                usleep(50_000)
            }
        }

        /// Killed outright: a frozen broker may not get to a SIGTERM.
        func stop() {
            guard process.isRunning else { return }
            Glibc.kill(pid, SIGKILL)
            process.waitUntilExit()
        }

        deinit { stop() }

        static func freePort() throws -> Int {
            let (held, port) = listeningOnFreePort()
            close(held)
            guard port != 0 else { throw Missing(description: "no free port") }
            return port
        }
    }

    @Test("with synchronous replication an order is answered only once its entry is in the topic: a frozen broker holds the answer back until it thaws, and a node whose publisher another fenced answers no more")
    func synchronousReplication() async throws {
        _ = try Self.broker()
        let broker = try OwnBroker()
        defer { broker.stop() }
        let directory = makeTemporaryDirectory("bourse-kafka-sync")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = "\(broker.url)/sync"
        let served = try await ServeProcessTests.Served.start(directory: directory, arguments: "--kafka '\(log)' --replication sync")
        #expect(served.port != 0, "\(served.printed)")
        guard served.port != 0 else { return }
        #expect(served.printed.contains("replication synchronous"))
        let key = try ServeProcessTests.trader(directory)
        let port = served.port
        @Sendable func order(_ id: String) -> (status: Int, body: String) {
            BlockingClient(port: port).send("POST", "/v2/orders", headers: [("APCA-API-KEY-ID", key.id), ("APCA-API-SECRET-KEY", key.secret)],
                body: #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"150.00","client_order_id":"\#(id)"}"#)
        }
        #expect(order("before").status == 200)

        // Frozen for two seconds while an order is sent; the times are taken on threads of their own, which
        // the test's shared threads cannot hold up.
        Glibc.kill(broker.pid, SIGSTOP)
        let answer = Shared<(status: Int, body: String, at: Date)?>(nil)
        let thawed = Shared<Date?>(nil)
        let pid = broker.pid
        Thread {
            let a = order("frozen")
            answer.withLock { $0 = (a.status, a.body, Date()) }
        }.start()
        Thread {
            Thread.sleep(forTimeInterval: 2)
            thawed.withLock { $0 = Date() }
            Glibc.kill(pid, SIGCONT)
        }.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while answer.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let (frozen, thaw) = (answer.withLock { $0 }, thawed.withLock { $0 })
        #expect(frozen?.status == 200, "\(String(describing: frozen))")
        if let frozen, let thaw { #expect(frozen.at >= thaw, "answered \(thaw.timeIntervalSince(frozen.at)) s before the broker thawed") }

        // Another publisher of the same log fences this node's: it answers no order after that.
        let (status, output) = try await JournalCommandTests.run(["publish", directory, "--log", log])
        #expect(status == 0, "\(output)")
        let after = order("fenced")
        #expect(after.status != 200 && after.body.contains("acknowledges nothing more"), "\(after.status) \(after.body)")

        var ids: [String] = []
        try EventLogReader(location: try KafkaLocation.parse(log).get()).read { entry, _ in
            if case .newOrder = entry.command.command { ids.append("\(entry.command.sequence)") }
        }
        #expect(ids.count >= 2, "the topic holds the orders answered: \(ids)")
        served.process.interrupt()
        _ = await served.ended(within: 30)
    }
}
