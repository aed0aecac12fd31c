import BourseCore
import BourseMarketData
import BourseProjections
import BourseVenue
import Foundation

/// Alpaca's market data shapes for the REST routes: trades, quotes, bars and snapshots as objects without
/// the stream's `T`, `S` and `sq`, prices as JSON numbers, the venue as Bourse's own code.
extension API {
    static let venueCode = "BOURSE"

    struct BookLevel: Encodable {
        var price: String
        var size: String
        var orders: Int
        /// With `?orders=true`: the level's shown orders in time priority.
        var queue: [QueuedOrder]?
    }

    struct QueuedOrder: Encodable {
        var id: String
        var size: Int64
    }

    struct Book: Encodable {
        var symbol: String
        var state: String
        var bids: [BookLevel]
        var asks: [BookLevel]
        var last_trade: String?
        /// The `sq` of the last level 2 and level 3 messages this book reflects, in the stream's `session`.
        var l2_sequence: UInt64
        var l3_sequence: UInt64
        var session: String
        var timestamp: String
    }

    static func name(_ state: TradingState) -> String {
        switch state {
        case .preOpen: "pre_open"
        case .open: "open"
        case .halted: "halted"
        case .closed: "closed"
        }
    }


    static func trade(_ row: MarketHistory.TradeRow) -> String {
        MarketFeed.trade(id: row.id, price: row.price, size: row.size, time: time(Timestamp(nanos: row.time)))
    }

    static func quote(bidPrice: Int64?, bidSize: Int64, askPrice: Int64?, askSize: Int64, time nanos: Int64) -> String {
        #"{"t":"\#(time(Timestamp(nanos: nanos)))","ax":"\#(venueCode)","ap":\#(askPrice.map(decimal) ?? "0"),"as":\#(askSize),"bx":"\#(venueCode)","bp":\#(bidPrice.map(decimal) ?? "0"),"bs":\#(bidSize),"c":["R"],"z":"C"}"#
    }

    static func quote(_ row: MarketHistory.QuoteRow) -> String {
        quote(bidPrice: row.bidSize > 0 ? row.bidPrice : nil, bidSize: row.bidSize, askPrice: row.askSize > 0 ? row.askPrice : nil,
              askSize: row.askSize, time: row.time)
    }

    /// A page token: where the next page starts, as the symbol and a position in its series. Opaque to
    /// clients (base64 of `SYMBOL:position`).
    struct PageToken: Equatable {
        var symbol: Symbol
        var position: Int64

        var text: String { Data("\(symbol):\(position)".utf8).base64EncodedString() }

        init(symbol: Symbol, position: Int64) {
            self.symbol = symbol
            self.position = position
        }

        init?(_ text: String) {
            guard text.utf8.count <= 64, let data = Data(base64Encoded: text) else { return nil }
            let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
            guard parts.count == 2, let symbol = try? Symbol(validating: String(parts[0])), let position = Int64(parts[1]) else { return nil }
            self.init(symbol: symbol, position: position)
        }
    }
}

extension Bar {
    /// Alpaca's bar object; prices as exact JSON numbers.
    var json: String {
        #"{"t":"\#(API.time(Timestamp(nanos: start)))","o":\#(API.decimal(open)),"h":\#(API.decimal(high)),"l":\#(API.decimal(low)),"c":\#(API.decimal(close)),"v":\#(volume),"n":\#(trades),"vw":\#(API.decimal(vwap))}"#
    }
}
