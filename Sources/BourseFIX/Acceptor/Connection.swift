import BourseCore
import BourseProjections
import NIOCore
import Synchronization

/// One TCP connection of the FIX gateway: it frames bytes into messages, binds the connection to its
/// session at Logon, hands each message to the session and writes what the session recorded. Everything
/// here runs on the connection's event loop, `home`.
final class FIXConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let gateway: FIXGateway
    let home: GatewayLoop
    private(set) var session: FIXSession?
    private var context: ChannelHandlerContext?
    private var buffer: [UInt8] = []
    /// Held back by the session's rate limit until this time.
    private var paused = false
    private var closing = false
    /// Closing or closed, as other loops see it: a Logon of this connection's session elsewhere waits for
    /// its end rather than being refused as a second logon.
    let hungUp = Atomic<Bool>(false)
    /// How many times a Logon waited for the session's previous connection to end.
    private var handoverWaits = 0
    /// A resend in progress: new messages wait until it is written.
    private var resend: FIXSession.ResendCursor?
    /// Order reports told live while the session is logged on, waiting for delivery.
    var live: [OrderReport] = []
    var liveOverflowed = false
    var catchingUp = false
    private var lazySaveScheduled = false
    /// Waiting in the gateway's next flush; and whether that flush saves the numbers alone as well.
    var awaitingFlush = false
    var flushEverything = false
    /// Whether this connection counts among those the order projection applies promptly for.
    var waitsForReports = false
    static let liveReportsMax = 65_536

    init(gateway: FIXGateway, home: GatewayLoop) { (self.gateway, self.home) = (gateway, home) }

    var isOpen: Bool { context != nil && !closing }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        gateway.connected(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        hungUp.store(true, ordering: .releasing)
        session?.disconnected()
        gateway.ended(self, session)
        session = nil
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        session.map { gateway.log("FIX session \($0.name): connection error: \(error)") }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.append(contentsOf: bytes.readBytes(length: bytes.readableBytes) ?? [])
        process()
    }

    /// Frames and handles what the buffer holds, until it needs more bytes, the rate limit pauses it, or
    /// the connection is closing; then saves and writes what the messages led to, once for all of them
    /// (and for every connection the event loop serves meanwhile).
    private func process() {
        defer { write() }
        while !paused, !closing, let context {
            let frame = buffer.withUnsafeBytes { Framing.frame($0) }
            switch frame {
            case .incomplete:
                session?.caughtUp()
                return
            case .garbled(let skip, let reason):
                buffer.removeFirst(skip)
                if let session { session.garbled(reason) } else { gateway.log("FIX: garbled message before Logon ignored: \(reason)") }
                gateway.metrics.garbled(session?.name)
            case .message(let length):
                let message = buffer.withUnsafeBytes { FIXMessage(frame: UnsafeRawBufferPointer(rebasing: $0[0 ..< length])) }
                let now = gateway.clock()
                if session == nil, !bind(message, now: now, context) { return }
                if let session, session.isLoggedOn {
                    let (wait, effects) = session.admit(now: now)
                    if let effects { apply(effects, now: now); return }
                    if wait > 0 {
                        pause(for: wait, context)
                        return
                    }
                }
                buffer.removeFirst(length)
                handle(message, now: now)
            }
        }
    }

    private func pause(for nanos: Int64, _ context: ChannelHandlerContext) {
        paused = true
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) { [self] in
            paused = false
            self.context?.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
            process()
        }
    }

    /// Binds the connection to the session its first message names; false while it waits for the
    /// session's previous connection to end (the message stays in the buffer), or when refused.
    private func bind(_ message: FIXMessage, now: Int64, _ context: ChannelHandlerContext) -> Bool {
        switch gateway.bind(self, message) {
        case .bound(let s):
            session = s
            s.connected(now: now)
            return true
        case .wait where handoverWaits < FIXGateway.handoverWaitsMax:
            handoverWaits += 1
            pause(for: 1_000_000, context)
            return false
        case .wait:
            gateway.log("FIX: connection refused: the session's previous connection did not end")
            close()
            return false
        case .refused(let refusal):
            gateway.log("FIX: connection refused: \(refusal.text)")
            close()
            return false
        }
    }

    private func handle(_ message: FIXMessage, now: Int64) {
        guard let session else { return }
        gateway.metrics.received(session.name)
        let rejected = session.counters.rejected
        let effects = session.receive(message, now: now)
        if session.counters.rejected > rejected { gateway.metrics.rejected(session.name) }
        apply(effects, now: now)
    }

    /// Carries out what a step of the session asks: hands an application message to the order handler,
    /// starts a resend, delivers after Logon, and closes. What the session recorded is written after all
    /// the messages the connection had, and before a resend or a close begins.
    func apply(_ effects: FIXSession.Effects, now: Int64) {
        guard let session else { return }
        if let application = effects.application { gateway.application(application, self, session, now: now) }
        let startsResend = effects.resend != nil && resend == nil
        if let range = effects.resend, startsResend {
            // Set at once, so that no order report is recorded until the resend is written.
            resend = FIXSession.ResendCursor(range)
            gateway.metrics.resend(session.name)
        }
        guard startsResend || effects.disconnect != nil else {
            if effects.loggedOn { gateway.loggedOn(self, session) }
            return
        }
        write()
        gateway.flush(home) { [self] in
            guard self.session === session, !closing else { return }
            if startsResend { continueResend() }
            if let reason = effects.disconnect {
                gateway.log("FIX session \(session.name): disconnecting: \(reason)")
                return close()
            }
            if effects.loggedOn { gateway.loggedOn(self, session) }
        }
    }

    /// Saves what the session recorded and writes it: at the end of the event loop's current work, with
    /// every other connection's (`FIXGateway.flush`). Numbers alone (an intake) are saved a moment later
    /// unless `everything`.
    func write(everything: Bool = false) {
        guard session != nil, context != nil, !closing else { return }
        flushEverything = flushEverything || everything
        gateway.needsFlush(self)
    }

    /// Saves the numbers alone within `lazySaveNanos`, with every other session's waiting to.
    func scheduleLazySave() {
        guard context != nil, !lazySaveScheduled else { return }
        lazySaveScheduled = true
        gateway.saveLater(self)
    }

    /// The gateway's lazy save came.
    func lazySaveDue() {
        lazySaveScheduled = false
        write(everything: true)
    }

    /// Writes messages the store holds already.
    func emit(_ messages: [[UInt8]]) {
        guard let session, let context, !closing, !messages.isEmpty else { return }
        for bytes in messages {
            var out = context.channel.allocator.buffer(capacity: bytes.count)
            out.writeBytes(bytes)
            context.write(wrapOutboundOut(out), promise: nil)
        }
        gateway.metrics.sent(session.name, messages.count)
        context.flush()
    }

    /// Writes the next chunk of a resend, and goes on when the socket has taken it, so that a resend of any
    /// length holds one chunk in memory.
    private func continueResend() {
        guard var cursor = resend, let session, let context, !closing else { return }
        do {
            let messages = try session.resendChunk(&cursor, now: gateway.clock())
            resend = cursor.isDone ? nil : cursor
            let promise = context.eventLoop.makePromise(of: Void.self)
            for (i, bytes) in messages.enumerated() {
                var out = context.channel.allocator.buffer(capacity: bytes.count)
                out.writeBytes(bytes)
                context.write(wrapOutboundOut(out), promise: i == messages.count - 1 ? promise : nil)
            }
            if messages.isEmpty { promise.succeed() }
            context.flush()
            promise.futureResult.whenComplete { [self] result in
                guard case .success = result else { return }
                if resend != nil { continueResend() } else { gateway.deliver(self) }
            }
        } catch {
            gateway.log("FIX session \(session.name): a resend failed, disconnecting: \(error)")
            close()
        }
    }

    /// Whether order reports may be written now (not during a resend or a catch-up).
    var mayDeliver: Bool { resend == nil && !catchingUp && session?.isLoggedOn == true && !closing }

    func close() {
        guard !closing, let context else { return }
        closing = true
        hungUp.store(true, ordering: .releasing)
        // Closed once what was written before has gone out (a Logout, a Reject).
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
