import BourseCore

/// Delivery versus payment of one settlement date's obligations: shares and money move together. Each
/// participant that owes shares delivers what it has, up to what it owes; the central counterparty passes
/// what it received to the participants owed shares, in order of account; money moves in proportion to
/// the shares that did. What could not move is a fail, carried forward to the next cycle. Pure integers:
/// for every obligation, what settled plus what failed is exactly the obligation.
public enum Delivery {
    public struct Outcome: Sendable, Equatable {
        public var obligation: Netting.Obligation
        /// Shares received (positive) or delivered (negative), money received (positive) or paid.
        public var settledShares: Int64
        public var settledMoney: Int64
        /// What is left, carried forward; nil when everything settled.
        public var fail: Netting.Obligation?
    }

    public struct Cycle: Sendable, Equatable {
        public var outcomes: [Netting.Obligation: Outcome]
        /// Shares the counterparty received that no participant was owed, per security (zero when every
        /// trade due had both sides among the participants).
        public var undistributed: [Symbol: Int64]
    }

    /// Settles `obligations` (as `Netting.net` returns them) given the shares each participant holds
    /// available to deliver.
    public static func settle(_ obligations: [Netting.Obligation], available: [Netting.Key: Int64]) -> Cycle {
        var outcomes: [Netting.Obligation: Outcome] = [:]
        var pool: [Symbol: Int64] = [:]
        // Deliveries first: only what came in can go out.
        for o in obligations where o.shares <= 0 {
            let owed = -o.shares
            let delivered = owed == 0 ? 0 : min(owed, max(0, available[Netting.Key(account: o.account, symbol: o.symbol)] ?? 0))
            pool[o.symbol, default: 0] += delivered
            outcomes[o] = outcome(o, moved: -delivered)
        }
        for o in obligations where o.shares > 0 {
            let received = min(o.shares, pool[o.symbol] ?? 0)
            pool[o.symbol, default: 0] -= received
            outcomes[o] = outcome(o, moved: received)
        }
        return Cycle(outcomes: outcomes, undistributed: pool.filter { $0.value != 0 })
    }

    /// The part of `o` that moved (`moved` shares, same sign as the obligation's) and the rest.
    static func outcome(_ o: Netting.Obligation, moved: Int64) -> Outcome {
        // Money in proportion to the shares moved, rounded toward zero; an obligation of money alone moves whole.
        let money = o.shares == 0 ? o.money : proportion(o.money, moved, of: o.shares)
        let rest = Netting.Obligation(account: o.account, symbol: o.symbol, shares: o.shares - moved, money: o.money - money)
        assert(moved.magnitude <= o.shares.magnitude && money.magnitude <= o.money.magnitude, "a settlement moved more than was owed")
        return Outcome(obligation: o, settledShares: moved, settledMoney: money, fail: rest.isNothing ? nil : rest)
    }

    /// `value` × `part` / `whole` in 128 bits, rounded toward zero (`part` and `whole` of one sign, |part| ≤ |whole|).
    static func proportion(_ value: Int64, _ part: Int64, of whole: Int64) -> Int64 {
        let product = value.multipliedFullWidth(by: part)
        return whole.dividingFullWidth(product).quotient
    }

    /// A fail revalued at `price`: its money becomes what the shares are worth now, and the difference is
    /// paid now (positive: the counterparty pays the participant), so that the party failing bears the
    /// change in price and the total it receives or pays on delivery stays what it owed.
    /// Refused when the shares' worth passes `Netting.moneyMax`.
    public static func markToMarket(_ fail: Netting.Obligation, price: Price) throws(Netting.Refusal) -> (fail: Netting.Obligation, payment: Int64) {
        let (value, overflow) = (-fail.shares).multipliedReportingOverflow(by: price.units)
        guard !overflow, value.magnitude <= Netting.moneyMax.magnitude else {
            throw Netting.Refusal(description: "\(fail.shares.magnitude) shares of \(fail.symbol) at \(price) are worth more than \(Money(units: Netting.moneyMax))")
        }
        var revalued = fail
        revalued.money = value
        return (revalued, fail.money - value)
    }
}
