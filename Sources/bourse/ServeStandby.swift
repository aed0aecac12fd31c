import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import BourseJournal
import BourseKafka
import BourseNode
import BourseProjections
import BourseServer
import BourseVenue
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// `serve --standby`: a node of a primary and standby pair. It follows the venue's log on Kafka, answers
/// `/v1/leader` on its port (and 503 naming the leader to everything else), and takes over when it
/// acquires the lease; then it serves as any node does, with the term journaled first. A leader that loses
/// its lease or finds its publisher fenced starts itself again as a standby, which sets aside what its
/// journal holds that the log does not.
extension Serve {
    struct Pair {
        var location: KafkaLocation
        var lease: Lease
        var url: String
    }

    /// The pair's settings, checked; nil without --standby.
    func pair(kafka: KafkaLocation?, host: String, port: Int) throws -> Pair? {
        guard standby else {
            if lease != nil { throw ValidationError("--lease is the leadership of a primary and standby pair: it goes with --standby") }
            return nil
        }
        guard let kafka else { throw ValidationError("--standby follows the venue's log: it needs --kafka") }
        let leaseName = try setting(lease, "BOURSE_LEASE", nil, "") { $0 }
        guard !leaseName.isEmpty else {
            throw ValidationError("--standby needs --lease postgres://user@host:port/database: the lease that says which node leads")
        }
        guard Lease.durationMsRange.contains(leaseMs) else {
            throw ValidationError("--lease-ms must be from \(Lease.durationMsRange.lowerBound) to \(Lease.durationMsRange.upperBound)")
        }
        // A port of 0 is resolved when the server listens; the address others use must be known before.
        guard port != 0 || advertise != nil else { throw ValidationError("--standby with port 0 needs --advertise: the address clients are sent to") }
        let url = advertise ?? "http://\(host):\(port)"
        guard url.utf8.count <= Lease.holderLengthMax else {
            throw ValidationError("--advertise is at most \(Lease.holderLengthMax) bytes, not \(url.utf8.count)")
        }
        // The lease names its holder by host and process, within its bound.
        let holder = String(decoding: ProcessInfo.processInfo.hostName.utf8.prefix(Lease.holderLengthMax - 12), as: UTF8.self) + "/\(getpid())"
        do {
            return Pair(location: kafka, lease: try Lease(location: leaseName, venue: kafka.prefix, holder: holder, url: url, durationMs: leaseMs),
                        url: url)
        } catch {
            throw ValidationError("--lease \(leaseName): \(error)")
        }
    }

    /// Follows the log, answering on the port as a standby, until this node leads; returns its lease.
    func followUntilLeader(_ pair: Pair, directory: DataDirectory, host: String, port: Int, store: String?) async throws -> LeaseKeeper {
        // The directory is this process's while it follows, as when it serves (which takes the lock again).
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock: NodeLock
        do { lock = try NodeLock.acquire(directory.path) } catch { throw ValidationError("\(error)") }
        defer { lock.release() }
        let leadership = Leadership(.init(role: .standby, node: pair.lease.holder))
        let app = StandbyServer(host: host, port: port, leadership: leadership).application { bound in
            say("standby: listening on http://\(host):\(bound); following \(pair.location.brokers)/\(pair.location.prefix) into \(directory.journalDirectory)")
        }
        // Ended by a graceful shutdown, never by cancelling its task: a connection accepted while the task is
        // cancelled brings NIO down (a writer dropped unfinished).
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
                                 logger: Logger(label: "bourse-standby"))
        let answering = Task { try await group.run() }
        try FileManager.default.createDirectory(atPath: directory.journalDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let node = StandbyNode(location: pair.location, journal: directory.journalDirectory, lease: pair.lease, log: { say($0) },
                               onStatus: { status in
            leadership.update {
                $0.term = status.leader?.term
                $0.leader = status.leader?.url
                $0.sequence = status.sequence
            }
        })
        let warming = Warming(directory: directory, store: store, node: node)
        defer { warming.stop() }
        // Ctrl-C or SIGTERM ends the standby's server, and so the standby.
        Task {
            do { try await answering.value } catch { say("standby: the port answers nothing: \(error)") }
            node.stop()
        }
        let keeper: LeaseKeeper
        do {
            keeper = try await onThread { try node.runUntilLeader(onLost: { Serve.restartAsStandby($0) }) }
        } catch {
            await group.triggerGracefulShutdown()
            // Not leading, the node gives the lease's connection back rather than dropping it open.
            pair.lease.close()
            throw error
        }
        // The port is the leader's from here on.
        await group.triggerGracefulShutdown()
        _ = try? await answering.value
        return keeper
    }

    /// Applies what the standby journals to the node's projections five times a second, on a thread of
    /// its own, so that taking over applies only the last moments rather than the whole journal.
    final class Warming: @unchecked Sendable {
        private let stopping = Atomic<Bool>(false)
        private let done = DispatchSemaphore(value: 0)

        init(directory: DataDirectory, store: String?, node: StandbyNode) {
            let thread = Thread { [self] in
                defer { done.signal() }
                var opened: (any ProjectionStore)?
                defer { opened?.close() }
                var runners: [ProjectionRunner] = []
                var applied: UInt64 = 0
                var said: String?
                while !stopping.load(ordering: .relaxed) {
                    let through = node.currentStatus.sequence
                    if through > applied || JournalRepair.rewritten(directory.journalDirectory) != nil {
                        do {
                            if opened == nil { opened = try directory.openStore(store) }
                            try node.whileJournalStays {
                                // Opened again after a cut: what they hold in memory may be past it.
                                if runners.isEmpty || JournalRepair.rewritten(directory.journalDirectory) != nil {
                                    runners = try directory.openProjections(store: opened!, through: through) { say("standby: \($0)") }
                                } else {
                                    for runner in runners { try runner.follow(through: through) }
                                }
                            }
                            applied = through
                            said = nil
                        } catch {
                            runners = []
                            // Said once until it changes; taking over applies the rest, or says why it cannot.
                            if said != "\(error)" { say("standby: keeping the projections: \(error)") }
                            said = "\(error)"
                        }
                    }
                    Thread.sleep(forTimeInterval: 0.2)
                }
            }
            thread.name = "bourse-standby-projections"
            thread.start()
        }

        /// Stops after the pass under way, and waits for it: the node opens the store next.
        func stop() {
            guard !stopping.exchange(true, ordering: .relaxed) else { return }
            done.wait()
        }
    }

    /// A node that no longer leads must not answer as the leader: it starts again, as a standby, in the same
    /// process (every descriptor closed, so the data directory's lock and the port are free).
    static func restartAsStandby(_ reason: String) -> Never {
        say("leader: \(reason); this node acknowledges nothing more and starts again as a standby")
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            for case let fd? in entries.map({ Int32($0) }) where fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        FileHandle.standardError.write(Data("bourse: cannot start again (\(String(cString: strerror(errno)))); exiting so that a supervisor restarts it\n".utf8))
        Glibc.exit(Serve.demotedStatus)
    }

    /// The exit status of a leader that lost its lease and could not start itself again (EX_TEMPFAIL).
    static let demotedStatus: Int32 = 75
}

/// Runs `body` on a thread of its own (it blocks), resuming the caller with its result.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
