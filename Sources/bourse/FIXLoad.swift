import BourseCore
import BourseFIX
import BourseNode
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Orders over FIX sessions against a running gateway: each session on its own connection logs on
/// (resetting its numbers), then keeps `window` orders unanswered, sending the next when an execution
/// report answers one (New or Rejected), and times each from its send to that report.
struct FIXLoad {
    let port: Int
    let sessions: Int
    let orders: Int
    let window: Int

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let perSession = (orders + sessions - 1) / sessions
        // ClOrdIDs are unique per account for good: each run has its own.
        let run = String(UInt64(wallClockNanos()) % 1_000_000_000_000, radix: 36)
        var handlers: [Driver] = []
        var channels: [Channel] = []
        for s in 0 ..< sessions {
            let count = min(perSession, orders - s * perSession)
            guard count > 0 else { break }
            let driver = Driver(name: String(format: "FIXLOAD%03d", s + 1), run: run, account: s % 2 == 0 ? "1" : "2", count: count, window: window,
                                done: group.next().makePromise(of: Void.self))
            let channel = try await ClientBootstrap(group: group)
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
        for channel in channels { try? await channel.close() }
        try await group.shutdownGracefully()
        let latencies = handlers.flatMap(\.latencies)
        let rejected = handlers.reduce(0) { $0 + $1.rejected }
        let summary = LatencySummary(latencies)
        print(#"{"mode":"fix-orders","sessions":\#(handlers.count),"window":\#(window),"orders":\#(latencies.count),"rejected":\#(rejected),"seconds":\#(String(format: "%.3f", elapsed)),"orders_per_sec":\#(Int(Double(latencies.count) / elapsed)),"ack_latency_us":{"p50":\#(summary.p50 / 1_000),"p99":\#(summary.p99 / 1_000),"p999":\#(summary.p999 / 1_000),"max":\#(summary.max / 1_000)}}"#)
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
        let done: EventLoopPromise<Void>
        private var context: ChannelHandlerContext?
        private var buffer: [UInt8] = []
        private var sequence = 1
        private var sent = 0
        private var sentAt: [String: Int64] = [:]
        private(set) var latencies: [Int64] = []
        private(set) var rejected = 0

        init(name: String, run: String, account: String, count: Int, window: Int, done: EventLoopPromise<Void>) {
            (self.name, self.run, self.account, self.count, self.window, self.done) = (name, run, account, count, window, done)
            latencies.reserveCapacity(count)
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

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.append(contentsOf: bytes.readBytes(length: bytes.readableBytes) ?? [])
            let garbled = Framing.take(from: &buffer) { message in
                switch message.msgType {
                case MsgType.logon:
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
                case MsgType.logout, MsgType.reject, MsgType.businessMessageReject:
                    done.fail(ChannelError.ioOnClosedChannel)
                    print("\(name): \(message.text)")
                default:
                    break
                }
            }
            if let garbled { done.fail(FIXResend.Garbled(reason: garbled)) }
        }

        func channelInactive(context: ChannelHandlerContext) { done.fail(ChannelError.ioOnClosedChannel) }
    }
}
