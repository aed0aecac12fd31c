import BourseCore
import BourseEngine

/// Seeded random streams for an engine that keeps accounts: the order flow of `CommandStream` from
/// six accounts (three cash, three margin) with small balances, so buying power, positions and limits
/// bind often, mixed with deposits, withdrawals, transfers of shares and of cash (through banks), journals
/// between the accounts, account states, kill switches, limit changes and easy-to-borrow changes.
public struct AccountStream {
    public var orders: CommandStream
    /// Bank transfers requested so far: the engine numbers those it queues from 1, so later steps name
    /// recent numbers (some never queued, which the engine refuses as unknown).
    var transfersRequested: UInt64 = 0
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
        case 16..<19:
            let to = Self.accounts.randomElement(using: &orders.rng)!.0
            let asset: Journal.Asset = Bool.random(using: &orders.rng)
                ? .cash(Money(units: Int64.random(in: -1...800, using: &orders.rng) * 10_000 + Int64.random(in: 0...1, using: &orders.rng)))
                : .shares(symbol, Quantity(Int64.random(in: 0...60, using: &orders.rng)))
            return orders.stamp(.journal(Journal(from: account, to: to, asset: asset)))
        case 19..<21:
            let direction = TransferDirection.allCases.randomElement(using: &orders.rng)!
            let request = TransferRequest(account: account, direction: direction,
                                          amount: Money(units: Int64.random(in: 0...1_500, using: &orders.rng) * 10_000),
                                          bankStepSeconds: UInt32.random(in: 0...2, using: &orders.rng))
            transfersRequested += 1
            return orders.stamp(.requestTransfer(request))
        case 21..<23 where transfersRequested > 0:
            let id = UInt64.random(in: (transfersRequested > 8 ? transfersRequested - 8 : 1)...transfersRequested, using: &orders.rng)
            return orders.stamp(.advanceTransfer(id, TransferStatus.allCases.randomElement(using: &orders.rng)!))
        case 23:
            // The bank's clock: a second passes, so steps of a second come due.
            orders.time += 1_000_000_000
            return orders.stamp(.advanceTransfers)
        default:
            return orders.next()
        }
    }
}
