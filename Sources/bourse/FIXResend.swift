import BourseCore
import BourseFIX
import BourseNode
import BourseVenue
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A resend of every message a session has sent, measured: the store is filled with `messages`
/// execution reports, a client logs on expecting the first of them and asks for all; the gateway sends
/// them in chunks as the socket takes them, so memory stays flat however many there are.
struct FIXResend {
    let messages: Int

    /// The venue sent bytes that are not a message.
    struct Garbled: Error {
        var reason: String
    }

    func run() async throws {
        let directory = NSTemporaryDirectory() + "bourse-fix-resend-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.fix = VenueConfiguration.FIXEntry(sessions: [VenueConfiguration.FIXSessionEntry(comp_id: "RESEND", role: "drop_copy", accounts: [1])])
        let node = try await DataDirectory(path: directory).openNode(configuration: configuration)
        defer { node.stop() }
        let storePath = directory + "/fix"
        try fill(storePath)
        let gateway = try await FIXGateway(settings: SessionSettings.all(configuration.fix!), storePath: storePath, node: node, log: { _ in })
        let port = try await gateway.start(host: "127.0.0.1", port: 0)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counter = Counter(expected: messages, done: group.next().makePromise(of: Void.self))
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) } }
            .connect(host: "127.0.0.1", port: port).get()
        let before = Self.residentKiB()
        let peak = Mutex(before)
        let sampler = Task {
            while !Task.isCancelled {
                let now = Self.residentKiB()
                peak.withLock { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let start = monotonicNanos()
        channel.eventLoop.execute { counter.begin() }
        try await counter.done.futureResult.get()
        let seconds = Double(monotonicNanos() - start) / 1e9
        sampler.cancel()
        try? await channel.close()
        try await group.shutdownGracefully()
        await gateway.stop()
        let grown = (peak.withLock { $0 } - before) / 1_024
        print(#"{"mode":"fix-resend","messages":\#(messages),"seconds":\#(String(format: "%.2f", seconds)),"messages_per_sec":\#(Int(Double(messages) / seconds)),"rss_before_mib":\#(before / 1_024),"rss_growth_mib":\#(grown)}"#)
    }

    /// The session's store as if it had sent `messages` execution reports, numbered from 1.
    private func fill(_ path: String) throws {
        let store = try SessionStore(path: path)
        defer { store.close() }
        var body = FIXBody()
        for (tag, value) in [(37, "0b0a5e01-18ee-8000-8000-7a27f7606c2f"), (11, "ORDER-1"), (17, "42-0"), (150, "0"), (39, "0"), (1, "1"),
                             (55, "AAPL"), (54, "1"), (38, "10"), (40, "2"), (44, "189.5"), (59, "0"), (151, "10"), (14, "0"), (6, "0"),
                             (60, "20260302-14:30:00.000")] {
            body.append(tag, value)
        }
        var state = SessionStore.State()
        var sequence = 1
        while sequence <= messages {
            let batch = (sequence ..< min(messages + 1, sequence + 10_000)).map {
                SessionStore.Message(sequence: $0, type: "8", sent: Timestamp(nanos: 1_772_461_800_000_000_000), body: body.bytes)
            }
            sequence += batch.count
            state.nextSender = sequence
            try store.save("RESEND", state, sending: batch)
        }
    }

    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    }

    /// The client: Logon expecting message 1, a ResendRequest for everything, then counts what comes.
    final class Counter: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let expected: Int
        let done: EventLoopPromise<Void>
        private var context: ChannelHandlerContext?
        private var buffer: [UInt8] = []
        private var sequence = 1
        private var resent = 0

        init(expected: Int, done: EventLoopPromise<Void>) { (self.expected, self.done) = (expected, done) }

        func channelActive(context: ChannelHandlerContext) { self.context = context }

        private func send(_ type: String, _ body: FIXBody) {
            guard let context else { return }
            let bytes = FIXEncoder.encode(type: type, sequence: sequence, sender: "RESEND", target: "BOURSE",
                                          sendingTime: Timestamp(nanos: wallClockNanos()), body: body)
            sequence += 1
            var out = context.channel.allocator.buffer(capacity: bytes.count)
            out.writeBytes(bytes)
            context.writeAndFlush(NIOAny(out), promise: nil)
        }

        func begin() {
            var body = FIXBody()
            body.append(Tag.encryptMethod, 0)
            body.append(Tag.heartBtInt, 30)
            send(MsgType.logon, body)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.append(contentsOf: bytes.readBytes(length: bytes.readableBytes) ?? [])
            let garbled = Framing.take(from: &buffer) { message in
                switch message.msgType {
                case MsgType.logon:
                    var body = FIXBody()
                    body.append(Tag.beginSeqNo, 1)
                    body.append(Tag.endSeqNo, 0)
                    send(MsgType.resendRequest, body)
                case MsgType.executionReport where message.isPossDup:
                    resent += 1
                    if resent == expected { done.succeed() }
                default:
                    break
                }
            }
            if let garbled { done.fail(FIXResend.Garbled(reason: garbled)) }
        }

        func channelInactive(context: ChannelHandlerContext) { done.fail(ChannelError.ioOnClosedChannel) }
    }
}
