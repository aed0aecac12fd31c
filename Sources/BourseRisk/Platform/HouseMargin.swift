import BourseCore

/// The house's own maintenance rates, above the accounts' own: a position's house requirement is the
/// larger of its account's maintenance rate and the house's for its symbol (the symbol's, else the
/// house's default). Configured (`risk.house_margin`), not journaled: the risk desk's policy, which the
/// engine's pre-trade check (the account's rates) does not apply.
public struct HouseMargin: Hashable, Sendable {
    public struct Rates: Hashable, Sendable {
        public var longBasisPoints: Int64
        public var shortBasisPoints: Int64

        public init(longBasisPoints: Int64, shortBasisPoints: Int64) {
            self.longBasisPoints = longBasisPoints
            self.shortBasisPoints = shortBasisPoints
        }

        public static let none = Rates(longBasisPoints: 0, shortBasisPoints: 0)
    }

    public var rates: Rates
    public var symbols: [Symbol: Rates]

    public static let none = HouseMargin()
    public static let basisPoints: ClosedRange<Int64> = 0...10_000
    public static let symbolsMax = 10_000

    public init(rates: Rates = .none, symbols: [Symbol: Rates] = [:]) {
        self.rates = rates
        self.symbols = symbols
    }

    public func rates(_ symbol: Symbol) -> Rates { symbols[symbol] ?? rates }
}
