import BourseCore

/// Where an open order lives.
enum Place: UInt8 {
    case free = 0
    /// Resting on a price level.
    case book = 1
    /// Waiting for its stop trigger (trailing stops included).
    case stop = 2
    /// Accepted in pre-open, waiting for the open.
    case pending = 3
    /// Being executed by the current command; not linked anywhere.
    case working = 4
}

/// The hot part of one open order: what matching, resting and cancelling touch, in one 64-byte cache
/// line. Prices and quantities are raw integers here (units and shares) for the hot path.
struct OrderSlot {
    var id: UInt64 = 0
    /// Limit price; 0 for market-like orders.
    var price: Int64 = 0
    var leaves: Int64 = 0
    /// The shown part of the leaves: all of it, or an iceberg's current slice.
    var visible: Int64 = 0
    var account: UInt32 = 0
    var book: Int32 = 0
    var level: Int32 = -1
    var prev: Int32 = -1
    var next: Int32 = -1
    var side: Side = .buy
    var type: OrderType = .limit
    var tif: TimeInForce = .day
    var stp: SelfTradePrevention = .none
    var place: Place = .free
    var postOnly = false
    /// Reduces its position rather than opening one (engines that keep accounts).
    var closing = false
    /// Its part in an order list, if any.
    var list: ListRole = .none
    /// The account's position in this symbol; -1 where the engine keeps no accounts.
    var position: Int32 = -1

    /// Market, stop and trailing stop orders trade against a protection price: bits 0, 2 and 4 of the
    /// mask, one per OrderType raw value.
    @inline(__always) var isMarketLike: Bool { (0b10101 as UInt8) >> type.rawValue & 1 != 0 }
}

/// The cold part of an open order, in a parallel pool under the same handle: read when an order is
/// accepted, replaced, expired or triggered, not when it trades or is cancelled.
struct OrderDetail {
    /// Current total quantity; leaves = quantity - filled.
    var quantity: Int64 = 0
    /// Iceberg display size; 0 when the order is not an iceberg.
    var display: Int64 = 0
    /// Acceptance serial: never changes; orders expiry and validates GTD heap entries.
    var accepted: UInt64 = 0
    /// Priority serial among stops: the acceptance serial, renewed when a replace loses priority.
    var priority: UInt64 = 0
    var expire: Int64 = 0
    var stopPrice: Int64 = 0
    /// Trailing stop: the amount in price units, or basis points (negative for basis points).
    var trail: Int64 = 0
    /// Trailing stop: best trade price reached since acceptance (highest for sells, lowest for buys).
    var watermark: Int64 = 0

    var trailInBasisPoints: Bool { trail < 0 }
    var trailMagnitude: Int64 { trail < 0 ? -trail : trail }
}

/// Pre-trade risk's reservation for an open order, in a third parallel pool that only an engine keeping
/// accounts allocates, so that the cold half stays one cache line: cash held per share of leaves, and the
/// price assumed.
struct OrderReservation {
    var holdPerShare: Int64 = 0
    var reserve: Int64 = 0
}

/// A price level: a FIFO list of orders linked through their slots.
struct Level {
    var price: Int64 = 0
    var head: Int32 = -1
    var tail: Int32 = -1
    var count: Int32 = 0
    /// Sum of the orders' visible quantities (what depth shows).
    var visible: Int64 = 0
    /// Sum of the orders' leaves, hidden iceberg quantity included (what can trade).
    var total: Int64 = 0
}

/// One side's levels ordered best last, so the best level is removed in O(1). Keys are the price for
/// bids and its negation for asks, so both sides sort ascending with the best at the end. The storage is
/// managed by hand: reading a side from its book then copies two pointers, not two counted arrays.
struct SideLevels {
    let isBid: Bool
    private var keyStorage: UnsafeMutablePointer<Int64>
    private var handleStorage: UnsafeMutablePointer<Int32>
    private var capacity: Int
    private(set) var count = 0

    init(isBid: Bool) {
        self.isBid = isBid
        capacity = 64
        keyStorage = .allocate(capacity: capacity)
        handleStorage = .allocate(capacity: capacity)
    }

    func deallocate() {
        keyStorage.deallocate()
        handleStorage.deallocate()
    }

    /// Keys from the worst level to the best.
    var keys: UnsafeBufferPointer<Int64> { UnsafeBufferPointer(start: keyStorage, count: count) }
    /// Level handles from the worst level to the best.
    var handles: UnsafeBufferPointer<Int32> { UnsafeBufferPointer(start: handleStorage, count: count) }

    @inline(__always) func key(_ price: Int64) -> Int64 { isBid ? price : -price }
    var isEmpty: Bool { count == 0 }
    @inline(__always) var best: Int32? { count > 0 ? handleStorage[count - 1] : nil }

    /// Index of the first key not below `key`.
    @inline(__always) func lowerBound(_ key: Int64) -> Int {
        let n = count
        // Most activity is near the best price, at the end.
        if n == 0 || keyStorage[n - 1] < key { return n }
        // Branch-free: which half holds the key is as good as random, and a mispredicted branch at
        // each step cost more than the rest of the search. The step is chosen by the sign of the
        // difference (keys are prices within ±`Price.max`, so it cannot overflow) rather than by a
        // comparison, which the compiler turns back into a branch.
        var base = 0
        var len = n
        while len > 1 {
            let half = len >> 1
            let below = Int((keyStorage[base &+ half] &- key) >> 63)  // -1 when the key there is below
            base &+= half & below
            len &-= half
        }
        return keyStorage[base] < key ? base &+ 1 : base
    }

