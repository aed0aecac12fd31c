import ArgumentParser
import AsyncHTTPClient
import BourseJournal
import BourseServer
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Drives a running server over HTTP keep-alive: many concurrent clients each send orders one after
/// another. Buys and sells alternate at one price from two trader accounts, so most orders fill and
/// the book stays small. With `--subscribers`, that many WebSocket clients follow the symbol's trades on
/// `/v2/stream` meanwhile and count what they receive, and how long after the trade. Bounded in count and
/// time, and only against this machine.
struct Loadgen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send orders to a running `bourse serve` on this machine and measure throughput and ack latency.")

    @Option(help: "The server, on 127.0.0.1 or localhost only.")
    var url = "http://127.0.0.1:8080"
    @Option(help: "The credentials file the server wrote on its first start.")
    var credentials = "./bourse-data/credentials.json"
    @Option(help: "Concurrent clients, each with its own connection.")
    var connections = 64
    @Option(help: "Orders to send in all.")
    var orders = 200_000
    @Option(help: "Stop after this many seconds, however many orders were sent.")
    var seconds = 60
    @Option(help: "The symbol to trade; its previous close is the price.")
    var symbol = "AAPL"
    @Option(help: "The price of every order, as a decimal string.")
    var price = "190.00"
    @Option(help: "Market data subscribers on /v2/stream following the symbol's trades (0 to 10,000).")
    var subscribers = 0
    @Option(help: "Orders a second in all, at most (0: as fast as the clients go).")
    var rate = 0
    @Option(help: "Shares in each order (1 to 10,000).")
    var qty = 1
    @Option(help: "Show this many shares of each order at a time (an iceberg): an order of --qty N shown 1 at a time that rests is then taken in N trades, which makes trades in bursts for the fan-out without more order entry.")
    var display: Int?

    func run() async throws {
        guard let parsed = URL(string: url), ["127.0.0.1", "localhost"].contains(parsed.host ?? "") else {
            throw ValidationError("loadgen talks to this machine only: give a 127.0.0.1 or localhost url")
        }
        guard (1...1_024).contains(connections), (1...10_000_000).contains(orders), (1...3_600).contains(seconds),
              (0...10_000).contains(subscribers), rate >= 0, (1...10_000).contains(qty), (display ?? 1) >= 1, (display ?? 1) <= qty else {
            throw ValidationError("connections 1–1,024, orders up to 10,000,000, seconds up to 3,600, subscribers up to 10,000, qty 1–10,000, display 1–qty")
        }
        let keys = try JSONDecoder().decode([IssuedKey].self, from: Data(contentsOf: URL(fileURLWithPath: credentials)))
        let traders = keys.filter { $0.role == .trader && ($0.account == 1 || $0.account == 2) }
        guard traders.count == 2 else { throw ValidationError("\(credentials) lacks the demo traders of accounts 1 and 2") }

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let fanout = Fanout()
        let listeners = try await subscribe(fanout, key: traders[0], host: parsed.host!, port: parsed.port ?? 80)
        let deadline = monotonicNanos() + Int64(seconds) * 1_000_000_000
        let perClient = (orders + connections - 1) / connections
        // Each client's share of the rate: one order every `interval` nanoseconds.
        let interval: Int64 = rate == 0 ? 0 : Int64(1e9 * Double(connections) / Double(rate))
        let start = monotonicNanos()
        let results = await withTaskGroup(of: ClientResult.self) { group in
            for c in 0..<connections {
                let key = traders[c % 2]
                let count = min(perClient, orders - c * perClient)
                guard count > 0 else { continue }
                group.addTask {
                    await drive(client, key: key, count: count, firstSide: c % 4 < 2 ? "buy" : "sell", deadline: deadline,
                                interval: interval, offset: interval * Int64(c) / Int64(connections))
                }
            }
            var all: [ClientResult] = []
            for await result in group { all.append(result) }
            return all
        }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        try await client.shutdown()
        // Subscribers get two seconds to receive what is on its way, then disconnect.
        let fanoutReport = subscribers > 0 ? await fanout.finish(listeners, sentFrom: start) : ""

        var latencies = results.flatMap(\.latencies)
        latencies.sort()
        let statuses = results.reduce(into: [Int: Int]()) { total, r in total.merge(r.statuses, uniquingKeysWith: +) }
        let failures = results.reduce(0) { $0 + $1.failures }
        func percentile(_ p: Double) -> Int64 { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let statusJSON = statuses.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        print(#"{"mode":"loadgen","connections":\#(connections),"orders":\#(latencies.count),"seconds":\#(String(format: "%.3f", elapsed)),"orders_per_sec":\#(Int(Double(latencies.count) / elapsed)),"statuses":{\#(statusJSON)},"transport_failures":\#(failures),"ack_latency_us":{"p50":\#(percentile(0.5) / 1_000),"p99":\#(percentile(0.99) / 1_000),"p999":\#(percentile(0.999) / 1_000),"max":\#((latencies.last ?? 0) / 1_000)}\#(fanoutReport)}"#)
    }

    struct ClientResult: Sendable {
        var latencies: [Int64] = []
        var statuses: [Int: Int] = [:]
        var failures = 0
    }

    /// One client: its orders one at a time, each timed from send to the whole response.
    private func drive(_ client: HTTPClient, key: IssuedKey, count: Int, firstSide: String, deadline: Int64,
                       interval: Int64, offset: Int64) async -> ClientResult {
        var result = ClientResult()
        result.latencies.reserveCapacity(count)
        var side = firstSide
        var next = monotonicNanos() + offset
        for _ in 0..<count {
            guard monotonicNanos() < deadline else { break }
            if interval > 0 {
                let wait = next - monotonicNanos()
                if wait > 0 { try? await Task.sleep(for: .nanoseconds(wait)) }
                next += interval
            }
            var request = HTTPClientRequest(url: url + "/v2/orders")
            request.method = .POST
            request.headers.add(name: "APCA-API-KEY-ID", value: key.keyID)
            request.headers.add(name: "APCA-API-SECRET-KEY", value: key.secret)
            request.headers.add(name: "Content-Type", value: "application/json")
            let shown = display.map { #","display_qty":"\#($0)""# } ?? ""
            let body = #"{"symbol":"\#(symbol)","qty":"\#(qty)","side":"\#(side)","type":"limit","time_in_force":"day","limit_price":"\#(price)"\#(shown)}"#
            request.body = .bytes(ByteBuffer(string: body))
            let sent = monotonicNanos()
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 16)
                result.latencies.append(monotonicNanos() - sent)
                result.statuses[Int(response.status.code), default: 0] += 1
            } catch {
                result.failures += 1
            }
            side = side == "buy" ? "sell" : "buy"
        }
        return result
    }


    /// Connects the subscribers and waits until each has its subscription confirmed.
    private func subscribe(_ fanout: Fanout, key: IssuedKey, host: String, port: Int) async throws -> [Task<Void, Never>] {
        guard subscribers > 0 else { return [] }
        let url = "ws://\(host):\(port)/v2/stream"
        let auth = #"{"action":"auth","key":"\#(key.keyID)","secret":"\#(key.secret)"}"#
        let subscription = #"{"action":"subscribe","trades":["\#(symbol)"]}"#
        var listeners: [Task<Void, Never>] = []
        for _ in 0..<subscribers {
            listeners.append(Task {
                do {
                    try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: Logger(label: "loadgen")) { inbound, outbound, _ in
                        try await outbound.write(.text(auth))
                        try await outbound.write(.text(subscription))
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message else { continue }
                            fanout.received(text, at: wallClockNanos())
                        }
                    }
                } catch {}
                fanout.disconnected()
            })
        }
        let waitUntil = monotonicNanos() + 30_000_000_000
        while fanout.subscribed < subscribers {
            guard monotonicNanos() < waitUntil else { throw ValidationError("only \(fanout.subscribed) of \(subscribers) subscribers were confirmed in 30 seconds") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return listeners
    }
}

