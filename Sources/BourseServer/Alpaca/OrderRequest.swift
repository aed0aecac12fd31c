import BourseCore
import BourseProjections
import Foundation

/// The body of `POST /v2/orders`, in Alpaca's field names. Prices and quantities may be JSON strings or
/// numbers, read exactly from their text (`BodyDecoder`); the quantity is whole. Fields Alpaca defines
/// that Bourse does not support are read so that they can be refused by name.
struct OrderRequest: Decodable, Equatable {
    var symbol: String
    var qty: WholeNumber?
    var notional: String?
    var side: String
    var type: String
    var time_in_force: String
    var limit_price: String?
    var stop_price: String?
    var trail_price: String?
    var trail_percent: String?
    var client_order_id: String?
    var extended_hours: Bool?
    var order_class: String?
    var take_profit: TakeProfit?
    var stop_loss: StopLoss?
    /// Options only.
    var legs: JSONValue?
    var position_intent: String?
    // Bourse's extras.
    var display_qty: WholeNumber?
    var post_only: Bool?
    var stp: String?
    /// For `gtd`: when the order expires, as RFC 3339.
    var expire_at: String?

    /// A whole number of shares, given as a string or a number (`100`, `"100"`, and `100.0` as Python
    /// writes a float); a fraction is refused by name, since Bourse trades whole shares.
    struct WholeNumber: Decodable, Equatable {
        var value: Int64
        init(_ value: Int64) { self.value = value }
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let int = Self.parse(text) {
                value = int
            } else if Self.isFractional(text) {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is fractional: Bourse trades whole shares")
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be a whole number of shares, not \(text)")
            }
        }

