import ArgumentParser
import BourseKafka
import BourseNode
import Dispatch
import Foundation
import Synchronization

struct Follow: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep a journal of the venue's own from its log on Kafka, verifying every entry: a standby's replication.",
        discussion: """
        Recovers the engine from the directory's journal, then applies each entry of the event topic after it, \
        checks its events against the ones the primary journaled, and journals it (fsync). Stops on SIGINT or \
        SIGTERM, with a snapshot; exits non-zero, naming the sequence, on an entry whose events differ. \
        `bourse replay` of the directory then reaches the primary's state.
        """)

    @Argument(help: "The standby's data directory (its journal is DIR/journal).")
    var directory: String

    @Option(help: "kafka://HOST:PORT[,HOST:PORT…][/PREFIX]: the venue's event topic, PREFIX.events.")
    var log: String

    @Option(help: "Write a snapshot after this many entries (at least 1,000).")
    var snapshotEvery: UInt64 = 100_000

    func run() throws {
        let location: KafkaLocation
        switch KafkaLocation.parse(log) {
        case .success(let l): location = l
        case .failure(let invalid): throw ValidationError("--log: \(invalid)")
        }
        guard snapshotEvery >= 1_000 else { throw ValidationError("--snapshot-every must be at least 1000") }
        var limits = LogFollower.Limits()
        limits.snapshotEvery = snapshotEvery
        let journal = directory + "/journal"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        let follower = LogFollower(location: location, journal: journal, limits: limits, log: { say($0) })
        var sources = onStopSignals { follower.stop() }
        // Where it is, once a second when it moved: for an operator, and for tests that wait for it.
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let told = Atomic<UInt64>(0)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler {
            let last = follower.lastSequence
            if told.exchange(last, ordering: .relaxed) != last { print("journaled through \(last)"); fflush(nil) }
        }
        timer.resume()
        sources.append(timer)
        do {
            try follower.run()
        } catch {
            throw ReplayFailure(message: "following \(location) stopped: \(error)")
        }
        print("journaled through \(follower.lastSequence); stopped")
        withExtendedLifetime(sources) {}
    }
}
