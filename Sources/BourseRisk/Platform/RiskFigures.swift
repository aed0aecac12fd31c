import BourseCore

/// Risk figures of an account, a client or the firm, valued at one mark's prices. Money is in units of
/// 1/10,000 dollar in 128 bits: sums over every account cannot overflow. Everything is additive across
/// accounts except `largestPosition`, the largest single holding of any of them.
public struct RiskFigures: Hashable, Sendable {
    public var accounts = 0
    /// Trade-date cash.
    public var cash: Int128 = 0
    /// Market value of the long positions, and of the short ones (as a positive amount).
    public var longValue: Int128 = 0
    public var shortValue: Int128 = 0
    public var realized: Int128 = 0
    /// Market value less cost basis, over the positions the mark prices.
    public var unrealized: Int128 = 0
    /// Fees paid (rebates negative).
    public var fees: Int128 = 0
    /// Total P&L at the last close mark: the day's P&L is measured from it.
    public var dayStart: Int128 = 0
    /// Reg T initial margin (50% unless the account says otherwise) of every position of a margin account.
    public var regTRequirement: Int128 = 0
    /// The house's maintenance requirement: the account's own rates on longs and shorts.
    public var houseRequirement: Int128 = 0
    /// A margin account's equity above its house requirement, a cash account's cash; negative is a deficit.
    public var excess: Int128 = 0
    /// The market value of the largest single position, long or short.
    public var largestPosition: Int128 = 0
    /// Positions the mark has no price for: their value and unrealized P&L are left out, not guessed.
    public var unpricedPositions = 0

    public init() {}

    public var equity: Int128 { cash + longValue - shortValue }
    public var grossExposure: Int128 { longValue + shortValue }
    public var netExposure: Int128 { longValue - shortValue }
    public var totalPnL: Int128 { realized + unrealized - fees }
    public var dayPnL: Int128 { totalPnL - dayStart }
    public var deficit: Int128 { max(-excess, 0) }
    /// The largest position as a share of equity, in basis points; nil without positive equity.
    public var concentrationBasisPoints: Int128? { equity > 0 ? largestPosition * 10_000 / equity : nil }

    /// Adds another's figures (an account into its client or the firm).
    public mutating func add(_ other: RiskFigures) {
        combine(other, sign: 1)
        largestPosition = max(largestPosition, other.largestPosition)
    }

    /// Takes an account's old figures out of a sum before its new ones go in. `largestPosition` is not
    /// additive: the sum's owner recomputes it from its members (`RiskBook.aggregate`).
    mutating func subtract(_ other: RiskFigures) { combine(other, sign: -1) }

    private mutating func combine(_ o: RiskFigures, sign: Int128) {
        accounts += Int(sign) * o.accounts
        unpricedPositions += Int(sign) * o.unpricedPositions
        cash += sign * o.cash
        longValue += sign * o.longValue
        shortValue += sign * o.shortValue
        realized += sign * o.realized
        unrealized += sign * o.unrealized
        fees += sign * o.fees
        dayStart += sign * o.dayStart
        regTRequirement += sign * o.regTRequirement
        houseRequirement += sign * o.houseRequirement
        excess += sign * o.excess
    }

    /// Equal in everything additive: what a sum kept by deltas must agree on with one added afresh.
    public func sameSums(as other: RiskFigures) -> Bool {
        var a = self, b = other
        (a.largestPosition, b.largestPosition) = (0, 0)
        return a == b
    }
}

/// The mark a figure was valued at: its command's sequence, and what kind of mark it was.
public struct RiskMark: Hashable, Sendable {
    public var sequence: UInt64
    public var time: Timestamp
    public var request: MarkRequest

    public init(sequence: UInt64, time: Timestamp, request: MarkRequest) {
        self.sequence = sequence
        self.time = time
        self.request = request
    }
}

/// The part of `value` (not negative) that `basisPoints` is, rounded up, as the engine's margin check
/// rounds it: requirements are never understated.
@inline(__always) func requirement(_ value: Int128, _ basisPoints: Int64) -> Int128 {
    (value * Int128(basisPoints) + 9_999) / 10_000
}
