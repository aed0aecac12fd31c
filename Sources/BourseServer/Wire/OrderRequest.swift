import BourseCore
import BourseProjections
import Foundation

/// The body of `POST /v2/orders`, in Alpaca's field names. Prices are decimal strings (JSON numbers would
/// pass through binary floating point); the quantity may be a string or an integer, never fractional.
struct OrderRequest: Decodable, Equatable {
    var symbol: String
    var qty: WholeNumber
    var side: String
    var type: String
    var time_in_force: String
    var limit_price: String?
    var stop_price: String?
    var trail_price: String?
    var trail_percent: String?
    var client_order_id: String?
    var extended_hours: Bool?
    // Bourse's extras.
    var display_qty: WholeNumber?
    var post_only: Bool?
    var stp: String?
    /// For `gtd`: when the order expires, as RFC 3339.
    var expire_at: String?

    struct WholeNumber: Decodable, Equatable {
        var value: Int64
        init(_ value: Int64) { self.value = value }
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let int = try? container.decode(Int64.self) {
                value = int
            } else if let text = try? container.decode(String.self), let int = Self.parse(text) {
                value = int
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be a whole number of shares")
            }
        }

        /// Digits, with a minus sign or not (the order's checks name a quantity below one): no plus sign,
        /// spaces, point, exponent or leading zero, which `Int64(_:)` would let through in part.
        static func parse(_ text: String) -> Int64? {
            let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
            guard (1...18).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }),
                  digits.first != UInt8(ascii: "0") || text == "0" else { return nil }
            return Int64(text)
        }
    }

    /// The engine's order, or the first thing wrong with the request, as a sentence.
    func order(id: OrderID, account: AccountID) -> Result<NewOrder, RequestProblem> {
        guard let symbol = try? Symbol(validating: symbol) else { return .failure(.invalid("symbol \"\(self.symbol)\" is not a valid symbol")) }
        let side: Side
        switch self.side {
        case "buy": side = .buy
        case "sell": side = .sell
        default: return .failure(.invalid("side must be buy or sell, not \"\(self.side)\""))
        }
        let type: OrderType
        switch self.type {
        case "market": type = .market
        case "limit": type = .limit
        case "stop": type = .stop
        case "stop_limit": type = .stopLimit
        case "trailing_stop": type = .trailingStop
        default: return .failure(.invalid("type must be market, limit, stop, stop_limit or trailing_stop, not \"\(self.type)\""))
        }
        let tif: TimeInForce
        switch time_in_force {
        case "day": tif = .day
        case "gtc": tif = .gtc
        case "ioc": tif = .ioc
        case "fok": tif = .fok
        case "gtd": tif = .gtd
        default: return .failure(.invalid("time_in_force must be day, gtc, gtd, ioc or fok, not \"\(time_in_force)\""))
        }
        var expireTime: Timestamp?
        switch (tif, expire_at) {
        case (.gtd, nil): return .failure(.invalid("a gtd order needs expire_at"))
        case (.gtd, let text?):
            guard let nanos = API.parseTime(text) else { return .failure(.invalid("expire_at \"\(text)\" must be \(API.timeDescription)")) }
            expireTime = Timestamp(nanos: nanos)
        case (_, _?): return .failure(.invalid("expire_at is for gtd orders only"))
        default: break
        }
        if extended_hours == true { return .failure(.invalid("extended_hours is not supported")) }
        if let id = client_order_id, let problem = ClientOrderID.problem(id) { return .failure(.invalid(problem)) }
        var order = NewOrder(orderID: id, account: account, symbol: symbol, side: side, type: type, timeInForce: tif,
                             quantity: Quantity(qty.value))
        order.expireTime = expireTime
        for (field, text, target) in [("limit_price", limit_price, \NewOrder.limitPrice), ("stop_price", stop_price, \NewOrder.stopPrice)] {
            guard let text else { continue }
            guard let price = Price(dollars: text) else {
                return .failure(.invalid("\(field) \"\(text)\" must be a decimal string with at most four decimals"))
            }
            order[keyPath: target] = price
        }
        switch (trail_price, trail_percent) {
        case (let amount?, nil):
            guard let price = Price(dollars: amount) else { return .failure(.invalid("trail_price \"\(amount)\" is not a price")) }
            order.trailingOffset = .amount(price)
        case (nil, let percent?):
            guard let scaled = Price(dollars: percent), scaled.units % 100 == 0 else {
                return .failure(.invalid("trail_percent \"\(percent)\" must have at most two decimals"))
            }
            order.trailingOffset = .basisPoints(scaled.units / 100)
        case (nil, nil): break
        case (_?, _?): return .failure(.invalid("give trail_price or trail_percent, not both"))
        }
        if let display = display_qty { order.displayQuantity = Quantity(display.value) }
        order.postOnly = post_only ?? false
        switch stp {
        case nil, "none"?: break
        case "cancel_newest"?: order.selfTradePrevention = .cancelNewest
        case "cancel_oldest"?: order.selfTradePrevention = .cancelOldest
        case "cancel_both"?: order.selfTradePrevention = .cancelBoth
        case "decrement"?: order.selfTradePrevention = .decrement
        case let other?: return .failure(.invalid("stp must be none, cancel_newest, cancel_oldest, cancel_both or decrement, not \"\(other)\""))
        }
        return .success(order)
    }
}

/// The body of `PATCH /v2/orders/{id}`: a new total quantity and new prices, each optional.
struct ReplaceRequest: Decodable {
    var qty: OrderRequest.WholeNumber?
    var limit_price: String?
    var stop_price: String?
    var time_in_force: String?
    var client_order_id: String?

    func replace(_ open: OpenOrder, newID: OrderID) -> Result<ReplaceOrder, RequestProblem> {
        if time_in_force != nil { return .failure(.invalid("time_in_force cannot be replaced")) }
        if let id = client_order_id, let problem = ClientOrderID.problem(id) { return .failure(.invalid(problem)) }
        var replace = ReplaceOrder(orderID: open.orderID, newOrderID: newID, account: open.account,
                                   quantity: qty.map { Quantity($0.value) } ?? open.quantity)
        for (field, text, target) in [("limit_price", limit_price, \ReplaceOrder.limitPrice), ("stop_price", stop_price, \ReplaceOrder.stopPrice)] {
            guard let text else { continue }
            guard let price = Price(dollars: text) else {
                return .failure(.invalid("\(field) \"\(text)\" must be a decimal string with at most four decimals"))
            }
            replace[keyPath: target] = price
        }
        return .success(replace)
    }
}

enum RequestProblem: Error {
    case invalid(String)
}
