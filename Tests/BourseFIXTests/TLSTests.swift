import BourseCore
@testable import BourseFIX
import BourseTestSupport
import BourseVenue
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

/// The gateway with TLS: a certificate and key from the configuration, a client that speaks TLS logs on;
/// one that speaks plain TCP to it gets no session.
@Suite("FIX over TLS")
struct TLSTests {
    /// A self-signed certificate for 127.0.0.1, made by openssl (Debian's) in `directory`.
    static func certificate(in directory: String) throws -> (certificate: String, key: String) {
        let (certificate, key) = (directory + "/fix.pem", directory + "/fix.key")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                             "-keyout", key, "-out", certificate]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl could not make a certificate")
        return (certificate, key)
    }

    final class Reader: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            let new = bytes.readBytes(length: bytes.readableBytes) ?? []
            received.withLock { $0 += new }
        }
    }

    @Test("a Logon over TLS is answered over TLS; plain TCP gets nothing")
    func logon() async throws {
        let directory = makeTemporaryDirectory("bourse-fix-tls")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pem = try Self.certificate(in: directory)
        let clock = TestClock()
        var configuration = VenueConfiguration.demo
        configuration.fix = VenueConfiguration.FIXEntry(sessions: [VenueConfiguration.FIXSessionEntry(comp_id: "CLIENT", role: "order_entry", accounts: [1])])
        let node = try await DataDirectory(path: directory + "/data").openNode(configuration: configuration, clock: clock.now)
        defer { node.stop() }
        let gateway = try await FIXGateway(settings: SessionSettings.all(configuration.fix!), storePath: directory + "/fix", node: node,
                                           tls: pem, clock: clock.now, log: { _ in })
        let port = try await gateway.start(host: "127.0.0.1", port: 0)

        var body = FIXBody()
        body.append(Tag.encryptMethod, 0)
        body.append(Tag.heartBtInt, 30)
        let logon = FIXEncoder.encode(type: MsgType.logon, sequence: 1, sender: "CLIENT", target: "BOURSE", sendingTime: Timestamp(nanos: clock.now()), body: body)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context = try NIOSSLContext(configuration: tls)
        for secure in [true, false] {
            let reader = Reader()
            let channel = try await ClientBootstrap(group: Client.group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if secure { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil)) }
                        try channel.pipeline.syncOperations.addHandler(reader)
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            var buffer = channel.allocator.buffer(capacity: logon.count)
            buffer.writeBytes(logon)
            try await channel.writeAndFlush(buffer).get()
            var answer: FIXMessage?
            for _ in 0 ..< 100 {
                let bytes = reader.received.withLock { $0 }
                if case .message(let length) = bytes.withUnsafeBytes({ Framing.frame($0) }) { answer = FIXMessage(frame: Array(bytes.prefix(length))) }
                if answer != nil || !channel.isActive { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            if secure {
                #expect(answer?.msgType == MsgType.logon && answer?[Tag.heartBtInt] == "30", "\(answer?.text ?? "nothing")")
            } else {
                #expect(answer == nil, "plain TCP to a TLS gateway: \(answer?.text ?? "")")
            }
            try? await channel.close()
        }
        await gateway.stop()
    }
}
