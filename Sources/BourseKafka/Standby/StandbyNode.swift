import BourseJournal
import BourseProjections
import Foundation
import Synchronization

/// A node of a primary and standby pair until it leads: it sets aside what its journal holds that the log
/// does not (a former primary's unreplicated tail), follows the log (`LogFollower`), and tries for the
/// lease. Once it holds the lease it takes over, in this order:
///
/// 1. fences the former primary's publisher, so that it commits, and acknowledges, nothing more;
/// 2. reads the log to its end as it is after the fence, journaling every entry (all it ever committed);
/// 3. keeps the lease (`LeaseKeeper`) and hands the term to the caller, which opens the venue on the
///    journal, publishes from where the log ends and journals the term first.
public final class StandbyNode: @unchecked Sendable {
    public struct Status: Sendable, Equatable {
        /// The last sequence in this node's journal.
        public var sequence: UInt64 = 0
        /// The lease as last read: who leads.
        public var leader: Lease.Holding?
    }

    public let location: KafkaLocation
    public let journal: String
    public let lease: Lease
    private let log: @Sendable (String) -> Void
    private let status = Mutex(Status())
    private let onStatus: @Sendable (Status) -> Void
    private var follower: LogFollower?
    private let followed = DispatchSemaphore(value: 0)
    private let followerFailure = Mutex<(any Error)?>(nil)
    /// Held while the journal is cut: what reads the journal beside the follower waits.
    private let cutting = NSLock()

    public init(location: KafkaLocation, journal: String, lease: Lease, log: @escaping @Sendable (String) -> Void,
                onStatus: @escaping @Sendable (Status) -> Void = { _ in }) {
        self.location = location
        self.journal = journal
        self.lease = lease
        self.log = log
        self.onStatus = onStatus
    }

    public var currentStatus: Status { status.withLock { $0 } }

    /// What `runUntilLeader` throws once stopped.
    public struct Stopped: Error, CustomStringConvertible {
        public var description: String { "the standby was stopped" }
    }

    private let stopping = Atomic<Bool>(false)

    /// Ends `runUntilLeader` (throwing `Stopped`) at its next step, the follower's journal committed.
    public func stop() { stopping.store(true, ordering: .relaxed) }

    /// Follows the log until this node holds the lease and has taken over; returns the lease, kept from
    /// the moment it was taken (`onLost` is told if it is lost). Throws when the journal cannot be made to
    /// agree with the log (a divergence that is not a tail).
    public func runUntilLeader(onLost: @escaping @Sendable (String) -> Void) throws -> LeaseKeeper {
        // A few tries a lease, and at least four a second: a dead leader is replaced soon after its lease ends.
        let pause = min(Double(lease.durationMs) / 4_000, 0.25)
        while true {
            if stopping.load(ordering: .relaxed) {
                if let follower {
                    follower.stop()
                    followed.wait()
                }
                throw Stopped()
            }
            if follower == nil { try settleTail(leading: false) }
            try followerFailure.withLock { if let e = $0 { throw e } }
            let holding = try? lease.current()
            status.withLock {
                $0.leader = holding
                $0.sequence = follower?.lastSequence ?? $0.sequence
            }
            onStatus(currentStatus)
            if let term = try? lease.acquire() {
                let keeper = LeaseKeeper(lease: lease, term: term, onLost: onLost)
                keeper.start()
                log("standby: took the lease, term \(term); fencing the former primary and reading the log to its end")
                try takeOver()
                return keeper
            }
            Thread.sleep(forTimeInterval: pause)
        }
    }

    /// Fences, then reads the log to its end; the follower stops there.
    private func takeOver() throws {
        try JournalPublisher.fence(location)
        if follower == nil {
            // The journal's tail was not in the log: after the fence, the log may hold others' entries there.
            try settleTail(leading: true)
        }
        if let follower {
            follower.stopAtEnd()
            followed.wait()
            try followerFailure.withLock { if let e = $0 { throw e } }
            status.withLock { $0.sequence = follower.lastSequence }
        }
        log("standby: the journal holds the log through sequence \(currentStatus.sequence); leading")
    }

