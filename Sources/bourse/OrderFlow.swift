import BourseCore
import BourseEngine

/// Synthetic order flow for `bourse bench`: a book held near a target size around a fixed mid price,
/// with passive limit orders over `levels` price levels a side, cancels of random resting orders and
/// aggressive IOC orders that take the top levels. Seeded, so every run sees the same commands.
/// The flow runs its own engine while generating so that cancels target orders that still rest.
/// With `accounts`, orders come from that many funded accounts (even ids margin, odd ids cash), each
/// holding shares of every symbol so that sells reduce positions; the engine then keeps accounts.
struct OrderFlow {
    struct Shape {
        var name: String
        var symbols: Int
        /// Resting orders the flow keeps each book near.
        var restingTarget: Int
        var levels: Int
        var cancelPercent: Int
        var iocPercent: Int

        static let steady = Shape(name: "steady", symbols: 1, restingTarget: 500, levels: 50, cancelPercent: 60, iocPercent: 10)
        static let deep = Shape(name: "deep", symbols: 1, restingTarget: 150_000, levels: 100, cancelPercent: 60, iocPercent: 10)
    }

    struct Mix {
        var adds = 0
        var cancels = 0
        var iocs = 0
    }

    let shape: Shape
    /// Funded accounts the orders come from; 0 for an engine without accounts.
    let accounts: Int
    private var rng: SplitMix64
    private var nextID: UInt64 = 1
    private var live: [[(id: UInt64, account: UInt32)]]
    /// Where each resting order is in `live`, for removal when it fills.
    private var position: [UInt64: Int] = [:]
    private var symbols: [Symbol]
    private let shadow: MatchingEngine
    private var shadowEvents: [Event] = []
    private var sequence: UInt64 = 0
    private(set) var mix = Mix()
    static let mid: Int64 = 1_000_000  // $100.00
    static let tick: Int64 = 100

    init(shape: Shape, seed: UInt64, accounts: Int = 0) {
        self.shape = shape
        self.accounts = accounts
        shadow = MatchingEngine(keepsAccounts: accounts > 0)
        rng = SplitMix64(seed: seed)
        symbols = (0..<shape.symbols).map { try! Symbol(validating: "SYM\($0)") }
        live = Array(repeating: [], count: shape.symbols)
        for i in live.indices { live[i].reserveCapacity(shape.restingTarget * 2) }
    }

    /// Lists and opens the symbols, and opens and funds the accounts: $100 million and 1,000,000
    /// shares of each symbol apiece, far more than the flow can use up.
    mutating func setup() -> [Command] {
        var commands: [Command] = []
        // With accounts the symbols have what risk needs: a reference price, fees (a maker rebate and a
        // taker fee, so both directions post) and the easy-to-borrow flag.
        let rules = accounts == 0 ? InstrumentRules.standard : InstrumentRules(previousClose: Price(units: Self.mid))
        for symbol in symbols {
            commands.append(track(.listSymbol(symbol, rules)))
            if accounts > 0 {
                commands.append(track(.setFees(symbol, FeeSchedule(makerPerShare: Money(units: -20), takerPerShare: Money(units: 30)))))
                commands.append(track(.setEasyToBorrow(symbol, true)))
            }
            commands.append(track(.setTradingState(symbol, .open)))
        }
        for a in 0..<accounts {
            let id = AccountID(UInt32(a + 1))
            commands.append(track(.openAccount(id, AccountNumber(defaultFor: id), AccountTerms(kind: a % 2 == 1 ? .margin : .cash))))
            commands.append(track(.deposit(id, Money(dollars: 100_000_000))))
            for symbol in symbols {
                commands.append(track(.transferIn(id, symbol, Quantity(1_000_000), costPerShare: Price(units: Self.mid))))
            }
        }
        return commands
    }

    private mutating func account() -> UInt32 {
        UInt32.random(in: 1...UInt32(accounts == 0 ? 1_000 : accounts), using: &rng)
    }

    /// Passive orders that bring every book to its target size; not part of the measured flow.
    mutating func fill() -> [Command] {
        var commands: [Command] = []
        for s in symbols.indices {
            while live[s].count < shape.restingTarget { commands.append(track(add(s))) }
        }
        return commands
    }

    /// Applies a generated command to the shadow engine and forgets makers that filled completely.
    private mutating func track(_ command: Command) -> Command {
        sequence += 1
        shadowEvents.removeAll(keepingCapacity: true)
        shadow.process(SequencedCommand(sequence: sequence, time: Timestamp(nanos: Int64(sequence)), command: command),
                       into: &shadowEvents)
        for case .trade(let t) in shadowEvents where t.makerLeaves.shares == 0 {
            let s = symbols.firstIndex(of: t.symbol)!
            remove(at: position[t.makerOrderID.rawValue]!, in: s)
        }
        return command
    }

    private mutating func remove(at i: Int, in s: Int) {
        let gone = live[s][i]
        position[gone.id] = nil
        live[s].swapAt(i, live[s].count - 1)
        live[s].removeLast()
        if i < live[s].count { position[live[s][i].id] = i }
    }

    /// The measured flow. Cancels are drawn `cancelPercent` of the time but only while the book is
    /// at or above its target, otherwise an add is drawn instead: a steady book needs about as many
    /// adds as cancels and fills, so the realized mix is reported next to the shape.
    mutating func next() -> Command {
        let s = shape.symbols == 1 ? 0 : Int.random(in: 0..<shape.symbols, using: &rng)
        let roll = Int.random(in: 0..<100, using: &rng)
        if roll < shape.iocPercent { return track(ioc(s)) }
        if roll < shape.iocPercent + shape.cancelPercent, live[s].count >= shape.restingTarget, !live[s].isEmpty {
            return track(cancel(s))
        }
        return track(add(s))
    }

    private mutating func add(_ s: Int) -> Command {
        mix.adds += 1
        let side: Side = Bool.random(using: &rng) ? .buy : .sell
        // Denser near the top of the book: the square of a uniform draw leans toward 1.
        let u = Int64.random(in: 0..<Int64(shape.levels), using: &rng)
        let depth = 1 + u * u / Int64(shape.levels)
        let price = side == .buy ? Self.mid - depth * Self.tick : Self.mid + depth * Self.tick
        let id = nextID
        nextID += 1
        let account = account()
        position[id] = live[s].count
        live[s].append((id, account))
        return .newOrder(NewOrder(orderID: OrderID(id), account: AccountID(account), symbol: symbols[s], side: side,
                                  type: .limit, timeInForce: .day, quantity: Quantity(100 * Int64.random(in: 1...10, using: &rng)),
                                  limitPrice: Price(units: price)))
    }

    private mutating func cancel(_ s: Int) -> Command {
        mix.cancels += 1
        let i = Int.random(in: 0..<live[s].count, using: &rng)
        let victim = live[s][i]
        remove(at: i, in: s)
        return .cancel(CancelOrder(orderID: OrderID(victim.id), account: AccountID(victim.account)))
    }

    private mutating func ioc(_ s: Int) -> Command {
        mix.iocs += 1
        let side: Side = Bool.random(using: &rng) ? .buy : .sell
        let reach = Int64.random(in: 1...3, using: &rng) * Self.tick
        let id = nextID
        nextID += 1
        return .newOrder(NewOrder(orderID: OrderID(id), account: AccountID(account()),
                                  symbol: symbols[s], side: side, type: .limit, timeInForce: .ioc,
                                  quantity: Quantity(100 * Int64.random(in: 1...5, using: &rng)),
                                  limitPrice: Price(units: side == .buy ? Self.mid + reach : Self.mid - reach)))
    }
}
