@testable import BourseFIX
import BourseCore
import BourseTestSupport
import BourseVenue
import Foundation
import Testing

/// The session layer against scripts written from the FIX 4.4 specification (Volume 2, the session
/// protocol), one script per case, run over TCP against the real gateway on a node with a clock of its own.
@Suite("FIX acceptance scripts", .serialized)
struct AcceptanceTests {
    /// One node for all scripts; each script gets a gateway with sessions that start from nothing.
    actor Shared {
        private var opened: (DataDirectory.Node, TestClock)?

        func node() async throws -> (DataDirectory.Node, TestClock) {
            if let opened { return opened }
            let clock = TestClock()
            let node = try await DataDirectory(path: makeTemporaryDirectory("bourse-fix")).openNode(configuration: configuration, clock: clock.now)
            // A business day open, so that trades reported from elsewhere can be captured.
            _ = try await node.venue.execute(.rollBusinessDate(BusinessDateRoll(from: nil, to: CivilDate(year: 2026, month: 3, day: 2),
                                                                                 settlesOn: CivilDate(year: 2026, month: 3, day: 3))))
            opened = (node, clock)
            return (node, clock)
        }
    }

    static let shared = Shared()

    static var configuration: VenueConfiguration {
        var c = VenueConfiguration.demo
        c.fix = VenueConfiguration.FIXEntry(sessions: [
            VenueConfiguration.FIXSessionEntry(comp_id: "CLIENT", role: "order_entry", accounts: [1]),
            VenueConfiguration.FIXSessionEntry(comp_id: "SECRET", role: "order_entry", accounts: [2], password: true),
            VenueConfiguration.FIXSessionEntry(comp_id: "DROP", role: "drop_copy", accounts: [1, 2]),
            VenueConfiguration.FIXSessionEntry(comp_id: "CLEAR", role: "clearing", accounts: [1]),
            {
                var night = VenueConfiguration.FIXSessionEntry(comp_id: "NIGHT", role: "order_entry", accounts: [3])
                (night.start_time, night.end_time) = ("22:00:00", "06:00:00")
                return night
            }(),
            {
                var slow = VenueConfiguration.FIXSessionEntry(comp_id: "SLOW", role: "order_entry", accounts: [3])
                slow.messages_per_second_max = 5
                return slow
            }(),
        ])
        return c
    }

    static var scripts: [String] {
        let directory = Bundle.module.resourcePath! + "/Scripts"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".fix") }.sorted()
    }

    @Test("a script of the session protocol", arguments: scripts)
    func script(_ name: String) async throws {
        let (node, clock) = try await Self.shared.node()
        let text = try String(contentsOfFile: Bundle.module.resourcePath! + "/Scripts/" + name, encoding: .utf8)
        let store = makeTemporaryDirectory("bourse-fix-store")
        defer { try? FileManager.default.removeItem(atPath: store) }
        let gateway = try await FIXGateway(settings: SessionSettings.all(Self.configuration.fix!),
                                           storePath: store + "/sessions", node: node,
                                           // Connections one after another land on different loops.
                                           loops: 3, clock: clock.now, log: { _ in })
        let password = try await gateway.issuePasswords().first { $0.session == "SECRET" }!.password
        let port = try await gateway.start(host: "127.0.0.1", port: 0)
        do {
            try await ScriptRunner(port: port, clock: clock, gateway: gateway, password: password).run(text)
        } catch {
            await gateway.stop()
            throw error
        }
        await gateway.stop()
    }
}
