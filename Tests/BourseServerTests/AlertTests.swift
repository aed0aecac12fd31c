@testable import BourseServer
@testable import BourseVenue
import BourseCore
import BourseTestSupport
import Foundation
import Testing

@Suite("price alerts")
struct AlertTests {
    @Test("random alerts and ticks: what fires equals a walk over every alert, each alert fires once, and a reopened store keeps fired ones fired")
    func againstBruteForce() throws {
        let directory = makeTemporaryDirectory("bourse-alerts")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pushed = Shared([UInt64]())
        let alerts = try Alerts(path: directory + "/alerts.sqlite")
        alerts.onFire { alert in pushed.withLock { $0.append(alert.id) } }
        let symbols = [try Symbol(validating: "AAA"), try Symbol(validating: "BBB")]
        var rng = SplitMix64(seed: 0xA1E7)
        var active: [UInt64: Alerts.Alert] = [:]
        var fired = Set<UInt64>()
        for step in 0..<3_000 {
            let symbol = symbols[Int(rng.next() % 2)]
            switch rng.next() % 10 {
            case 0..<5:
                let condition = Alerts.Condition.allCases[Int(rng.next() % 4)]
                let source = Alerts.Source.allCases[Int(rng.next() % 2)]
                let threshold = condition.isChange ? Int64(rng.next() % 1_000) - 500 : 900_000 + Int64(rng.next() % 2_000) * 100
                let alert = try alerts.create(account: UInt32(1 + rng.next() % 3), symbol: symbol, condition: condition, source: source,
                                              threshold: threshold, now: Int64(step))
                active[alert.id] = alert
            case 5:
                if let id = active.keys.sorted().first(where: { _ in rng.next() % 3 == 0 }) {
                    #expect(try alerts.delete(id, account: active[id]!.account))
                    active[id] = nil
                }
            default:
                let source = Alerts.Source.allCases[Int(rng.next() % 2)]
                let price = 900_000 + Int64(rng.next() % 2_000) * 100
                let previousClose: Int64 = rng.next() % 5 == 0 ? 0 : 1_000_000
                let (upward, downward) = source == .trade ? (true, true) : (rng.next() % 2 == 0 ? (true, false) : (false, true))
                let change = previousClose > 0 ? (price - previousClose) * 10_000 / previousClose : nil
                let expected = Set(active.values.filter { a in
                    guard a.symbol == symbol, a.source == source, a.condition.isAbove ? upward : downward else { return false }
                    guard let value = a.condition.isChange ? change : price else { return false }
                    return a.condition.isAbove ? value >= a.threshold : value <= a.threshold
                }.map(\.id))
                let before = Set(alerts.list(account: 1).filter { $0.firedAt != nil }.map(\.id))
                    .union(alerts.list(account: 2).filter { $0.firedAt != nil }.map(\.id))
                    .union(alerts.list(account: 3).filter { $0.firedAt != nil }.map(\.id))
                alerts.evaluate(symbol, source: source, price: price, previousClose: previousClose, at: Int64(step),
                                upward: upward, downward: downward)
                let after = Set((1...3).flatMap { alerts.list(account: UInt32($0)) }.filter { $0.firedAt != nil }.map(\.id))
                #expect(after.subtracting(before) == expected, "step \(step)")
                for id in expected { active[id] = nil }
                #expect(fired.isDisjoint(with: expected))
                fired.formUnion(expected)
            }
        }
        alerts.settle()
        #expect(pushed.withLock { $0 }.count == fired.count && Set(pushed.withLock { $0 }) == fired)
        #expect(alerts.activeCount == active.count)

        // Reopened: the fired stay fired and the active are indexed again.
        let reopened = try Alerts(path: directory + "/alerts.sqlite")
        #expect(reopened.activeCount == active.count)
        let firedAgain = Set((1...3).flatMap { reopened.list(account: UInt32($0)) }.filter { $0.firedAt != nil }.map(\.id))
        #expect(firedAgain == fired)
    }
}

@Suite("price alerts over the API")
struct AlertAPITests {
    typealias Running = ServerTests.Running

