import BourseCore
import BourseEngine
import BourseJournal
import BourseKafka
import BourseProjections
import BourseTestSupport
import Foundation
import Testing

/// A former primary's journal against the log: the entries it journaled that never reached the log are
/// found exactly, set aside only once another leader's entries stand in the log at their sequences, and
/// the journal then follows the log to hold the leader's history byte for byte.
@Suite("a former primary's unreplicated tail")
struct UnreplicatedTailTests {
    /// Deposits of `cents` to account 1, journaled after what `journal` holds (fsync'd as the node does).
    static func append(_ journal: String, deposits: Int, cents: Int64) throws {
        let (engine, report) = try Recovery.recover(directory: journal, keepsAccounts: true, repair: false)
        let writer = try JournalWriter(directory: journal, durability: .os, lastSequence: report.lastSequence, keepsAccounts: true)
        var sequence = report.lastSequence
        for i in 0..<deposits {
            sequence += 1
            let command = SequencedCommand(sequence: sequence, time: Timestamp(nanos: engine.lastCommandTime.nanos + Int64(i + 1)),
                                           command: .deposit(AccountID(1), Money(units: cents * 100)))
            writer.append(command, engine.process(command))
        }
        try writer.commit(through: sequence)
    }

    static func bytes(_ journal: String) throws -> [UInt64: [UInt8]] {
        var entries: [UInt64: [UInt8]] = [:]
        var scratch = ByteWriter(capacity: 1 << 12)
        try JournalFeed.read(journal, after: 0, through: nil, chunk: 1_024) { batch in
            for entry in batch {
                var value = ByteWriter(capacity: 256)
                entry.events.withUnsafeBufferPointer { JournalFormat.appendPayload(entry.command, $0, note: entry.note, to: &value, scratch: &scratch) }
                entries[entry.command.sequence] = value.bytes
            }
        }
        return entries
    }

    @Test("a tail the log lacks is kept; once the log holds another leader's entries there it is found, refused to publish, set aside, and the journal follows the leader's")
    func tailFoundAndSetAside() async throws {
        let broker = try KafkaPublicationTests.broker()
        let root = makeTemporaryDirectory("bourse-tail")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (former, leader) = (root + "/former", root + "/leader")
        let location = try KafkaLocation.parse("\(broker)/tail-\(UInt32.random(in: 0...UInt32.max))?partitions=3").get()

        // Given a venue's history published from the former primary's journal,
        var run = KafkaDatedTopicsTests.Run(journal: former)
        try run.days(1, ordersBeforeFirst: 200)
        let published = run.sequence
        try JournalPublisher(location: location, journal: former, keepsAccounts: true).open()
        _ = try Snapshots.write(try Recovery.recover(directory: former, keepsAccounts: true, repair: false).0, sequence: published, directory: former)
        try FileManager.default.copyItem(atPath: former, toPath: leader)
        // and ten entries it journaled and never published, with a snapshot taken after them,
        try Self.append(former, deposits: 10, cents: 1)
        _ = try Snapshots.write(try Recovery.recover(directory: former, keepsAccounts: true, repair: false).0, sequence: published + 10, directory: former)

        // a tail the log lacks is no one else's: kept, to be published should this node lead.
        let lacking = try UnreplicatedTail.find(journal: former, location: location)
        #expect(lacking == .init(agreedThrough: published, journalLast: published + 10, logHoldsOthers: false))

        // When another leader publishes five entries of its own at those sequences,
        try Self.append(leader, deposits: 5, cents: 2)
        try JournalPublisher(location: location, journal: leader, keepsAccounts: true).open()

        // then the former primary's tail is found exactly, from the log's side as well,
        let found = try UnreplicatedTail.find(journal: former, location: location)
        #expect(found == .init(agreedThrough: published, journalLast: published + 10, logHoldsOthers: true))
        #expect(found.tail == (published + 1)...(published + 10))
        #expect(try UnreplicatedTail.find(journal: leader, location: location) == .init(agreedThrough: published + 5, journalLast: published + 5, logHoldsOthers: false))
        // and its publisher refuses to publish from it, naming the sequence.
        #expect {
            try JournalPublisher(location: location, journal: former, keepsAccounts: true).open()
        } throws: { error in
            "\(error)".contains("differ at sequence \(published + 5)")
        }

        // Set aside, the journal ends where the log and it agree; the bytes and the later snapshot are kept aside,
        let plan = try #require(try JournalRepair.plan(former, keepingThrough: found.agreedThrough))
        let digits = String(published + 10)
        #expect(plan.setAside.contains { $0.hasSuffix("snapshot-" + String(repeating: "0", count: 20 - digits.count) + digits + ".snap") }, "\(plan)")
        try JournalRepair.apply(plan, directory: former)
        #expect(try UnreplicatedTail.find(journal: former, location: location).tail == nil)
        #expect(JournalRepair.rewritten(former) == published, "what derives from the journal past the cut is made again")
        #expect(FileManager.default.fileExists(atPath: plan.cutFile! + ".cut-\(plan.cutOffset)") || plan.cutOffset == 0)
        // and, followed, it holds the leader's history byte for byte.
        let follower = LogFollower(location: location, journal: former)
        follower.stopAtEnd()
        try follower.run()
        #expect(follower.lastSequence == published + 5)
        #expect(try Self.bytes(former) == Self.bytes(leader))
        let (engine, report) = try Recovery.recover(directory: former, keepsAccounts: true, repair: false)
        #expect(report.lastSequence == published + 5 && engine.lastCommandTime.nanos > 0)
    }
}

/// The leadership lease, against PostgreSQL: one holder at a time, a new term each time it changes hands,
/// and only the current term's holder extends it.
@Suite("the leadership lease")
struct LeaseTests {
    @Test("given a free lease, the first node takes term 1; a second waits until it runs out, then takes term 2; the first can no longer renew")
    func termsChangeHands() throws {
        let root = makeTemporaryDirectory("bourse-lease")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = try StoreKind.postgres.makeLocation(in: root)
        let a = try Lease(location: database, venue: "v", holder: "a", url: "http://a", durationMs: 500)
        let b = try Lease(location: database, venue: "v", holder: "b", url: "http://b", durationMs: 500)
        defer { a.close(); b.close() }
        #expect(try a.current() == nil)
        #expect(try a.acquire() == 1)
        #expect(try b.acquire() == nil, "held")
        #expect(try a.renew(term: 1))
        let held = try #require(try b.current())
        #expect(held.term == 1 && held.holder == "a" && held.url == "http://a" && held.remainingMs > 0)
        // Run out, unrenewed: still term 1's until someone takes it.
        Thread.sleep(forTimeInterval: 0.7)
        #expect(try a.renew(term: 1), "run out and not taken, it is still term 1's")
        Thread.sleep(forTimeInterval: 0.7)
        #expect(try b.acquire() == 2)
        #expect(try a.renew(term: 1) == false, "taken: term 1 is over")
        #expect(try a.acquire() == nil)
        // Released, it is free at once.
        try b.release(term: 2)
        #expect(try a.acquire() == 3)
        #expect(try b.renew(term: 2) == false)
        let other = try Lease(location: database, venue: "w", holder: "b", url: "http://b", durationMs: 500)
        defer { other.close() }
        #expect(try other.acquire() == 1, "each venue has a lease of its own")
    }
}
