import BourseCore

/// Bourse's own order books, rebuilt from its event stream alone, as a market data consumer sees it: every
/// displayed order in time priority at its price, and the level totals. Each command's events are turned
/// into order-level changes (`Change`), the level 3 feed; levels 2 and 1 are read from the same books.
///
/// The engine says when an order comes to rest (`orderRested`, also for an iceberg's new slice), so this keeps
/// only the orders on the books and applies what happens to them; stops and orders held for the open are
/// not shown and not kept. The differential tests hold this to the engine's own books after every command.
public struct VenueBooks: Sendable {
    /// A change to the displayed book: what the order-level feed publishes. Each names the order's
    /// side and price, so that a subscriber can find its level without keeping every order.
    public struct Change: Equatable, Sendable {
        public enum Kind: Equatable, Sendable {
            /// An order (or an iceberg's new slice) shown at the back of its level; `quantity` is shown.
            case add
            /// A trade of `quantity` against a shown order; it leaves the book when nothing shown is left.
            case execute(ExecutionID)
            /// The shown quantity went down to `quantity` (cancel/replace down, self-trade decrement),
            /// keeping its place; `newID` when a replace renamed it.
            case modify(newID: OrderID?)
            /// Off the book: cancelled, expired, or replaced losing its place.
            case delete
        }

        public var kind: Kind
        public var symbol: Symbol
        public var orderID: OrderID
        public var side: Side
        public var price: Price
        public var quantity: Quantity

        public init(_ kind: Kind, _ symbol: Symbol, _ orderID: OrderID, _ side: Side, price: Price, quantity: Quantity) {
            self.kind = kind
            self.symbol = symbol
            self.orderID = orderID
            self.side = side
            self.price = price
            self.quantity = quantity
        }
    }

    public struct Level: Equatable, Sendable {
        public var price: Price
        public var shown: Quantity
        public var orders: Int

        public init(price: Price, shown: Quantity, orders: Int) {
            self.price = price
            self.shown = shown
            self.orders = orders
        }
    }

    public struct ShownOrder: Equatable, Sendable {
        public var orderID: OrderID
        public var price: Price
        public var shown: Quantity
    }

    struct Tracked {
        var symbol: Symbol
        var side: Side
        var price: Int64
        var shown: Int64
        /// Neighbours in the level's queue (0: none).
        var prev: UInt64 = 0
        var next: UInt64 = 0
    }

    struct LevelQueue {
        var head: UInt64 = 0
        var tail: UInt64 = 0
        var shown: Int64 = 0
        var count = 0
    }

    struct SideBook {
        /// Prices best first.
        var prices: [Int64] = []
        var levels: [Int64: LevelQueue] = [:]
        let isBuy: Bool

        init(isBuy: Bool) { self.isBuy = isBuy }

