import BourseCore
import BourseJournal
import BourseKafka
import BourseNode
import BourseProjections
import BourseTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// A primary and a standby on the venue's log, failing over under load: clients place orders with the
/// leader, finding it through `/v1/leader` whenever it stops answering; the leader is killed (SIGKILL) or
/// frozen (SIGSTOP) again and again, and the standby takes over. Every order any client saw acknowledged
/// is in the last leader's journal; the log gives each sequence one entry, the last leader's; a frozen
/// leader, thawed, acknowledges nothing the log lacks, sets its unreplicated tail aside and follows as a
/// standby, as a killed one does when started again.
@Suite("a primary and a standby on the venue's log")
struct FailoverTests {
    static let rounds = 6

    /// A `bourse serve --standby` process, its output in a file; a leader that loses its lease starts
    /// itself again in the same process, printing on.
    final class Node: @unchecked Sendable {
        let name: String
        let directory: String
        let port: Int
        let arguments: [String]
        let output: String
        private(set) var process = Process()

        init(_ name: String, directory: String, port: Int, arguments: [String]) {
            self.name = name
            self.directory = directory
            self.port = port
            self.arguments = ["serve", "--data-dir", directory, "--port", "\(port)"] + arguments
            output = directory + ".log"
        }

        func start() throws {
            if !FileManager.default.fileExists(atPath: output) { _ = FileManager.default.createFile(atPath: output, contents: nil) }
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            file.seekToEndOfFile()
            process = Process()
            process.executableURL = URL(fileURLWithPath: CrashTests.executable)
            process.arguments = arguments
            process.standardOutput = file
            process.standardError = file
            try process.run()
        }

        var printed: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        /// What it printed, for a failure's message: a crash's reason and its crashed thread rather than the
        /// registers that end the backtrace.
        var told: String {
            let lines = printed.split(separator: "\n", omittingEmptySubsequences: false)
            // librdkafka's own log lines begin with "%" and may say "Fatal error" of a fenced producer.
            guard let fatal = lines.firstIndex(where: { !$0.hasPrefix("%") && ($0.contains("Fatal error") || $0.contains("crashed:")) }) else {
                return String(printed.suffix(3_000))
            }
            let crashed = lines.firstIndex { $0.contains("crashed:") } ?? fatal
            return (lines[max(0, fatal - 30)...fatal] + ["…"] + lines[crashed..<min(lines.count, crashed + 30)]).joined(separator: "\n")
        }