    @inline(__always) func find(_ price: Int64) -> Int32? {
        let k = key(price)
        let i = lowerBound(k)
        return i < count && keyStorage[i] == k ? handleStorage[i] : nil
    }

    mutating func insert(price: Int64, handle: Int32) {
        if count == capacity { grow() }
        let k = key(price)
        let i = lowerBound(k)
        (keyStorage + i + 1).update(from: keyStorage + i, count: count - i)
        (handleStorage + i + 1).update(from: handleStorage + i, count: count - i)
        keyStorage[i] = k
        handleStorage[i] = handle
        count += 1
    }

    mutating func remove(price: Int64) {
        let k = key(price)
        count -= 1
        if keyStorage[count] == k { return }
        let i = lowerBound(k)
        precondition(i < count && keyStorage[i] == k, "level to remove is missing")
        (keyStorage + i).update(from: keyStorage + i + 1, count: count - i)
        (handleStorage + i).update(from: handleStorage + i + 1, count: count - i)
    }

    private mutating func grow() {
        capacity *= 2
        let keys = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
        let handles = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
        keys.moveInitialize(from: keyStorage, count: count)
        handles.moveInitialize(from: handleStorage, count: count)
        deallocate()
        keyStorage = keys
        handleStorage = handles
    }
}

/// Stop orders of one side, ordered so that the next to trigger is last: for buys the lowest stop
/// price, for sells the highest; equal prices by priority serial.
struct StopList {
    struct Entry: Equatable {
        var price: Int64
        var priority: UInt64
        var slot: Int32
    }
    let isBuy: Bool
    var entries: [Entry] = []

    init(isBuy: Bool) { self.isBuy = isBuy }

    @inline(__always) func triggersBefore(_ a: Entry, _ b: Entry) -> Bool {
        if a.price != b.price { return isBuy ? a.price < b.price : a.price > b.price }
        return a.priority < b.priority
    }

    /// Entries before the returned index trigger after `entry`.
    func position(of entry: Entry) -> Int {
        var lo = 0
        var hi = entries.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if triggersBefore(entry, entries[mid]) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(_ entry: Entry) { entries.insert(entry, at: position(of: entry)) }

    mutating func remove(_ entry: Entry) {
        let i = position(of: entry)
        precondition(i < entries.count && entries[i] == entry, "stop to remove is missing")
        entries.remove(at: i)
    }
}

/// Everything the engine keeps for one symbol.
/// Owned, like the engine, by one thread: its properties skip the runtime's exclusivity checks.
final class Book {
    let symbol: Symbol
    let rules: InstrumentRules
    @exclusivity(unchecked) var state: TradingState = .closed
    @exclusivity(unchecked) var bids = SideLevels(isBid: true)
    @exclusivity(unchecked) var asks = SideLevels(isBid: false)
    @exclusivity(unchecked) var buyStops = StopList(isBuy: true)
    @exclusivity(unchecked) var sellStops = StopList(isBuy: false)
    /// Stops waiting for their trigger, trailing stops included.
    @exclusivity(unchecked) var stopCount = 0
    /// Trailing stops in priority order.
    @exclusivity(unchecked) var trailing: [Int32] = []
    @exclusivity(unchecked) var pendingHead: Int32 = -1
    @exclusivity(unchecked) var pendingTail: Int32 = -1
    /// Last trade price; 0 before the first trade.
    @exclusivity(unchecked) var lastTrade: Int64 = 0
    /// Highest and lowest trade prices since trailing stops last followed them.
    @exclusivity(unchecked) var passHigh: Int64 = 0
    @exclusivity(unchecked) var passLow: Int64 = 0
    /// Orders resting on the book.
    @exclusivity(unchecked) var resting = 0
    @exclusivity(unchecked) var easyToBorrow = false
    @exclusivity(unchecked) var makerFee: Int64 = 0
    @exclusivity(unchecked) var takerFee: Int64 = 0
    /// Shares of the symbol held outside the venue's accounts: minus what was transferred in, net.
    @exclusivity(unchecked) var outsideShares: Int64 = 0
    /// The price the last mark fixed; 0 before the first.
    @exclusivity(unchecked) var markedPrice: Int64 = 0
    /// The NBBO of the followed venues as the last `referenceQuote` journaled it; zeros for none.
    @exclusivity(unchecked) var referenceBid: Int64 = 0
    @exclusivity(unchecked) var referenceAsk: Int64 = 0

    // The rules the hot path reads, as scalars: reading them copies nothing.
    let tickTable: TickTable
    let lotSize: Int64
    let orderQtyMin: Int64
    let orderQtyMax: Int64
    let protectionBasisPoints: Int64
    /// 0 when unknown.
    let previousClose: Int64
    /// The top tick band, where most prices fall, for a one-division tick check.
    let topBandStart: Int64
    let topBandTick: Int64

    init(symbol: Symbol, rules: InstrumentRules) {
        self.symbol = symbol
        self.rules = rules
        tickTable = rules.tickTable
        lotSize = rules.lotSize.shares
        orderQtyMin = rules.orderQtyMin.shares
        orderQtyMax = rules.orderQtyMax.shares
        protectionBasisPoints = rules.marketProtectionBasisPoints
        previousClose = rules.previousClose?.units ?? 0
        let top = rules.tickTable.bands.last!
        topBandStart = top.from.units
        topBandTick = top.tick.units
    }

    @inline(__always) func isOnTick(_ price: Int64) -> Bool {
        price >= topBandStart ? (price - topBandStart) % topBandTick == 0 : tickTable.isOnTick(Price(units: price))
    }

    deinit {
        bids.deallocate()
        asks.deallocate()
    }
}
