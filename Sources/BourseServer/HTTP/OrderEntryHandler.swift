import BourseVenue
import BourseNode
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Synchronization

/// Places `POST /v2/orders` on the connection's event loop, without Hummingbird's request task: the
/// venue's completion writes the answer from the sequencer's thread through the event loop. An order
/// costs about a third less of the server this way: the hops between threads and tasks, and
/// Hummingbird's request machinery. The handler
/// sits before Hummingbird's conversion to HTTP types (`Installer`), so an order it takes is never
/// converted.
///
/// Only the plain case goes this way: a keep-alive request whose body is a plain order object
/// (`OrderRequest.plain`), with valid credentials, within the key's rate limit and describing a valid
/// order. Any other request, and any that fails one of those checks, goes on to Hummingbird whole and
/// untouched, which answers it as the router always does: the checks made here have no effect until
/// the rate limiter's token is taken, and from then on this handler answers with the router's own words.
///
/// HTTP/1.1 answers in order. One request at a time is in hand: while an order waits for the venue, or
/// Hummingbird answers a request it was given, what arrives next waits here (reading stops once much
/// waits), then goes on in order once the answer is written.
final class OrderEntryHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Puts the handler in its place: Hummingbird adds the handlers it is given after its codec from
    /// HTTP/1 to HTTP types, and this one belongs before it. Without that codec (another version of
    /// Hummingbird) every order goes to the router, as `bourse_order_requests_total` then shows.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = Never
        private let make: () -> OrderEntryHandler

        init(_ make: @escaping () -> OrderEntryHandler) { self.make = make }

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
                try? pipeline.addHandler(make(), position: .before(codec))
            }
            pipeline.removeHandler(context: context, promise: nil)
        }
    }

    private enum State {
        /// Between requests.
        case idle
        /// An order request's head, and its body so far.
        case collecting(HTTPRequestHead, ByteBuffer)
        /// An order with the venue.
        case placing
        /// A request Hummingbird answers: its parts go on until its end, and this waits for its answer's.
        case forwarding(requestEnded: Bool, answered: Bool)
    }

    /// What waits its turn: the next requests' parts, and events that must not overtake them.
    private enum Waiting {
        case part(HTTPServerRequestPart)
        case event(Any)
    }

    private let entry: OrderEntry
    private let logger: Logger
    private var state = State.idle
    private var waiting = CircularBuffer<Waiting>()
    /// A read asked for while requests wait here, given once they have gone.
    private var readHeld = false
    /// Taken out of the pipeline (the connection closed): an answer that comes later has nowhere to go.
    private var removed = false

    init(entry: OrderEntry, logger: Logger) {
        self.entry = entry
        self.logger = logger
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !waiting.isEmpty {
            waiting.append(.part(part))
            return
        }
        receive(part, context: context)
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .idle:
            guard case .head(let head) = part, Self.isOrderEntry(head) else {
                if case .head = part { state = .forwarding(requestEnded: false, answered: false) }
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            state = .collecting(head, context.channel.allocator.buffer(capacity: 256))
        case .collecting(let head, var body):
            switch part {
            case .head:
                // The decoder never gives a head before the end of the request before it.
                forward(head, body, then: part, context: context)
            case .body(var bytes):
                guard body.readableBytes + bytes.readableBytes <= Routes.bodyBytesMax else {
                    // Hummingbird answers an oversized body.
                    return forward(head, body, then: .body(bytes), context: context)
                }
                body.writeBuffer(&bytes)
                state = .collecting(head, body)
            case .end:
                place(head, body, context: context)
            }
        case .placing:
            waiting.append(.part(part))
        case .forwarding(let requestEnded, let answered):
            if requestEnded {
                waiting.append(.part(part))
                return
            }
            if case .end = part {
                state = answered ? .idle : .forwarding(requestEnded: true, answered: false)
            }
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A request in hand is answered before the connection hears that its input closed or that the
        // server is stopping.
        if isBusy || !waiting.isEmpty {
            waiting.append(.event(event))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private var isBusy: Bool {
        switch state {
        case .idle, .collecting: false
        case .placing: true
        case .forwarding(let requestEnded, _): requestEnded
        }
    }

    /// Hands Hummingbird a request this handler took in, then `next`.
    private func forward(_ head: HTTPRequestHead, _ body: ByteBuffer, then next: HTTPServerRequestPart, context: ChannelHandlerContext) {
        state = .forwarding(requestEnded: false, answered: false)
        context.fireChannelRead(wrapInboundOut(.head(head)))
        if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
        receive(next, context: context)
    }

    /// A keep-alive HTTP/1.1 `POST /v2/orders`; one that asks more of HTTP (to close after it, to be told
    /// to continue) goes to Hummingbird.
    private static func isOrderEntry(_ head: HTTPRequestHead) -> Bool {
        head.method == .POST && head.uri == "/v2/orders" && head.version == .http1_1 && head.isKeepAlive
            && !head.headers.contains(name: "expect")
            // Credentials given twice are the router's to refuse.
            && Routes.credentialHeaders.allSatisfy { head.headers[$0.rawName].count <= 1 }
    }

    // MARK: Placing

    private func place(_ head: HTTPRequestHead, _ body: ByteBuffer, context: ChannelHandlerContext) {
        let headers = head.headers
        guard let request = body.withUnsafeReadableBytes(OrderRequest.plain),
              let key = entry.key(keyID: headers.first(name: "APCA-API-KEY-ID"), secret: headers.first(name: "APCA-API-SECRET-KEY"),
                                   authorization: headers.first(name: "Authorization")) else {
            return forward(head, body, then: .end(nil), context: context)
        }
        let received = monotonicNanos()
        let placing: OrderEntry.Placing
        do {
            // Nothing has happened yet that the router would not do again: a refusal is its to give.
            guard let prepared = try entry.prepareWithinLimit(request, key) else {
                return forward(head, body, then: .end(nil), context: context)
            }
            placing = prepared
        } catch {
            return answer(Routes.errorText(error), received: received, context: context)
        }
        if logger.logLevel <= .debug {
            logger.debug("Request", metadata: ["hb.request.id": "\(RequestID())", "hb.request.method": "POST", "hb.request.path": "/v2/orders"])
        }
        state = .placing
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        entry.venue.submit(.newOrder(placing.order), note: placing.note) { [entry] result in
            // The answer is made on the event loop: the sequencer's thread has the next batch to apply.
            loop.execute {
                let (handler, context) = bound.value
                handler.answer(entry.placed(placing, result, received: received), received: received, context: context)
            }
        }
    }

    private func answer(_ answer: (HTTPResponse.Status, String), received: Int64, context: ChannelHandlerContext) {
        state = .idle
        guard !removed else { return }
        let (status, text) = answer
        entry.metrics.countAnswer(method: "POST", route: "/v2/orders", status: status.code)
        entry.metrics.timeAnswer(method: "POST", route: "/v2/orders", nanos: monotonicNanos() - received)
        var body = context.channel.allocator.buffer(capacity: text.utf8.count)
        body.writeString(text)
        let headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Content-Length", String(body.readableBytes)),
            ("Date", HTTPDate.now()), ("Server", "bourse"),
        ])
        // The status line as Hummingbird's codec writes it.
        let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status.code, reasonPhrase: status.reasonPhrase),
                                    headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        resume(context: context)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        guard case .end = unwrapOutboundIn(data), case .forwarding(let requestEnded, _) = state else { return }
        if requestEnded {
            state = .idle
            resume(context: context)
        } else {
            // Answered before the request's body was all read (a refusal of an oversized body, say).
            state = .forwarding(requestEnded: false, answered: true)
        }
    }

    /// Reading stops only once that many parts wait: holding every read while an order is placed would
    /// cost two `epoll_ctl` calls an order, and clients rarely send before they are answered.
    private static let waitingMax = 64

    func read(context: ChannelHandlerContext) {
        if waiting.count >= Self.waitingMax {
            readHeld = true
            return
        }
        context.read()
    }

    /// Takes what waited, in order, until a request is in hand again; then reads again if asked to.
    private func resume(context: ChannelHandlerContext) {
        var resumed = false
        while !isBusy, let next = waiting.popFirst() {
            resumed = true
            switch next {
            case .part(let part): receive(part, context: context)
            case .event(let event): context.fireUserInboundEventTriggered(event)
            }
        }
        // Hummingbird's channel takes in what was read at the end of each read.
        if resumed { context.fireChannelReadComplete() }
        if waiting.count < Self.waitingMax, readHeld {
            readHeld = false
            context.read()
        }
    }
}

/// The `Date` header's value, made once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = now.tv_sec
        return cache.withLock { cached in
            if cached.second == second { return cached.text }
            var time = second
            var parts = tm()
            gmtime_r(&time, &parts)
            let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
            let text = "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
                + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
            cached = (second, text)
            return text
        }
    }
}
