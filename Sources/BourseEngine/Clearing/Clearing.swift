import BourseCore

/// The engine's post-trade state: the business date, what is due on each settlement date, the fails
/// carried forward and the references of recent captures. Cold: captures, rollovers and transfers touch
/// it, fills never do. What a business day's fills made due is found when the day closes, from how far
/// each position's shares and unsettled cash moved past its base (`closeDay`).
struct Clearing {
    /// Shares and money, signed as the participant sees them: positive to receive.
    struct Amount: Equatable {
        var shares: Int64 = 0
        var money: Int64 = 0

        static let zero = Amount()
        var isZero: Bool { self == .zero }
        static func += (a: inout Amount, b: Amount) {
            a.shares += b.shares
            a.money += b.money
        }
        static prefix func - (a: Amount) -> Amount { Amount(shares: -a.shares, money: -a.money) }
    }

    /// References of captures kept to recognize one sent again; past it, captures are refused until
    /// rollovers age some out.
    static let referencesMax = 2_000_000
    /// Calendar days after its trade date that a capture's reference is kept. A capture sent again later
    /// than that is recognized by post-trade's records, not by the engine.
    static let referenceDays = 14

    var businessDate: CivilDate?
    /// Where the open day's fills settle.
    var settlesOn: CivilDate?
    var lastCapture: UInt64 = 0
    /// Net obligations by settlement date, per participant and symbol, fails not included.
    var due: [CivilDate: [Netting.Key: Amount]] = [:]
    var fails: [Netting.Key: Amount] = [:]
    /// Per position handle: the shares and unsettled cash it had when the day last closed, moved since by
    /// everything but fills (captures, transfers, journals, settlement). What a position moved past it
    /// is the open day's fills. Absent is zero.
    var base: [Int32: Amount] = [:]
    /// The capture each recent reference made; its terms are in `captures`, which keeps them longer.
    var references: [ShortText: UInt64] = [:]
    /// Captures' terms by id, and the trades cancelled with their settlement dates: kept until
    /// `TradeCancellation.windowDays` after the settlement date, as long as a trade may be cancelled.
    var captures: [UInt64: TradeTerms] = [:]
    var cancelled: [TradeRef: CivilDate] = [:]
    /// Captures matched with the counterparty's record, kept as long as their terms.
    var cleared: Set<UInt64> = []
    /// Corporate actions declared and not yet done, numbered together.
    var lastCorporateAction: UInt64 = 0
    var dividends: [UInt64: PendingDividend] = [:]
    var splits: [UInt64: Split] = [:]
    /// The cycle a rollover opened whose outcomes are still being applied, a part a command.
    var settling: Settling?

    struct Settling {
        var date: CivilDate
        /// Every obligation of the cycle with what it moves, in obligation order; those before `next` are applied.
        var outcomes: [Delivery.Outcome]
        var next = 0
        /// The fails to mark to market, in key order, known once every outcome is applied; those before
        /// `nextMark` are marked.
        var marks: [Netting.Key]?
        var nextMark = 0
        /// Obligations to settle and fails to mark, of those known.
        var left: UInt32 { UInt32(outcomes.count - next + (marks.map { $0.count - nextMark } ?? 0)) }
    }

    struct PendingDividend: Equatable {
        var dividend: Dividend
        /// Who is owed what, known once the record date has opened.
        var entitled: [Entitlement]?
    }

    struct Entitlement: Equatable {
        var account: AccountID
        var shares: Int64
    }

    static let capturesMax = 4_000_000
    static let corporateActionsMax = 10_000
    /// The largest dividend a share.
    static let dividendPerShareMax = Money(units: 1_000_000)

    /// What is due from now on for a participant in a symbol: every date's obligation and its fail.
    func outstanding(_ key: Netting.Key) -> Amount {
        var total = fails[key] ?? .zero
        for byKey in due.values { if let a = byKey[key] { total += a } }
        return total
    }
}

extension Netting.Key: Comparable {
    public static func < (a: Netting.Key, b: Netting.Key) -> Bool { (a.symbol, a.account) < (b.symbol, b.account) }
}