        /// Digits, with a minus sign or not (the order's checks name a quantity below one), and a fraction
        /// of zeros or none: no plus sign, spaces, exponent or leading zero, which `Int64(_:)` would let
        /// through in part.
        static func parse(_ text: String) -> Int64? {
            let whole = text.utf8.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
            if whole.count == 2 {
                guard !whole[1].isEmpty, whole[1].allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
            }
            let integer = whole[0]
            let digits = integer.first == UInt8(ascii: "-") ? integer.dropFirst() : integer
            guard (1...18).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }),
                  digits.first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
            return Int64(String(decoding: integer, as: UTF8.self))
        }

        /// A decimal with a fraction that is not all zeros: `0.5`, `"1.25"`.
        static func isFractional(_ text: String) -> Bool {
            let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            let isDigits = { (part: Substring.UTF8View.SubSequence) in !part.isEmpty && part.allSatisfy { (0x30...0x39).contains($0) } }
            return parts.count == 2 && isDigits(parts[0].first == UInt8(ascii: "-") ? parts[0].dropFirst() : parts[0]) && isDigits(parts[1])
        }
    }

    struct TakeProfit: Decodable, Equatable {
        var limit_price: String
    }

    struct StopLoss: Decodable, Equatable {
        var stop_price: String
        var limit_price: String?
    }

    /// What a request asks the venue for: one order, or a list of them.
    enum Submission {
        case order(NewOrder)
        case list(OrderList)

        var command: Command {
            switch self {
            case .order(let o): .newOrder(o)
            case .list(let l): .newOrderList(l)
            }
        }

        /// The order the answer describes: the order itself, or the list's entry (an oco's take-profit).
        var order: NewOrder {
            switch self {
            case .order(let o): o
            case .list(let l): l.entryOrder ?? l.takeProfitOrder(quantity: l.quantity)!
            }
        }
    }

    /// The engine's command, or the first thing wrong with the request, as a sentence. Ids come from `newID`:
    /// one for a simple order, one for each order of a list.
    func submission(account: AccountID, newID: () -> OrderID) -> Result<Submission, RequestProblem> {
        let orderClass: OrderClass
        switch order_class {
        case nil, "simple"?, ""?:
            if take_profit != nil { return .failure(.invalid("take_profit is for bracket, oco and oto orders: give order_class")) }
            if stop_loss != nil { return .failure(.invalid("stop_loss is for bracket, oco and oto orders: give order_class")) }
            return order(id: newID(), account: account).map(Submission.order)
        case "bracket"?: orderClass = .bracket
        case "oto"?: orderClass = .oto
        case "oco"?: orderClass = .oco
        case let other?: return .failure(.invalid("order_class must be simple, bracket, oco or oto, not \"\(other)\""))
        }
        let name = orderClass.name
        for (field, given) in [("trail_price", trail_price != nil), ("trail_percent", trail_percent != nil),
                               ("display_qty", display_qty != nil), ("post_only", post_only == true),
                               ("stp", stp != nil && stp != "none"), ("expire_at", expire_at != nil)] where given {
            return .failure(.invalid("\(field) is not supported for \(name) orders"))
        }
        var first = self
        (first.order_class, first.take_profit, first.stop_loss) = (nil, nil, nil)
        if orderClass == .oco {
            guard type == "limit" else { return .failure(.invalid("an oco order's type must be limit: its first order is the take-profit")) }
            guard let takeProfit = take_profit else { return .failure(.invalid("an oco order needs take_profit.limit_price")) }
            if let given = limit_price, Price(dollars: given) != Price(dollars: takeProfit.limit_price) {
                return .failure(.invalid("limit_price \(given) differs from take_profit.limit_price \(takeProfit.limit_price): give one, or both the same"))
            }
            first.limit_price = takeProfit.limit_price
        }
        let base: NewOrder
        switch first.order(id: newID(), account: account) {
        case .success(let o): base = o
        case .failure(let problem): return .failure(problem)
        }
        var profit: OrderList.TakeProfit?
        var loss: OrderList.StopLoss?
        do {
            if let tp = take_profit {
                let limit = try Self.price("take_profit.limit_price", tp.limit_price)
                profit = OrderList.TakeProfit(orderID: orderClass == .oco ? base.orderID : newID(), limitPrice: limit)
            }
            if let sl = stop_loss {
                loss = OrderList.StopLoss(orderID: newID(), stopPrice: try Self.price("stop_loss.stop_price", sl.stop_price),
                                          limitPrice: try sl.limit_price.map { text throws(RequestProblem) in
                                              try Self.price("stop_loss.limit_price", text)
                                          })
            }
        } catch {
            return .failure(error)
        }
        switch orderClass {
        case .bracket where profit == nil || loss == nil:
            return .failure(.invalid("a bracket order needs take_profit.limit_price and stop_loss.stop_price"))
        case .oco where loss == nil:
            return .failure(.invalid("an oco order needs stop_loss.stop_price"))
        case .oto where (profit == nil) == (loss == nil):
            return .failure(.invalid("an oto order needs one of take_profit or stop_loss"))
        default: break
        }
        let entry = orderClass == .oco ? nil : OrderList.Entry(orderID: base.orderID, type: base.type, limitPrice: base.limitPrice,
                                                               stopPrice: base.stopPrice)
        return .success(.list(OrderList(orderClass: orderClass, account: account, symbol: base.symbol, side: base.side,
                                        timeInForce: base.timeInForce, quantity: base.quantity, entry: entry,
                                        takeProfit: profit, stopLoss: loss)))
    }

    /// A price field's exact value, or the problem that names the field.
    static func price(_ field: String, _ text: String) throws(RequestProblem) -> Price {
        guard let price = Price(dollars: text) else {
            throw .invalid("\(field) \"\(text)\" must be a decimal string with at most four decimals")
        }
        return price
    }

    /// The engine's order, or the first thing wrong with the request, as a sentence.
    func order(id: OrderID, account: AccountID) -> Result<NewOrder, RequestProblem> {
        if let problem = unsupported { return .failure(.invalid(problem)) }
        guard let qty else { return .failure(.invalid("qty is required")) }
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
        case "opg", "cls": return .failure(.invalid("time_in_force \(time_in_force) is not supported: Bourse runs no opening or closing auction"))
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
        if let id = client_order_id, let problem = ClientOrderID.problem(id) { return .failure(.invalid(problem)) }
        var order = NewOrder(orderID: id, account: account, symbol: symbol, side: side, type: type, timeInForce: tif,
                             quantity: Quantity(qty.value))
        order.expireTime = expireTime
        for (field, text, target) in [("limit_price", limit_price, \NewOrder.limitPrice), ("stop_price", stop_price, \NewOrder.stopPrice)] {
            guard let text else { continue }
            do { order[keyPath: target] = try Self.price(field, text) } catch { return .failure(error) }
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

extension OrderRequest {
    /// The first field Alpaca defines that Bourse does not support, refused by name rather than ignored.
    var unsupported: String? {
        if notional != nil { return "notional is not supported: Bourse trades whole shares; give qty" }
        if extended_hours == true { return "extended_hours is not supported: Bourse trades in its regular session only" }
        if legs != nil { return "legs is not supported: legs are for options, which Bourse does not list" }
        if position_intent != nil { return "position_intent is not supported: it is for options, which Bourse does not list" }
        return nil
    }
}

/// The body of `PATCH /v2/orders/{id}`: a new total quantity and new prices, each optional.
struct ReplaceRequest: Decodable {
    var qty: OrderRequest.WholeNumber?
    var limit_price: String?
    var stop_price: String?
    var time_in_force: String?
    var client_order_id: String?
    /// A trailing stop's new offset.
    var trail: String?

    /// The engine's replace, or the first thing wrong with the request. One that changes nothing keeps the
    /// order's id, so the engine refuses it as changing nothing rather than renaming the order.
    func replace(_ open: OpenOrder, newID: OrderID) -> Result<ReplaceOrder, RequestProblem> {
        if time_in_force != nil { return .failure(.invalid("time_in_force cannot be replaced")) }
        if trail != nil { return .failure(.invalid("trail cannot be replaced: cancel the trailing stop and place a new one")) }
        if let id = client_order_id, let problem = ClientOrderID.problem(id) { return .failure(.invalid(problem)) }
        var replace = ReplaceOrder(orderID: open.orderID, newOrderID: newID, account: open.account,
                                   quantity: qty.map { Quantity($0.value) } ?? open.quantity)
        for (field, text, target) in [("limit_price", limit_price, \ReplaceOrder.limitPrice), ("stop_price", stop_price, \ReplaceOrder.stopPrice)] {
            guard let text else { continue }
            do { replace[keyPath: target] = try OrderRequest.price(field, text) } catch { return .failure(error) }
        }
        if client_order_id == nil, replace.quantity == open.quantity, (replace.limitPrice ?? open.limitPrice) == open.limitPrice,
           (replace.stopPrice ?? open.stopPrice) == open.stopPrice {
            replace.newOrderID = open.orderID
        }
        return .success(replace)
    }
}

enum RequestProblem: Error {
    case invalid(String)
}
