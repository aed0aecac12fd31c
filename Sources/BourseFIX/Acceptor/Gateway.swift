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

/// The FIX acceptor: a TCP (or TLS) listener on one event loop of its own, the configured sessions, and the
/// order reports that reach them. Sessions are bound to connections at Logon by the counterparty's CompID;
/// one connection per session. The pipeline, in order: bytes → `Framing` → `FIXMessage` → `FIXSession`
/// (session checks, sequence numbers) → `OrderHandler` → the venue's sequencer; the venue's decisions come
/// back as order reports from the order projection, live or from its table, to the sessions they concern.
public final class FIXGateway: @unchecked Sendable {
    let clock: @Sendable () -> Int64
    let metrics: FIXMetrics
    let log: @Sendable (String) -> Void
    private let group: MultiThreadedEventLoopGroup
    let loop: EventLoop
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

    // The event loop's own.
    private var sessions: [String: FIXSession] = [:]
    var bound: [String: FIXConnection] = [:]
    private var connections: [ObjectIdentifier: FIXConnection] = [:]
    var awaitingFlush: [FIXConnection] = []
    var flushScheduled = false
    /// Connections whose sessions' numbers alone wait to be saved.
    var savingLater: [FIXConnection] = []
    /// Per session, the highest sequence of a report sent when its order was acknowledged, before the orders
    /// projection applied it.
    var toldEarlyThrough: [String: UInt64] = [:]
    /// Sessions whose application messages wait, in order, until the orders projection has applied what
    /// the session was told: a mass cancel must see every order acknowledged to it.
    private var held: [String: [(FIXMessage, FIXConnection, Int64)]] = [:]
    private var channel: Channel?
    private var ticker: RepeatedTask?
    /// Reports of newly applied entries, and new orders' reports at their acknowledgement, each gathered
    /// until the event loop takes them all at once (`Delivery.swift`).
    let published = Mutex<(reports: [OrderReport], scheduled: Bool)>(([], false))
    let early = Mutex<(pending: [([OrderReport], FIXConnection, FIXSession)], scheduled: Bool)>(([], false))

    /// Set when the gateway stops: the projection's listener and acknowledgements then have no loop to go to.
    let stopped = Atomic<Bool>(false)

    /// Connections without a session yet, at most this many.
    static let connectionsMax = 2_048

    /// Opens the sessions' store in the directory `storePath` and issues the passwords sessions need and
    /// lack: the new ones are returned (to print and to write to the credentials) and kept only as digests.
    public init(settings: [SessionSettings], storePath: String, node: DataDirectory.Node, tls: (certificate: String, key: String)? = nil,
                capture: (any TradeCapture)? = nil, clock: @escaping @Sendable () -> Int64 = wallClockNanos,
                log: @escaping @Sendable (String) -> Void) async throws {
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
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
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
        for s in settings { sessions[s.name] = try FIXSession(settings: s, store: store, head: head) }
        node.orders.listenReports { [weak self] reports in self?.publish(reports) }
    }

    /// A password for each session that needs one and has none: (session, password), to hand out once.
    public func issuePasswords() async throws -> [(session: String, password: String)] {
        try await loop.submit { [self] in
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
                    guard connections.count < Self.connectionsMax else { throw ChannelError.ioOnClosedChannel }
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(FIXConnection(gateway: self))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        self.channel = channel
        ticker = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in tick() }
        return channel.localAddress?.port ?? port
    }

    /// Closes the listener and every connection and stops the event loop; nothing waits on a thread.
    public func stop() async {
        stopped.store(true, ordering: .relaxed)
        try? await loop.submit { [self] in
            ticker?.cancel()
            for connection in connections.values { connection.close() }
        }.get()
        try? await channel?.close()
        try? await group.shutdownGracefully()
        store.close()
    }

    /// Runs `body` on the event loop, unless the gateway has stopped (a report or an answer arriving late).
    func onLoop(_ body: @escaping @Sendable () -> Void) {
        guard !stopped.load(ordering: .relaxed) else { return }
        loop.execute(body)
    }

    /// Tells the session board the sessions' state and counts (each second, and when a session logs on or
    /// its connection ends).
    func post() {
        board.update(sessions.values.sorted { $0.name < $1.name }.map { s in
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
    public func tickNow() async { try? await loop.submit { [self] in tick() }.get() }

    private func tick() {
        defer { post() }
        let now = clock()
        for connection in connections.values {
            guard let session = connection.session else { continue }
            connection.apply(session.tick(now: now), now: now)
            connection.write()
        }
    }

    // MARK: Connections

    func connected(_ connection: FIXConnection) { connections[ObjectIdentifier(connection)] = connection }

    func ended(_ connection: FIXConnection, _ session: FIXSession) {
        connections[ObjectIdentifier(connection)] = nil
        if connection.waitsForReports {
            connection.waitsForReports = false
            ordersProjection.waitForReports(false)
        }
        defer { post() }
        if bound[session.name] === connection { bound[session.name] = nil }
        _ = try? session.commit()
    }

    /// The session a connection's first message names by its SenderCompID; refused when it names none, or
    /// one another connection holds.
    func bind(_ connection: FIXConnection, _ first: FIXMessage) -> Result<FIXSession, OrderHandler.Refusal> {
        let name = first[Tag.senderCompID] ?? ""
        guard let session = sessions[name] else { return .failure(.init("no session for SenderCompID(49) \(name)")) }
        if let holder = bound[name], holder !== connection, holder.isOpen {
            session.garbled("a second connection tried to log on while the session is logged on")
            return .failure(.init("session \(name) is already logged on"))
        }
        bound[name] = connection
        return .success(session)
    }

    func application(_ message: FIXMessage, _ connection: FIXConnection, _ session: FIXSession, now: Int64) {
        if held[session.name] != nil {
            held[session.name]!.append((message, connection, now))
            return
        }
        if message.msgType == MsgType.orderMassCancelRequest, let told = toldEarlyThrough[session.name],
           let runner = projections["orders"], runner.watermark.position < told {
            held[session.name] = [(message, connection, now)]
            Task { [self] in
                _ = await runner.watermark.wait(for: told, timeout: .seconds(5))
                onLoop { [self] in release(session) }
            }
            return
        }
        apply(message, connection, session, now: now)
    }

    /// Handles what a session's mass cancel held back, in order, until another holds it again.
    private func release(_ session: FIXSession) {
        guard var waiting = held.removeValue(forKey: session.name) else { return }
        let (first, connection, now) = waiting.removeFirst()
        // Messages of a connection that has since ended are dropped, as its unread input would be.
        guard connection.session === session else { return }
        apply(first, connection, session, now: now)
        for (index, (message, later, now)) in waiting.enumerated() where later === connection {
            application(message, connection, session, now: now)
            if held[session.name] != nil {
                held[session.name]!.append(contentsOf: waiting[(index + 1)...].filter { $0.1 === connection })
                break
            }
        }
        connection.write()
    }

    private func apply(_ message: FIXMessage, _ connection: FIXConnection, _ session: FIXSession, now: Int64) {
        if message.msgType == MsgType.tradeCaptureReport { return captureTrade(message, connection, session, now: now) }
        let outcome = orders.handle(message, session.settings, now: now, acknowledged: { [self] published in
            acknowledged(published, connection, session)
        }, failed: { [self] type, body in
            onLoop {
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
                onLoop { [self] in
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
            onLoop { [self] in
                guard connection.session === session else { return }
                session.send(MsgType.tradeCaptureReportAck, TradeCaptureReports.acknowledgement(message, outcome), now: clock())
                connection.write()
            }
        }
    }
}
