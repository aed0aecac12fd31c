import BourseCore
import BourseFeeds
import BourseMarketData

/// Where a mark's request comes from: the configured method and, for an NBBO mark, the midpoints of the
/// NBBO the feed handler keeps across the venues it follows and the venue's own book. The midpoints are
/// read here, outside the engine, and travel in the command, so that the journal says what was marked.
public struct MarkSource: Sendable {
    public let method: MarkMethod
    let feeds: FeedHandler

    public init(method: MarkMethod, feeds: FeedHandler) {
        self.method = method
        self.feeds = feeds
    }

    /// A mark by the method now. An NBBO mark carries each followed symbol's midpoint where its NBBO has
    /// both sides and is not crossed; the engine marks the others by the venue's own mid.
    public func request(close: Bool) -> MarkRequest {
        guard method == .nbboMid else { return MarkRequest(method: method, close: close) }
        let quotes = feeds.stocks.prefix(MarkRequest.quotesMax).compactMap { stock -> MarkRequest.Quote? in
            guard let best = feeds.best(stock), let bid = best.bid, let ask = best.ask, bid.price > 0, best.condition != .crossed,
                  let symbol = try? Symbol(validating: stock.description) else { return nil }
            return MarkRequest.Quote(symbol: symbol, mid: Price(units: (bid.price + ask.price) / 2))
        }
        guard let request = MarkRequest(nbbo: quotes, close: close) else { preconditionFailure("followed stocks are distinct and quoted above zero") }
        return request
    }
}

extension DataDirectory.Node {
    public var marks: MarkSource { MarkSource(method: riskRules.markMethod, feeds: feeds) }
}
