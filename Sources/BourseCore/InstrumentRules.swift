/// Price bands and the tick that applies in each. Bands are sorted by their lower bound; the first
/// starts at zero.
public struct TickTable: Hashable, Sendable {
    public struct Band: Hashable, Sendable {
        public var from: Price
        public var tick: Price
        public init(from: Price, tick: Price) { self.from = from; self.tick = tick }
    }
    public static let bandsMax = 16
    public private(set) var bands: [Band]

    /// Rule 612: $0.01 at or above $1.00, $0.0001 below.
    public static let standard = TickTable(uncheckedBands: [
        Band(from: .zero, tick: Price(units: 1)),
        Band(from: Price(units: 10_000), tick: Price(units: 100)),
    ])
    /// As `standard` but a half-penny tick at or above $1.00.
    public static let halfPenny = TickTable(uncheckedBands: [
        Band(from: .zero, tick: Price(units: 1)),
        Band(from: Price(units: 10_000), tick: Price(units: 50)),
    ])

    public enum Invalid: Error, Equatable {
        case empty, tooManyBands, firstBandNotAtZero, bandsNotAscending, nonPositiveTick
        case bandStartOffTick(Price)
    }

    public init(bands: [Band]) throws(Invalid) {
        guard let first = bands.first else { throw .empty }
        guard bands.count <= Self.bandsMax else { throw .tooManyBands }
        guard first.from == .zero else { throw .firstBandNotAtZero }
        for (index, band) in bands.enumerated() {
            guard band.tick.units > 0 else { throw .nonPositiveTick }
            if index > 0 {
                guard band.from > bands[index - 1].from else { throw .bandsNotAscending }
                // A band must start on a price reachable from the band below, so ticks line up.
                guard band.from.units % bands[index - 1].tick.units == 0 else { throw .bandStartOffTick(band.from) }
            }
        }
        self.bands = bands
    }

    init(uncheckedBands: [Band]) { self.bands = uncheckedBands }

    public func tick(at price: Price) -> Price {
        var tick = bands[0].tick
        for band in bands where band.from <= price { tick = band.tick }
        return tick
    }

    /// Whether `price` is a multiple of its band's tick, counted from the band's start.
    public func isOnTick(_ price: Price) -> Bool {
        var band = bands[0]
        for candidate in bands where candidate.from <= price { band = candidate }
        return (price.units - band.from.units) % band.tick.units == 0
    }

    /// The highest valid price at or below `price` (for protecting sells rounded toward the market).
    public func roundDown(_ price: Price) -> Price {
        var band = bands[0]
        for candidate in bands where candidate.from <= price { band = candidate }
        let offset = price.units - band.from.units
        return Price(units: band.from.units + offset - offset % band.tick.units)
    }

    /// The lowest valid price at or above `price`.
    public func roundUp(_ price: Price) -> Price {
        let down = roundDown(price)
        if down == price { return price }
        let next = Price(units: down.units + tick(at: down).units)
        return next
    }
}

/// Per-symbol rules that the engine enforces on every order.
public struct InstrumentRules: Hashable, Sendable {
    public var tickTable: TickTable
    /// Quantities must be a multiple of this.
    public var lotSize: Quantity
    public var orderQtyMin: Quantity
    public var orderQtyMax: Quantity
    /// A market order never trades further than this from the reference price: 500 is 5%.
    public var marketProtectionBasisPoints: Int64
    /// The reference price before the first trade (the previous close), if known.
    public var previousClose: Price?

    public init(
        tickTable: TickTable = .standard,
        lotSize: Quantity = Quantity(1),
        orderQtyMin: Quantity = Quantity(1),
        orderQtyMax: Quantity = Quantity(1_000_000),
        marketProtectionBasisPoints: Int64 = 500,
        previousClose: Price? = nil
    ) {
        self.tickTable = tickTable
        self.lotSize = lotSize
        self.orderQtyMin = orderQtyMin
        self.orderQtyMax = orderQtyMax
        self.marketProtectionBasisPoints = marketProtectionBasisPoints
        self.previousClose = previousClose
    }

    public static let standard = InstrumentRules()

    public enum Invalid: Error, Equatable {
        case nonPositiveLotSize, minAboveMax, minNotPositive, maxAboveLimit
        case protectionOutOfRange(Int64)
        case previousCloseInvalid(Price)
    }

    public func validate() throws(Invalid) {
        guard lotSize.shares > 0 else { throw .nonPositiveLotSize }
        guard orderQtyMin.shares > 0 else { throw .minNotPositive }
        guard orderQtyMin <= orderQtyMax else { throw .minAboveMax }
        guard orderQtyMax <= Quantity.max else { throw .maxAboveLimit }
        guard (1...5_000).contains(marketProtectionBasisPoints) else {
            throw .protectionOutOfRange(marketProtectionBasisPoints)
        }
        if let close = previousClose {
            guard close.units > 0, close <= Price.max, tickTable.isOnTick(close) else { throw .previousCloseInvalid(close) }
        }
    }
}
