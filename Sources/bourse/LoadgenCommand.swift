import ArgumentParser
import AsyncHTTPClient
import BourseJournal
import BourseServer
import Foundation
import NIOCore
import NIOHTTP1

/// Drives a running server over HTTP keep-alive: many concurrent clients each send orders one after
/// another. Buys and sells alternate at one price from two trader accounts, so most orders fill and
/// the book stays small. Bounded in count and time, and only against this machine.
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

    func run() async throws {
        guard let parsed = URL(string: url), ["127.0.0.1", "localhost"].contains(parsed.host ?? "") else {
            throw ValidationError("loadgen talks to this machine only: give a 127.0.0.1 or localhost url")
        }
        guard (1...1_024).contains(connections), (1...10_000_000).contains(orders), (1...3_600).contains(seconds) else {
            throw ValidationError("connections 1–1,024, orders up to 10,000,000, seconds up to 3,600")
        }
        let keys = try JSONDecoder().decode([IssuedKey].self, from: Data(contentsOf: URL(fileURLWithPath: credentials)))
        let traders = keys.filter { $0.role == .trader && ($0.account == 1 || $0.account == 2) }
        guard traders.count == 2 else { throw ValidationError("\(credentials) lacks the demo traders of accounts 1 and 2") }

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let deadline = monotonicNanos() + Int64(seconds) * 1_000_000_000
        let perClient = (orders + connections - 1) / connections
        let start = monotonicNanos()
        let results = await withTaskGroup(of: ClientResult.self) { group in
            for c in 0..<connections {
                let key = traders[c % 2]
                let count = min(perClient, orders - c * perClient)
                guard count > 0 else { continue }
                group.addTask {
                    await drive(client, key: key, count: count, firstSide: c % 4 < 2 ? "buy" : "sell", deadline: deadline)
                }
            }
            var all: [ClientResult] = []
            for await result in group { all.append(result) }
            return all
        }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        try await client.shutdown()
        var latencies = results.flatMap(\.latencies)
        latencies.sort()
        let statuses = results.reduce(into: [Int: Int]()) { total, r in total.merge(r.statuses, uniquingKeysWith: +) }
        let failures = results.reduce(0) { $0 + $1.failures }
        func percentile(_ p: Double) -> Int64 { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let statusJSON = statuses.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        print(#"{"mode":"loadgen","connections":\#(connections),"orders":\#(latencies.count),"seconds":\#(String(format: "%.3f", elapsed)),"orders_per_sec":\#(Int(Double(latencies.count) / elapsed)),"statuses":{\#(statusJSON)},"transport_failures":\#(failures),"ack_latency_us":{"p50":\#(percentile(0.5) / 1_000),"p99":\#(percentile(0.99) / 1_000),"p999":\#(percentile(0.999) / 1_000),"max":\#((latencies.last ?? 0) / 1_000)}}"#)
    }

    struct ClientResult: Sendable {
        var latencies: [Int64] = []
        var statuses: [Int: Int] = [:]
        var failures = 0
    }

    /// One client: its orders one at a time, each timed from send to the whole response.
    private func drive(_ client: HTTPClient, key: IssuedKey, count: Int, firstSide: String, deadline: Int64) async -> ClientResult {
        var result = ClientResult()
        result.latencies.reserveCapacity(count)
        var side = firstSide
        for _ in 0..<count {
            guard monotonicNanos() < deadline else { break }
            var request = HTTPClientRequest(url: url + "/v2/orders")
            request.method = .POST
            request.headers.add(name: "APCA-API-KEY-ID", value: key.keyID)
            request.headers.add(name: "APCA-API-SECRET-KEY", value: key.secret)
            request.headers.add(name: "Content-Type", value: "application/json")
            let body = #"{"symbol":"\#(symbol)","qty":"1","side":"\#(side)","type":"limit","time_in_force":"day","limit_price":"\#(price)"}"#
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
}
