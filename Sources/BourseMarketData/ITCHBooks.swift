import BourseCore

/// Full order books built from an ITCH feed: every displayed order by its reference, and per stock the
/// shares at each price on each side. Adds, executions, cancels, deletes and replaces change them;
/// trades, crosses and broken trades are of non-displayed interest and do not. A message about an order
/// the books do not hold (a feed joined mid-day) or that takes more shares than the order has is counted
/// in `anomalies` and otherwise ignored, so a damaged feed degrades rather than stops.
public struct ITCHBooks {
    /// One stock's book: shares at each price, per side.
    public struct Book {
        public var stock: ITCH.Stock
        var bids: [UInt32: Int64] = [:]
        var asks: [UInt32: Int64] = [:]

        /// Price levels of a side, best first: price in 1/10,000 dollar and shares.
        public func levels(_ side: Side) -> [(price: UInt32, shares: Int64)] {
            let levels = side == .buy ? bids : asks
            return levels.map { ($0.key, $0.value) }.sorted { side == .buy ? $0.price > $1.price : $0.price < $1.price }
        }

        public var bestBid: (price: UInt32, shares: Int64)? { bids.max { $0.key < $1.key }.map { ($0.key, $0.value) } }
        public var bestAsk: (price: UInt32, shares: Int64)? { asks.min { $0.key < $1.key }.map { ($0.key, $0.value) } }

        mutating func change(_ side: UInt8, _ price: UInt32, by shares: Int64) {
            if side == 0 {
                let now = bids[price, default: 0] + shares
                bids[price] = now == 0 ? nil : now
            } else {
                let now = asks[price, default: 0] + shares
                asks[price] = now == 0 ? nil : now
            }
        }
    }

    /// The books by stock locate code.
    public private(set) var books: [Book?] = Array(repeating: nil, count: 1 << 16)
    public private(set) var anomalies = 0
    private var orders = OrderTable(capacity: 1 << 16)

    public init() {}

    /// Open orders held.
    public var orderCount: Int { orders.count }

    /// The book of a stock, found by its symbol.
    public func book(_ stock: ITCH.Stock) -> Book? {
        books.lazy.compactMap { $0 }.first { $0.stock == stock }
    }

    public mutating func apply(_ message: ITCH.Message) {
        switch message {
        case .stockDirectory(let h, let d):
            if books[Int(h.locate)] == nil { books[Int(h.locate)] = Book(stock: d.stock) }
        case .addOrder(let h, let a):
            let side: UInt8 = a.side == .buy ? 0 : 1
            guard orders.insert(a.reference, OrderTable.Order(price: a.price, shares: a.shares, locate: h.locate, side: side)) else {
                anomalies += 1
                return
            }
            if books[Int(h.locate)] == nil { books[Int(h.locate)] = Book(stock: a.stock) }
            books[Int(h.locate)]!.change(side, a.price, by: Int64(a.shares))
        case .orderExecuted(_, let reference, let shares, _), .orderExecutedWithPrice(_, let reference, let shares, _, _, _),
             .orderCancel(_, let reference, let shares):
            reduce(reference, by: shares)
        case .orderDelete(_, let reference):
            reduce(reference, by: nil)
        case .orderReplace(_, let original, let new, let shares, let price):
            guard let old = orders.remove(original) else {
                anomalies += 1
                return
            }
            books[Int(old.locate)]!.change(old.side, old.price, by: -Int64(old.shares))
            guard orders.insert(new, OrderTable.Order(price: price, shares: shares, locate: old.locate, side: old.side)) else {
                anomalies += 1
                return
            }
            books[Int(old.locate)]!.change(old.side, price, by: Int64(shares))
        default:
            break
        }
    }

    /// Takes shares off an order (all of them when nil), and the order off the books when none are left.
    private mutating func reduce(_ reference: UInt64, by shares: UInt32?) {
        guard let order = orders.find(reference) else {
            anomalies += 1
            return
        }
        let taken = min(shares ?? order.shares, order.shares)
        if let shares, shares > order.shares { anomalies += 1 }
        books[Int(order.locate)]!.change(order.side, order.price, by: -Int64(taken))
        if taken == order.shares {
            _ = orders.remove(reference)
        } else {
            orders.update(reference) { $0.shares -= taken }
        }
    }
}

/// Open orders by reference number in one open-addressing table (linear probing, backward-shift
/// deletion, Fibonacci hashing), each slot holding the order itself so that a lookup is one cache line.
struct OrderTable {
    struct Order {
        var price: UInt32
        var shares: UInt32
        var locate: UInt16
        var side: UInt8
    }

    private struct Slot {
        /// 0 marks an empty slot; ITCH reference numbers start at 1.
        var reference: UInt64
        var order: Order
    }

    private var slots: [Slot]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(reference: 0, order: Order(price: 0, shares: 0, locate: 0, side: 0)), count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always) private func home(_ reference: UInt64) -> Int {
        Int(truncatingIfNeeded: (reference &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always) private func index(of reference: UInt64) -> Int? {
        var i = home(reference)
        while true {
            let slot = slots[i].reference
            if slot == 0 { return nil }
            if slot == reference { return i }
            i = (i + 1) & mask
        }
    }

    func find(_ reference: UInt64) -> Order? { index(of: reference).map { slots[$0].order } }

    mutating func update(_ reference: UInt64, _ body: (inout Order) -> Void) {
        if let i = index(of: reference) { body(&slots[i].order) }
    }

    /// False when the reference is 0 or already held.
    mutating func insert(_ reference: UInt64, _ order: Order) -> Bool {
        guard reference != 0 else { return false }
        if (count + 1) * 2 > mask + 1 { grow() }
        var i = home(reference)
        while slots[i].reference != 0 {
            if slots[i].reference == reference { return false }
            i = (i + 1) & mask
        }
        slots[i] = Slot(reference: reference, order: order)
        count += 1
        return true
    }

    mutating func remove(_ reference: UInt64) -> Order? {
        guard var hole = index(of: reference) else { return nil }
        let removed = slots[hole].order
        var j = (hole + 1) & mask
        while slots[j].reference != 0 {
            let distanceFromHome = (j - home(slots[j].reference)) & mask
            if distanceFromHome >= (j - hole) & mask {
                slots[hole] = slots[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        slots[hole].reference = 0
        count -= 1
        return removed
    }

    private mutating func grow() {
        let old = slots
        let size = (mask + 1) * 2
        slots = Array(repeating: Slot(reference: 0, order: Order(price: 0, shares: 0, locate: 0, side: 0)), count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for slot in old where slot.reference != 0 { _ = insert(slot.reference, slot.order) }
    }
}
