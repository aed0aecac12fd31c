import BourseCore

/// The national best bid and offer: the best prices across venues (Bourse's own book among them), each
/// side with its venue and size. Only round-lot quotes count, by the price-tiered round lots in force
/// (100 shares up to $250, 40 to $1,000, 10 to $10,000, 1 above), tiered on each symbol's reference price
/// (the prior month's average close under the rule; the quote's own price until one is set). A venue whose
/// feed has a sequence gap is stale and left out of every symbol's NBBO until it has recovered. At equal
/// prices the larger size wins, then the lower venue number. Symbols and venues are small dense numbers
/// here; the caller maps its names onto them.
public struct NBBO {
    public static let venuesMax = 16

    /// One side of a venue's top of book, or of the NBBO.
    public struct Side: Hashable, Sendable {
        public var price: Int64
        public var size: Int64
        public var venue: Int
        public init(price: Int64, size: Int64, venue: Int) {
            self.price = price
            self.size = size
            self.venue = venue
        }
    }

    public enum Condition: Hashable, Sendable {
        case normal
        /// The best bid equals the best offer.
        case locked
        /// The best bid is above the best offer.
        case crossed
    }

    public struct Best: Hashable, Sendable {
        public var bid: Side?
        public var ask: Side?
        public init(bid: Side? = nil, ask: Side? = nil) {
            self.bid = bid
            self.ask = ask
        }
        public var condition: Condition {
            guard let bid, let ask else { return .normal }
            return bid.price == ask.price ? .locked : bid.price > ask.price ? .crossed : .normal
        }
    }

    /// Each venue's quote per symbol: [symbol][venue], prices 0 when the side is empty.
    private var bids: [[Side?]]
    private var asks: [[Side?]]
    private var referencePrices: [Int64?]
    private(set) public var best: [Best]
    private var lastSequence = [UInt64?](repeating: nil, count: NBBO.venuesMax)
    public private(set) var stale = [Bool](repeating: false, count: NBBO.venuesMax)

    public init(symbols: Int) {
        bids = Array(repeating: Array(repeating: nil, count: Self.venuesMax), count: symbols)
        asks = bids
        referencePrices = Array(repeating: nil, count: symbols)
        best = Array(repeating: Best(), count: symbols)
    }

    /// The round lot for a price in 1/10,000 dollar.
    public static func roundLot(at price: Int64) -> Int64 {
        switch price {
        case ...250_0000: 100
        case ...1_000_0000: 40
        case ...10_000_0000: 10
        default: 1
        }
    }

    /// Sets the price that tiers a symbol's round lot (the prior month's average close).
    public mutating func setReferencePrice(_ price: Int64?, symbol: Int) {
        referencePrices[symbol] = price
        recompute(symbol)
    }

    public enum Outcome: Equatable {
        case unchanged
        /// The symbol's NBBO changed to this.
        case changed(Best)
        /// The update showed a gap in the venue's feed: it is stale now, and these NBBOs changed.
        case gap([Int])
        /// The venue is stale: its updates wait for its recovery.
        case ignored
    }

    /// A venue's new top of book for a symbol, with the feed's sequence number: a gap makes the venue
    /// stale (the quote is not applied; nothing from it counts until `recovered`).
    @discardableResult
    public mutating func update(venue: Int, symbol: Int, bid: (price: Int64, size: Int64)?, ask: (price: Int64, size: Int64)?,
                                sequence: UInt64) -> Outcome {
        precondition(venue >= 0 && venue < Self.venuesMax)
        if let last = lastSequence[venue], sequence != last &+ 1 {
            lastSequence[venue] = sequence
            return stale[venue] ? .ignored : .gap(markStale(venue))
        }
        lastSequence[venue] = sequence
        guard !stale[venue] else { return .ignored }
        bids[symbol][venue] = bid.map { Side(price: $0.price, size: $0.size, venue: venue) }
        asks[symbol][venue] = ask.map { Side(price: $0.price, size: $0.size, venue: venue) }
        return recompute(symbol) ? .changed(best[symbol]) : .unchanged
    }

    /// The venue's feed has a gap: its quotes leave every NBBO. Returns the symbols whose NBBO changed.
    public mutating func markStale(_ venue: Int) -> [Int] {
        guard !stale[venue] else { return [] }
        stale[venue] = true
        return recomputeAll()
    }

    /// The venue has recovered (a snapshot of its books, then its feed from `sequence`): its quotes,
    /// given fresh, count again; its feed continues after `sequence`. Returns the symbols whose NBBO changed.
    public mutating func recovered(_ venue: Int, quotes: [(symbol: Int, bid: (price: Int64, size: Int64)?, ask: (price: Int64, size: Int64)?)],
                                   sequence: UInt64) -> [Int] {
        for symbol in bids.indices {
            bids[symbol][venue] = nil
            asks[symbol][venue] = nil
        }
        for q in quotes {
            bids[q.symbol][venue] = q.bid.map { Side(price: $0.price, size: $0.size, venue: venue) }
            asks[q.symbol][venue] = q.ask.map { Side(price: $0.price, size: $0.size, venue: venue) }
        }
        stale[venue] = false
        lastSequence[venue] = sequence
        return recomputeAll()
    }

    private mutating func recomputeAll() -> [Int] {
        best.indices.filter { recompute($0) }
    }

    /// Recomputes one symbol's NBBO; true when it changed.
    @discardableResult
    private mutating func recompute(_ symbol: Int) -> Bool {
        let reference = referencePrices[symbol]
        var bid: Side?
        var ask: Side?
        for venue in 0..<Self.venuesMax where !stale[venue] {
            if let b = bids[symbol][venue], b.size >= Self.roundLot(at: reference ?? b.price),
               bid.map({ b.price > $0.price || b.price == $0.price && b.size > $0.size }) ?? true {
                bid = b
            }
            if let a = asks[symbol][venue], a.size >= Self.roundLot(at: reference ?? a.price),
               ask.map({ a.price < $0.price || a.price == $0.price && a.size > $0.size }) ?? true {
                ask = a
            }
        }
        let now = Best(bid: bid, ask: ask)
        guard now != best[symbol] else { return false }
        best[symbol] = now
        return true
    }
}
