import BourseCore
import BourseEngine
import BourseJournal
import BourseNode
import Foundation
import Synchronization

/// A standby's replication: keeps a journal of its own from the venue's log on Kafka. It recovers its
/// engine from its journal, reads the event topic in the journal's order from the entry after its last
/// (`EventLogFeed`), applies each command to its engine and checks that the events are the ones the primary
/// journaled, as recovery does, then journals them (fsync) and snapshots now and then. An entry whose events
/// differ stops it, naming the sequence: the standby would no longer be the venue.
public final class LogFollower: @unchecked Sendable {
    public struct Limits: Sendable {
        public var entriesPerCommitMax = 4_096
        public var snapshotEvery: UInt64 = 100_000
        public init() {}
    }

    public struct Divergence: Error, CustomStringConvertible {
        public var sequence: UInt64
        public var detail: String
        public var description: String { "sequence \(sequence): \(detail)" }
    }

    public let location: KafkaLocation
    public let journal: String
    public let limits: Limits
    private let log: @Sendable (String) -> Void
    private let stopping = Atomic<Bool>(false)
    private let finishing = Atomic<Bool>(false)
    private let applied = Atomic<UInt64>(0)

    public init(location: KafkaLocation, journal: String, limits: Limits = .init(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.location = location
        self.journal = journal
        self.limits = limits
        self.log = log
    }

    /// The last sequence journaled here.
    public var lastSequence: UInt64 { applied.load(ordering: .relaxed) }

    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Stops once it has read the log to its end as the end is when this is called: after the former
    /// primary was fenced, everything it ever committed.
    public func stopAtEnd() { finishing.store(true, ordering: .relaxed) }

    /// Follows the log on the calling thread until `stop`; snapshots the engine when it stops.
    public func run() throws {
        let (engine, report) = try Recovery.recover(directory: journal, keepsAccounts: true, repair: true)
        let writer = try JournalWriter(directory: journal, durability: .fsync, lastSequence: report.lastSequence,
                                       keepsAccounts: engine.keepsAccounts)
        var last = report.lastSequence
        var snapshotAt = last
        applied.store(last, ordering: .relaxed)
        log("following \(location) from sequence \(last + 1) into \(journal)")
        var feed: EventLogFeed?
        defer {
            if last > snapshotAt { _ = try? Snapshots.write(engine, sequence: last, directory: journal) }
        }
        while !stopping.load(ordering: .relaxed) {
            let lastPass = finishing.load(ordering: .relaxed)
            do {
                if feed == nil { feed = try EventLogFeed(location: location) }
                let before = last
                last = try feed!.read(after: last, through: nil, chunk: limits.entriesPerCommitMax) { batch in
                    if let keeps = feed!.keepsAccounts, keeps != engine.keepsAccounts {
                        throw Divergence(sequence: batch[0].command.sequence, detail: "the log's engine \(keeps ? "keeps" : "keeps no") accounts, this one \(engine.keepsAccounts ? "does" : "does not")")
                    }
                    for entry in batch {
                        let events = engine.process(entry.command)
                        guard events == entry.events else {
                            throw Divergence(sequence: entry.command.sequence, detail: "the engine here made \(events.count) events that differ from the \(entry.events.count) the log holds")
                        }
                        writer.append(entry.command, events, note: entry.note)
                    }
                    let through = batch.last!.command.sequence
                    try writer.commit(through: through)
                    applied.store(through, ordering: .relaxed)
                }
                if last - snapshotAt >= limits.snapshotEvery {
                    _ = try Snapshots.write(engine, sequence: last, directory: journal)
                    snapshotAt = last
                }
                if lastPass { break }
                if last == before { Thread.sleep(forTimeInterval: 0.01) }
            } catch let divergence as Divergence {
                throw divergence
            } catch let error as KafkaError {
                log("reading \(location): \(error); reading again in a second")
                // What the batches before the error journaled stays; the feed starts again after it.
                last = applied.load(ordering: .relaxed)
                feed = nil
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }
}
