import BourseCore

/// Bourse's own order books, rebuilt from its event stream alone, as a market data consumer sees it: every
/// displayed order in time priority at its price, and the level totals. Each command's events are turned
/// into order-level changes (`Change`), the level 3 feed; levels 2 and 1 are read from the same books.
///
/// Events do not say when an order comes to rest, so this follows the engine's documented rules: an order
/// is worked from its acceptance (or its trigger, or a replace that lost priority, or its release at the
/// open) until the next order starts being worked or the command ends; what is then left of a limit order
/// that was neither cancelled nor filled rests at the back of its level. Stops and orders held in pre-open
/// are kept but not displayed. An iceberg shows `min(display, leaves)`; a new slice goes to the back.
/// The differential tests hold this to the engine's own books after every command.
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

    enum Place { case working, book, stop, pending }

    struct Tracked {
        var symbol: Symbol
        var side: Side
        var isStop: Bool
        var triggered = false
        var price: Int64
        var display: Int64
        var leaves: Int64
        var shown: Int64 = 0
        var place: Place = .working
        /// Neighbours in the level's queue (0: none) while on the book.
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
        /// Orders held in pre-open, in acceptance order.
        var pending: [UInt64] = []
    }

    private var books: [Symbol: Book] = [:]
    private var orders: [UInt64: Tracked] = [:]
    /// The order being worked in the current command, and orders released at the open still to arrive.
    private var working: UInt64 = 0
    private var arriving: [UInt64] = []
    private var out: [Change] = []

    public init() {}

    /// Continues from a book as the engine holds it (orders as `MatchingEngine.openOrderStates` lists
    /// them), so that a consumer starting after recovery follows the books from there.
    public mutating func seed(_ symbol: Symbol, state: TradingState, orders open: [OpenOrderState]) {
        books[symbol] = Book()
        books[symbol]!.state = state
        for o in open {
            let id = o.orderID.rawValue
            var tracked = Tracked(symbol: symbol, side: o.side, isStop: o.isStop, price: o.limitPrice?.units ?? 0,
                                  display: o.displayQuantity?.shares ?? 0, leaves: o.leaves.shares)
            switch o.place {
            case .pending:
                tracked.place = .pending
                orders[id] = tracked
                books[symbol]!.pending.append(id)
            case .stop:
                tracked.place = .stop
                orders[id] = tracked
            case .book:
                tracked.place = .book
                tracked.shown = o.visible.shares
                orders[id] = tracked
                link(id)
            }
        }
    }

    public var symbols: [Symbol] { books.keys.sorted { $0.description < $1.description } }
    public func state(_ symbol: Symbol) -> TradingState? { books[symbol]?.state }

    /// Applies one command's events; returns the changes to the displayed books, in order.
    public mutating func apply(_ events: [Event]) -> [Change] {
        out.removeAll(keepingCapacity: true)
        for event in events { apply(event) }
        settle(working)
        working = 0
        for id in arriving { settle(id) }
        arriving.removeAll()
        return out
    }

    private mutating func apply(_ event: Event) {
        switch event {
        case .symbolListed(let symbol):
            if books[symbol] == nil { books[symbol] = Book() }
        case .tradingStateChanged(let symbol, let state):
            books[symbol, default: Book()].state = state
            if state == .open, let pending = books[symbol]?.pending, !pending.isEmpty {
                books[symbol]!.pending.removeAll()
                arriving.append(contentsOf: pending)
            }
        case .orderAccepted(let o):
            let id = o.orderID.rawValue
            var tracked = Tracked(symbol: o.symbol, side: o.side, isStop: o.type.isStop, price: o.limitPrice?.units ?? 0,
                                  display: o.displayQuantity?.shares ?? 0, leaves: o.quantity.shares)
            if books[o.symbol]?.state == .preOpen {
                tracked.place = .pending
                orders[id] = tracked
                books[o.symbol]!.pending.append(id)
            } else if o.type.isStop {
                tracked.place = .stop
                orders[id] = tracked
            } else {
                orders[id] = tracked
                bringUp(id)
            }
        case .stopTriggered(let orderID, _, _):
            let id = orderID.rawValue
            bringUp(id)
            orders[id]?.triggered = true
            orders[id]?.place = .working
        case .trade(let t):
            bringUp(t.takerOrderID.rawValue)
            orders[t.takerOrderID.rawValue]?.leaves = t.takerLeaves.shares
            execute(t)
        case .selfTradeDecremented(let orderID, _, _, let leaves):
            let id = orderID.rawValue
            guard let o = orders[id] else { return }
            if o.place == .book {
                let shown = min(o.shown, leaves.shares)
                orders[id]!.leaves = leaves.shares
                setShown(id, shown)
                out.append(Change(.modify(newID: nil), o.symbol, orderID, o.side, price: Price(units: o.price), quantity: Quantity(shown)))
            } else {
                bringUp(id)
                orders[id]!.leaves = leaves.shares
            }
        case .orderCancelled(let orderID, _, _, _), .orderExpired(let orderID, _, _):
            let id = orderID.rawValue
            guard let o = orders[id] else { return }
            if o.place == .working || arriving.contains(id) { bringUp(id) }
            remove(id)
            if working == id { working = 0 }
        case .orderReplaced(let r):
            replace(r)
        default:
            break
        }
    }

    /// The order `id` is being worked now: the one worked before it has finished, and so have orders
    /// released at the open that arrived before it.
    private mutating func bringUp(_ id: UInt64) {
        guard working != id else { return }
        settle(working)
        if let i = arriving.firstIndex(of: id) {
            for earlier in arriving[..<i] { settle(earlier) }
            arriving.removeFirst(i + 1)
            orders[id]?.place = .working
        }
        working = id
    }

    /// An order has finished being worked: an untriggered stop waits for its trigger, a limit order with
    /// shares left rests. (Market orders and IOC remainders are cancelled by the engine, so an order still
    /// held here with shares left is one that rests.)
    private mutating func settle(_ id: UInt64) {
        guard id != 0, let o = orders[id], o.place == .working || o.place == .pending else { return }
        if o.isStop && !o.triggered {
            orders[id]!.place = .stop
        } else if o.leaves > 0 {
            rest(id)
        } else {
            orders[id] = nil
        }
    }

    private mutating func rest(_ id: UInt64) {
        var o = orders[id]!
        o.shown = o.display > 0 ? min(o.display, o.leaves) : o.leaves
        o.place = .book
        orders[id] = o
        link(id)
        out.append(Change(.add, o.symbol, OrderID(id), o.side, price: Price(units: o.price), quantity: Quantity(o.shown)))
    }

    private mutating func execute(_ t: Trade) {
        let id = t.makerOrderID.rawValue
        guard var o = orders[id], o.place == .book else { return }
        let q = t.quantity.shares
        o.leaves = t.makerLeaves.shares
        orders[id] = o
        setShown(id, o.shown - q)
        out.append(Change(.execute(t.executionID), o.symbol, t.makerOrderID, o.side, price: t.price, quantity: t.quantity))
        if o.leaves == 0 {
            unlink(id)
            orders[id] = nil
        } else if o.shown - q == 0 {
            // An iceberg's next slice, at the back of its level.
            unlink(id)
            orders[id]!.place = .working
            rest(id)
        }
    }

    private mutating func replace(_ r: Replacement) {
        let id = r.orderID.rawValue, newID = r.newOrderID.rawValue
        guard var o = orders[id] else { return }
        if r.keptPriority {
            if o.place == .book {
                let shown = o.display > 0 ? min(o.shown, r.leaves.shares) : r.leaves.shares
                setShown(id, shown)
                orders[id]!.leaves = r.leaves.shares
                rename(id, to: newID)
                out.append(Change(.modify(newID: newID == id ? nil : r.newOrderID), o.symbol, r.orderID, o.side,
                                  price: Price(units: o.price), quantity: Quantity(shown)))
            } else {
                o.leaves = r.leaves.shares
                orders[id] = nil
                orders[newID] = o
                if o.place == .pending, let i = books[o.symbol]?.pending.firstIndex(of: id) { books[o.symbol]!.pending[i] = newID }
            }
            return
        }
        let place = o.place
        remove(id)
        o.prev = 0
        o.next = 0
        o.leaves = r.leaves.shares
        o.price = r.limitPrice?.units ?? o.price
        let state = books[o.symbol]?.state
        if place == .pending || (place == .book && state == .preOpen) {
            o.place = .pending
            orders[newID] = o
            books[o.symbol]!.pending.append(newID)
        } else if place == .stop {
            o.place = .stop
            orders[newID] = o
        } else {
            o.place = .working
            orders[newID] = o
            bringUp(newID)
        }
    }

    /// Takes an order off wherever it is.
    private mutating func remove(_ id: UInt64) {
        guard let o = orders[id] else { return }
        switch o.place {
        case .book:
            unlink(id)
            out.append(Change(.delete, o.symbol, OrderID(id), o.side, price: Price(units: o.price), quantity: Quantity(0)))
        case .pending:
            if let i = books[o.symbol]?.pending.firstIndex(of: id) { books[o.symbol]!.pending.remove(at: i) }
        case .working, .stop:
            break
        }
        if let i = arriving.firstIndex(of: id) { arriving.remove(at: i) }
        orders[id] = nil
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

    /// Orders held: shown, waiting for a trigger, or held for the open.
    public var orderCount: Int { orders.count }
}
