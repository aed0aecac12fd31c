import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import BourseFIX
import BourseKafka
import BourseNode
import BourseServer
import BourseVenue
import Foundation
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the venue: REST API on one port, journal and snapshots in the data directory.",
        discussion: """
        The first start in an empty data directory writes the demo configuration to <data dir>/bourse.json, \
        sets up its venue (symbols, funded accounts) and prints its API keys once; they are also written to \
        <data dir>/credentials.json (mode 0600). Each start creates what the configuration names and the venue \
        lacks. Flags win over environment variables, which win over the configuration file. Ctrl-C stops it \
        gracefully: queued commands are applied and a snapshot is written.
        """)

    @Option(help: "The data directory: journal, snapshots, configuration and keys (env BOURSE_DATA_DIR; default ./bourse-data).")
    var dataDir: String?
    @Option(help: "The configuration file (env BOURSE_CONFIG; default <data dir>/bourse.json, written with the demo venue when missing).")
    var config: String?
    @Option(help: "The port for HTTP and WebSocket (env BOURSE_PORT; else the configuration's listen.port, else 8080).")
    var port: Int?
    @Option(help: "The address to listen on (env BOURSE_HOST; else the configuration's listen.host, else 127.0.0.1).")
    var host: String?
    @Option(help: "The port for FIX 4.4 (env BOURSE_FIX_PORT; else the configuration's fix.port, else 9878). FIX listens when the configuration has a fix section or this is given.")
    var fixPort: Int?
    @Option(help: "Requests a second allowed for each API key; more get 429 with Retry-After (env BOURSE_RATE_LIMIT; default 2000).")
    var rateLimit: Int?
    @Option(help: "How many requests a key may send at once before the rate limit applies (env BOURSE_RATE_BURST; default 4000).")
    var rateBurst: Int?
    @Option(help: "Log level: trace, debug (every request with its id), info, notice, warning, error, critical (env BOURSE_LOG_LEVEL).")
    var logLevel: String?
    @Option(help: "Milliseconds a market data connection waits between frames when busy; messages meanwhile share one frame (0 to 1000).")
    var streamWindowMs = 10
    @Option(help: "Milliseconds between messages of one symbol and channel on a conflated market data connection (10 to 60000).")
    var conflationMs = 1_000
    @Option(help: "Messages a market data connection may fall behind before it is closed (64 to 1048576).")
    var streamQueue = 8_192
    @Option(help: "Days of trades and quotes kept in market-history.sqlite for history and replay-market (1 to 3650).")
    var historyDays = 30
    @Option(help: "A bearer token that may read /metrics, for a scraper (env BOURSE_METRICS_TOKEN); without one only risk and admin keys may.")
    var metricsToken: String?
    @Option(help: "Connections open at once; past it new ones wait to be accepted (lowered to fit the descriptor limit).")
    var connectionsMax = 4_096
    @Option(help: "Connections open at once from one client address; one more is closed.")
    var connectionsPerAddressMax = 512
    @Option(help: "Seconds a connection has to send a whole request, after opening or after its last answer (1 to 3600).")
    var requestTimeoutS = 10
    @Option(help: "Where the projections are kept: sqlite (projections.sqlite in the data directory) or postgres://user@host:port/database (env BOURSE_STORE; else the configuration's store).")
    var store: String?

    @Option(help: "Publish the journal to Kafka: kafka://HOST:PORT[,HOST:PORT…][/PREFIX][?partitions=N&replication=N&retention_ms=N] (env BOURSE_KAFKA). The event topic is PREFIX.events (default bourse.events).")
    var kafka: String?

    @Option(help: "With --kafka: async (an order is acknowledged once durable in the journal; the default for one node) or sync (once it is also committed to the event topic; the default with --standby) (env BOURSE_REPLICATION).")
    var replication: String?

    @Flag(help: "A node of a primary and standby pair: it follows the venue's log (--kafka) and answers /v1/leader until it acquires the lease (--lease), then takes over and serves. Start both nodes so; a leader that loses the lease starts again as a standby.")
    var standby = false
    @Option(help: "With --standby: the PostgreSQL database that holds the leadership lease, postgres://user@host:port/database (env BOURSE_LEASE).")
    var lease: String?
    @Option(help: "With --standby: how long a lease lasts unrenewed, in milliseconds: a dead leader is replaced within about this (500 to 600000).")
    var leaseMs = 3_000
    @Option(help: "With --standby: the URL clients reach this node at, told by /v1/leader (default http://HOST:PORT).")
    var advertise: String?

    @Flag(help: "Run built-in market participants (a market maker, takers, noise traders) so the book and tape live.")
    var simulate = false
    @Option(help: "The simulation's seed.")
    var seed: UInt64 = 1

    /// The exit status when the sequencer stopped on a journal failure (EX_IOERR).
    static let sequencerFailedStatus: Int32 = 74

    /// A flag, else the environment variable, else the configuration's value, else the default.
    func setting<T>(_ flag: T?, _ variable: String, _ configured: T?, _ fallback: T, parse: (String) -> T?) throws -> T {
        if let flag { return flag }
        if let text = ProcessInfo.processInfo.environment[variable] {
            guard let value = parse(text) else { throw ValidationError("\(variable)=\(text) is not a valid value") }
            return value
        }
        return configured ?? fallback
    }

    func run() async throws {
        // Whatever the venue creates (SQLite's journals included) is its owner's only.
        umask(0o077)
        // A file-size limit (ulimit -f) is an error a write reports, for the sequencer to name, not a signal
        // that kills the process without a word.
        signal(SIGXFSZ, SIG_IGN)
        let directory = DataDirectory(path: try setting(dataDir, "BOURSE_DATA_DIR", nil, "./bourse-data") { $0 })
        let file = try setting(config, "BOURSE_CONFIG", nil, "") { $0 }
        let configuration = file.isEmpty ? nil : try VenueConfiguration.read(file)
        let level = try setting(logLevel, "BOURSE_LOG_LEVEL", nil, "info") { $0 }
        guard let level = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level \(level)") }
        guard (64...1_048_576).contains(streamQueue) else { throw ValidationError("--stream-queue must be from 64 to 1048576") }
        guard (10...60_000).contains(conflationMs) else { throw ValidationError("--conflation-ms must be from 10 to 60000") }
        guard (1...3_650).contains(historyDays) else { throw ValidationError("--history-days must be from 1 to 3650") }
        let storeName = try setting(store, "BOURSE_STORE", nil, "") { $0 }
        // The configuration the directory will open with, read first so that a port in use is reported
        // before anything is created.
        let planned = try configuration ?? (FileManager.default.fileExists(atPath: directory.configurationFile)
            ? VenueConfiguration.read(directory.configurationFile) : VenueConfiguration.demo)
        let listen = planned.listen, limits = planned.rate_limit
        let host = try setting(host, "BOURSE_HOST", listen?.host, "127.0.0.1") { $0 }
        let port = try setting(port, "BOURSE_PORT", listen?.port, 8080) { Int($0) }
        if let problem = Self.listenProblem(host: host, port: port) { throw ValidationError(problem) }
        let fixEntry = planned.fix ?? (fixPort != nil || ProcessInfo.processInfo.environment["BOURSE_FIX_PORT"] != nil
            ? VenueConfiguration.FIXEntry(sessions: []) : nil)
        let fixHost = fixEntry?.host ?? host
        let fixPort = try setting(fixPort, "BOURSE_FIX_PORT", fixEntry?.port, VenueConfiguration.FIXEntry.defaultPort) { Int($0) }
        if fixEntry != nil, let problem = Self.listenProblem(host: fixHost, port: fixPort) { throw ValidationError("FIX: " + problem) }
        let kafkaName = try setting(kafka, "BOURSE_KAFKA", nil, "") { $0 }
        var kafka: KafkaLocation?
        if !kafkaName.isEmpty {
            switch KafkaLocation.parse(kafkaName) {
            case .success(let location): kafka = location
            case .failure(let invalid): throw ValidationError("--kafka: \(invalid)")
            }
        }
        let pair = try self.pair(kafka: kafka, host: host, port: port)
        let replication = try setting(replication, "BOURSE_REPLICATION", nil, pair == nil ? "async" : "sync") { $0 }
        guard ["async", "sync"].contains(replication) else { throw ValidationError("--replication must be async or sync, not \(replication)") }
        if replication == "sync", kafka == nil { throw ValidationError("--replication sync replicates to Kafka: it needs --kafka") }
        if pair != nil, replication == "async" {
            say("replication asynchronous with a standby: what this node acknowledged and had not published when it died is lost to the standby")
        }
        // A pair's node leads only once it holds the lease; until then it follows the log.
        let keeper: LeaseKeeper?
        do {
            if let pair {
                keeper = try await followUntilLeader(pair, directory: directory, host: host, port: port, store: storeName.isEmpty ? nil : storeName)
            } else {
                keeper = nil
            }
        } catch is StandbyNode.Stopped {
            say("standby stopped; its journal is in \(directory.journalDirectory)")
            return
        }
        var publisher: JournalPublisher?
        // After the node has stopped: the publisher sends what the sequencer handed it last; then a leader
        // stopped on purpose lets its lease run out, so that the standby need not wait for it.
        defer {
            publisher?.waitUntilFinished()
            keeper?.stop(release: true)
        }
        let opened = try await directory.open(configuration: configuration, store: storeName.isEmpty ? nil : storeName,
                                              streamQueueMax: streamQueue, historyDays: historyDays, attach: { node in
            guard let kafka else { return }
            publisher = try Self.startPublisher(kafka, node: node, journal: directory.journalDirectory, synchronous: replication == "sync")
            if let keeper, let pair {
                // The term's first entry, before anything a client sends.
                try node.venue.sequencer.submit(.beginTerm(keeper.term))
                node.leadership.update { $0 = .init(role: .primary, term: keeper.term, leader: pair.url, node: pair.lease.holder) }
            }
        })
        // A leader whose publisher another fenced acknowledges nothing more: it starts again as a standby.
        let fenced = Task { [publisher] in
            guard keeper != nil, let publisher else { return }
            while !Task.isCancelled {
                if publisher.currentStatus.fenced { Self.restartAsStandby("another node publishes the venue's log now") }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { fenced.cancel() }
        // Stopped however this ends, an error included: the projections' threads must not be cut off mid-write.
        defer { opened.stop() }
        let rateLimit = try setting(rateLimit, "BOURSE_RATE_LIMIT", limits?.per_second, 2_000) { Int($0) }
        let rateBurst = try setting(rateBurst, "BOURSE_RATE_BURST", limits?.burst, 4_000) { Int($0) }
        if let snapshot = opened.node.recovery.snapshot {
            say("recovered from the snapshot at \(snapshot.sequence), then \(opened.node.recovery.entriesReplayed) journal entries")
        } else if opened.node.recovery.lastSequence > 0 {
            say("recovered \(opened.node.recovery.entriesReplayed) journal entries")
        }
        // What recovery cut or passed over is said every time: an operator must see it, not find it later.
        if let torn = opened.node.recovery.tornTail { say("journal: \(torn)") }
        for skipped in opened.node.recovery.snapshotsSkipped { say("snapshot not used: \(skipped)") }
        for (name, count) in opened.node.caughtUp.sorted(by: { $0.key < $1.key }) where count > 0 {
            say("projection \(name): applied \(count) journal entries to \(opened.projections.store.location)")
        }
        for line in opened.node.applied { say("configuration: \(line)") }
        if !opened.issued.isEmpty {
            say("new API keys (also in \(directory.credentialsFile)):")
            for key in opened.issued {
                let owner = key.firm.map { "firm \($0)   " } ?? "account \(key.account)"
                say("  \(key.role.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(owner)  APCA-API-KEY-ID \(key.keyID)  APCA-API-SECRET-KEY \(key.secret)")
            }
        }
        guard (0...1_000).contains(streamWindowMs) else { throw ValidationError("--stream-window-ms must be from 0 to 1000") }
        guard (1...3_600).contains(requestTimeoutS) else { throw ValidationError("--request-timeout-s must be from 1 to 3600") }
        guard connectionsMax > 0, connectionsPerAddressMax > 0 else { throw ValidationError("connection limits must be positive") }
        guard let connectionLimits = ConnectionLimits(connectionsMax: connectionsMax, connectionsPerAddressMax: connectionsPerAddressMax,
                                                      requestTimeout: .seconds(requestTimeoutS)).fitted() else {
            throw ValidationError("the descriptor limit (ulimit -n) leaves no room for connections once \(ConnectionLimits.descriptorsReserved) are kept for the journal and stores")
        }
        if connectionLimits.connectionsMax < connectionsMax {
            say("connections: at most \(connectionLimits.connectionsMax), to keep \(ConnectionLimits.descriptorsReserved) descriptors for the journal and stores")
        }
        let metricsToken = try setting(metricsToken, "BOURSE_METRICS_TOKEN", nil, "") { $0 }
        let server = Server(opened: opened, host: host, port: port, rateLimit: rateLimit, rateBurst: rateBurst, logLevel: level,
                            streamWindow: .milliseconds(streamWindowMs), conflationInterval: .milliseconds(conflationMs),
                            connectionLimits: connectionLimits, metricsToken: metricsToken.isEmpty ? nil : metricsToken)
        let app = server.application { port in
            opened.node.lock.record(url: "http://\(host):\(port)")
            if pair == nil { opened.node.leadership.update { $0.leader = "http://\(host):\(port)" } }
            // The last line is the one supervisors and tests wait for.
            let stateDirectory = URL(fileURLWithPath: directory.path).standardizedFileURL.path
            say("the web page is http://\(host):\(port)/; the venue's state (journal, projections, credentials.json) is in \(stateDirectory)")
            say("stop with Ctrl-C; the same command starts it again where it stopped; to start over, stop it and delete \(stateDirectory)")
            say("listening on http://\(host):\(port)")
        }
        var fix: FIXGateway?
        if let fixEntry { fix = try await startFIX(fixEntry, host: fixHost, port: fixPort, directory: directory, opened: opened) }
        let participants = simulate ? Task { await Simulation(seed: seed).run(opened.venue) } : nil
        let scheduler = Task { await Scheduler(node: opened.node).run() }
        let marks = Task { await MarkClock(node: opened.node).run() }
        let margin = Task { await MarginDesk(node: opened.node).run() }
        let tradeFiles = Task { await opened.node.files.run { line in FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        let feeds = Task { await opened.node.feeds.run() }
        // Crash-only: the engine holds commands the journal could not make durable, so no answer may come from
        // it again. The process exits naming the reason; a restart recovers what was acknowledged.
        opened.venue.onFailure { reason in
            FileHandle.standardError.write(Data("bourse: the sequencer stopped: \(reason); exiting so that a restart recovers the journal\n".utf8))
            Glibc.exit(Serve.sequencerFailedStatus)
        }
        do {
            try await app.runService()
        } catch {
            await fix?.stop()
            scheduler.cancel()
            marks.cancel()
            margin.cancel()
            tradeFiles.cancel()
            await tradeFiles.value
            feeds.cancel()
            participants?.cancel()
            await participants?.value
            throw error
        }
        await fix?.stop()
        scheduler.cancel()
        marks.cancel()
        margin.cancel()
        tradeFiles.cancel()
        await tradeFiles.value
        feeds.cancel()
        participants?.cancel()
        await participants?.value
        say("stopped; the venue's state is in \(directory.path)")
    }
}

extension Serve {
    /// Publishes the journal up to its end, then follows the sequencer: before the sequencer starts, so that
    /// the publisher misses nothing.
    static func startPublisher(_ location: KafkaLocation, node: DataDirectory.Node, journal: String, synchronous: Bool) throws -> JournalPublisher {
        // Synchronous: an acknowledgement waits for the Kafka commit of its entry as well as the journal's.
        let gate = synchronous ? AcknowledgementGate() : nil
        let publisher = JournalPublisher(location: location, journal: journal, keepsAccounts: true,
                                         openOrders: node.orders.index.openOrders.map { ($0.order.orderID, $0.order.symbol) },
                                         gate: gate, log: { say($0) }, metrics: node.metrics)
        let sent: Int
        do { sent = try publisher.open() } catch { throw ValidationError("--kafka \(location): \(error)") }
        let status = publisher.currentStatus
        say("kafka: \(publisher.topic.name) at \(location.brokers) holds the journal through sequence \(status.published); \(sent) entries sent now; replication \(synchronous ? "synchronous" : "asynchronous")")
        node.venue.sequencer.add(publisher.consumer)
        if let gate { node.venue.sequencer.acknowledge(through: gate) }
        publisher.start()
        return publisher
    }

    /// A FIX session's password as handed out once, in `credentials.json` beside the API keys.
    struct FIXCredential: Codable {
        var fix_session: String
        var sender_comp_id: String
        var target_comp_id: String
        var role: String
        var accounts: [UInt32]
        var password: String
    }

    /// Starts the FIX gateway with the configuration's sessions, issuing the passwords they lack.
    func startFIX(_ entry: VenueConfiguration.FIXEntry, host: String, port: Int, directory: DataDirectory,
                  opened: DataDirectory.Opened) async throws -> FIXGateway {
        let settings = SessionSettings.all(entry)
        if let moved = try SessionStore.importSQLite(directory.path + "/fix.sqlite", into: directory.path + "/fix") {
            FileHandle.standardError.write(Data("FIX: moved \(moved.sessions) sessions and \(moved.messages) messages from fix.sqlite to fix/\n".utf8))
        }
        let gateway = try await FIXGateway(
            settings: settings, storePath: directory.path + "/fix", node: opened.node,
            tls: entry.tls_certificate.flatMap { certificate in entry.tls_key.map { (certificate, $0) } },
            log: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) })
        let issued: [(session: String, password: String)]
        do { issued = try await gateway.issuePasswords() } catch {
            await gateway.stop()
            throw error
        }
        let credentials = issued.map { name, password in
            let session = entry.sessions.first { $0.comp_id == name }!
            return FIXCredential(fix_session: name, sender_comp_id: name, target_comp_id: entry.compID, role: session.role,
                                 accounts: session.accounts, password: password)
        }
        let bound: Int
        do {
            try directory.appendCredentials(credentials)
            bound = try await gateway.start(host: host, port: port)
        } catch {
            await gateway.stop()
            throw error
        }
        say("FIX 4.4 on \(host):\(bound)\(entry.tls_certificate == nil ? "" : " (TLS)"), TargetCompID \(entry.compID); sessions by SenderCompID:")
        for session in entry.sessions {
            let password = credentials.first { $0.fix_session == session.comp_id }.map { "  Password(554) \($0.password)" }
                ?? (session.password == true ? "  (password in \(directory.credentialsFile))" : "")
            say("  \(session.comp_id.padding(toLength: 10, withPad: " ", startingAt: 0)) \(session.role.padding(toLength: 11, withPad: " ", startingAt: 0)) accounts \(session.accounts.map(String.init).joined(separator: ","))\(password)")
        }
        return gateway
    }

    /// Why the server could not listen on `host:port`, found by binding a socket there and closing it: a port
    /// another process holds. Nil when it can, and for a host name or port 0, which the server resolves itself.
    static func listenProblem(host: String, port: Int) -> String? {
        guard port != 0 else { return nil }
        guard (1...65_535).contains(port) else { return "port \(port) is not a TCP port (1 to 65535)" }
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        } else {
            return nil
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // As the server binds: an address in TIME_WAIT is no obstacle, a listener is.
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = family == AF_INET
            ? withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            : withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        guard bound != 0 else { return nil }
        let reason = String(cString: strerror(errno))
        return errno == EADDRINUSE
            ? "port \(port) on \(host) is in use (another bourse serve?); --port picks another. Nothing was created or changed."
            : "cannot listen on \(host):\(port): \(reason). Nothing was created or changed."
    }
}

/// Writes a line to standard output at once, unbuffered, so that it shows when the output is a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
