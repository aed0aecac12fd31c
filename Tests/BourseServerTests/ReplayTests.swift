@testable import BourseServer
@testable import BourseVenue
import BourseCore
import BourseJournal
import BourseMarketData
import BourseTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import Testing

@Suite("market history and replay")
struct ReplayTests {
    typealias Running = ServerTests.Running

    @Test("trades and quotes are recorded as sent, served in Alpaca's historical shape, and a stored day replays through /v2/stream in order")
    func storedDay() async throws {
        let directory = makeTemporaryDirectory("bourse-replay")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The venue's clock stands at a fixed instant, so the stored day is known whatever the hour of the run.
        let instant = API.parseTime("2026-11-20T15:00:00Z")!
        let server = try await Running(directory: directory, clock: { instant })
        let buyer = server.key(account: 1), seller = server.key(account: 3)
        // Each order once the market data has published the one before: quotes are the top of the book after
        // each batch the market data applies, and orders that come faster than it would share one.
        for (i, price) in ["190.00", "190.25", "189.75"].enumerated() {
            _ = try await server.order(seller, #""symbol":"AAPL","qty":"\#(i + 1)","side":"sell","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            _ = try await server.send("GET", "/v1/book/AAPL", as: buyer)
            _ = try await server.order(buyer, #""symbol":"AAPL","qty":"\#(i + 1)","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            _ = try await server.send("GET", "/v1/book/AAPL", as: buyer)
        }
        _ = try await server.order(buyer, #""symbol":"AAPL","qty":"5","side":"buy","type":"limit","time_in_force":"day","limit_price":"180.00""#)
        // The last order has reached the market data once the book shows it; then the history has it queued.
        _ = try await server.send("GET", "/v1/book/AAPL", as: buyer)
        let history = try #require(server.opened.node.market.history)
        history.settle()
        let (status, body) = try await server.send("GET", "/v2/stocks/AAPL/trades", as: buyer)
        let trades = (body as? [String: Any])?["trades"] as? [[String: Any]] ?? []
        #expect(status == 200 && trades.map { $0["p"] as? Double } == [190, 190.25, 189.75] && trades.map { $0["s"] as? Int } == [1, 2, 3])
        let (_, quoteBody) = try await server.send("GET", "/v2/stocks/AAPL/quotes", as: buyer)
        let quotes = (quoteBody as? [String: Any])?["quotes"] as? [[String: Any]] ?? []
        // Each resting sell, each emptied book, and the last bid.
        #expect(quotes.count == 7 && quotes.last?["bp"] as? Double == 180 && quotes.last?["bs"] as? Int == 5)
        // In Alpaca's shape: no stream fields, times in order.
        #expect(quotes.allSatisfy { $0["sq"] == nil && $0["T"] == nil } && quotes.map { $0["t"] as? String ?? "" } == quotes.map { $0["t"] as? String ?? "" }.sorted())
        await server.stop()

        let today = ExchangeCalendar.newYorkDate(Timestamp(nanos: instant))
        let events = try MarketReplay.day(history: DataDirectory(path: directory).marketHistoryFile, date: today)
        #expect(events.filter { if case .trade = $0 { true } else { false } }.count == 3 && events.count == 10)
        #expect(throws: MarketReplay.Failure.self) {
            _ = try MarketReplay.day(history: DataDirectory(path: directory).marketHistoryFile, date: today.adding(days: -1))
        }

        let replay = MarketReplay(events: events, speed: nil)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = replay.application(host: "127.0.0.1", port: 0) { continuation.yield($0) }
        let serving = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let received = Shared([String]())
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/v2/stream", logger: Logger(label: "test")) { inbound, outbound, _ in
            var frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
            try await outbound.write(.text(#"{"action":"auth","key":"any","secret":"thing"}"#))
            try await outbound.write(.text(#"{"action":"subscribe","trades":["*"],"quotes":["AAPL"]}"#))
            while let frame = try await frames.next() {
                guard case .text(let text) = frame else { continue }
                received.withLock { $0.append(text) }
                if text.contains(#""T":"subscription""#) { Task { await replay.run() } }
                if text.contains("replay finished") { break }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        serving.cancel()
        let objects = received.withLock { $0 }.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [[String: Any]] ?? [] }
        let replayedTrades = objects.filter { $0["T"] as? String == "t" }
        #expect(replayedTrades.map { $0["p"] as? Double } == [190, 190.25, 189.75])
        #expect(replayedTrades.map { $0["sq"] as? Int } == [1, 2, 3])
        // Quotes too arrive every one, in order: a replay does not conflate them.
        #expect(objects.filter { $0["T"] as? String == "q" }.map { $0["sq"] as? Int } == Array(1...7).map { Optional($0) })
    }

    @Test("an ITCH file replays as its executions and trade messages and every change of a stock's top of book")
    func itchFile() throws {
        let stock = ITCH.Stock("ZZZ")!
        func h(_ t: UInt64) -> ITCH.Header { ITCH.Header(locate: 1, tracking: 0, timestamp: t) }
        var file: [UInt8] = []
        ITCH.append(.stockDirectory(h(1), ITCH.StockDirectory(stock: stock)), to: &file)
        ITCH.append(.addOrder(h(10), ITCH.AddOrder(reference: 1, side: .sell, shares: 100, stock: stock, price: 100_000)), to: &file)
        ITCH.append(.addOrder(h(20), ITCH.AddOrder(reference: 2, side: .buy, shares: 50, stock: stock, price: 99_900)), to: &file)
        ITCH.append(.orderExecuted(h(30), reference: 1, shares: 30, match: 7), to: &file)
        ITCH.append(.orderExecutedWithPrice(h(40), reference: 2, shares: 10, match: 8, printable: false, price: 99_950), to: &file)
        ITCH.append(.trade(h(50), ITCH.Trade(reference: 0, side: .buy, shares: 5, stock: stock, price: 99_990, match: 9)), to: &file)
        let date = CivilDate("2026-11-20")!
        let midnight = ExchangeCalendar.instant(date, minute: 0).nanos
        let events = try MarketReplay.itch(file, date: date)
        #expect(events == [
            .quote(symbol: "ZZZ", time: midnight + 10, bidPrice: 0, bidSize: 0, askPrice: 100_000, askSize: 100),
            .quote(symbol: "ZZZ", time: midnight + 20, bidPrice: 99_900, bidSize: 50, askPrice: 100_000, askSize: 100),
            .trade(symbol: "ZZZ", time: midnight + 30, id: 7, price: 100_000, size: 30),
            .quote(symbol: "ZZZ", time: midnight + 30, bidPrice: 99_900, bidSize: 50, askPrice: 100_000, askSize: 70),
            // Not printable: the book changes, the tape does not.
            .quote(symbol: "ZZZ", time: midnight + 40, bidPrice: 99_900, bidSize: 40, askPrice: 100_000, askSize: 70),
            .trade(symbol: "ZZZ", time: midnight + 50, id: 9, price: 99_990, size: 5),
        ])
        // Paced by recorded time over the speed.
        #expect(MarketReplay.due(midnight + 2_000_000_000, first: midnight, speed: 4) == .milliseconds(500))
        #expect(MarketReplay.due(midnight + 2_000_000_000, first: midnight, speed: 1) == .seconds(2))
    }
}
