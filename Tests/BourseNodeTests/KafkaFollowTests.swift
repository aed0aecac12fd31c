import BourseCore
import BourseKafka
import BourseTestSupport
import Foundation
import Glibc
import Testing

/// A standby's replication (`bourse follow`): it follows a primary's log while orders flow, is killed
/// without warning and started again on the way, and at the end its own journal replays, entry for entry
/// and verified, to the primary's state.
@Suite("the journal on Kafka: a follower's journal")
struct KafkaFollowTests {
    @Test("a follower killed and started again while orders flow ends with a journal that replays to the primary's state hash")
    func followerKeepsTheVenue() async throws {
        let broker = try KafkaPublicationTests.broker()
        let primary = makeTemporaryDirectory("bourse-kafka-primary")
        let standby = makeTemporaryDirectory("bourse-kafka-standby")
        defer {
            try? FileManager.default.removeItem(atPath: primary)
            try? FileManager.default.removeItem(atPath: standby)
        }
        let log = "\(broker)/follow-\(UInt32.random(in: 0...UInt32.max))?partitions=3"
        let served = try await ServeProcessTests.Served.start(directory: primary, arguments: "--kafka '\(log)' --rate-limit 1000000 --rate-burst 1000000")
        #expect(served.port != 0, "\(served.printed)")
        guard served.port != 0 else { return }
        let keys = [try ServeProcessTests.trader(primary), try ProjectionCrashTests.key(primary, account: 2)]
        let acknowledged = ProjectionCrashTests.Count()
        let flowing = Task { await ProjectionCrashTests.flow(port: served.port, keys: keys, acknowledged: acknowledged) }
        let following = ["follow", standby, "--log", log]
        let first = try KafkaProjectionTests.Projecting(following, output: standby + "-first.log")
        defer { if first.process.isRunning { Glibc.kill(first.process.processIdentifier, SIGKILL) } }

        let deadline = ContinuousClock.now + .seconds(60)
        func through(_ p: KafkaProjectionTests.Projecting) -> UInt64 {
            p.printed.split(separator: "\n").compactMap { $0.hasPrefix("journaled through ") ? UInt64($0.dropFirst(18).prefix(while: \.isNumber)) : nil }.max() ?? 0
        }
        while acknowledged.value.load(ordering: .relaxed) < 300 || through(first) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        Glibc.kill(first.process.processIdentifier, SIGKILL)
        let killedAt = through(first)
        let second = try KafkaProjectionTests.Projecting(following, output: standby + "-second.log")
        defer { if second.process.isRunning { Glibc.kill(second.process.processIdentifier, SIGKILL) } }
        let more = acknowledged.value.load(ordering: .relaxed) + 300
        while acknowledged.value.load(ordering: .relaxed) < more, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        served.process.interrupt()
        let ended = await served.ended(within: 60)
        #expect(ended.status == 0, "\(ended.errors.suffix(2_000))")
        let placed = await flowing.value

        let (status, primaryReplay) = try await JournalCommandTests.run(["replay", primary])
        #expect(status == 0, "\(primaryReplay)")
        let end = try #require(primaryReplay.split(separator: "\n").first { $0.hasPrefix("entries") }
            .flatMap { UInt64($0.split(separator: " ").dropFirst().first ?? "") }, "\(primaryReplay)")
        while through(second) < end, second.process.isRunning, ContinuousClock.now < deadline + .seconds(60) {
            try await Task.sleep(for: .milliseconds(50))
        }
        second.process.interrupt()
        second.process.waitUntilExit()
        #expect(second.process.terminationStatus == 0, "\(second.printed)")
        #expect(through(second) == end, "the follower journaled through \(through(second)) of \(end):\n\(second.printed)")

        let (standbyStatus, standbyReplay) = try await JournalCommandTests.run(["replay", standby])
        #expect(standbyStatus == 0, "\(standbyReplay)")
        let lines = { (output: String) in output.split(separator: "\n").filter { $0.hasPrefix("state hash") || $0.hasPrefix("entries") || $0.hasPrefix("trade checksum") } }
        #expect(lines(primaryReplay).count == 3 && lines(standbyReplay) == lines(primaryReplay), "primary:\n\(primaryReplay)\nstandby:\n\(standbyReplay)")
        print("kafka follower: \(placed) orders, \(end) entries; killed at \(killedAt), the second start caught up")
    }
}
