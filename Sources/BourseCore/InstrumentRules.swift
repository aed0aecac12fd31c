/// Price bands and the tick that applies in each. Bands are sorted by their lower bound; the first
/// starts at zero. Stored inline (at most `bandsMax` bands) so that rules, and the commands that carry
/// them, are plain values no larger than an order and copy as bytes.
public struct TickTable: Hashable, Sendable {
    public struct Band: Hashable, Sendable {
        public var from: Price
        public var tick: Price
        public init(from: Price, tick: Price) { self.from = from; self.tick = tick }
    }
    /// Enough for Rule 612 and half-penny tables; a venue needing more bands needs a wider command.
    public static let bandsMax = 4
    private var starts = InlineArray<4, Int64>(repeating: 0)
    private var ticks = InlineArray<4, Int64>(repeating: 0)
    public private(set) var count: Int = 0

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
        self.init(uncheckedBands: bands)
    }

    init(uncheckedBands: [Band]) {
        count = uncheckedBands.count
        for (i, band) in uncheckedBands.enumerated() {
            starts[i] = band.from.units
            ticks[i] = band.tick.units
        }
    }

    public var bands: [Band] { (0..<count).map { Band(from: Price(units: starts[$0]), tick: Price(units: ticks[$0])) } }

    @inline(__always) private func start(_ i: Int) -> Int64 { starts[i] }
    @inline(__always) private func tick(_ i: Int) -> Int64 { ticks[i] }

    /// The band holding `price`: the last whose start is at or below it. Searched from the top band,
    /// where most prices are.
    @inline(__always) private func band(_ price: Int64) -> Int {
        var i = count - 1
        while i > 0, starts[i] > price { i -= 1 }
        return i
    }

    public func tick(at price: Price) -> Price { Price(units: tick(band(price.units))) }

    /// Whether `price` is a multiple of its band's tick, counted from the band's start.
    public func isOnTick(_ price: Price) -> Bool {
        let i = band(price.units)
        return (price.units - start(i)) % tick(i) == 0
    }

    /// The highest valid price at or below `price` (for protecting sells rounded toward the market).
    public func roundDown(_ price: Price) -> Price {
        let i = band(price.units)
        let offset = price.units - start(i)
        return Price(units: start(i) + offset - offset % tick(i))
    }

    /// The lowest valid price at or above `price`.
    public func roundUp(_ price: Price) -> Price {
        let down = roundDown(price)
        if down == price { return price }
        return Price(units: down.units + tick(at: down).units)
    }

    public static func == (a: TickTable, b: TickTable) -> Bool { a.bands == b.bands }
    public func hash(into hasher: inout Hasher) { hasher.combine(bands) }
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

/// Fees per share filled, for the order that added liquidity and the one that took it; negative for a
/// rebate. A positive fee never exceeds the fill's notional. Set per symbol by its own command, apart
/// from the listing rules: fee schedules change on their own calendar, and keeping them out of the
/// rules keeps every command small enough to copy inline.
public struct FeeSchedule: Hashable, Sendable {
    public var makerPerShare: Money
    public var takerPerShare: Money

    /// Largest fee or rebate per share: $1.
    public static let perShareMax = Money(units: 10_000)
    public static let zero = FeeSchedule(makerPerShare: .zero, takerPerShare: .zero)

    public init(makerPerShare: Money, takerPerShare: Money) {
        self.makerPerShare = makerPerShare
        self.takerPerShare = takerPerShare
    }

    public var isValid: Bool {
        abs(makerPerShare.units) <= Self.perShareMax.units && abs(takerPerShare.units) <= Self.perShareMax.units
    }
}
