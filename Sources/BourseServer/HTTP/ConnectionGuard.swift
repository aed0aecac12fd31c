#if canImport(Glibc)
import Glibc
#endif
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// What one client may hold of the server: connections from its address, and time to send a request.
public struct ConnectionLimits: Sendable {
    /// Open connections in all; past it the listener stops accepting until one closes.
    public var connectionsMax: Int
    /// Open connections from one address; one more is closed at once.
    public var connectionsPerAddressMax: Int
    /// A connection must send a whole request within this of opening or of its last answer (an idle
    /// keep-alive connection or a slow sender is closed then). The time runs only while no request read
    /// whole waits for its answer, however long its handler takes; upgraded WebSocket connections are exempt.
    public var requestTimeout: Duration

    public init(connectionsMax: Int = 4_096, connectionsPerAddressMax: Int = 512, requestTimeout: Duration = .seconds(10)) {
        precondition(connectionsMax > 0 && connectionsPerAddressMax > 0 && requestTimeout > .zero)
        self.connectionsMax = connectionsMax
        self.connectionsPerAddressMax = connectionsPerAddressMax
        self.requestTimeout = requestTimeout
    }

    /// Descriptors kept back from connections for the journal, snapshots, the SQLite files and feeds, so that
    /// no number of clients can make the journal's next open fail.
    public static let descriptorsReserved = 256

    /// `connectionsMax` no higher than the process's descriptor limit allows once the reserve is kept,
    /// after raising the soft limit to the hard one. Nil when even the reserve does not fit.
    public func fitted() -> ConnectionLimits? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = Int(clamping: limit.rlim_cur) - Self.descriptorsReserved
        guard available >= 16 else { return nil }
        var fitted = self
        fitted.connectionsMax = min(connectionsMax, available)
        fitted.connectionsPerAddressMax = min(connectionsPerAddressMax, fitted.connectionsMax)
        return fitted
    }
}

/// Open connections by client address, shared by every connection's guard. Entries exist only for open
/// connections, so the table is bounded by `connectionsMax`.
final class ConnectionTable: Sendable {
    let limits: ConnectionLimits
    let metrics: Metrics
    private let open = Mutex<[String: Int]>([:])

    init(limits: ConnectionLimits, metrics: Metrics) {
        self.limits = limits
        self.metrics = metrics
    }

    /// Takes a place for `address`; false when it has its share already.
    func enter(_ address: String) -> Bool {
        open.withLock { open in
            let count = open[address, default: 0]
            guard count < limits.connectionsPerAddressMax else { return false }
            open[address] = count + 1
            return true
        }
    }

    func leave(_ address: String) {
        open.withLock { open in
            let count = open[address, default: 1] - 1
            open[address] = count > 0 ? count : nil
        }
    }
}

