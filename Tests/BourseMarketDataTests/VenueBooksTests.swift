import BourseCore
import BourseEngine
import BourseMarketData
import BourseTestSupport
import Testing

@Suite("the venue's books rebuilt from its events")
struct VenueBooksTests {
    /// A level 3 subscriber's book: built only from the published changes.
    struct Subscriber {
        struct Shown: Equatable { var id: UInt64; var side: Side; var price: Int64; var shown: Int64 }
        /// Per symbol and side, levels by price, each a queue in time priority.
        var levels: [String: [Int64: [Shown]]] = [:]
        var where_: [UInt64: (String, Int64)] = [:]

        mutating func apply(_ change: VenueBooks.Change) -> String? {
            let id = change.orderID.rawValue, key = "\(change.symbol) \(change.side)", at = change.price.units
            if change.kind != .add {
                guard let found = where_[id], found == (key, at) else { return "\(change.kind) of \(id) not shown at \(change.price)" }
            }
            switch change.kind {
            case .add:
                guard where_[id] == nil else { return "add of \(id) already shown" }
                levels[key, default: [:]][at, default: []].append(Shown(id: id, side: change.side, price: at, shown: change.quantity.shares))
                where_[id] = (key, at)
            case .execute:
                let i = levels[key]![at]!.firstIndex { $0.id == id }!
                levels[key]![at]![i].shown -= change.quantity.shares
                if levels[key]![at]![i].shown < 0 { return "execute of \(id) beyond what it shows" }
                if levels[key]![at]![i].shown == 0 { drop(id) }
            case .modify(let newID):
                let i = levels[key]![at]!.firstIndex { $0.id == id }!
                guard change.quantity.shares > 0, change.quantity.shares <= levels[key]![at]![i].shown else { return "modify of \(id) is not a reduction" }
                levels[key]![at]![i].shown = change.quantity.shares
                if let newID {
                    levels[key]![at]![i].id = newID.rawValue
                    where_[id] = nil
                    where_[newID.rawValue] = (key, at)
                }
            case .delete:
                drop(id)
            }
            return nil
        }

        mutating func drop(_ id: UInt64) {
            let (key, at) = where_.removeValue(forKey: id)!
            levels[key]![at]!.removeAll { $0.id == id }
            if levels[key]![at]!.isEmpty { levels[key]![at] = nil }
        }

        func orders(_ symbol: Symbol, _ side: Side) -> [[Shown]] {
            let byPrice = levels["\(symbol) \(side)"] ?? [:]
            return byPrice.keys.sorted(by: side == .buy ? (>) : (<)).map { byPrice[$0]! }
        }
    }

    static func engineOrders(_ engine: MatchingEngine, _ symbol: Symbol, _ side: Side) -> [[Subscriber.Shown]] {
        engine.restingOrders(symbol, side: side).map { $0.map { .init(id: $0.orderID.rawValue, side: side, price: $0.price.units, shown: $0.visible.shares) } }
    }

    static func booksOrders(_ books: VenueBooks, _ symbol: Symbol, _ side: Side) -> [[Subscriber.Shown]] {
        books.orders(symbol, side).map { $0.map { .init(id: $0.orderID.rawValue, side: side, price: $0.price.units, shown: $0.shown.shares) } }
    }

