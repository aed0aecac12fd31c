import BourseTestSupport
import Foundation
import Glibc
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
        /// The FIX gateway's port (any free one, so that servers in parallel tests do not collide).
        private(set) var fixPort = 0
        private(set) var printed = ""
        /// What it wrote to standard error, read as it comes so that a full pipe never blocks the server.
        private let written = Shared(Data())

        init(directory: String, shell prefix: String = "", arguments: String = "") throws {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", prefix + "exec \"$0\" serve --data-dir \"$1\" --port 0 --fix-port 0 " + arguments, CrashTests.executable, directory]
            process.standardOutput = output
            process.standardError = errors
            let written = self.written
            errors.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                written.withLock { $0.append(data) }
            }
            try process.run()
            // A start that says nothing for 120 s is ended, which ends the read below; a slow start that
            // prints on is read to its listening line (a deadline checked between reads once cut one off).
            let started = Date(), listening = Shared(false), process = self.process
            DispatchQueue.global().asyncAfter(deadline: .now() + 120) {
                if !listening.withLock({ $0 }), process.isRunning { process.terminate() }
            }
            defer { listening.withLock { $0 = true } }
            while port == 0 {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }
                printed += String(decoding: data, as: UTF8.self)
                if let line = printed.split(separator: "\n").first(where: { $0.hasPrefix("listening on http://127.0.0.1:") }) {
                    port = Int(line.split(separator: ":").last ?? "") ?? 0
                }
                if let line = printed.split(separator: "\n").first(where: { $0.hasPrefix("FIX 4.4 on 127.0.0.1:") }) {
                    fixPort = Int(line.dropFirst("FIX 4.4 on 127.0.0.1:".count).prefix(while: \.isNumber)) ?? 0
                }
            }
            // Whatever it prints later is read and dropped.
            output.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
            // A start that never listened says how it ended, for the test's message.
            if port == 0 {
                let ended = Date().addingTimeInterval(10)
                while process.isRunning, Date() < ended { usleep(20_000) }
                usleep(100_000)
                let status = process.isRunning ? "still running" : "\(process.terminationReason == .uncaughtSignal ? "signal" : "exit status") \(process.terminationStatus)"
                printed += "\n[not listening after \(Int(Date().timeIntervalSince(started))) s; \(status); standard error: \(String(decoding: written.withLock { $0 }, as: UTF8.self).suffix(2_000))]"
            }
        }

        deinit { if process.isRunning { process.terminate() } }

        /// Starts one, waiting for it to say where it listens on a thread of its own.
        static func start(directory: String, shell prefix: String = "", arguments: String = "") async throws -> Served {
            try await blocking { try Served(directory: directory, shell: prefix, arguments: arguments) }
        }

        /// Waits for the process to end (at most `seconds`); its status and what it wrote to standard error.
        func ended(within seconds: Double) async -> (status: Int32?, errors: String) {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
            while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            guard !process.isRunning else {
                return (nil, "still running after \(Int(seconds)) s; standard error: \(String(decoding: written.withLock { $0 }, as: UTF8.self).suffix(2_000))")
            }
            // What it wrote last is read by the pipe's handler a moment after it exits.
            try? await Task.sleep(for: .milliseconds(100))
            return (process.terminationStatus, String(decoding: written.withLock { $0 }, as: UTF8.self))
        }
    }

    /// A trader's key from the credentials `serve` wrote.
    static func trader(_ directory: String) throws -> (id: String, secret: String) { try AlpacaSDKTests.key(directory, account: 1) }

    static func request(_ port: Int, _ method: String, _ path: String, key: (id: String, secret: String), body: String? = nil) async -> (Int, Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.setValue(key.id, forHTTPHeaderField: "APCA-API-KEY-ID")
        request.setValue(key.secret, forHTTPHeaderField: "APCA-API-SECRET-KEY")
        request.httpBody = body.map { Data($0.utf8) }
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return (0, Data()) }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test("a port already in use is reported before anything is created, and serve exits; the startup says where the state is and how to stop")
    func portInUse() async throws {
        let (held, port) = listeningOnFreePort()
        defer { close(held) }
        try #require(port != 0)
        let directory = makeTemporaryDirectory("bourse-port") + "/data"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CrashTests.executable)
        process.arguments = ["serve", "--data-dir", directory, "--port", String(port)]
        let text = try await process.runToEnd()
        #expect(process.terminationStatus != 0 && text.contains("port \(port) on 127.0.0.1 is in use"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: directory))

        let served = try await Served.start(directory: directory)
        #expect(served.printed.contains("the venue's state (journal, projections, credentials.json) is in \(directory)")
                && served.printed.contains("stop with Ctrl-C"), "\(served.printed)")
        served.process.interrupt()
        // The status (nil: still running after 30 s) and what it wrote last, so that a failure names its cause.
        let ended = await served.ended(within: 30)
        #expect(ended.status == 0, "\(ended)")
    }

    @Test("when the journal cannot be written the process exits non-zero naming why, and a restart serves every acknowledged order")
    func journalFailureExits() async throws {
        let directory = makeTemporaryDirectory("bourse-serve")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A first start sets the venue up; the second runs under a file-size limit the journal soon reaches.
        do {
            let first = try await Served.start(directory: directory)
            #expect(first.port != 0, "\(first.printed)")
            first.process.interrupt()
            _ = await first.ended(within: 30)
        }
        let key = try Self.trader(directory)
        let limited = try await Served.start(directory: directory, shell: "ulimit -f 1024; ")
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
        let (status, errors) = await limited.ended(within: 30)
        #expect(status == 74, "\(String(describing: status)) \(errors); the refusal: \(refusal)")
        #expect(errors.contains("the sequencer stopped: journal commit failed") && errors.contains("File too large"), "\(errors)")
        #expect(acknowledged.count > 100)

        let restarted = try await Served.start(directory: directory)
        #expect(restarted.port != 0, "\(restarted.printed)")
        // Every tenth acknowledged order, and the last fifty, are there.
        for (i, id) in acknowledged.enumerated() where i % 10 == 0 || i >= acknowledged.count - 50 {
            let (found, _) = await Self.request(restarted.port, "GET", "/v2/orders:by_client_order_id?client_order_id=\(id)", key: key)
            #expect(found == 200, "\(id)")
        }
        restarted.process.interrupt()
        #expect(await restarted.ended(within: 30).status == 0)
    }
}

