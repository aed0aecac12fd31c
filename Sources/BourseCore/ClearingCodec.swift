/// The binary form of business dates, captured trades and settlement outcomes (see `Codec`).
extension ByteWriter {
    public mutating func write(_ date: CivilDate) { writeSigned(Int64(date.daysSinceEpoch)) }

    public mutating func write(_ date: CivilDate?) {
        writeBool(date != nil)
        if let date { write(date) }
    }

    /// Its length in one byte, then its bytes.
    public mutating func write(_ text: ShortText) {
        let bytes = text.bytes
        write(UInt8(bytes.count))
        append(contentsOf: bytes)
    }

    public mutating func write(_ terms: TradeTerms) {
        write(terms.account); write(terms.symbol); write(terms.side.rawValue)
        write(terms.quantity); write(terms.price); write(terms.tradeDate); write(terms.settlementDate)
    }

    public mutating func write(_ report: TradeReport) {
        write(report.reference); write(report.terms)
    }

    public mutating func write(_ batch: CaptureBatch) {
        writeVarint(UInt64(batch.reports.count))
        for report in batch.reports { write(report) }
        writeVarint(UInt64(batch.details.count))
        append(contentsOf: batch.details)
    }

    public mutating func write(_ roll: BusinessDateRoll) {
        write(roll.from); write(roll.to); write(roll.settlesOn)
    }

    public mutating func write(_ ref: TradeRef) {
        switch ref {
        case .capture(let id): write(0); writeVarint(id)
        case .fill(let id): write(1); writeVarint(id.rawValue)
        }
    }

    public mutating func write(_ c: TradeCancellation) {
        write(c.trade); write(c.terms); write(c.counterparty)
    }

    public mutating func write(_ d: Dividend) {
        write(d.symbol); write(d.perShare); write(d.exDate); write(d.recordDate); write(d.payDate)
    }

    public mutating func write(_ s: Split) {
        write(s.symbol); writeSigned(s.ratio); write(s.effectiveDate)
    }

    public mutating func write(_ outcome: SettlementOutcome) {
        write(outcome.date); write(outcome.account); write(outcome.symbol)
        for value in [outcome.obligationShares, outcome.obligationMoney, outcome.settledShares, outcome.settledMoney] {
            writeSigned(value)
        }
    }
}

extension ByteReader {
    public mutating func readDate() throws(DecodeError) -> CivilDate {
        let at = offset
        let days: Int64 = try readSigned()
        let range = Int64(CivilDate.supported.lowerBound.daysSinceEpoch)...Int64(CivilDate.supported.upperBound.daysSinceEpoch)
        guard range.contains(days) else { throw DecodeError(.invalidValue("date"), at: at) }
        return CivilDate(daysSinceEpoch: Int(days))
    }

    public mutating func readOptionalDate() throws(DecodeError) -> CivilDate? {
        try readBool() ? try readDate() : nil
    }

    public mutating func readShortText() throws(DecodeError) -> ShortText {
        let at = offset
        let count = Int(try readByte())
        guard count <= ShortText.bytesMax, let text = ShortText(String(decoding: try readBytes(count), as: UTF8.self)),
              text.bytes.count == count else {
            throw DecodeError(.invalidValue("short text"), at: at)
        }
        return text
    }

    public mutating func readTradeTerms() throws(DecodeError) -> TradeTerms {
        TradeTerms(account: try readAccountID(), symbol: try readSymbol(), side: try readEnum(Side.self, "side"),
                   quantity: try readQuantity(), price: try readPrice(), tradeDate: try readDate(), settlementDate: try readDate())
    }

    public mutating func readTradeReport() throws(DecodeError) -> TradeReport {
        TradeReport(reference: try readShortText(), terms: try readTradeTerms())
    }

    public mutating func readCaptureBatch() throws(DecodeError) -> CaptureBatch {
        let at = offset
        let count = try readVarint()
        guard (1...UInt64(CaptureBatch.reportsMax)).contains(count) else { throw DecodeError(.invalidValue("capture batch size"), at: at) }
        var reports: [TradeReport] = []
        reports.reserveCapacity(Int(count))
        for _ in 0..<count { reports.append(try readTradeReport()) }
        let detailsAt = offset
        let bytes = try readVarint()
        guard bytes <= UInt64(CaptureBatch.detailsBytesMax) else { throw DecodeError(.invalidValue("capture details size"), at: detailsAt) }
        return CaptureBatch(reports: reports, details: Array(try readBytes(Int(bytes))))
    }

    public mutating func readBusinessDateRoll() throws(DecodeError) -> BusinessDateRoll {
        BusinessDateRoll(from: try readOptionalDate(), to: try readDate(), settlesOn: try readDate())
    }

    public mutating func readTradeRef() throws(DecodeError) -> TradeRef {
        let at = offset
        switch try readByte() {
        case 0: return .capture(try readVarint())
        case 1: return .fill(ExecutionID(try readVarint()))
        case let tag: throw DecodeError(.invalidTag("trade", UInt64(tag)), at: at)
        }
    }

    public mutating func readTradeCancellation() throws(DecodeError) -> TradeCancellation {
        TradeCancellation(trade: try readTradeRef(), terms: try readTradeTerms(), counterparty: try readAccountID())
    }

    public mutating func readDividend() throws(DecodeError) -> Dividend {
        Dividend(symbol: try readSymbol(), perShare: try readMoney(), exDate: try readDate(), recordDate: try readDate(), payDate: try readDate())
    }

    public mutating func readSplit() throws(DecodeError) -> Split {
        Split(symbol: try readSymbol(), ratio: try readSigned(), effectiveDate: try readDate())
    }

    public mutating func readSettlementOutcome() throws(DecodeError) -> SettlementOutcome {
        SettlementOutcome(date: try readDate(), account: try readAccountID(), symbol: try readSymbol(),
                          obligationShares: try readSigned(), obligationMoney: try readSigned(),
                          settledShares: try readSigned(), settledMoney: try readSigned())
    }
}