    /// Compares the journal with the log. A tail the log holds other entries for is set aside (and said);
    /// with none, the follower starts. A tail the log simply lacks stays: were this node to lead, it would
    /// publish it; were another, its first entries would differ from it, and it is set aside then.
    private func settleTail(leading: Bool) throws {
        let found = try UnreplicatedTail.find(journal: journal, location: location)
        status.withLock { $0.sequence = found.journalLast }
        if let tail = found.tail {
            guard found.logHoldsOthers else {
                if leading {
                    log("standby: the journal holds sequences \(tail.lowerBound)…\(tail.upperBound), which the log lacks; they are published as this node leads")
                }
                return
            }
            try setAside(tail, keepingThrough: found.agreedThrough)
        }
        startFollowing()
    }

    /// Runs `body` while the journal is not being cut: for what applies it beside the follower.
    public func whileJournalStays<T>(_ body: () throws -> T) rethrows -> T {
        cutting.lock()
        defer { cutting.unlock() }
        return try body()
    }

    private func setAside(_ tail: ClosedRange<UInt64>, keepingThrough agreed: UInt64) throws {
        cutting.lock()
        defer { cutting.unlock() }
        var listed: [String] = []
        try JournalFeed.read(journal, after: agreed, through: tail.upperBound, chunk: 256) { entries in
            for entry in entries where listed.count < Self.tailListedMax {
                listed.append("  sequence \(entry.command.sequence): \(entry.command.command)")
            }
        }
        guard let plan = try JournalRepair.plan(journal, keepingThrough: agreed) else { return }
        log("standby: this journal's sequences \(tail.lowerBound)…\(tail.upperBound) (\(tail.count) entries) never reached the log, which holds another leader's entries there; none of them was acknowledged with synchronous replication. Setting them aside:")
        for line in listed { log(line) }
        if tail.count > listed.count { log("  … and \(tail.count - listed.count) more") }
        log(plan.description)
        try JournalRepair.apply(plan, directory: journal)
    }

    static let tailListedMax = 50

    private func startFollowing() {
        let follower = LogFollower(location: location, journal: journal, log: log)
        self.follower = follower
        let thread = Thread { [self] in
            defer { followed.signal() }
            do { try follower.run() } catch {
                log("standby: following the log stopped: \(error)")
                followerFailure.withLock { $0 = error }
            }
        }
        thread.name = "bourse-standby-follower"
        thread.start()
    }
}

/// Keeps the leader's lease: renews it a few times a lease, and says when it is lost: taken by another
/// node, or not renewed for a whole lease (the database out of reach, so another may take it).
public final class LeaseKeeper: @unchecked Sendable {
    public let lease: Lease
    public let term: UInt64
    private let stopping = Atomic<Bool>(false)
    private let onLost: @Sendable (String) -> Void

    public init(lease: Lease, term: UInt64, onLost: @escaping @Sendable (String) -> Void) {
        self.lease = lease
        self.term = term
        self.onLost = onLost
    }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "bourse-lease"
        thread.start()
    }

    /// Stops renewing; with `release`, lets the lease run out now so that a standby takes over at once.
    public func stop(release: Bool) {
        stopping.store(true, ordering: .relaxed)
        if release { try? lease.release(term: term) }
    }

    private func run() {
        let every = Double(lease.durationMs) / 3_000
        var renewed = ContinuousClock.now
        while !stopping.load(ordering: .relaxed) {
            do {
                if try lease.renew(term: term) {
                    renewed = ContinuousClock.now
                } else {
                    let holder = (try? lease.current()).flatMap { $0 }.map { "; \($0)" } ?? ""
                    onLost("the lease of term \(term) was taken\(holder)")
                    return
                }
            } catch {
                if ContinuousClock.now - renewed > .milliseconds(lease.durationMs) {
                    onLost("the lease of term \(term) could not be renewed for \(lease.durationMs) ms: \(error)")
                    return
                }
            }
            Thread.sleep(forTimeInterval: every)
        }
    }
}
