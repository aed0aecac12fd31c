import BourseCore
import BourseFIX
import BourseNode
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Orders over FIX sessions against a running gateway: each session on its own connection logs on
/// (resetting its numbers), then keeps `window` orders unanswered, sending the next when an execution
/// report answers one (New or Rejected), and times each from its send to that report. With a `rate`,
/// orders go no faster than that many a second in all, each session taking its share in turn.
struct FIXLoad {
    let port: Int
    let sessions: Int
    let orders: Int
    let window: Int
    var rate = 0

    func run() async throws {
        // A thread per core, as the HTTP load generator has.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let perSession = (orders + sessions - 1) / sessions
        // ClOrdIDs are unique per account for good: each run has its own.
        let run = String(UInt64(wallClockNanos()) % 1_000_000_000_000, radix: 36)
        var handlers: [Driver] = []
        var channels: [Channel] = []
        for s in 0 ..< sessions {
            let count = min(perSession, orders - s * perSession)
            guard count > 0 else { break }
            // Each session's share of the rate: one order every `interval` nanoseconds, the sessions staggered.
            let loop = group.next()
            let interval: Int64 = rate == 0 ? 0 : Int64(1e9 * Double(sessions) / Double(rate))
            let driver = Driver(name: String(format: "FIXLOAD%03d", s + 1), run: run, account: s % 2 == 0 ? "1" : "2", count: count, window: window,
                                interval: interval, offset: interval * Int64(s) / Int64(sessions), done: loop.makePromise(of: Void.self))
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(driver) } }
                .connect(host: "127.0.0.1", port: port).get()
            handlers.append(driver)
            channels.append(channel)
        }
        let start = monotonicNanos()
        for (driver, channel) in zip(handlers, channels) { channel.eventLoop.execute { driver.begin() } }
        for driver in handlers { try await driver.done.futureResult.get() }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        // Logged out as a FIX client does, so that the next run's Logon of the same session does not find
        // this connection still bound (and is not closed as a second one).
        for (driver, channel) in zip(handlers, channels) { channel.eventLoop.execute { driver.logout() } }
        for driver in handlers { try? await driver.loggedOut.futureResult.get() }
        for channel in channels { try? await channel.close() }
        try await group.shutdownGracefully()
        let latencies = handlers.flatMap(\.latencies)
        let rejected = handlers.reduce(0) { $0 + $1.rejected }
        let summary = LatencySummary(latencies)
        print(#"{"mode":"fix-orders","sessions":\#(handlers.count),"window":\#(window),"rate":\#(rate),"orders":\#(latencies.count),"rejected":\#(rejected),"seconds":\#(String(format: "%.3f", elapsed)),"orders_per_sec":\#(Int(Double(latencies.count) / elapsed)),"ack_latency_us":{"p50":\#(summary.p50 / 1_000),"p99":\#(summary.p99 / 1_000),"p999":\#(summary.p999 / 1_000),"max":\#(summary.max / 1_000)}}"#)
    }

    /// One session's connection: Logon, then orders, on its event loop.
    final class Driver: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let name: String
        let run: String
        let account: String
        let count: Int
        let window: Int
        let interval: Int64
        /// When the next order is due, with a rate.
        private var next: Int64
        private var waking = false
        let done: EventLoopPromise<Void>
        /// The venue's Logout answered ours, or the connection ended.
        let loggedOut: EventLoopPromise<Void>
        private var loggingOut = false
        private var context: ChannelHandlerContext?
        private var buffer: [UInt8] = []
        private var sequence = 1
        private var sent = 0
        private var sentAt: [String: Int64] = [:]
        private(set) var latencies: [Int64] = []
        private(set) var rejected = 0

        init(name: String, run: String, account: String, count: Int, window: Int, interval: Int64, offset: Int64, done: EventLoopPromise<Void>) {
            (self.name, self.run, self.account, self.count, self.window, self.done) = (name, run, account, count, window, done)
            (self.interval, next) = (interval, offset)
            loggedOut = done.futureResult.eventLoop.makePromise(of: Void.self)
            latencies.reserveCapacity(count)
        }

        func logout() {
            loggingOut = true
            write(MsgType.logout, FIXBody())
            context?.flush()
            // An answer that does not come within 5 s is not waited for.
            done.futureResult.eventLoop.scheduleTask(in: .seconds(5)) { [loggedOut] in loggedOut.succeed() }
        }

        func channelActive(context: ChannelHandlerContext) { self.context = context }

        func begin() {
            var body = FIXBody()
            body.append(Tag.encryptMethod, 0)
            body.append(Tag.heartBtInt, 30)
            body.append(Tag.resetSeqNumFlag, true)
            write(MsgType.logon, body)
            context?.flush()
        }

        private func write(_ type: String, _ body: FIXBody) {
            guard let context else { return }
            let bytes = FIXEncoder.encode(type: type, sequence: sequence, sender: name, target: "BOURSE",
                                          sendingTime: Timestamp(nanos: wallClockNanos()), body: body)
            sequence += 1
            var out = context.channel.allocator.buffer(capacity: bytes.count)
            out.writeBytes(bytes)
            context.write(NIOAny(out), promise: nil)
        }

        private func sendOrders() {
            while sent < count, sentAt.count < window {
                if interval > 0 {
                    let now = monotonicNanos()
                    guard now >= next else {
                        wake(in: next - now)
                        break
                    }
                    next += interval
                }
                let id = "\(name)-\(run)-\(sent)"
                var body = FIXBody()
                body.append(Tag.clOrdID, id)
                body.append(Tag.account, account)
                body.append(Tag.symbol, "AAPL")
                // Buys and sells alternate, at one price, so that the two accounts' orders trade.
                body.append(Tag.side, (sent + (account == "1" ? 0 : 1)) % 2 == 0 ? "1" : "2")
                body.append(Tag.transactTime, Timestamp(nanos: wallClockNanos()))
                body.append(Tag.ordType, "2")
                body.append(Tag.orderQty, 1)
                body.append(Tag.price, "190")
                sentAt[id] = monotonicNanos()
                write(MsgType.newOrderSingle, body)
                sent += 1
            }
            context?.flush()
        }

        /// Sends what is due when its time comes.
        private func wake(in nanos: Int64) {
            guard !waking, let context else { return }
            waking = true
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                bound.value.waking = false
                bound.value.sendOrders()
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.append(contentsOf: bytes.readBytes(length: bytes.readableBytes) ?? [])
            let garbled = Framing.take(from: &buffer) { message in
                switch message.msgType {
                case MsgType.logon:
                    next += monotonicNanos()
                    sendOrders()
                case MsgType.executionReport:
                    let type = message[Tag.execType]
                    guard type == "0" || type == "8", let id = message[Tag.clOrdID], let at = sentAt.removeValue(forKey: id) else { return }
                    latencies.append(monotonicNanos() - at)
                    if type == "8" { rejected += 1 }
                    if latencies.count == count { done.succeed() } else { sendOrders() }
                case MsgType.testRequest:
                    var body = FIXBody()
                    body.append(Tag.testReqID, message[Tag.testReqID] ?? "")
                    write(MsgType.heartbeat, body)
                    context.flush()
                case MsgType.logout where loggingOut:
                    loggedOut.succeed()
                case MsgType.logout, MsgType.reject, MsgType.businessMessageReject:
                    done.fail(ChannelError.ioOnClosedChannel)
                    print("\(name): \(message.text)")
                default:
                    break
                }
            }
            if let garbled { done.fail(FIXResend.Garbled(reason: garbled)) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.fail(ChannelError.ioOnClosedChannel)
            loggedOut.succeed()
        }
    }
}
