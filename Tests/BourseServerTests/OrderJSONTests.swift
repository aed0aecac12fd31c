import BourseCore
@testable import BourseServer
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

    @Test("times are written as RFC 3339 with nanoseconds and read back to the same instant, before 1970 too")
    func times() {
        #expect(API.time(Timestamp(nanos: 0)) == "1970-01-01T00:00:00.000000000Z")
        #expect(API.time(Timestamp(nanos: 1_795_333_992_323_837_639)) == "2026-11-22T07:53:12.323837639Z")
        #expect(API.time(Timestamp(nanos: -1)) == "1969-12-31T23:59:59.999999999Z")
        #expect(API.time(Timestamp(nanos: .max)) == "2262-04-11T23:47:16.854775807Z")
        #expect(API.time(Timestamp(nanos: .min)) == "1677-09-21T00:12:43.145224192Z")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let nanos = Int64.random(in: -4_000_000_000_000_000_000...4_000_000_000_000_000_000, using: &generator)
            let text = API.time(Timestamp(nanos: nanos))
            #expect(text.utf8.count == 30 && API.parseTime(text) == nanos, "\(nanos): \(text)")
        }
    }
}
