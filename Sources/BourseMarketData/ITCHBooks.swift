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
        /// Shares by price, per side; keys are price + 1 (the table's keys are nonzero).
        var bids = OpenTable<Int64>(capacity: 64)
        var asks = OpenTable<Int64>(capacity: 64)

        init(stock: ITCH.Stock) { self.stock = stock }

        /// Price levels of a side, best first: price in 1/10,000 dollar and shares.
        public func levels(_ side: Side) -> [(price: UInt32, shares: Int64)] {
            let levels = (side == .buy ? bids : asks).entries.map { (price: UInt32($0.key - 1), shares: $0.value) }
            return levels.sorted { side == .buy ? $0.price > $1.price : $0.price < $1.price }
        }

        public var bestBid: (price: UInt32, shares: Int64)? { levels(.buy).first }
        public var bestAsk: (price: UInt32, shares: Int64)? { levels(.sell).first }

        mutating func change(_ side: UInt8, _ price: UInt32, by shares: Int64) {
            let key = UInt64(price) + 1
            if side == 0 { Self.change(&bids, key, shares) } else { Self.change(&asks, key, shares) }
        }

        private static func change(_ levels: inout OpenTable<Int64>, _ key: UInt64, _ shares: Int64) {
            guard let now = levels[key].map({ $0 + shares }) else {
                _ = levels.insert(key, shares)
                return
            }
            if now == 0 { _ = levels.remove(key) } else { levels.update(key) { $0 = now } }
        }
    }

    /// The books by stock locate code.
    public private(set) var books: [Book?] = Array(repeating: nil, count: 1 << 16)
    public private(set) var anomalies = 0
    private var orders = OpenTable<Order>(capacity: 1 << 16)

    public init() {}

    /// Open orders held.
    public var orderCount: Int { orders.count }

    /// An open order's price and side, by its reference.
    public func order(_ reference: UInt64) -> (price: UInt32, side: Side)? {
        orders[reference].map { ($0.price, $0.side == 0 ? .buy : .sell) }
    }

    /// The book of a stock, by its locate code.
    public func book(locate: UInt16) -> Book? { books[Int(locate)] }

    /// The book of a stock, found by its symbol.
    public func book(_ stock: ITCH.Stock) -> Book? {
        books.lazy.compactMap { $0 }.first { $0.stock == stock }
    }

    struct Order {
        var price: UInt32
        var shares: UInt32
        var locate: UInt16
        var side: UInt8
    }

    /// Applies a message; returns the locate code of the book it changed, if it changed one.
    @discardableResult
    public mutating func apply(_ message: ITCH.Message) -> UInt16? {
        switch message {
        case .stockDirectory(let h, let d):
            if books[Int(h.locate)] == nil { books[Int(h.locate)] = Book(stock: d.stock) }
            return nil
        case .addOrder(let h, let a):
            let side: UInt8 = a.side == .buy ? 0 : 1
            guard orders.insert(a.reference, Order(price: a.price, shares: a.shares, locate: h.locate, side: side)) else {
                anomalies += 1
                return nil
            }
            if books[Int(h.locate)] == nil { books[Int(h.locate)] = Book(stock: a.stock) }
            books[Int(h.locate)]!.change(side, a.price, by: Int64(a.shares))
            return h.locate
        case .orderExecuted(_, let reference, let shares, _), .orderExecutedWithPrice(_, let reference, let shares, _, _, _),
             .orderCancel(_, let reference, let shares):
            return reduce(reference, by: shares)
        case .orderDelete(_, let reference):
            return reduce(reference, by: nil)
        case .orderReplace(_, let original, let new, let shares, let price):
            guard let old = orders.remove(original) else {
                anomalies += 1
                return nil
            }
            books[Int(old.locate)]!.change(old.side, old.price, by: -Int64(old.shares))
            guard orders.insert(new, Order(price: price, shares: shares, locate: old.locate, side: old.side)) else {
                anomalies += 1
                return old.locate
            }
            books[Int(old.locate)]!.change(old.side, price, by: Int64(shares))
            return old.locate
        default:
            return nil
        }
    }

    /// Takes shares off an order (all of them when nil), and the order off the books when none are left.
    private mutating func reduce(_ reference: UInt64, by shares: UInt32?) -> UInt16? {
        guard let order = orders[reference] else {
            anomalies += 1
            return nil
        }
        let taken = min(shares ?? order.shares, order.shares)
        if let shares, shares > order.shares { anomalies += 1 }
        books[Int(order.locate)]!.change(order.side, order.price, by: -Int64(taken))
        if taken == order.shares {
            _ = orders.remove(reference)
        } else {
            orders.update(reference) { $0.shares -= taken }
        }
        return order.locate
    }
}

/// A map from nonzero UInt64 keys to values in one open-addressing table (linear probing, backward-shift
/// deletion, Fibonacci hashing), each slot holding its value so that a lookup is one cache line. Unlike
/// `Dictionary` it hashes with a multiply rather than SipHash, which is most of the cost of a book update.
struct OpenTable<Value> {
    private struct Slot {
        /// 0 marks an empty slot.
        var key: UInt64
        var value: Value
    }

    private var slots: [Slot?]
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: nil, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always) private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always) private func index(of key: UInt64) -> Int? {
        var i = home(key)
        while let slot = slots[i] {
            if slot.key == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    subscript(key: UInt64) -> Value? { index(of: key).map { slots[$0]!.value } }

    mutating func update(_ key: UInt64, _ body: (inout Value) -> Void) {
        if let i = index(of: key) { body(&slots[i]!.value) }
    }

    /// False when the key is 0 or already held.
    mutating func insert(_ key: UInt64, _ value: Value) -> Bool {
        guard key != 0 else { return false }
        if (count + 1) * 2 > mask + 1 { grow() }
        var i = home(key)
        while let slot = slots[i] {
            if slot.key == key { return false }
            i = (i + 1) & mask
        }
        slots[i] = Slot(key: key, value: value)
        count += 1
        return true
    }

    mutating func remove(_ key: UInt64) -> Value? {
        guard var hole = index(of: key) else { return nil }
        let removed = slots[hole]!.value
        var j = (hole + 1) & mask
        while let slot = slots[j] {
            if (j - home(slot.key)) & mask >= (j - hole) & mask {
                slots[hole] = slot
                hole = j
            }
            j = (j + 1) & mask
        }
        slots[hole] = nil
        count -= 1
        return removed
    }

    /// Every key and value, in no particular order.
    var entries: [(key: UInt64, value: Value)] { slots.compactMap { $0.map { ($0.key, $0.value) } } }

    private mutating func grow() {
        let old = slots
        let size = (mask + 1) * 2
        slots = Array(repeating: nil, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for case let slot? in old { _ = insert(slot.key, slot.value) }
    }
}