/// What the subscribers received: trades counted by their `"T":"t"`, each frame's latency taken from its
/// first trade's time (the sequencer's stamp, from this machine's clock) to its arrival.
final class Fanout: Sendable {
    private struct State {
        var subscribed = 0
        var disconnected = 0
        var messages = 0
        var lastArrival: Int64 = 0
        /// Microseconds of latency, with how many trades arrived with it.
        var latencies: [(Int64, Int)] = []
    }
    private let state = Mutex(State())

    var subscribed: Int { state.withLock { $0.subscribed } }

    func received(_ text: String, at arrival: Int64) {
        var trades = 0
        var firstTime: Int64?
        var copy = text
        copy.withUTF8 { b in
            let pattern: [UInt8] = Array(#""T":"t""#.utf8)
            var i = 0
            while i + pattern.count <= b.count {
                if b[i] == pattern[0] && b[i + 5] == pattern[5] && b[i + 1] == pattern[1] && b[i + 3] == pattern[3] {
                    trades += 1
                    i += pattern.count
                } else {
                    i += 1
                }
            }
            if trades > 0, let range = text.range(of: #""t":""#) {
                let start = range.upperBound
                if let end = text[start...].firstIndex(of: "\"") { firstTime = Server.parseRFC3339(String(text[start..<end])) }
            }
        }
        state.withLock { s in
            if text.contains(#""T":"subscription""#) { s.subscribed += 1 }
            guard trades > 0 else { return }
            s.messages += trades
            s.lastArrival = arrival
            if let firstTime { s.latencies.append(((arrival - firstTime) / 1_000, trades)) }
        }
    }

    func disconnected() { state.withLock { $0.disconnected += 1 } }

    /// Waits for what is in flight, disconnects everyone, and reports as JSON fields.
    func finish(_ listeners: [Task<Void, Never>], sentFrom start: Int64) async -> String {
        try? await Task.sleep(for: .seconds(2))
        let s = state.withLock { $0 }
        for listener in listeners { listener.cancel() }
        for listener in listeners { await listener.value }
        let startWall = wallClockNanos() - (monotonicNanos() - start)
        let seconds = max(0.001, Double(s.lastArrival - startWall) / 1e9)
        let sorted = s.latencies.sorted { $0.0 < $1.0 }
        let total = sorted.reduce(0) { $0 + $1.1 }
        func percentile(_ p: Double) -> Int64 {
            var seen = 0
            for (latency, count) in sorted {
                seen += count
                if Double(seen) >= p * Double(total) { return latency }
            }
            return sorted.last?.0 ?? 0
        }
        return #","subscribers":\#(listeners.count),"messages_delivered":\#(s.messages),"delivery_seconds":\#(String(format: "%.3f", seconds)),"messages_per_sec":\#(Int(Double(s.messages) / seconds)),"disconnected_early":\#(s.disconnected),"tick_to_client_us":{"p50":\#(percentile(0.5)),"p99":\#(percentile(0.99)),"max":\#(sorted.last?.0 ?? 0)}"#
    }
}
