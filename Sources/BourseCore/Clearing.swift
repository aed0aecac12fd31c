/// A short name from outside (a trade's reference) held in place as up to 64 bytes of printable ASCII,
/// zero-padded, so that commands that carry one stay plain data.
public struct ShortText: Hashable, Sendable, CustomStringConvertible {
    public static let bytesMax = 64
    private var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    /// Nil for more than 64 bytes or a byte that is not printable ASCII (space excluded).
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.bytesMax, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        withUnsafeMutableBytes(of: &words) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
    }

    public var isEmpty: Bool { words.0 == 0 }

    public var bytes: [UInt8] {
        withUnsafeBytes(of: words) { raw in Array(raw.prefix { $0 != 0 }) }
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    public static func == (a: ShortText, b: ShortText) -> Bool {
        // Word by word: references are compared in every capture's lookup.
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
            && a.words.4 == b.words.4 && a.words.5 == b.words.5 && a.words.6 == b.words.6 && a.words.7 == b.words.7
    }

    public func hash(into hasher: inout Hasher) {
        // The text's words up to its last non-zero one: most references fill one or two.
        hasher.combine(words.0)
        hasher.combine(words.1)
        if words.2 | words.3 | words.4 | words.5 | words.6 | words.7 != 0 {
            hasher.combine(words.2)
            hasher.combine(words.3)
            hasher.combine(words.4)
            hasher.combine(words.5)
            hasher.combine(words.6)
            hasher.combine(words.7)
        }
    }

    /// Whether `self` comes before `other` in byte order, as `bytes.lexicographicallyPrecedes` says, without
    /// making arrays: the padding is zeros and the text's bytes are not, so the words compare as the bytes do.
    public func precedes(_ other: ShortText) -> Bool {
        withUnsafeBytes(of: words) { a in
            withUnsafeBytes(of: other.words) { b in
                for i in 0..<8 {
                    let (x, y) = (UInt64(bigEndian: a.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)),
                                  UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                    if x != y { return x < y }
                }
                return false
            }
        }
    }
}

/// The economic terms of a trade executed away from the venue's book: what the engine books and settles.
/// Dates are held as day numbers so that events carrying the terms stay small.
public struct TradeTerms: Hashable, Sendable {
    public var account: AccountID
    public var side: Side
    public var symbol: Symbol
    public var quantity: Quantity
    public var price: Price
    private var tradeDay: Int32
    private var settlementDay: Int32

    public init(account: AccountID, symbol: Symbol, side: Side, quantity: Quantity, price: Price,
                tradeDate: CivilDate, settlementDate: CivilDate) {
        precondition(CivilDate.supported.contains(tradeDate) && CivilDate.supported.contains(settlementDate), "dates read from outside are checked")
        self.account = account
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.price = price
        tradeDay = Int32(tradeDate.daysSinceEpoch)
        settlementDay = Int32(settlementDate.daysSinceEpoch)
    }

    public var tradeDate: CivilDate {
        get { CivilDate(daysSinceEpoch: Int(tradeDay)) }
        set { tradeDay = Int32(newValue.daysSinceEpoch) }
    }

    public var settlementDate: CivilDate {
        get { CivilDate(daysSinceEpoch: Int(settlementDay)) }
        set { settlementDay = Int32(newValue.daysSinceEpoch) }
    }

    /// What the buyer pays and the seller receives. The engine checks the product against the order
    /// notional limit before it books it, so it cannot wrap there.
    public var notional: Money { Money(units: quantity.shares * price.units) }
}

/// A trade executed away from the venue's book, as post-trade's capture gateway hands it to the engine:
/// checked in form, enriched (account resolved, settlement date computed from the settlement calendar).
/// The counterparty, venue and source travel in the command's journal note; the engine needs none of them.
public struct TradeReport: Hashable, Sendable {
    /// The submitter's own id for the trade: a second capture with the same reference is the same trade.
    public var reference: ShortText
    public var terms: TradeTerms

    public init(reference: ShortText, terms: TradeTerms) {
        self.reference = reference
        self.terms = terms
    }
}

/// Trades captured together, as a file's or a batch's part: each is booked as `captureTrade` would book it
/// alone, in order, and answered by exactly one event (`tradeCaptured` or `commandRejected`), so the
/// n-th event answers the n-th report. One command for many trades spares the sequencer, the journal and
/// every reader a command per trade. `details` are post-trade's notes of the trades (counterparty, venue,
/// source), journaled with them; the engine does not read them.
public struct CaptureBatch: Hashable, Sendable {
    public static let reportsMax = 1_024
    /// Room for `reportsMax` notes of the longest fields, so that an entry stays within a Kafka message.
    public static let detailsBytesMax = 512 << 10

    public var reports: [TradeReport]
    public var details: [UInt8]

    public init(reports: [TradeReport], details: [UInt8]) {
        precondition((1...Self.reportsMax).contains(reports.count), "a capture batch of \(reports.count) trades")
        precondition(details.count <= Self.detailsBytesMax, "capture details of \(details.count) bytes")
        (self.reports, self.details) = (reports, details)
    }
}

/// The rollover: closes business day `from` (nil for the venue's first) and opens `to`, whose trades on the
/// book settle on `settlesOn`. The scheduler computes the dates from the calendars and sends them, so the
/// engine keeps no calendar; `from` makes a rollover sent twice (a retry after a crash) change nothing.
public struct BusinessDateRoll: Hashable, Sendable {
    public var from: CivilDate?
    public var to: CivilDate
    public var settlesOn: CivilDate

    public init(from: CivilDate?, to: CivilDate, settlesOn: CivilDate) {
        self.from = from
        self.to = to
        self.settlesOn = settlesOn
    }
}

/// What one settlement cycle did with one obligation: a participant's net in one security for the date,
/// fails carried forward included. Shares and money are signed as the participant sees them: positive to
/// receive, negative to deliver or pay. What settled plus what is left is the obligation.
public struct SettlementOutcome: Hashable, Sendable {
    /// The cycle: the business date that opened.
    public var date: CivilDate
    /// The account, or `AccountID.street` for the outside counterparties of captured trades taken together.
    public var account: AccountID
    public var symbol: Symbol
    public var obligationShares: Int64
    public var obligationMoney: Int64
    public var settledShares: Int64
    public var settledMoney: Int64

    public init(date: CivilDate, account: AccountID, symbol: Symbol, obligationShares: Int64, obligationMoney: Int64,
                settledShares: Int64, settledMoney: Int64) {
        self.date = date
        self.account = account
        self.symbol = symbol
        self.obligationShares = obligationShares
        self.obligationMoney = obligationMoney
        self.settledShares = settledShares
        self.settledMoney = settledMoney
    }

    /// What did not move and is carried forward to the next cycle as a fail.
    public var failedShares: Int64 { obligationShares - settledShares }
    public var failedMoney: Int64 { obligationMoney - settledMoney }
    public var failed: Bool { failedShares != 0 || failedMoney != 0 }
}

extension AccountID {
    /// The outside counterparties of captured trades, as one participant of settlement: it always
    /// delivers and receives in full. No account may be opened under this id.
    public static let street = AccountID(UInt32.max)
}
