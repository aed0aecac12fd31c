import BourseCore
import BourseEngine
import BourseFeeds
import BourseMarketData
import BourseNode

/// Takes marks by the configured method, for the mark clock, the scheduler's close marks and the API.
///
/// An NBBO mark needs prices the engine cannot see: the NBBO the feed handler keeps across the venues it
/// follows and the venue's own book. They are read here, outside the engine, and journaled before the mark,
/// as a `referenceQuote` for each symbol whose NBBO midpoint is not what the engine was last told (none,
/// when a side is missing or the market is crossed). The mark then fixes each symbol at the midpoint the
/// engine holds, so a replay of the journal marks alike.
public struct MarkSource: Sendable {
    public let method: MarkMethod
    let venue: Venue
    let feeds: FeedHandler

    public init(method: MarkMethod, venue: Venue, feeds: FeedHandler) {
        self.method = method
        self.venue = venue
        self.feeds = feeds
    }

    /// Marks now (a close mark fixes every price); the mark's acknowledgement.
    public func mark(close: Bool) async throws -> Sequencer.Acknowledgement {
        try await refresh()
        return try await venue.execute(.mark(MarkRequest(method: method, close: close)))
    }

    /// Marks if a mark would fix any price other than the last mark's; whether it did. A quiet market
    /// adds nothing to the journal but the reference quotes that moved.
    public func markIfMoved() async throws -> Bool {
        try await refresh()
        guard try await venue.read({ [method] in $0.markWouldChange(method) }) else { return false }
        _ = try await venue.execute(.mark(MarkRequest(method: method, close: false)))
        return true
    }

    /// Journals the reference quotes that changed, for an NBBO mark; nothing for the other methods.
    func refresh() async throws {
        guard method == .nbboMid else { return }
        let seen = feeds.stocks.compactMap { stock -> ReferenceQuote? in
            guard let symbol = try? Symbol(validating: stock.description) else { return nil }
            return Self.quote(symbol, feeds.best(stock))
        }
        // Only a new midpoint changes a mark: a quote that moved both sides alike is not journaled again.
        let changed = try await venue.read { engine in seen.filter { quote in engine.referenceQuote(quote.symbol).map { $0.mid != quote.mid } ?? false } }
        // Sent together, so that the sequencer journals them in as few batches as it can, but at most
        // `quotesInFlightMax` at a time, so that many symbols do not fill its queue; the mark follows all.
        for from in stride(from: 0, to: changed.count, by: Self.quotesInFlightMax) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for quote in changed[from ..< min(from + Self.quotesInFlightMax, changed.count)] {
                    group.addTask {
                        let ack = try await venue.execute(.referenceQuote(quote))
                        if case .commandRejected(let reason)? = ack.events.first {
                            throw MarkFailure(reason: "reference quote for \(quote.symbol): \(reason.code): \(reason.message)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    static let quotesInFlightMax = 256

    /// The reference quote an NBBO gives: both sides when both are there and not crossed, else none.
    static func quote(_ symbol: Symbol, _ best: NBBO.Best?) -> ReferenceQuote {
        guard let best, let bid = best.bid, let ask = best.ask, best.condition != .crossed else { return .none(symbol) }
        let quote = ReferenceQuote(symbol: symbol, bid: Price(units: bid.price), ask: Price(units: ask.price))
        return quote.isValid ? quote : .none(symbol)
    }

    public struct MarkFailure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }
}

extension DataDirectory.Node {
    /// Marks by the risk platform's configured method.
    public var marks: MarkSource { MarkSource(method: riskRules.markMethod, venue: venue, feeds: feeds) }
}
