import BourseNode
import ArgumentParser
import BourseJournal
import BourseServer
import BourseVenue
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
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
    @Flag(help: "Send each order as alpaca-py writes it: prices and quantity as JSON numbers (qty 1.0).")
    var sdkBody = false

    func run() async throws {
        guard let parsed = URL(string: url), ["127.0.0.1", "localhost"].contains(parsed.host ?? "") else {
            throw ValidationError("loadgen talks to this machine only: give a 127.0.0.1 or localhost url")
        }
        guard (1...1_024).contains(connections), (1...10_000_000).contains(orders), (1...3_600).contains(seconds),
              (0...10_000).contains(subscribers), rate >= 0, (1...10_000).contains(qty), (display ?? 1) >= 1, (display ?? 1) <= qty else {
            throw ValidationError("connections 1–1,024, orders up to 10,000,000, seconds up to 3,600, subscribers up to 10,000, qty 1–10,000, display 1–qty")
        }
        let keys = DataDirectory.credentials(IssuedKey.self, in: credentials)
        let traders = keys.filter { $0.role == .trader && ($0.account == 1 || $0.account == 2) }
        guard traders.count == 2 else { throw ValidationError("\(credentials) lacks the demo traders of accounts 1 and 2") }

        let fanout = Fanout()
        let listeners = try await subscribe(fanout, key: traders[0], host: parsed.host!, port: parsed.port ?? 80)
        let deadline = monotonicNanos() + Int64(seconds) * 1_000_000_000
        let perClient = (orders + connections - 1) / connections
        // Each client's share of the rate: one order every `interval` nanoseconds.
        let interval: Int64 = rate == 0 ? 0 : Int64(1e9 * Double(connections) / Double(rate))
        let start = monotonicNanos()
        let port = parsed.port ?? 80
        let results = await withTaskGroup(of: ClientResult.self) { group in
            for c in 0..<connections {
                let key = traders[c % 2]
                let count = min(perClient, orders - c * perClient)
                guard count > 0 else { continue }
                let requests = (c % 4 < 2 ? ["buy", "sell"] : ["sell", "buy"]).map { request(key: key, side: $0, host: parsed.host!, port: port) }
                group.addTask {
                    await OrderClient.run(host: parsed.host!, port: port, requests: requests, count: count, deadline: deadline,
                                          interval: interval, offset: interval * Int64(c) / Int64(connections))
                }
            }
            var all: [ClientResult] = []
            for await result in group { all.append(result) }
            return all
        }
        let elapsed = Double(monotonicNanos() - start) / 1e9
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

    /// One order's request, whole: every order of a side is the same bytes.
    private func request(key: IssuedKey, side: String, host: String, port: Int) -> [UInt8] {
        let shown = display.map { #","display_qty":"\#($0)""# } ?? ""
        let body = sdkBody
            ? #"{"symbol":"\#(symbol)","qty":\#(qty).0,"side":"\#(side)","type":"limit","time_in_force":"day","limit_price":\#(price)\#(shown)}"#
            : #"{"symbol":"\#(symbol)","qty":"\#(qty)","side":"\#(side)","type":"limit","time_in_force":"day","limit_price":"\#(price)"\#(shown)}"#
        let head = "POST /v2/orders HTTP/1.1\r\nHost: \(host):\(port)\r\nAPCA-API-KEY-ID: \(key.keyID)\r\n"
            + "APCA-API-SECRET-KEY: \(key.secret)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        return Array((head + body).utf8)
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
                // Only this listener takes the lock, so it is never contended.
                let counts = Fanout.Listener()
                do {
                    try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: Logger(label: "loadgen")) { inbound, outbound, _ in
                        try await outbound.write(.text(auth))
                        try await outbound.write(.text(subscription))
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message else { continue }
                            if counts.counts.withLock({ $0.received(text, at: wallClockNanos()) }) { fanout.confirmed() }
                        }
                    }
                } catch {}
                fanout.stopped(counts.counts.withLock { $0 }, early: !Task.isCancelled)
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
/// first trade's time (the sequencer's stamp, from this machine's clock) to its arrival. Each listener
/// counts on its own and adds its figures in once it stops, so that the measuring clients share no lock
/// per frame and cost the machine as little as they can.
final class Fanout: Sendable {
    struct Counts: Sendable {
        var messages = 0
        var lastArrival: Int64 = 0
        /// Microseconds of latency, with how many trades arrived with it.
        var latencies: [(Int64, Int)] = []

        /// Counts one frame's trades, or returns true for the subscription's confirmation.
        mutating func received(_ text: String, at arrival: Int64) -> Bool {
            var text = text
            let frame = text.withUTF8 { Self.scan($0) }
            guard frame.trades > 0 else { return frame.subscription }
            messages += frame.trades
            lastArrival = arrival
            if let firstTime = frame.firstTime { latencies.append(((arrival - firstTime) / 1_000, frame.trades)) }
            return frame.subscription
        }

        /// Finds each `"T":"` and looks at the type after it; the first trade's `"t":"` gives its time.
        static func scan(_ b: UnsafeBufferPointer<UInt8>) -> (trades: Int, subscription: Bool, firstTime: Int64?) {
            let quote = UInt8(ascii: "\""), colon = UInt8(ascii: ":")
            var trades = 0, subscription = false
            var firstTime: Int64?
            var i = 0
            while i + 6 < b.count {
                // `"T":"` or `"t":"`: a quote, a letter, a quote, a colon, a quote.
                guard b[i] == quote, b[i + 2] == quote, b[i + 3] == colon, b[i + 4] == quote else { i += 1; continue }
                if b[i + 1] == UInt8(ascii: "T") {
                    if b[i + 5] == UInt8(ascii: "t"), b[i + 6] == quote { trades += 1 }
                    // "subscription", not "success"
                    if b[i + 5] == UInt8(ascii: "s"), i + 7 < b.count, b[i + 6] == UInt8(ascii: "u"), b[i + 7] == UInt8(ascii: "b") { subscription = true }
                } else if b[i + 1] == UInt8(ascii: "t"), trades > 0, firstTime == nil {
                    let start = i + 5
                    var end = start
                    while end < b.count, b[end] != quote { end += 1 }
                    firstTime = Server.parseRFC3339(String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
                }
                i += 5
            }
            return (trades, subscription, firstTime)
        }
    }

    final class Listener: Sendable {
        let counts = Mutex(Counts())
    }

    private struct State {
        var disconnected = 0
        var counts = Counts()
    }
    private let state = Mutex(State())
    private let subscriptions = Atomic<Int>(0)

    var subscribed: Int { subscriptions.load(ordering: .relaxed) }

    func confirmed() { subscriptions.add(1, ordering: .relaxed) }

    /// A listener's figures, once it stops.
    func stopped(_ counts: Counts, early: Bool) {
        state.withLock { s in
            if early { s.disconnected += 1 }
            s.counts.messages += counts.messages
            s.counts.lastArrival = max(s.counts.lastArrival, counts.lastArrival)
            s.counts.latencies += counts.latencies
        }
    }

    /// Waits for what is in flight, disconnects everyone, and reports as JSON fields.
    func finish(_ listeners: [Task<Void, Never>], sentFrom start: Int64) async -> String {
        try? await Task.sleep(for: .seconds(2))
        for listener in listeners { listener.cancel() }
        for listener in listeners { await listener.value }
        let s = state.withLock { $0 }
        let startWall = wallClockNanos() - (monotonicNanos() - start)
        let seconds = max(0.001, Double(s.counts.lastArrival - startWall) / 1e9)
        let sorted = s.counts.latencies.sorted { $0.0 < $1.0 }
        let total = sorted.reduce(0) { $0 + $1.1 }
        func percentile(_ p: Double) -> Int64 {
            var seen = 0
            for (latency, count) in sorted {
                seen += count
                if Double(seen) >= p * Double(total) { return latency }
            }
            return sorted.last?.0 ?? 0
        }
        return #","subscribers":\#(listeners.count),"messages_delivered":\#(s.counts.messages),"delivery_seconds":\#(String(format: "%.3f", seconds)),"messages_per_sec":\#(Int(Double(s.counts.messages) / seconds)),"disconnected_early":\#(s.disconnected),"tick_to_client_us":{"p50":\#(percentile(0.5)),"p99":\#(percentile(0.99)),"max":\#(sorted.last?.0 ?? 0)}"#
    }
}