    /// Runs a seeded stream; from `seedAt` on, a second copy seeded from the engine's state follows too.
    static func run(seed: UInt64, commands: Int, seedAt: Int? = nil) -> String? {
        var stream = CommandStream(seed: seed)
        let engine = MatchingEngine()
        var books = VenueBooks()
        var late: VenueBooks?
        var subscriber = Subscriber()
        let opening = stream.opening()
        for step in 0..<(opening.count + commands) {
            if step == seedAt {
                var copy = VenueBooks()
                for symbol in stream.symbols {
                    copy.seed(symbol, state: engine.tradingState(symbol)!, orders: engine.openOrderStates(symbol))
                }
                late = copy
            }
            let command = step < opening.count ? opening[step] : stream.next()
            let events = engine.process(command)
            for change in books.apply(events) {
                if let problem = subscriber.apply(change) { return "command \(command.sequence) \(command.command): \(problem)" }
            }
            _ = late?.apply(events)
            for symbol in stream.symbols {
                for side in [Side.buy, .sell] {
                    let expected = engineOrders(engine, symbol, side)
                    if booksOrders(books, symbol, side) != expected {
                        return "command \(command.sequence) \(command.command) \(events)\n \(symbol) \(side)\n  books:  \(booksOrders(books, symbol, side))\n  engine: \(expected)"
                    }
                    if subscriber.orders(symbol, side) != expected {
                        return "command \(command.sequence): the subscriber's \(symbol) \(side) differs\n  \(subscriber.orders(symbol, side))\n  engine: \(expected)"
                    }
                    if let late, booksOrders(late, symbol, side) != expected {
                        return "command \(command.sequence): the copy seeded at \(seedAt!) differs on \(symbol) \(side)"
                    }
                    let depth = books.depth(symbol, side, levels: 5).map { "\($0.price) \($0.shown) \($0.orders)" }
                    if depth != engine.depth(symbol, side: side, levels: 5).map({ "\($0.price) \($0.visible) \($0.orders)" }) { return "command \(command.sequence): depth of \(symbol) \(side) differs" }
                }
            }
        }
        return nil
    }

    @Test("after every command of random streams the books, and a subscriber following the changes, equal the engine's",
          arguments: [1...150, 151...300, 301...450, 451...600] as [ClosedRange<UInt64>])
    func randomStreams(seeds: ClosedRange<UInt64>) {
        for seed in seeds {
            if let failure = Self.run(seed: seed, commands: 400, seedAt: Int(seed % 300) + 4) {
                Issue.record("seed \(seed): \(failure)")
                return
            }
        }
    }

    @Test("a long stream stays equal")
    func longStream() {
        #expect(Self.run(seed: 0x5EED_B00C, commands: 20_000, seedAt: 7_000) == nil)
    }

    @Test("an iceberg's new slice goes to the back of its level as an add; a reduce keeps the place as a modify")
    func iceberg() throws {
        let s = try Symbol(validating: "ICE")
        let engine = MatchingEngine()
        var books = VenueBooks()
        var sequence: UInt64 = 0
        func when(_ command: Command) -> [VenueBooks.Change] {
            sequence += 1
            return books.apply(engine.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command)))
        }
        func limit(_ id: UInt64, _ side: Side, _ q: Int64, display: Int64? = nil) -> NewOrder {
            NewOrder(orderID: OrderID(id), account: AccountID(1), symbol: s, side: side, type: .limit, timeInForce: .day,
                     quantity: Quantity(q), limitPrice: Price(units: 100_000), displayQuantity: display.map(Quantity.init))
        }
        _ = when(.listSymbol(s, .standard))
        _ = when(.setTradingState(s, .open))
        let price = Price(units: 100_000)
        #expect(when(.newOrder(limit(1, .sell, 30, display: 10))) == [.init(.add, s, OrderID(1), .sell, price: price, quantity: Quantity(10))])
        _ = when(.newOrder(limit(2, .sell, 5)))
        #expect(when(.newOrder(limit(3, .buy, 10))) == [
            .init(.execute(ExecutionID(1)), s, OrderID(1), .sell, price: price, quantity: Quantity(10)),
            .init(.add, s, OrderID(1), .sell, price: price, quantity: Quantity(10)),
        ])
        #expect(books.orders(s, .sell).first?.map(\.orderID) == [OrderID(2), OrderID(1)])
        let reduce = ReplaceOrder(orderID: OrderID(1), newOrderID: OrderID(4), account: AccountID(1), quantity: Quantity(15))
        #expect(when(.replace(reduce)) == [.init(.modify(newID: OrderID(4)), s, OrderID(1), .sell, price: price, quantity: Quantity(5))])
        let level = try #require(books.depth(s, .sell, levels: 1).first)
        #expect(level.price == Price(units: 100_000) && level.shown == Quantity(10) && level.orders == 2)
    }
}