/// The first handler of every connection, on raw bytes: its address's share of connections, the time it
/// has to send a request, and backpressure: no more HTTP is read from a client while what was written to
/// it has not drained, so one that sends without reading is slowed to the pace it reads at.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let table: ConnectionTable
    private let timeout: TimeAmount
    /// One timer at a time; an answer only moves `lastAnswer`, and the timer, when it fires early, sets
    /// itself again for what is left: a clock read per answer rather than a timer.
    private var timer: Scheduled<Void>?
    private var lastAnswer = NIODeadline.now()
    private var upgraded = false
    private var readWanted = false
    /// Requests read whole less answers ended, told by `AnswerTracker`: above zero, the server owes an answer
    /// and the connection is not the client's to lose. An answer may end before its request (a refusal
    /// sent before the body is read), so the count may go below zero for a moment.
    private var answersOwed = 0

    /// The kernel's send buffer of a connection is fixed rather than left to grow (to 4 MiB on Linux): it
    /// bounds the kernel memory a connection holds, and a client that stops reading is noticed after this
    /// much (which Linux doubles) rather than megabytes later.
    static let sendBufferBytes: SocketOptionValue = 256 << 10

    init(table: ConnectionTable) {
        self.table = table
        let limit = table.limits.requestTimeout.components
        timeout = .nanoseconds(limit.seconds * 1_000_000_000 + limit.attoseconds / 1_000_000_000)
    }

    /// An accepted connection becomes active once registered with its event loop: only then can it be closed.
    func channelActive(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard table.enter(address) else {
            table.metrics.count("bourse_connections_refused_total", ["reason": "per_address"])
            context.close(promise: nil)
            return
        }
        let table = self.table
        context.channel.closeFuture.whenComplete { _ in table.leave(address) }
        try? context.channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: Self.sendBufferBytes)
        lastAnswer = context.eventLoop.now
        schedule(context, at: lastAnswer + timeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// Every answer written gives the client the whole timeout again for its next request.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !upgraded, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            if buffer.readableBytesView.starts(with: Self.switchingProtocols) {
                upgraded = true
                timer?.cancel()
                timer = nil
            } else {
                lastAnswer = context.eventLoop.now
            }
        }
        context.write(data, promise: promise)
    }

    private static let switchingProtocols = Array("HTTP/1.1 101".utf8)

    /// A request has been read whole: the time to send one stops until its answer ends.
    func requestRead() { answersOwed += 1 }

    /// An answer has ended: the client has the whole timeout again for its next request.
    func answerEnded(context: ChannelHandlerContext) {
        answersOwed -= 1
        lastAnswer = context.eventLoop.now
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            guard !handler.upgraded else { return }
            let now = context.eventLoop.now
            guard handler.answersOwed <= 0 else { return handler.schedule(context, at: now + handler.timeout) }
            let due = handler.lastAnswer + handler.timeout
            guard due <= now else { return handler.schedule(context, at: due) }
            handler.table.metrics.count("bourse_connections_closed_total", ["reason": "request_timeout"])
            context.close(promise: nil)
        }
    }

    /// Upgraded streams keep reading: their queues are bounded on their own, and a close handshake needs the
    /// client's answer read while the send buffer is full.
    func read(context: ChannelHandlerContext) {
        guard upgraded || context.channel.isWritable else {
            readWanted = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readWanted {
            readWanted = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }
}

/// Answers what the HTTP/1 decoder could not read (garbage, an unknown version, headers past their limit)
/// with a status and Alpaca's error body, then closes: without it such a connection got no answer and
/// stayed open. Sits right after the decoder; passes everything else through untouched.
final class ProtocolErrorAnswer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !answered else { return }
        answered = true
        let (status, message): (HTTPResponseStatus, String) = switch parse {
        case .headerOverflow: (.requestHeaderFieldsTooLarge, "the request's headers are larger than 80 KiB")
        case .invalidVersion: (.httpVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served here")
        default: (.badRequest, "the request is not valid HTTP/1.1 (\(parse))")
        }
        let body = #"{"code":\#(Int(status.code) * 100_000 + 10_000),"message":\#(API.quoted(message))}"#
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Tells the connection's `ConnectionGuard` when a request has been read whole and when its answer has
/// ended, which it cannot see in the bytes. Sits after the request decoder; passes everything through.
/// Once the connection switches protocols, WebSocket bytes pass it in both directions without a look.
final class AnswerTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// On the same event loop as this handler: the guard of the same connection.
    private let connectionGuard: ConnectionGuard
    private var upgraded = false

    init(_ connectionGuard: ConnectionGuard) { self.connectionGuard = connectionGuard }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !upgraded, case .end = unwrapInboundIn(data) { connectionGuard.requestRead() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !upgraded {
            switch unwrapOutboundIn(data) {
            case .head(let head) where head.status == .switchingProtocols: upgraded = true
            case .end: connectionGuard.answerEnded(context: context)
            default: break
            }
        }
        context.write(data, promise: promise)
    }
}

/// A server child channel with the guards in front: the given channel's setup, then `ConnectionGuard`
/// first in the pipeline, and `ProtocolErrorAnswer` and `AnswerTracker` after the request decoder.
struct GuardedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let table: ConnectionTable

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        let connectionGuard = ConnectionGuard(table: table)
        do {
            try channel.pipeline.syncOperations.addHandler(connectionGuard, position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let bound = NIOLoopBound(connectionGuard, eventLoop: channel.eventLoop)
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandlers([ProtocolErrorAnswer(), AnswerTracker(bound.value)], position: .after(decoder))
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
