import BourseCore
import BourseEngine

/// Seeded random streams for an engine that keeps accounts: the order flow of `CommandStream` from
/// six accounts (three cash, three margin) with small balances, so buying power, positions and limits
/// bind often, mixed with deposits, withdrawals, transfers, account states, kill switches, limit changes
/// and easy-to-borrow changes.
public struct AccountStream {
    public var orders: CommandStream
    public static let accounts: [(AccountID, AccountKind)] = (1...6).map { (AccountID(UInt32($0)), $0 <= 3 ? .cash : .margin) }
    var symbols: [Symbol] { orders.symbols }

    public init(seed: UInt64) {
        orders = CommandStream(seed: seed)
        orders.accountCount = 6
        orders.sendsLists = true
    }

    /// Lists AAA (easy to borrow, a maker rebate and a taker fee) and BB.B (lots of 10, fees both ways),
    /// both with a previous close so that collars have a reference, opens and funds the accounts.
    public mutating func opening() -> [SequencedCommand] {
        var commands = [
            orders.stamp(.listSymbol(symbols[0], InstrumentRules(previousClose: Price(units: 100_000)))),
            orders.stamp(.setFees(symbols[0], FeeSchedule(makerPerShare: Money(units: -20), takerPerShare: Money(units: 30)))),
            orders.stamp(.setEasyToBorrow(symbols[0], true)),
            orders.stamp(.listSymbol(symbols[1], InstrumentRules(
                tickTable: .halfPenny, lotSize: Quantity(10), orderQtyMax: Quantity(500), previousClose: Price(units: 100_000)))),
            orders.stamp(.setFees(symbols[1], FeeSchedule(makerPerShare: Money(units: 10), takerPerShare: Money(units: 10)))),
            orders.stamp(.setTradingState(symbols[0], .open)),
            orders.stamp(.setTradingState(symbols[1], .open)),
        ]
        for (id, kind) in Self.accounts {
            var limits = AccountLimits()
            limits.openOrdersPerSymbolMax = 12
            limits.positionMax = Quantity(400)
            commands.append(orders.stamp(.openAccount(id, AccountNumber(defaultFor: id), AccountTerms(kind: kind, limits: limits))))
            commands.append(orders.stamp(.deposit(id, Money(dollars: Int64.random(in: 200...3_000, using: &orders.rng)))))
            for symbol in symbols where Bool.random(using: &orders.rng) {
                commands.append(orders.stamp(.transferIn(id, symbol, Quantity(10 * Int64.random(in: 1...10, using: &orders.rng)),
                                                         costPerShare: Price(units: 95_000))))
            }
        }
        return commands
    }

    public mutating func next() -> SequencedCommand {
        let roll = Int.random(in: 0..<100, using: &orders.rng)
        let account = Self.accounts.randomElement(using: &orders.rng)!.0
        let symbol = symbols.randomElement(using: &orders.rng)!
        switch roll {
        case 0..<3:
            return orders.stamp(.deposit(account, Money(units: Int64.random(in: -1...2_000, using: &orders.rng) * 10_000)))
        case 3..<6:
            return orders.stamp(.withdraw(account, Money(units: Int64.random(in: 0...1_500, using: &orders.rng) * 10_000)))
        case 6..<8:
            return orders.stamp(.transferIn(account, symbol, Quantity(10 * Int64.random(in: 0...5, using: &orders.rng)),
                                            costPerShare: Price(units: 100_000)))
        case 8..<10:
            return orders.stamp(.transferOut(account, symbol, Quantity(10 * Int64.random(in: 1...5, using: &orders.rng))))
        case 10..<12:
            let states: [AccountState] = [.active, .active, .active, .reduceOnly, .blocked]
            return orders.stamp(.setAccountState(account, states.randomElement(using: &orders.rng)!))
        case 12:
            return orders.stamp(.killSwitch(account))
        case 13:
            return orders.stamp(.setEasyToBorrow(symbol, Bool.random(using: &orders.rng)))
        case 14:
            var limits = AccountLimits()
            limits.openOrdersPerSymbolMax = Int64.random(in: 1...12, using: &orders.rng)
            limits.positionMax = Quantity(Int64.random(in: 50...400, using: &orders.rng))
            limits.collarBasisPoints = Int64.random(in: 50...1_000, using: &orders.rng)
            return orders.stamp(.setAccountLimits(account, limits))
        case 15 where Int.random(in: 0..<4, using: &orders.rng) == 0:
            return orders.stamp(.closeAccount(account))
        default:
            return orders.next()
        }
    }
}