        /// Where `price` is or would go in `prices`.
        func position(_ price: Int64) -> Int {
            var low = 0, high = prices.count
            while low < high {
                let mid = (low + high) / 2
                if isBuy ? prices[mid] > price : prices[mid] < price { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    struct Book {
        var state: TradingState = .closed
        var bids = SideBook(isBuy: true)
        var asks = SideBook(isBuy: false)
    }

    private var books: [Symbol: Book] = [:]
    /// The orders on the books.
    private var orders: [UInt64: Tracked] = [:]
    private var out: [Change] = []

    public init() {}

    /// Continues from a book as the engine holds it (orders as `MatchingEngine.openOrderStates` lists
    /// them), so that a consumer starting after recovery follows the books from there.
    public mutating func seed(_ symbol: Symbol, state: TradingState, orders open: [OpenOrderState]) {
        books[symbol] = Book()
        books[symbol]!.state = state
        for o in open where o.place == .book {
            orders[o.orderID.rawValue] = Tracked(symbol: symbol, side: o.side, price: o.limitPrice?.units ?? 0,
                                                 shown: o.visible.shares)
            link(o.orderID.rawValue)
        }
    }

    public var symbols: [Symbol] { books.keys.sorted { $0.description < $1.description } }
    public func state(_ symbol: Symbol) -> TradingState? { books[symbol]?.state }

    /// Applies one command's events; returns the changes to the displayed books, in order.
    public mutating func apply(_ events: [Event]) -> [Change] {
        out.removeAll(keepingCapacity: true)
        for event in events { apply(event) }
        return out
    }

    private mutating func apply(_ event: Event) {
        switch event {
        case .symbolListed(let symbol):
            if books[symbol] == nil { books[symbol] = Book() }
        case .tradingStateChanged(let symbol, let state):
            books[symbol, default: Book()].state = state
        case .orderRested(let orderID, _, let symbol, let side, let price, let shown):
            let id = orderID.rawValue
            precondition(orders[id] == nil, "order \(id) rested while on the book")
            orders[id] = Tracked(symbol: symbol, side: side, price: price.units, shown: shown.shares)
            link(id)
            out.append(Change(.add, symbol, orderID, side, price: price, quantity: shown))
        case .trade(let t):
            execute(t)
        case .selfTradeDecremented(let orderID, _, _, let leaves):
            // Only a decrement keeps an order's place, so what it shows can only go down.
            guard let o = orders[orderID.rawValue] else { return }
            let shown = min(o.shown, leaves.shares)
            setShown(orderID.rawValue, shown)
            out.append(Change(.modify(newID: nil), o.symbol, orderID, o.side, price: Price(units: o.price), quantity: Quantity(shown)))
        case .orderCancelled(let orderID, _, _, _), .orderExpired(let orderID, _, _):
            remove(orderID.rawValue)
        case .orderReplaced(let r):
            replace(r)
        default:
            break
        }
    }

    /// A trade takes from the maker's shown slice; an order with nothing shown leaves the book (an iceberg's
    /// next slice comes to rest in an event of its own).
    private mutating func execute(_ t: Trade) {
        let id = t.makerOrderID.rawValue
        guard let o = orders[id] else { return }
        let shown = o.shown - t.quantity.shares
        precondition(shown >= 0, "trade of \(t.quantity) against \(o.shown) shown of order \(id)")
        setShown(id, shown)
        out.append(Change(.execute(t.executionID), o.symbol, t.makerOrderID, o.side, price: t.price, quantity: t.quantity))
        if shown == 0 || t.makerLeaves.shares == 0 {
            unlink(id)
            orders[id] = nil
        }
    }

    /// A replace that keeps the order's place only reduces it; any other leaves the book, and the engine says
    /// where the order then rests, if it does.
    private mutating func replace(_ r: Replacement) {
        let id = r.orderID.rawValue, newID = r.newOrderID.rawValue
        guard let o = orders[id] else { return }
        guard r.keptPriority else {
            remove(id)
            return
        }
        let shown = min(o.shown, r.leaves.shares)
        setShown(id, shown)
        rename(id, to: newID)
        out.append(Change(.modify(newID: newID == id ? nil : r.newOrderID), o.symbol, r.orderID, o.side,
                          price: Price(units: o.price), quantity: Quantity(shown)))
    }

    /// Takes an order off the book, if it is on it.
    private mutating func remove(_ id: UInt64) {
        guard let o = orders[id] else { return }
        unlink(id)
        orders[id] = nil
        out.append(Change(.delete, o.symbol, OrderID(id), o.side, price: Price(units: o.price), quantity: Quantity(0)))
    }

    // MARK: - Level queues

    private func side(_ o: Tracked) -> WritableKeyPath<Book, SideBook> { o.side == .buy ? \.bids : \.asks }

    private mutating func link(_ id: UInt64) {
        let o = orders[id]!
        let path = side(o)
        var sideBook = books[o.symbol]![keyPath: path]
        var level = sideBook.levels[o.price] ?? {
            sideBook.prices.insert(o.price, at: sideBook.position(o.price))
            return LevelQueue()
        }()
        if level.tail != 0 { orders[level.tail]!.next = id } else { level.head = id }
        orders[id]!.prev = level.tail
        orders[id]!.next = 0
        level.tail = id
        level.count += 1
        level.shown += o.shown
        sideBook.levels[o.price] = level
        books[o.symbol]![keyPath: path] = sideBook
    }

    private mutating func unlink(_ id: UInt64) {
        let o = orders[id]!
        let path = side(o)
        var sideBook = books[o.symbol]![keyPath: path]
        var level = sideBook.levels[o.price]!
        if o.prev != 0 { orders[o.prev]!.next = o.next } else { level.head = o.next }
        if o.next != 0 { orders[o.next]!.prev = o.prev } else { level.tail = o.prev }
        level.count -= 1
        level.shown -= o.shown
        if level.count == 0 {
            sideBook.levels[o.price] = nil
            sideBook.prices.remove(at: sideBook.position(o.price))
        } else {
            sideBook.levels[o.price] = level
        }
        orders[id]!.prev = 0
        orders[id]!.next = 0
        books[o.symbol]![keyPath: path] = sideBook
    }

    private mutating func setShown(_ id: UInt64, _ shown: Int64) {
        let o = orders[id]!
        let path = side(o)
        books[o.symbol]![keyPath: path].levels[o.price]!.shown += shown - o.shown
        orders[id]!.shown = shown
    }

    /// A resting order continues under a new id in its place.
    private mutating func rename(_ id: UInt64, to newID: UInt64) {
        guard newID != id, let o = orders.removeValue(forKey: id) else { return }
        orders[newID] = o
        if o.prev != 0 { orders[o.prev]!.next = newID }
        if o.next != 0 { orders[o.next]!.prev = newID }
        let path = side(o)
        var level = books[o.symbol]![keyPath: path].levels[o.price]!
        if level.head == id { level.head = newID }
        if level.tail == id { level.tail = newID }
        books[o.symbol]![keyPath: path].levels[o.price] = level
    }

    // MARK: - Reading

    /// The best `count` levels of a side, best first.
    public func depth(_ symbol: Symbol, _ side: Side, levels count: Int) -> [Level] {
        guard let book = books[symbol] else { return [] }
        let sideBook = side == .buy ? book.bids : book.asks
        return sideBook.prices.prefix(count).map { price in
            let level = sideBook.levels[price]!
            return Level(price: Price(units: price), shown: Quantity(level.shown), orders: level.count)
        }
    }

    public func level(_ symbol: Symbol, _ side: Side, price: Price) -> Level? {
        guard let book = books[symbol], let level = (side == .buy ? book.bids : book.asks).levels[price.units] else { return nil }
        return Level(price: price, shown: Quantity(level.shown), orders: level.count)
    }

    /// The shown orders of the best `count` levels of a side, level by level best first, each in time priority.
    public func orders(_ symbol: Symbol, _ side: Side, levels count: Int = .max) -> [[ShownOrder]] {
        guard let book = books[symbol] else { return [] }
        let sideBook = side == .buy ? book.bids : book.asks
        return sideBook.prices.prefix(count).map { price in
            var level: [ShownOrder] = []
            var id = sideBook.levels[price]!.head
            while id != 0 {
                let o = orders[id]!
                level.append(ShownOrder(orderID: OrderID(id), price: Price(units: price), shown: Quantity(o.shown)))
                id = o.next
            }
            return level
        }
    }

    /// Orders on the books.
    public var orderCount: Int { orders.count }
}
