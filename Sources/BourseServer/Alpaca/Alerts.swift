import BourseCore
import BourseVenue

extension Alerts.Alert {
    /// The alert as the API writes it.
    var json: String {
        let value = condition.isChange ? formatFixedPoint(threshold, decimals: 2) : API.decimal(threshold)
        return #"{"id":"\#(id)","symbol":"\#(symbol)","condition":"\#(condition.rawValue)","value":"\#(value)","source":"\#(source.rawValue)","status":"\#(firedAt == nil ? "active" : "fired")","created_at":"\#(API.time(Timestamp(nanos: createdAt)))","fired_at":\#(firedAt.map { "\"" + API.time(Timestamp(nanos: $0)) + "\"" } ?? "null"),"fired_price":\#(firedPrice.map { "\"" + API.decimal($0) + "\"" } ?? "null")}"#
    }
}
