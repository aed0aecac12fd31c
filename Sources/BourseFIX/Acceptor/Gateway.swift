import BourseCore
import BourseNode
import BourseProjections
import BoursePostTrade
import BourseVenue
import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The FIX acceptor: a TCP (or TLS) listener on event loops of its own (one per core, as the HTTP gateway
/// has), the configured sessions, and the order reports that reach them. Sessions are bound to connections
/// at Logon by the counterparty's CompID; one connection per session, and a session is touched only on its
/// connection's loop. The pipeline, in order: bytes → `Framing` → `FIXMessage` → `FIXSession`
/// (session checks, sequence numbers) → `OrderHandler` → the venue's sequencer; the venue's decisions come
/// back as order reports from the order projection, live or from its table, to the sessions they concern.
public final class FIXGateway: @unchecked Sendable {
    let clock: @Sendable () -> Int64
    let metrics: FIXMetrics
    let log: @Sendable (String) -> Void
    private let group: MultiThreadedEventLoopGroup
    let loops: [GatewayLoop]
    private let loopsByID: [ObjectIdentifier: GatewayLoop]
    let store: SessionStore
    let venue: Venue
    private let orders: OrderHandler
    let queries: OrderQueries
    let projections: Projections
    let ordersProjection: OrdersProjection
    private let tls: NIOSSLContext?
    let numbers: [UInt32: String]
    /// Post-trade's capture gateway, for TradeCaptureReports received: the node's unless one is given.
    private let capture: any TradeCapture
    private let board: SessionBoard
    private let sessions: [String: FIXSession]

    /// Each session's connection, from its binding at Logon until that connection's end.
    private let bound = Mutex<[String: FIXConnection]>([:])
    private let connectionCount = Atomic<Int>(0)
    var openConnections: Int { connectionCount.load(ordering: .relaxed) }
    /// Per session, the highest sequence of a report sent when its order was acknowledged, before the orders
    /// projection applied it.
    let toldEarlyThrough = Mutex<[String: UInt64]>([:])
    /// Sessions whose application messages wait, in order, until the orders projection has applied what
    /// the session was told: a mass cancel must see every order acknowledged to it.
    private let held = Mutex<[String: [(FIXMessage, FIXConnection, Int64)]]>([:])
    private var channel: Channel?

    /// Set when the gateway stops: the projection's listener and acknowledgements then have no loop to go to.
    let stopped = Atomic<Bool>(false)

    /// Connections open at once, at most this many.
    static let connectionsMax = 2_048
    /// How many milliseconds a Logon waits for the session's previous connection, closing on another
    /// loop, to end.
    static let handoverWaitsMax = 5_000

    /// Opens the sessions' store in the directory `storePath` and issues the passwords sessions need and
    /// lack: the new ones are returned (to print and to write to the credentials) and kept only as digests.
    /// `loops` is the number of event loops (one per core unless given).
    public init(settings: [SessionSettings], storePath: String, node: DataDirectory.Node, tls: (certificate: String, key: String)? = nil,
                capture: (any TradeCapture)? = nil, loops: Int = System.coreCount, clock: @escaping @Sendable () -> Int64 = wallClockNanos,
                log: @escaping @Sendable (String) -> Void) async throws {
        precondition(loops >= 1, "a gateway needs an event loop")
        self.clock = clock
        self.capture = capture ?? node.capture
        board = node.fixSessions
        self.log = log
        store = try SessionStore(path: storePath)
        venue = node.venue
        queries = node.orderQueries
        projections = node.projections
        ordersProjection = node.orders
        metrics = FIXMetrics(factory: node.metrics)
        group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        self.loops = group.makeIterator().map(GatewayLoop.init(loop:))
        loopsByID = Dictionary(uniqueKeysWithValues: self.loops.map { (ObjectIdentifier($0.loop), $0) })
        var pairs: [(UInt32, String)] = []
        for id in Set(settings.flatMap(\.accounts)).sorted() {
            if let summary = try await node.venue.account(AccountID(id)) { pairs.append((id, summary.number.description)) }
        }
        numbers = Dictionary(pairs, uniquingKeysWith: { a, _ in a })
        orders = OrderHandler(venue: node.venue, index: node.orders.index, numbers: numbers,
                              accounts: Dictionary(pairs.map { ($1, $0) }, uniquingKeysWith: { a, _ in a }))
        if let tls {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.key, format: .pem)))
            self.tls = try NIOSSLContext(configuration: configuration)
        } else {
            self.tls = nil
        }
        let head = try await node.venue.lastSequence()
        var sessions: [String: FIXSession] = [:]
        for s in settings { sessions[s.name] = try FIXSession(settings: s, store: store, head: head) }
        self.sessions = sessions
        node.orders.listenReports { [weak self] reports in self?.publish(reports) }
    }

    /// A password for each session that needs one and has none: (session, password), to hand out once.
    /// Issued before the gateway starts, while no connection holds a session.
    public func issuePasswords() async throws -> [(session: String, password: String)] {
        try await loops[0].loop.submit { [self] in
            var issued: [(String, String)] = []
            for (name, session) in sessions.sorted(by: { $0.key < $1.key }) where session.settings.requiresPassword && session.state.passwordSHA256 == nil {
                var bytes = [UInt8](repeating: 0, count: 18)
                for i in bytes.indices { bytes[i] = UInt8.random(in: 0 ... 255) }
                let password = Data(bytes).base64EncodedString().replacingOccurrences(of: "/", with: "x").replacingOccurrences(of: "+", with: "y")
                try session.setPassword(sha256: Self.digest(password))
                issued.append((name, password))
            }
            return issued
        }.get()
    }

    static func digest(_ password: String) -> String {
        SHA256.hash(data: Array(password.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Listens on `host:port` (0 for any free port) and returns the port.
    public func start(host: String, port: Int) async throws -> Int {
        let tls = self.tls
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard connectionCount.load(ordering: .relaxed) < Self.connectionsMax else { throw ChannelError.ioOnClosedChannel }
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(FIXConnection(gateway: self, home: loopsByID[ObjectIdentifier(channel.eventLoop)]!))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        self.channel = channel
        post(Array(sessions.values))
        for home in loops {
            try await home.loop.submit { [self] in
                home.ticker = home.loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in tick(home) }
            }.get()
        }
        return channel.localAddress?.port ?? port
    }

    /// Closes the listener and every connection and stops the event loop; nothing waits on a thread.
    public func stop() async {
        stopped.store(true, ordering: .relaxed)
        for home in loops {
            try? await home.loop.submit {
                home.ticker?.cancel()
                for connection in home.connections.values { connection.close() }
            }.get()
        }
        try? await channel?.close()
        try? await group.shutdownGracefully()
        store.close()
    }

    /// Runs `body` on the connection's event loop, unless the gateway has stopped (a report or an answer
    /// arriving late).
    func onLoop(_ connection: FIXConnection, _ body: @escaping @Sendable () -> Void) {
        guard !stopped.load(ordering: .relaxed) else { return }
        connection.home.loop.execute(body)
    }

    /// Tells the session board these sessions' state and counts (each second for the sessions of a loop,
    /// and when a session logs on or its connection ends), on the loop the sessions are touched on.
    func post(_ changed: [FIXSession]) {
        board.update(changed.map { s in
                let state: String
                switch s.phase {
                case .disconnected: state = "disconnected"
                case .awaitingLogon: state = "awaiting_logon"
                case .active: state = "logged_on"
                case .loggingOut: state = "logging_out"
                }
                return SessionBoard.Row(session: s.name, role: s.settings.role.rawValue, accounts: s.settings.accounts, state: state,
                              next_sender_seq: s.state.nextSender, next_target_seq: s.state.nextTarget, messages_in: s.counters.received,
                              messages_out: s.counters.sent, resent: s.counters.resent, rejected: s.counters.rejected,
                              garbled: s.counters.garbled, last_problem: s.lastProblem)
        })
    }

    /// Runs the sessions' timers now (the gateway runs them each second; tests with a clock of their own
    /// call this after moving it).
    public func tickNow() async {
        for home in loops { try? await home.loop.submit { [self] in tick(home) }.get() }
    }

    private func tick(_ home: GatewayLoop) {
        let now = clock()
        var ticked: [FIXSession] = []
        for connection in home.connections.values {
            guard let session = connection.session else { continue }
            connection.apply(session.tick(now: now), now: now)
            connection.write()
            ticked.append(session)
        }
        post(ticked)
    }

    // MARK: Connections

    func connected(_ connection: FIXConnection) {
        connectionCount.add(1, ordering: .relaxed)
        connection.home.connections[ObjectIdentifier(connection)] = connection
    }

    /// A connection ended; with its session, which is saved and told to the board before another
    /// connection, on any loop, may bind it.
    func ended(_ connection: FIXConnection, _ session: FIXSession?) {
        if connection.home.connections.removeValue(forKey: ObjectIdentifier(connection)) != nil {
            connectionCount.add(-1, ordering: .relaxed)
        }
        if connection.waitsForReports {
            connection.waitsForReports = false
            connection.home.waitingForReports.add(-1, ordering: .relaxed)
            ordersProjection.waitForReports(false)
        }
        guard let session, bound.withLock({ $0[session.name] === connection }) else { return }
        _ = try? session.commit()
        post([session])
        // What a mass cancel held back goes with the connection, as its unread input would.
        held.withLock { _ = $0.removeValue(forKey: session.name) }
        bound.withLock { $0[session.name] = nil }
    }

    enum Binding {
        case bound(FIXSession)
        /// The session's previous connection is closing on another loop: try again in a moment.
        case wait
        case refused(OrderHandler.Refusal)
    }

    /// The session a connection's first message names by its SenderCompID; refused when it names none, or
    /// one another open connection holds.
    func bind(_ connection: FIXConnection, _ first: FIXMessage) -> Binding {
        let name = first[Tag.senderCompID] ?? ""
        guard let session = sessions[name] else { return .refused(.init("no session for SenderCompID(49) \(name)")) }
        let holder = bound.withLock { bound -> FIXConnection? in
            if let holder = bound[name], holder !== connection { return holder }
            bound[name] = connection
            return nil
        }
        guard let holder else { return .bound(session) }
        if holder.hungUp.load(ordering: .acquiring) { return .wait }
        // Told on the loop the session is touched on.
        onLoop(holder) {
            guard holder.session === session else { return }
            session.garbled("a second connection tried to log on while the session is logged on")
        }
        return .refused(.init("session \(name) is already logged on"))
    }

    func application(_ message: FIXMessage, _ connection: FIXConnection, _ session: FIXSession, now: Int64) {
        let isHeld = held.withLock { held in
            guard held[session.name] != nil else { return false }
            held[session.name]!.append((message, connection, now))
            return true
        }
        if isHeld { return }
        if message.msgType == MsgType.orderMassCancelRequest, let told = toldEarlyThrough.withLock({ $0[session.name] }),
           let runner = projections["orders"], runner.watermark.position < told {
            held.withLock { $0[session.name] = [(message, connection, now)] }
            Task { [self] in
                _ = await runner.watermark.wait(for: told, timeout: .seconds(5))
                onLoop(connection) { [self] in release(session) }
            }
            return
        }
        apply(message, connection, session, now: now)
    }

    /// Handles what a session's mass cancel held back, in order, until another holds it again.
    private func release(_ session: FIXSession) {
        guard var waiting = held.withLock({ $0.removeValue(forKey: session.name) }) else { return }
        let (first, connection, now) = waiting.removeFirst()
        // Messages of a connection that has since ended are dropped, as its unread input would be.
        guard connection.session === session else { return }
        apply(first, connection, session, now: now)
        for (index, (message, later, now)) in waiting.enumerated() where later === connection {
            application(message, connection, session, now: now)
            let heldAgain = held.withLock { held in
                guard held[session.name] != nil else { return false }
                held[session.name]!.append(contentsOf: waiting[(index + 1)...].filter { $0.1 === connection })
                return true
            }
            if heldAgain { break }
        }
        connection.write()
    }

    private func apply(_ message: FIXMessage, _ connection: FIXConnection, _ session: FIXSession, now: Int64) {
        if message.msgType == MsgType.tradeCaptureReport { return captureTrade(message, connection, session, now: now) }
        let outcome = orders.handle(message, session.settings, now: now, acknowledged: { [self] published in
            acknowledged(published, connection, session)
        }, failed: { [self] type, body in
            onLoop(connection) {
                guard connection.session === session else { return }
                session.send(type, body, now: self.clock())
                connection.write()
            }
        })
        switch outcome {
        case .submitted:
            break
        case .reply(let type, let body):
            session.send(type, body, now: now)
        case .lookUp(let id, let account, let requestID):
            let number = numbers[account] ?? String(account)
            Task { [self] in
                let record = try? await queries.order(id.rawValue, account: account)
                onLoop(connection) { [self] in
                    guard connection.session === session else { return }
                    let time = clock()
                    if let record {
                        session.send(MsgType.executionReport, ExecutionReports.status(record, accountNumber: number, statusRequestID: requestID,
                                                                                      now: Timestamp(nanos: time)), now: time)
                    } else {
                        session.send(MsgType.executionReport, OrderHandler.rejection(message, reason: 5, "no such order", accountNumber: number,
                                                                                     now: time, execType: "I"), now: time)
                    }
                    connection.write()
                }
            }
        }
    }

    /// A trade reported from elsewhere: read, handed to post-trade's capture gateway, acknowledged.
    private func captureTrade(_ message: FIXMessage, _ connection: FIXConnection, _ session: FIXSession, now: Int64) {
        let trade: CapturedTrade
        switch TradeCaptureReports.captured(message, session: session.settings, numbers: numbers) {
        case .success(let t): trade = t
        case .failure(let refusal):
            return session.send(MsgType.tradeCaptureReportAck, TradeCaptureReports.refusal(message, reason: refusal.reason, refusal.text), now: now)
        }
        Task { [self] in
            let outcome = await capture.capture(trade)
            onLoop(connection) { [self] in
                guard connection.session === session else { return }
                session.send(MsgType.tradeCaptureReportAck, TradeCaptureReports.acknowledgement(message, outcome), now: clock())
                connection.write()
            }
        }
    }
}
