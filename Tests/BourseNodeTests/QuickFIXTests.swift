import BourseTestSupport
import Foundation
import Testing

/// QuickFIX's own initiator (the `quickfix-ssl` wheel from PyPI, in the virtual environment
/// `scripts/setup --test` makes in `.build/quickfix`), validating every message against its FIX 4.4
/// dictionary, against a real `bourse serve`: it logs on three sessions, places, replaces and cancels
/// orders of several types, gets them filled, disconnects, forgets messages, reconnects and gets the
/// resends and the executions it missed; the drop copy sees every execution of its accounts.
@Suite("QuickFIX against the real server")
struct QuickFIXTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("a QuickFIX initiator trades, drops, resends and follows a drop copy")
    func initiator() async throws {
        let python = Self.root + "/.build/quickfix/bin/python"
        try #require(FileManager.default.isExecutableFile(atPath: python), "QuickFIX's virtual environment is missing: run scripts/setup --test")
        let directory = makeTemporaryDirectory("bourse-quickfix")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let work = directory + "/initiator"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let served = try await ServeProcessTests.Served.start(directory: directory + "/data")
        try #require(served.fixPort != 0, "\(served.printed)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.root + "/Tests/QuickFIX/initiator.py", String(served.fixPort), directory + "/data/credentials.json",
                             Self.root + "/.build/quickfix/share/quickfix/FIX44.xml", work]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONDONTWRITEBYTECODE": "1"]) { $1 }
        let text = try await process.runToEnd()
        print(text.split(separator: "\n").last { $0.hasPrefix("PASS") } ?? "")
        #expect(process.terminationStatus == 0 && text.contains("PASS"), "QuickFIX initiator:\n\(text.suffix(4_000))")

        // The operator sees the sessions and their counts, in the API and in /metrics.
        let admin = try AlpacaSDKTests.key(directory + "/data", role: "admin")
        let (status, body) = await ServeProcessTests.request(served.port, "GET", "/v1/admin/fix/sessions", key: admin)
        let sessions = (try? JSONSerialization.jsonObject(with: body) as? [[String: Any]]) ?? []
        let trader = sessions.first { $0["session"] as? String == "TRADER1" }
        #expect(status == 200 && sessions.count == 4, "\(String(decoding: body, as: UTF8.self))")
        #expect(trader?["state"] as? String == "disconnected" && (trader?["next_sender_seq"] as? Int ?? 0) > 10
                && (trader?["messages_in"] as? Int ?? 0) > 10, "\(String(describing: trader))")
        let (_, metrics) = await ServeProcessTests.request(served.port, "GET", "/metrics", key: admin)
        let exposition = String(decoding: metrics, as: UTF8.self)
        // A session's series exist from its first message on, so their values tell what happened: the
        // reconnect asked for resends.
        func value(_ series: String) -> Double {
            exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) } ?? 0
        }
        #expect(value(#"bourse_fix_messages_in_total{session="TRADER1"}"#) > 10
                && value(#"bourse_fix_resends_total{session="TRADER1"}"#) >= 1, "\(exposition.prefix(2_000))")
        #expect(served.process.isRunning)
        served.process.interrupt()
        #expect(await served.ended(within: 30).status == 0)
    }
}