    @Test("an alert is created, refused when malformed, fired by a trade once, pushed on /stream, kept across a restart, and deleted")
    func lifecycle() async throws {
        let directory = makeTemporaryDirectory("bourse-alerts")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory)
        let watcher = server.key(account: 1), buyer = server.key(account: 2), seller = server.key(account: 3)

        for (body, message) in [
            (#"{"symbol":"NOPE","condition":"price_above","value":"1"}"#, "symbol NOPE is not listed"),
            (#"{"symbol":"AAPL","condition":"price_over","value":"1"}"#, #"condition must be one of price_above, price_below, change_pct_above, change_pct_below, not "price_over""#),
            (#"{"symbol":"AAPL","condition":"price_above","value":"-1"}"#, #"value "-1" must be a positive price with at most four decimals"#),
            (#"{"symbol":"AAPL","condition":"change_pct_above","value":"1.234"}"#, #"value "1.234" must be a percentage with at most two decimals, up to 10000"#),
            (#"{"symbol":"AAPL","condition":"price_above","value":"1","source":"tape"}"#, #"source must be trade or nbbo, not "tape""#),
        ] {
            let (status, answer) = try await server.send("POST", "/v1/alerts", as: watcher, body: body)
            #expect(status == 422 && (answer as? [String: Any])?["message"] as? String == message, "\(body)")
        }
        let (created, above) = try await server.send("POST", "/v1/alerts", as: watcher, body: #"{"symbol":"AAPL","condition":"price_above","value":"191.00"}"#)
        #expect(created == 200 && (above as? [String: Any])?["status"] as? String == "active")
        let aboveID = (above as? [String: Any])?["id"] as? String ?? ""
        let (_, below) = try await server.send("POST", "/v1/alerts", as: watcher, body: #"{"symbol":"AAPL","condition":"price_below","value":"150","source":"trade"}"#)
        let belowID = (below as? [String: Any])?["id"] as? String ?? ""
        let (_, others) = try await server.send("GET", "/v1/alerts", as: buyer)
        #expect((others as? [Any])?.isEmpty == true)

        // Listening to alerts only; a trade at 190.00 fires nothing, one at 191.00 fires the alert.
        let received = Received()
        let authenticate = #"{"action":"authenticate","data":{"key_id":"\#(watcher.keyID)","secret_key":"\#(watcher.secret)"}}"#
        try await server.webSocket("/stream", received, first: authenticate) { text, outbound in
            if text.contains(#""status":"authorized""#) {
                try await outbound.write(.text(#"{"action":"listen","data":{"streams":["alerts"]}}"#))
            } else if text.contains(#""stream":"listening""#) {
                for price in ["190.00", "191.00", "191.50"] {
                    _ = try await server.order(seller, #""symbol":"AAPL","qty":"1","side":"sell","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
                    _ = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
                }
            }
            return text.contains(#""stream":"alerts""#)
        }
        #expect(received.all.contains(#"{"stream":"listening","data":{"streams":["alerts"]}}"#))
        let push = try #require(received.all.last)
        #expect(push.contains(#""id":"\#(aboveID)""#) && push.contains(#""status":"fired""#) && push.contains(#""fired_price":"191.00""#))
        // The third trade, above the level too, did not fire it again.
        try await Task.sleep(for: .milliseconds(100))
        #expect(received.all.filter { $0.contains(#""stream":"alerts""#) }.count == 1)
        let (_, fired) = try await server.send("GET", "/v1/alerts?status=fired", as: watcher)
        #expect((fired as? [[String: Any]])?.map { $0["id"] as? String } == [aboveID])
        await server.stop()

        let restarted = try await Running(directory: directory)
        let (_, all) = try await restarted.send("GET", "/v1/alerts", as: watcher)
        #expect((all as? [[String: Any]])?.map { "\($0["id"] ?? "") \($0["status"] ?? "")" } == ["\(belowID) active", "\(aboveID) fired"])
        let (deleted, _) = try await restarted.send("DELETE", "/v1/alerts/\(belowID)", as: watcher)
        #expect(deleted == 204)
        let (gone, _) = try await restarted.send("GET", "/v1/alerts/\(belowID)", as: watcher)
        let (notTheirs, _) = try await restarted.send("DELETE", "/v1/alerts/\(aboveID)", as: buyer)
        #expect(gone == 404 && notTheirs == 404)
        await restarted.stop()
    }
}
