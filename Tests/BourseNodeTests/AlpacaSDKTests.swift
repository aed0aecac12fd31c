import BourseTestSupport
import Foundation
import Testing

/// Alpaca's own SDK for Python (`alpaca-py`, installed from PyPI by `scripts/setup --test`), with its
/// default settings and only `url_override` set, against a real `bourse serve` on a loopback port. The
/// scripts in `Tests/AlpacaSDK` call the SDK as a trader would and check every result in the SDK's own
/// models; each prints the SDK methods it covered.
@Suite("alpaca-py against the real server", .serialized)
struct AlpacaSDKTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AlpacaSDK").path

    @Test("TradingClient (account, assets, positions, every order call, configurations, activities), StockHistoricalDataClient (every request), TradingStream and StockDataStream, BrokerClient (accounts, funding, journals, trading for accounts, events)",
          arguments: ["trading", "data", "streams", "broker"])
    func script(_ name: String) async throws {
        let directory = makeTemporaryDirectory("bourse-alpaca")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let served = try await ServeProcessTests.Served.start(directory: directory)
        try #require(served.port != 0, "\(served.printed)")
        let (trader, maker) = (try Self.key(directory, account: 1), try Self.key(directory, account: 3))
        let broker = try Self.key(directory, role: "broker")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "\(Self.scripts)/\(name).py"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "BOURSE_URL": "http://127.0.0.1:\(served.port)", "TRADER_KEY": trader.id, "TRADER_SECRET": trader.secret,
            "MAKER_KEY": maker.id, "MAKER_SECRET": maker.secret, "BROKER_KEY": broker.id, "BROKER_SECRET": broker.secret,
            "PYTHONDONTWRITEBYTECODE": "1",
        ]) { $1 }
        let text = try await process.runToEnd()
        print(text.split(separator: "\n").last { $0.contains("methods covered") } ?? "")
        #expect(process.terminationStatus == 0, "alpaca-py (scripts/setup --test installs it):\n\(text.suffix(4_000))")
        #expect(served.process.isRunning)
        served.process.interrupt()
        #expect(await served.ended(within: 30).status == 0)
    }

    /// The trader key of an account (or the first key of a role) from the credentials `serve` wrote.
    static func key(_ directory: String, account: Int? = nil, role: String = "trader") throws -> (id: String, secret: String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/credentials.json"))
        let keys = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        let key = try #require(keys.first { $0["role"] as? String == role && (account == nil || $0["account"] as? Int == account) })
        return (key["key_id"] as? String ?? "", key["secret"] as? String ?? "")
    }
}