/// Floods a real `bourse serve` under `ulimit -n 1024` from other loopback addresses: idle, slow and
/// pipelining connections and made-up key ids. The process stays within stated bounds and a
/// well-behaved client is answered throughout.
@Suite("the serve process under a flood")
struct FloodTests {
    /// A TCP connection from a chosen loopback address; nil when the server would not take it.
    static func connect(from source: String, to port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        remote.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ok = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            && withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        if !ok { close(fd) }
        return ok ? fd : nil
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    /// The process's resident memory in MiB and its open descriptors, from /proc.
    static func usage(_ pid: Int32) -> (rssMiB: Int, descriptors: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let kib = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (kib / 1_024, descriptors)
    }

    @Test("1,100 idle, 200 slow and a pipelining connection and 5,000 made-up key ids: RSS grows under 150 MiB, descriptors stay under 1,024, and orders are taken throughout")
    func flood() async throws {
        let directory = makeTemporaryDirectory("bourse-flood")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let served = try await ServeProcessTests.Served.start(directory: directory, shell: "ulimit -n 1024; ", arguments: "--request-timeout-s 10")
        let port = served.port
        #expect(port != 0, "\(served.printed)")
        let key = try ServeProcessTests.trader(directory)
        let pid = served.process.processIdentifier
        let before = Self.usage(pid)
        let order = #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"ioc","limit_price":"1.00"}"#

        let done = Shared(false)
        let flooding = Task.detached { () -> (idle: Int, slow: Int, descriptors: Int) in
            defer { done.withLock { $0 = true } }
            var idle: [Int32] = [], slow: [Int32] = []
            for _ in 0..<1_100 { if let fd = Self.connect(from: "127.0.0.2", to: port) { idle.append(fd) } }
            for _ in 0..<200 { if let fd = Self.connect(from: "127.0.0.3", to: port) { slow.append(fd) } }
            // Read here as well: on a busy machine the client's own samples may come too late to see the peak.
            let descriptors = Self.usage(pid).descriptors
            if let pipelining = Self.connect(from: "127.0.0.4", to: port) {
                let request = "POST /v2/orders HTTP/1.1\r\nHost: x\r\nAPCA-API-KEY-ID: \(key.id)\r\nAPCA-API-SECRET-KEY: \(key.secret)\r\nContent-Length: \(order.utf8.count)\r\n\r\n\(order)"
                Self.send(pipelining, String(repeating: request, count: 2_000))
                idle.append(pipelining)
            }
            if let flooder = Self.connect(from: "127.0.0.5", to: port) {
                for i in 0..<5_000 {
                    let body = #"{"key_id":"PK\#(i)RANDOM\#(i * 7919)","secret":"x"}"#
                    Self.send(flooder, "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
                }
                idle.append(flooder)
            }
            for round in 0..<20 {
                for fd in slow { Self.send(fd, round == 0 ? "GET /healthz HTTP/1.1\r\nX-Slow: " : "a") }
                usleep(200_000)
            }
            let counts = (idle.count, slow.count, descriptors)
            for fd in idle + slow { close(fd) }
            return counts
        }
        // The well-behaved client, from 127.0.0.1, all the while.
        var answered = 0, failed: [Int] = []
        var peak = before
        while !done.withLock({ $0 }) || answered < 20 {
            let (status, _) = await ServeProcessTests.request(port, "POST", "/v2/orders", key: key, body: order)
            if status == 200 { answered += 1 } else { failed.append(status) }
            let now = Self.usage(pid)
            peak = (max(peak.rssMiB, now.rssMiB), max(peak.descriptors, now.descriptors))
            try await Task.sleep(for: .milliseconds(50))
        }
        let (idle, slow, descriptors) = await flooding.value
        peak.descriptors = max(peak.descriptors, descriptors)
        #expect(failed.isEmpty, "the well-behaved client got \(failed.prefix(10)) after \(answered) orders")
        // The flood reached the server: one address's share of connections was open at once.
        #expect(peak.descriptors > 400, "descriptors \(before.descriptors) → \(peak.descriptors): the flood never reached the server")
        #expect(peak.descriptors < 1_024 && peak.rssMiB - before.rssMiB < 150,
                "descriptors \(before.descriptors) → \(peak.descriptors), RSS \(before.rssMiB) → \(peak.rssMiB) MiB")
        print("flood: \(idle) idle and \(slow) slow connections held by the client; descriptors \(before.descriptors) → \(peak.descriptors), RSS \(before.rssMiB) → \(peak.rssMiB) MiB; \(answered) orders answered")
        #expect(served.process.isRunning)
        served.process.interrupt()
        // Bounded generously: with the whole suite running on two cores, the stop takes its turn.
        let ended = await served.ended(within: 90)
        #expect(ended.status == 0, "stopped: \(ended.status.map(String.init) ?? "still running after 90 s"); \(ended.errors.suffix(2_000))")
    }
}

/// schemathesis (from PyPI, installed by `scripts/setup --test`) generates requests for every operation of
/// `/openapi.json` and sends them to a real `serve`: no answer may be a server error, and every answer must
/// have a documented status, content type and the schema the document declares for it.
@Suite("the API under schemathesis")
struct SchemathesisTests {
    @Test("every documented operation, fed generated and edge-case requests, answers without a server error and as documented")
    func noServerErrors() async throws {
        let directory = makeTemporaryDirectory("bourse-schemathesis")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let served = try await ServeProcessTests.Served.start(directory: directory, arguments: "--rate-limit 100000000 --rate-burst 100000000")
        try #require(served.port != 0, "\(served.printed)")
        let key = try ServeProcessTests.trader(directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["schemathesis", "run", "http://127.0.0.1:\(served.port)/openapi.json",
                             "-H", "APCA-API-KEY-ID: \(key.id)", "-H", "APCA-API-SECRET-KEY: \(key.secret)",
                             "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
                             "--max-examples", "30", "--seed", "14",
                             "--request-timeout", "10", "--no-color"]
        // Its cache goes in the test's directory, not the working tree.
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let text: String
        do { text = try await process.runToEnd() } catch {
            Issue.record("schemathesis cannot run (scripts/setup --test installs it): \(error)")
            return
        }
        let summary = text.split(separator: "\n").first { $0.contains(" generated, ") }.map(String.init) ?? ""
        print("schemathesis: \(summary.trimmingCharacters(in: .whitespaces))")
        #expect(process.terminationStatus == 0 && summary.contains("passed") && !summary.contains("failed"), "\(text.suffix(3_000))")
        #expect(served.process.isRunning)
        served.process.interrupt()
        #expect(await served.ended(within: 30).status == 0)
    }
}
