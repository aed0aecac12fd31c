import BourseCore
@testable import BourseServer
@testable import BourseVenue
import Foundation
import Testing

@Suite("order JSON")
struct OrderJSONTests {
    @Test("the hand-written order JSON says what Foundation's encoder says, escapes included")
    func sameAsEncoder() throws {
        let order = NewOrder(orderID: OrderID(42), account: AccountID(1), symbol: try Symbol(validating: "BRK.B"), side: .sell,
                             type: .stopLimit, timeInForce: .gtc, quantity: Quantity(7), limitPrice: Price(dollars: "470.5"),
                             stopPrice: Price(dollars: "471"))
        var api = API.order(order, events: [], at: Timestamp(nanos: 1_795_333_992_323_837_639))
        api.client_order_id = "quote\" back\\slash\nline\u{1}"
        let hand = try JSONSerialization.jsonObject(with: Data(api.json.utf8)) as? [String: Any] ?? [:]
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(api)) as? [String: Any] ?? [:]
        // Foundation leaves absent fields out; the API writes them as null, as Alpaca does.
        #expect(hand["filled_at"] is NSNull && hand["filled_avg_price"] is NSNull)
        #expect(NSDictionary(dictionary: hand.filter { !($0.value is NSNull) }) == NSDictionary(dictionary: encoded))
    }

    /// What the router reads from a body: nil where it answers with an error.
    static func decoded(_ body: [UInt8]) -> OrderRequest? {
        guard let value = try? JSONValue.parse(body) else { return nil }
        return try? BodyDecoder.decode(OrderRequest.self, from: value)
    }

    /// Random bodies, plain and not: whenever the plain reader takes one, `BodyDecoder` reads the same
    /// request from it; the reader gives up on everything else, so `BodyDecoder` answers those.
    @Test("the plain order reader reads what the router's decoder reads, or leaves the body to it")
    func plainReaderAgreesWithDecoder() {
        var random = SplitMix64(seed: 612)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        let keys = ["symbol", "qty", "side", "type", "time_in_force", "limit_price", "stop_price", "trail_price",
                    "trail_percent", "client_order_id", "extended_hours", "display_qty", "post_only", "stp", "expire_at", "other"]
        let values = [#""AAPL""#, #""buy""#, #""limit""#, #""day""#, #""190.00""#, #""10""#, #"" 10""#, #""-3""#, #""""#,
                      #""a\"b""#, #""\u0041""#, #""é""#, "10", "0", "-0", "-7", "007", "1.5", "1e3", "99999999999999999999",
                      "true", "false", "null", "[]", "{}", #"{"a":1}"#, "tru", #""open"#]
        let spaces = ["", " ", "\n", "\t", "\r\n"]
        var taken = 0, decoded = 0
        for _ in 0..<20_000 {
            // Mostly complete orders with a few members changed, added or repeated.
            var members: [(String, String)] = [("symbol", #""AAPL""#), ("qty", #""5""#), ("side", #""buy""#),
                                               ("type", #""limit""#), ("time_in_force", #""day""#)]
            for _ in 0..<Int(random.next() % 4) {
                let member = (pick(keys), pick(values))
                if random.next() % 3 == 0, !members.isEmpty { members[Int(random.next() % UInt64(members.count))] = member } else { members.append(member) }
            }
            if random.next() % 8 == 0, !members.isEmpty { members.remove(at: Int(random.next() % UInt64(members.count))) }
            var body = pick(spaces) + "{" + members.map { pick(spaces) + "\"\($0.0)\"" + pick(spaces) + ":" + pick(spaces) + $0.1 }.joined(separator: ",") + pick(spaces) + "}"
            switch random.next() % 20 {
            case 0: body.removeLast()
            case 1: body += "x"
            case 2: body = "[" + body + "]"
            default: body += pick(spaces)
            }
            let reference = Self.decoded(Array(body.utf8))
            let plain = Array(body.utf8).withUnsafeBytes { OrderRequest.plain($0) }
            if reference != nil { decoded += 1 }
            if let plain {
                taken += 1
                #expect(plain == reference, "\(body)")
            }
        }
        // Neither side is vacuous: the reader takes most bodies JSONDecoder reads, and not all of them.
        #expect(taken > decoded / 2 && taken < decoded, "took \(taken) of \(decoded) decodable bodies")
    }

    @Test("the load generator's order body is read by the plain reader")
    func loadgenBodyIsPlain() {
        let body = #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.00"}"#
        let plain = Array(body.utf8).withUnsafeBytes { OrderRequest.plain($0) }
        #expect(plain != nil && plain == Self.decoded(Array(body.utf8)))
    }
}