        /// Waits for a line that begins with `prefix` after the first `after` characters of the output.
        func waitFor(_ prefix: String, after: Int = 0, within: Duration = .seconds(120)) async -> Bool {
            let deadline = ContinuousClock.now + within
            while ContinuousClock.now < deadline {
                if printed.dropFirst(after).split(separator: "\n").contains(where: { $0.hasPrefix(prefix) }) { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        func kill(_ signal: Int32) { Glibc.kill(process.processIdentifier, signal) }
    }

    /// What the clients saw: each order acknowledged (its client order id, the port and the moment).
    final class Seen: Sendable {
        let acknowledged = Mutex<[(id: String, port: Int, at: ContinuousClock.Instant)]>([])
        let stopping = Atomic<Bool>(false)
        let refusals = Mutex<[String]>([])
        var count: Int { acknowledged.withLock { $0.count } }
        func first(on port: Int, after: ContinuousClock.Instant) -> ContinuousClock.Instant? {
            acknowledged.withLock { $0.first { $0.port == port && $0.at > after }?.at }
        }
    }

    /// The port of the node that says it leads, asking each in turn; nil when none does (yet).
    static func leader(_ ports: [Int]) -> Int? {
        for port in ports {
            let (status, body) = BlockingClient(port: port, timeoutSeconds: 1).send("GET", "/v1/leader")
            if status == 200, body.contains(#""role":"primary""#) { return port }
        }
        return nil
    }

    /// Lanes of orders from two accounts, each lane sending to the leader it last found until it stops
    /// answering, then finding it again. Returns once `seen.stopping` is set.
    static func flow(ports: [Int], keys: [(id: String, secret: String)], seen: Seen) async {
        await withCheckedContinuation { continuation in
            let lanes = 4
            let finished = Atomic<Int>(0)
            for lane in 0..<lanes {
                Thread {
                    var port: Int?
                    var client: BlockingClient?
                    var i = 0
                    while !seen.stopping.load(ordering: .relaxed) {
                        guard let at = port, let connection = client else {
                            port = leader(ports)
                            client = port.map { BlockingClient(port: $0, timeoutSeconds: 2) }
                            if port == nil { Thread.sleep(forTimeInterval: 0.05) }
                            continue
                        }
                        let key = keys[(lane + i) % 2]
                        let side = (lane + i / 2) % 2 == 0 ? "buy" : "sell"
                        let id = "f\(lane)-\(i)"
                        i += 1
                        let (status, body) = connection.send("POST", "/v2/orders", headers: [("APCA-API-KEY-ID", key.id), ("APCA-API-SECRET-KEY", key.secret)], body:
                            #"{"symbol":"AAPL","qty":"\#(1 + i % 3)","side":"\#(side)","type":"limit","time_in_force":"gtc","limit_price":"190.00","client_order_id":"\#(id)"}"#)
                        // A client's pace, not a flood: the suite's other tests share the two cores.
                        Thread.sleep(forTimeInterval: 0.004)
                        if status == 200 {
                            seen.acknowledged.withLock { $0.append((id, at, ContinuousClock.now)) }
                        } else {
                            if status != 0 { seen.refusals.withLock { if $0.count < 20 { $0.append("\(at): \(status) \(body.prefix(200))") } } }
                            // Not answered, or answered by a node that does not lead: find the leader again.
                            (port, client) = (nil, nil)
                        }
                    }
                    if finished.add(1, ordering: .acquiringAndReleasing).newValue == lanes { continuation.resume() }
                }.start()
            }
        }
    }

    @Test("failover under load, by SIGKILL and by SIGSTOP: every acknowledged order is on the new leader, no sequence names two entries, and the former leader sets its tail aside and follows")
    func failoverUnderLoad() async throws {
        let broker = try KafkaPublicationTests.broker()
        let root = makeTemporaryDirectory("bourse-failover")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let leaseDatabase = try StoreKind.postgres.makeLocation(in: root)
        let prefix = "failover-\(UInt32.random(in: 0...UInt32.max))"
        let log = "\(broker)/\(prefix)?partitions=3"
        let common = ["--fix-port", "0", "--kafka", log, "--standby", "--lease", leaseDatabase, "--lease-ms", "1500",
                      "--rate-limit", "1000000", "--rate-burst", "1000000"]
        let nodes = [Node("a", directory: root + "/a", port: try KafkaPublicationTests.OwnBroker.freePort(), arguments: common),
                     Node("b", directory: root + "/b", port: try KafkaPublicationTests.OwnBroker.freePort(), arguments: common)]
        defer { for node in nodes where node.process.isRunning { node.kill(SIGKILL) } }

        // The first node makes the venue and leads; the second, given its keys and configuration, follows.
        try nodes[0].start()
        // The first start comes when every suite starts at once: it took 130 s in one fresh-clone run.
        let led = await nodes[0].waitFor("listening on http://127.0.0.1:\(nodes[0].port)", within: .seconds(240))
        try #require(led, "the first node leads:\n\(nodes[0].printed)")
        try FileManager.default.createDirectory(atPath: nodes[1].directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for file in ["keys.json", "bourse.json"] {
            try FileManager.default.copyItem(atPath: nodes[0].directory + "/" + file, toPath: nodes[1].directory + "/" + file)
        }
        try nodes[1].start()
        let following = await nodes[1].waitFor("standby: listening on")
        try #require(following, "the second node follows:\n\(nodes[1].printed)")
        let keys = [try ProjectionCrashTests.key(nodes[0].directory, account: 1), try ProjectionCrashTests.key(nodes[0].directory, account: 2)]

        let seen = Seen()
        let flowing = Task.detached { await Self.flow(ports: nodes.map(\.port), keys: keys, seen: seen) }
        var leaderIndex = 0
        var failoverMs: [Int] = []
        var tailsSetAside = 0
        for round in 0..<Self.rounds {
            let (old, new) = (nodes[leaderIndex], nodes[1 - leaderIndex])
            // A count of acknowledged orders, not a time, so that a slow machine still fails over mid-flow.
            let target = seen.count + 100 + round * 37
            let deadline = ContinuousClock.now + .seconds(60)
            while seen.count < target, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            #expect(seen.count >= target, "round \(round): orders flow to \(old.name): \(seen.refusals.withLock { $0 })")
            let frozen = round % 2 == 1
            let mark = old.printed.count
            let killed = ContinuousClock.now
            old.kill(frozen ? SIGSTOP : SIGKILL)
            // Served: the first order the new leader acknowledges.
            var served: ContinuousClock.Instant?
            let limit = ContinuousClock.now + .seconds(60)
            while served == nil, ContinuousClock.now < limit {
                served = seen.first(on: new.port, after: killed)
                try await Task.sleep(for: .milliseconds(5))
            }
            guard let served else {
                Issue.record("round \(round): \(new.name) did not take over:\n\(new.told)")
                if frozen { old.kill(SIGCONT) }
                break
            }
            failoverMs.append(Int((served - killed) / .milliseconds(1)))
            if frozen {
                old.kill(SIGCONT)
                let restarted = await old.waitFor("leader: ", after: mark, within: .seconds(30))
                #expect(restarted, "round \(round): the thawed leader saw it no longer leads:\n\(old.printed.dropFirst(mark).suffix(3_000))")
            } else {
                try old.start()
            }
            let rejoined = await old.waitFor("standby: listening on", after: mark, within: .seconds(60))
            #expect(rejoined, "round \(round): \(old.name) follows as a standby:\n\(old.printed.dropFirst(mark).suffix(3_000))")
            if old.printed.dropFirst(mark).contains("never reached the log") { tailsSetAside += 1 }
            leaderIndex = 1 - leaderIndex
        }
        // Orders flow to the last leader, then stop.
        let settled = seen.count + 100
        let end = ContinuousClock.now + .seconds(60)
        while seen.count < settled, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(5)) }
        seen.stopping.store(true, ordering: .relaxed)
        await flowing.value

        // The standby stops, then the leader, cleanly.
        let (leader, standby) = (nodes[leaderIndex], nodes[1 - leaderIndex])
        for node in [standby, leader] {
            node.kill(SIGINT)
            let deadline = ContinuousClock.now + .seconds(60)
            while node.process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!node.process.isRunning && node.process.terminationStatus == 0, "\(node.name) stops cleanly:\n\(node.told)")
        }

        // Every acknowledged order is in the last leader's journal; the terms rose, one a leader.
        var placed = Set<String>()
        var terms: [UInt64] = []
        var entries: [UInt64: [UInt8]] = [:]
        var scratch = ByteWriter(capacity: 1 << 12)
        let journalEnd = try JournalFeed.read(leader.directory + "/journal", after: 0, through: nil, chunk: 4_096) { batch in
            for entry in batch {
                if let id = ClientOrderID.from(note: entry.note) { placed.insert(id) }
                if case .beginTerm(let term) = entry.command.command { terms.append(term) }
                var value = ByteWriter(capacity: 256)
                entry.events.withUnsafeBufferPointer { JournalFormat.appendPayload(entry.command, $0, note: entry.note, to: &value, scratch: &scratch) }
                entries[entry.command.sequence] = value.bytes
            }
        }
        let acknowledged = seen.acknowledged.withLock { $0 }
        let lost = acknowledged.filter { !placed.contains($0.id) }
        #expect(lost.isEmpty, "acknowledged and not on the last leader: \(lost.prefix(20).map { "\($0.id) by \($0.port)" })")
        #expect(terms.count == failoverMs.count + 1 && terms == terms.sorted() && Set(terms).count == terms.count, "terms: \(terms)")

        // The log: sequences 1 to the journal's end, each naming one entry, the last leader's.
        let location = try KafkaLocation.parse(log).get()
        let reader = try KafkaReader(brokers: location.brokers, topic: prefix + ".events", headers: [EventTopic.sequenceHeader])
        var logged: [UInt64: [UInt8]] = [:]
        var twoEntries: [UInt64] = []
        for partition in Int32(0)..<3 {
            try reader.readToEnd(partition, from: 0) { record in
                let sequence = try #require(EventTopic.readBigEndian(record.headers[EventTopic.sequenceHeader]))
                if let before = logged[sequence], before != record.value { twoEntries.append(sequence) }
                logged[sequence] = logged[sequence] ?? record.value
            }
        }
        #expect(twoEntries.isEmpty, "sequences that name two entries in the log: \(twoEntries.prefix(20))")
        let differing = (1...journalEnd).filter { logged[$0] == nil || logged[$0] != entries[$0] }
        #expect(differing.isEmpty, "sequences where the log and the last leader's journal differ: \(differing.prefix(20)) of \(journalEnd)")
        #expect(logged.keys.max() == journalEnd, "the log ends at \(logged.keys.max() ?? 0), the journal at \(journalEnd)")

        // The standby's journal is the same history, as far as it followed.
        var standbyDiffers: [UInt64] = []
        let standbyEnd = try JournalFeed.read(standby.directory + "/journal", after: 0, through: nil, chunk: 4_096) { batch in
            for entry in batch {
                var value = ByteWriter(capacity: 256)
                entry.events.withUnsafeBufferPointer { JournalFormat.appendPayload(entry.command, $0, note: entry.note, to: &value, scratch: &scratch) }
                if entries[entry.command.sequence] != value.bytes { standbyDiffers.append(entry.command.sequence) }
            }
        }
        #expect(standbyDiffers.isEmpty, "the standby's journal differs from the leader's at \(standbyDiffers.prefix(20))")
        let sorted = failoverMs.sorted()
        print("failover: \(acknowledged.count) orders acknowledged over \(failoverMs.count) failovers (SIGKILL and SIGSTOP in turn), \(journalEnd) entries, standby at \(standbyEnd); tails set aside \(tailsSetAside); failover ms p50 \(sorted.isEmpty ? 0 : sorted[sorted.count / 2]), max \(sorted.last ?? 0): \(failoverMs)")
    }
}
