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
}
