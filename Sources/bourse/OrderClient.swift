import BourseNode
import BourseJournal
import NIOCore
import NIOPosix

/// What one load-generating connection saw.
struct ClientResult: Sendable {
    var latencies: [Int64] = []
    var statuses: [Int: Int] = [:]
    var failures = 0
}

/// One keep-alive HTTP/1.1 connection that sends its orders one after another, each timed from send to
/// the whole response. It runs on its event loop with its requests' bytes made in advance and reads no
/// more of a response than its status and length, so that the measuring side costs the machine little
/// (a general HTTP client took a third of this machine to keep the server busy).
final class OrderClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sends `count` orders (`requests` in turn) over one connection, no faster than one per `interval`
    /// nanoseconds if given, and not past `deadline`.
    static func run(host: String, port: Int, requests: [[UInt8]], count: Int, deadline: Int64, interval: Int64,
                    offset: Int64) async -> ClientResult {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let done = loop.makePromise(of: ClientResult.self)
        do {
            _ = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            OrderClient(requests: requests, count: count, deadline: deadline, interval: interval, offset: offset, done: done))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            done.succeed(ClientResult(failures: count))
        }
        return (try? await done.futureResult.get()) ?? ClientResult(failures: count)
    }

    private let requests: [ByteBuffer]
    private var remaining: Int
    private let deadline: Int64
    private let interval: Int64
    private var next: Int64
    private let done: EventLoopPromise<ClientResult>
    private var result = ClientResult()
    private var turn = 0
    /// When the request waiting for its response was sent, if one is.
    private var sentAt: Int64?
    private var received = ByteBuffer()

    private init(requests: [[UInt8]], count: Int, deadline: Int64, interval: Int64, offset: Int64, done: EventLoopPromise<ClientResult>) {
        self.requests = requests.map { ByteBuffer(bytes: $0) }
        remaining = count
        self.deadline = deadline
        self.interval = interval
        next = monotonicNanos() + offset
        self.done = done
        result.latencies.reserveCapacity(count)
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context)
    }

    private func sendNext(_ context: ChannelHandlerContext) {
        let now = monotonicNanos()
        guard remaining > 0, now < deadline else {
            context.close(promise: nil)
            return
        }
        if interval > 0 {
            let wait = next - now
            next += interval
            if wait > 0 {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .nanoseconds(wait)) { loopBound.value.0.send(loopBound.value.1) }
                return
            }
        }
        send(context)
    }

    private func send(_ context: ChannelHandlerContext) {
        remaining -= 1
        sentAt = monotonicNanos()
        context.writeAndFlush(wrapOutboundOut(requests[turn % requests.count]), promise: nil)
        turn += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        received.writeBuffer(&incoming)
        switch Self.response(in: received) {
        case nil:
            return
        case .some(nil):
            // Not a response this client can read: count it and stop.
            result.failures += 1
            sentAt = nil
            context.close(promise: nil)
        case .some(let (status, length))?:
            guard let sent = sentAt else {
                context.close(promise: nil)
                return
            }
            received.moveReaderIndex(forwardBy: length)
            received.discardReadBytes()
            result.latencies.append(monotonicNanos() - sent)
            result.statuses[status, default: 0] += 1
            sentAt = nil
            sendNext(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if sentAt != nil { result.failures += 1 }
        done.succeed(result)
    }

    /// A whole response at the start of `buffer`: its status and length, head and body; nil if it has
    /// not all arrived; .some(nil) if it is not one this client understands (it needs a Content-Length).
    static func response(in buffer: ByteBuffer) -> (status: Int, length: Int)?? {
        buffer.withUnsafeReadableBytes { b -> (status: Int, length: Int)?? in
            guard let headEnd = find([13, 10, 13, 10], in: b) else { return b.count > 16_384 ? .some(nil) : nil }
            guard b.count >= 12, b.starts(with: "HTTP/1.".utf8) else { return .some(nil) }
            var status = 0
            for i in 9..<12 {
                guard (48...57).contains(b[i]) else { return .some(nil) }
                status = status * 10 + Int(b[i] - 48)
            }
            // Content-Length, matched without regard to case, at the start of a header line.
            let name = Array("\r\ncontent-length:".utf8)
            var contentLength: Int?
            var i = 0
            search: while i + name.count <= headEnd {
                for j in 0..<name.count where b[i + j] | (name[j] >= 97 ? 0x20 : 0) != name[j] {
                    i += 1
                    continue search
                }
                var k = i + name.count, value = 0
                while k < headEnd, b[k] == 32 { k += 1 }
                while k < headEnd, (48...57).contains(b[k]) {
                    value = value * 10 + Int(b[k] - 48)
                    k += 1
                }
                contentLength = value
                break
            }
            guard let contentLength else { return .some(nil) }
            let length = headEnd + 4 + contentLength
            return b.count >= length ? (status, length) : nil
        }
    }

    private static func find(_ pattern: [UInt8], in b: UnsafeRawBufferPointer) -> Int? {
        guard b.count >= pattern.count else { return nil }
        for i in 0...(b.count - pattern.count) where b[i] == pattern[0] && b[i + 1] == pattern[1] && b[i + 2] == pattern[2] && b[i + 3] == pattern[3] {
            return i
        }
        return nil
    }
}
