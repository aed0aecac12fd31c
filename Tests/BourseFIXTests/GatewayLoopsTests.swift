import BourseCore
@testable import BourseFIX
import BourseTestSupport
import BourseVenue
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The gateway's event loops: what a connection holds is let go when it ends, whether or not it ever
/// named a session, and a session moves from one loop to another only once its old connection ended.
@Suite("FIX gateway loops")
struct GatewayLoopsTests {
    @Test("connections that end before any Logon are let go, so they never use up the gateway's connections")
    func connectionsWithoutSession() async throws {
        let directory = makeTemporaryDirectory("bourse-fix-loops")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = TestClock()
        let (node, gateway, port) = try await Self.gateway(in: directory, clock: clock)
        defer { node.stop() }

        // Given 30 connections, a third silent, a third sending garbage, a third half a message.
        var channels: [Channel] = []
        for i in 0 ..< 30 {
            let channel = try await ClientBootstrap(group: Client.group).connect(host: "127.0.0.1", port: port).get()
            let bytes: [UInt8] = i % 3 == 0 ? [] : i % 3 == 1 ? Array("garbage\u{1}".utf8) : Array("8=FIX.4.4\u{1}9=120\u{1}35=A\u{1}".utf8)
            if !bytes.isEmpty { try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get() }
            channels.append(channel)
        }
        #expect(await Self.eventually { gateway.openConnections == 30 }, "open: \(gateway.openConnections)")
        // When they hang up, then the gateway holds none of them.
        for channel in channels { try? await channel.close() }
        #expect(await Self.eventually { gateway.openConnections == 0 }, "still held: \(gateway.openConnections)")
        await gateway.stop()
    }

    @Test("a session logs on again the moment the venue hung up, on another loop, with its numbers kept")
    func logonRightAfterHangUp() async throws {
        let directory = makeTemporaryDirectory("bourse-fix-loops")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = TestClock()
        let (node, gateway, port) = try await Self.gateway(in: directory, clock: clock)
        defer { node.stop() }
        var (ours, theirs) = (1, 1)
        func send(_ client: Client, _ type: String, _ body: FIXBody = FIXBody()) async throws {
            try await client.send(FIXEncoder.encode(type: type, sequence: ours, sender: "CLIENT", target: "BOURSE",
                                                    sendingTime: Timestamp(nanos: clock.now()), body: body))
            ours += 1
        }
        var logon = FIXBody()
        logon.append(Tag.encryptMethod, 0)
        logon.append(Tag.heartBtInt, 30)
        // Given a client that logs out and, as soon as the venue's Logout reaches it, connects and logs on
        // again (its next connection lands on another of the gateway's loops), twenty times.
        for round in 1 ... 20 {
            let client = try await Client.connect(port: port)
            try await send(client, MsgType.logon, logon)
            let answer = try await client.next(timeout: .seconds(10))
            // Then each Logon is answered, never refused as a second one, and the numbers go on.
            try #require(answer?.msgType == MsgType.logon, "round \(round): \(answer?.text ?? "nothing")")
            #expect(answer?[Tag.msgSeqNum] == String(theirs), "round \(round): \(answer!.text)")
            try await send(client, MsgType.logout)
            let logout = try await client.next(timeout: .seconds(10))
            try #require(logout?.msgType == MsgType.logout, "round \(round): \(logout?.text ?? "nothing")")
            theirs += 2
        }
        await gateway.stop()
    }

    /// A gateway on three loops with one order entry session, CLIENT.
    static func gateway(in directory: String, clock: TestClock) async throws -> (DataDirectory.Node, FIXGateway, Int) {
        var configuration = VenueConfiguration.demo
        configuration.fix = VenueConfiguration.FIXEntry(sessions: [VenueConfiguration.FIXSessionEntry(comp_id: "CLIENT", role: "order_entry", accounts: [1])])
        let node = try await DataDirectory(path: directory + "/data").openNode(configuration: configuration, clock: clock.now)
        let gateway = try await FIXGateway(settings: SessionSettings.all(configuration.fix!), storePath: directory + "/fix", node: node,
                                           loops: 3, clock: clock.now, log: { _ in })
        return (node, gateway, try await gateway.start(host: "127.0.0.1", port: 0))
    }

    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0 ..< 250 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
