import BourseCore

/// CNS-style netting for one settlement date, with the venue as central counterparty: every trade due
/// and every fail carried forward nets, per participant and security, into one obligation to receive or
/// deliver shares against money. Pure integers; the order of the inputs does not change the result.
public enum Netting {
    /// One participant's side of a trade due on the date (the central counterparty holds the other).
    public struct DueTrade: Sendable, Equatable {
        public var account: AccountID
        public var symbol: Symbol
        public var side: Side
        public var quantity: Quantity
        /// What the buyer pays and the seller receives: price × quantity, in 1/10,000 dollar.
        public var money: Money

        public init(account: AccountID, symbol: Symbol, side: Side, quantity: Quantity, money: Money) {
            (self.account, self.symbol, self.side, self.quantity, self.money) = (account, symbol, side, quantity, money)
        }
    }

    /// What one participant is to receive (positive) or deliver (negative) in one security, and the money
    /// it is to receive (positive) or pay (negative) with it. A fail carried forward has the same shape.
    public struct Obligation: Sendable, Hashable, Comparable {
        public var account: AccountID
        public var symbol: Symbol
        public var shares: Int64
        public var money: Int64

        public init(account: AccountID, symbol: Symbol, shares: Int64, money: Int64) {
            (self.account, self.symbol, self.shares, self.money) = (account, symbol, shares, money)
        }

        public static func < (a: Obligation, b: Obligation) -> Bool {
            (a.symbol, a.account) < (b.symbol, b.account)
        }

        public var isNothing: Bool { shares == 0 && money == 0 }
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The largest amount one obligation may carry, in shares or in 1/10,000 dollar: far inside Int64, so
    /// that sums of them (per participant, per security) cannot overflow either.
    public static let sharesMax = Quantity.max.shares * 1_000
    public static let moneyMax = Money.balanceLimit.units

    /// The obligations for a date, sorted by security and participant; a participant and security whose
    /// trades and fails cancel out entirely have none. Refused when an obligation would pass the limits.
    public static func net(_ due: [DueTrade], carried: [Obligation]) throws(Refusal) -> [Obligation] {
        var totals: [Key: (shares: Int64, money: Int64)] = [:]
        func add(_ key: Key, shares: Int64, money: Int64) throws(Refusal) {
            var total = totals[key] ?? (0, 0)
            total.shares += shares
            total.money += money
            guard total.shares.magnitude <= sharesMax.magnitude, total.money.magnitude <= moneyMax.magnitude else {
                throw Refusal(description: "account \(key.account) in \(key.symbol) would owe beyond \(sharesMax) shares or \(Money(units: moneyMax))")
            }
            totals[key] = total
        }
        for trade in due {
            precondition(trade.quantity.shares > 0 && trade.quantity <= Quantity.max && trade.money.units >= 0
                         && trade.money <= Money.orderNotionalLimit, "a trade due is inside the venue's limits")
            let isBuy = trade.side == .buy
            try add(Key(account: trade.account, symbol: trade.symbol),
                    shares: isBuy ? trade.quantity.shares : -trade.quantity.shares, money: isBuy ? -trade.money.units : trade.money.units)
        }
        for fail in carried {
            precondition(fail.shares.magnitude <= sharesMax.magnitude && fail.money.magnitude <= moneyMax.magnitude, "a fail is inside the limits")
            try add(Key(account: fail.account, symbol: fail.symbol), shares: fail.shares, money: fail.money)
        }
        return totals.map { Obligation(account: $0.key.account, symbol: $0.key.symbol, shares: $0.value.shares, money: $0.value.money) }
            .filter { !$0.isNothing }
            .sorted()
    }

    /// Money per participant across its obligations: what it receives (positive) or pays, all settled.
    public static func money(_ obligations: [Obligation]) -> [AccountID: Int64] {
        obligations.reduce(into: [:]) { $0[$1.account, default: 0] += $1.money }
    }

    /// A participant in a security.
    public struct Key: Hashable, Sendable {
        public var account: AccountID
        public var symbol: Symbol
        public init(account: AccountID, symbol: Symbol) { (self.account, self.symbol) = (account, symbol) }
    }
}
