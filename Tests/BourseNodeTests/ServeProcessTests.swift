import BourseTestSupport
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `bourse serve` as a supervisor runs it: a real process on a loopback port.
@Suite("the serve process")
struct ServeProcessTests {
    /// A running `bourse serve`; its output is collected, and it is killed if still running when dropped.
    final class Served: @unchecked Sendable {
        let process = Process()
        let output = Pipe()
        let errors = Pipe()
        private(set) var port = 0
        private(set) var printed = ""

        init(directory: String, shell prefix: String = "") throws {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", prefix + "exec \"$0\" serve --data-dir \"$1\" --port 0", CrashTests.executable, directory]
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while port == 0, Date() < deadline {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }
                printed += String(decoding: data, as: UTF8.self)
                if let line = printed.split(separator: "\n").first(where: { $0.hasPrefix("listening on http://127.0.0.1:") }) {
                    port = Int(line.split(separator: ":").last ?? "") ?? 0
                }
            }
        }

        deinit { if process.isRunning { process.terminate() } }

        /// Waits for the process to end (at most `seconds`); its status and what it wrote to standard error.
        func ended(within seconds: Double) -> (status: Int32?, errors: String) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            guard !process.isRunning else { return (nil, "") }
            return (process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }

    /// A trader's key from the credentials `serve` wrote.
    static func trader(_ directory: String) throws -> (id: String, secret: String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/credentials.json"))
        let keys = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        let key = try #require(keys.first { $0["role"] as? String == "trader" && $0["account"] as? Int == 1 })
        return (key["key_id"] as? String ?? "", key["secret"] as? String ?? "")
    }

    static func request(_ port: Int, _ method: String, _ path: String, key: (id: String, secret: String), body: String? = nil) async -> (Int, Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.setValue(key.id, forHTTPHeaderField: "APCA-API-KEY-ID")
        request.setValue(key.secret, forHTTPHeaderField: "APCA-API-SECRET-KEY")
        request.httpBody = body.map { Data($0.utf8) }
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return (0, Data()) }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test("when the journal cannot be written the process exits non-zero naming why, and a restart serves every acknowledged order")
    func journalFailureExits() async throws {
        let directory = makeTemporaryDirectory("bourse-serve")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A first start sets the venue up; the second runs under a file-size limit the journal soon reaches.
        do {
            let first = try Served(directory: directory)
            #expect(first.port != 0, "\(first.printed)")
            first.process.interrupt()
            _ = first.ended(within: 30)
        }
        let key = try Self.trader(directory)
        let limited = try Served(directory: directory, shell: "ulimit -f 1024; ")
        #expect(limited.port != 0, "\(limited.printed)")
        var acknowledged: [String] = []
        var refused = 0
        var refusal = ""
        for i in 0..<20_000 where limited.process.isRunning {
            let (status, data) = await Self.request(limited.port, "POST", "/v2/orders", key: key,
                body: #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"ioc","limit_price":"1.00","client_order_id":"fill-\#(i)"}"#)
            if status == 200 { acknowledged.append("fill-\(i)") } else {
                refused += 1
                refusal = "\(status) \(String(decoding: data, as: UTF8.self))"
            }
            if refused > 0 { break }
        }
        let (status, errors) = limited.ended(within: 30)
        #expect(status == 74, "\(String(describing: status)) \(errors); the refusal: \(refusal)")
        #expect(errors.contains("the sequencer stopped: journal commit failed") && errors.contains("File too large"), "\(errors)")
        #expect(acknowledged.count > 100)

        let restarted = try Served(directory: directory)
        #expect(restarted.port != 0, "\(restarted.printed)")
        // Every tenth acknowledged order, and the last fifty, are there.
        for (i, id) in acknowledged.enumerated() where i % 10 == 0 || i >= acknowledged.count - 50 {
            let (found, _) = await Self.request(restarted.port, "GET", "/v2/orders:by_client_order_id?client_order_id=\(id)", key: key)
            #expect(found == 200, "\(id)")
        }
        restarted.process.interrupt()
        #expect(restarted.ended(within: 30).status == 0)
    }
}
