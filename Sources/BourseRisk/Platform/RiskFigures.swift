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
    /// The house's maintenance requirement: on each position the larger of the account's own rate and the
    /// house's (`HouseMargin`), long or short.
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
        combine(other, less: RiskFigures())
        largestPosition = max(largestPosition, other.largestPosition)
    }

    /// Moves a sum from an account's old figures to its new ones. `largestPosition` is not additive: the
    /// sum's reader finds it among the members (`RiskBook.firmFigures`, `client`).
    mutating func replace(_ old: RiskFigures, with new: RiskFigures) {
        combine(new, less: old)
    }

    /// Adds `o − l`, field by field.
    private mutating func combine(_ o: RiskFigures, less l: RiskFigures) {
        accounts += (o.accounts - l.accounts)
        unpricedPositions += (o.unpricedPositions - l.unpricedPositions)
        cash += (o.cash - l.cash)
        longValue += (o.longValue - l.longValue)
        shortValue += (o.shortValue - l.shortValue)
        realized += (o.realized - l.realized)
        unrealized += (o.unrealized - l.unrealized)
        fees += (o.fees - l.fees)
        dayStart += (o.dayStart - l.dayStart)
        regTRequirement += (o.regTRequirement - l.regTRequirement)
        houseRequirement += (o.houseRequirement - l.houseRequirement)
        excess += (o.excess - l.excess)
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
/// rounds it: requirements are never understated. Values below 2^49 ($56 billion) take 64-bit arithmetic,
/// where dividing by a constant is a multiply; larger ones the exact 128-bit division.
@inline(__always) func requirement(_ value: Int128, _ basisPoints: Int64) -> Int128 {
    if value < 1 << 49 { return Int128((Int64(value) * basisPoints + 9_999) / 10_000) }
    return (value * Int128(basisPoints) + 9_999) / 10_000
}
