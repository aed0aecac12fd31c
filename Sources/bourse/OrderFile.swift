import BourseCore

/// Reads an order-stream file for `bourse bench --orders`: one command per line, prices in dollars.
///   new,<order_id>,<account_number>,<symbol>,<B|S>,<LMT|MKT|STP|STPLMT>,<DAY|GTC|IOC|FOK>,<price>,<qty>[,<stop_price>]
///   cancel,<order_id>
/// Every symbol is listed with default rules and opened before its first order. Account numbers are the
/// file's own names (`ACC1`, `7`); each gets an engine id in the order it first appears.
struct OrderFile {
    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    /// Setup commands (listing and opening symbols) and the orders, in file order.
    var setup: [Command] = []
    var commands: [Command] = []

    init(text: String) throws(ParseError) {
        var accounts: [UInt64: AccountID] = [:]
        var numbered: [AccountNumber: AccountID] = [:]
        var listed = Set<Symbol>()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line[...]
            if trimmed.isEmpty { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            func fail(_ message: String) -> ParseError { ParseError(line: lineNumber, message: message) }
            switch fields[0] {
            case "cancel":
                guard fields.count == 2, let id = UInt64(fields[1]) else { throw fail("expected cancel,<order_id>") }
                guard let account = accounts[id] else { throw fail("cancel of order \(id), which no earlier line entered") }
                commands.append(.cancel(CancelOrder(orderID: OrderID(id), account: account)))
            case "new":
                guard fields.count == 9 || fields.count == 10 else {
                    throw fail("expected 9 or 10 fields for new, found \(fields.count)")
                }
                guard let id = UInt64(fields[1]) else { throw fail("order id '\(fields[1])' is not a whole number") }
                guard let number = AccountNumber(String(fields[2])) else {
                    throw fail("account: \(AccountNumber.problem(String(fields[2])) ?? "")")
                }
                let account = numbered[number] ?? AccountID(UInt32(numbered.count + 1))
                numbered[number] = account
                let symbol: Symbol
                do { symbol = try Symbol(validating: String(fields[3])) } catch { throw fail("symbol: \(error)") }
                let side: Side
                switch fields[4] {
                case "B": side = .buy
                case "S": side = .sell
                default: throw fail("side '\(fields[4])' is not B or S")
                }
                let type: OrderType
                switch fields[5] {
                case "LMT": type = .limit
                case "MKT": type = .market
                case "STP": type = .stop
                case "STPLMT": type = .stopLimit
                default: throw fail("order type '\(fields[5])' is not LMT, MKT, STP or STPLMT")
                }
                let tif: TimeInForce
                switch fields[6] {
                case "DAY": tif = .day
                case "GTC": tif = .gtc
                case "IOC": tif = .ioc
                case "FOK": tif = .fok
                default: throw fail("time in force '\(fields[6])' is not DAY, GTC, IOC or FOK")
                }
                let price = fields[7].isEmpty ? nil : Price(dollars: fields[7])
                if !fields[7].isEmpty, price == nil { throw fail("price '\(fields[7])' is not a dollar amount with at most 4 decimals") }
                guard let qty = Int64(fields[8]) else { throw fail("quantity '\(fields[8])' is not a whole number") }
                var stop: Price?
                if fields.count == 10, !fields[9].isEmpty {
                    guard let p = Price(dollars: fields[9]) else { throw fail("stop price '\(fields[9])' is not a dollar amount") }
                    stop = p
                }
                var order = NewOrder(orderID: OrderID(id), account: account, symbol: symbol, side: side,
                                     type: type, timeInForce: tif, quantity: Quantity(qty))
                switch type {
                case .limit: order.limitPrice = price
                case .market: break
                case .stop:
                    // A stop order's trigger is the stop field, or the price field when that is all there is.
                    order.stopPrice = stop ?? price
                case .stopLimit:
                    guard stop != nil else { throw fail("STPLMT needs a stop price in the tenth field") }
                    order.limitPrice = price
                    order.stopPrice = stop
                case .trailingStop: break
                }
                if !listed.contains(symbol) {
                    listed.insert(symbol)
                    setup.append(.listSymbol(symbol, .standard))
                    setup.append(.setTradingState(symbol, .open))
                }
                accounts[id] = account
                commands.append(.newOrder(order))
            default:
                throw fail("unknown command '\(fields[0])': expected new or cancel")
            }
        }
    }
}
