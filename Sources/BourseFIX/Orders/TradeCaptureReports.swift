import BourseCore
import BourseProjections
import BoursePostTrade
import BourseVenue

/// TradeCaptureReport (AE) both ways. In: a trade executed elsewhere, read into a `CapturedTrade` for
/// post-trade's capture gateway and answered with TradeCaptureReportAck (AR). Out: each fill of a clearing
/// session's accounts, as the venue's own trade report.
enum TradeCaptureReports {
    /// Why an incoming report is refused: TradeReportRejectReason (751) and a sentence.
    struct Refusal: Error {
        var reason: Int
        var text: String
        init(_ reason: Int, _ text: String) { (self.reason, self.text) = (reason, text) }
    }

    /// The trade an incoming AE states for one of the session's accounts, or why it is refused (with
    /// TradeReportRejectReason: 1 invalid party, 2 unknown instrument, 4 invalid trade type, 99 other).
    static func captured(_ m: FIXMessage, session: SessionSettings, numbers: [UInt32: String]) -> Result<CapturedTrade, Refusal> {
        let id = m[Tag.tradeReportID]!
        guard (1...64).contains(id.utf8.count) else { return .failure(Refusal(99, "TradeReportID(571) must be 1 to 64 characters")) }
        if let type = m[Tag.tradeReportTransType], type != "0" {
            return .failure(Refusal(4, "TradeReportTransType(487) \(type) is not supported: only new reports (0) are taken"))
        }
        if let type = m[Tag.tradeReportType], type != "0" { return .failure(Refusal(4, "TradeReportType(856) \(type) is not supported: 0 (submit)")) }
        guard let symbol = try? Symbol(validating: m[Tag.symbol]!) else { return .failure(Refusal(2, "Symbol(55) \(m[Tag.symbol]!) is not a symbol")) }
        guard let quantity = FIXValue.quantity(m[Tag.lastQty]!) else { return .failure(Refusal(99, "LastQty(32) must be a positive whole number of shares")) }
        guard let price = FIXValue.price(m[Tag.lastPx]!) else { return .failure(Refusal(99, "LastPx(31) must be a positive price with at most 4 decimals")) }
        guard let tradeDate = date(m[Tag.tradeDate]!) else { return .failure(Refusal(99, "TradeDate(75) \(m[Tag.tradeDate]!) is not a date")) }
        var settlementDate: CivilDate?
        if let text = m[Tag.settlDate] {
            guard let d = date(text) else { return .failure(Refusal(99, "SettlDate(64) \(text) is not a date")) }
            settlementDate = d
        }
        // The sides: the one naming an account of the session is the trade's; another names the counterparty.
        let mine = Set(session.accounts.compactMap { numbers[$0] })
        var side: Side?, account: AccountNumber?, counterparty: String?
        var current: (side: String?, account: String?) = (nil, nil)
        func close() {
            guard let s = current.side else { return }
            if let a = current.account, mine.contains(a), side == nil {
                side = s == "1" ? .buy : .sell
                account = AccountNumber(a)
            } else if let a = current.account {
                counterparty = a
            }
        }
        for index in m.fields.indices {
            switch m.fields[index].tag {
            case Tag.side:
                close()
                current = (m.string(at: index), nil)
            case Tag.account where current.side != nil:
                current.account = m.string(at: index)
            default:
                break
            }
        }
        close()
        guard let side, let account else {
            return .failure(Refusal(1, "no side of NoSides(552) names an account of session \(session.name) in Account(1)"))
        }
        return .success(CapturedTrade(tradeID: id, account: account, symbol: symbol, side: side, quantity: quantity, price: price,
                                      tradeDate: tradeDate, settlementDate: settlementDate, counterparty: counterparty,
                                      venue: m[Tag.lastMkt], source: .fix(session: session.name)))
    }

    /// TradeCaptureReportAck (AR) for an incoming AE.
    static func acknowledgement(_ m: FIXMessage, _ outcome: CaptureOutcome) -> FIXBody {
        var b = FIXBody()
        b.append(Tag.tradeReportID, m[Tag.tradeReportID] ?? "NONE")
        b.append(Tag.tradeReportTransType, m[Tag.tradeReportTransType] ?? "0")
        b.append(Tag.execType, "F")
        switch outcome {
        case .accepted(let id):
            b.append(Tag.trdRptStatus, 0)
            b.append(Tag.execID, id)
        case .queued(let reason):
            b.append(Tag.trdRptStatus, 0)
            b.append(Tag.text, "queued for a retry: \(reason)")
        case .refused(let reason):
            b.append(Tag.trdRptStatus, 1)
            b.append(Tag.tradeReportRejectReason, 99)
            b.append(Tag.text, reason)
        }
        b.append(Tag.symbol, m[Tag.symbol] ?? "NONE")
        return b
    }

    static func refusal(_ m: FIXMessage, reason: Int, _ text: String) -> FIXBody {
        var b = FIXBody()
        b.append(Tag.tradeReportID, m[Tag.tradeReportID] ?? "NONE")
        b.append(Tag.tradeReportTransType, m[Tag.tradeReportTransType] ?? "0")
        b.append(Tag.execType, "F")
        b.append(Tag.trdRptStatus, 1)
        b.append(Tag.tradeReportRejectReason, reason)
        b.append(Tag.text, text)
        b.append(Tag.symbol, m[Tag.symbol] ?? "NONE")
        return b
    }

    /// The venue's own trade, one side of a fill, as TradeCaptureReport (AE) to a clearing session.
    static func report(_ r: OrderReport, accountNumber: String) -> FIXBody? {
        guard let order = r.order, let price = r.lastPrice, let quantity = r.lastQuantity, let execution = r.executionID else { return nil }
        var b = FIXBody()
        b.append(Tag.tradeReportID, "\(r.sequence)-\(r.number)")
        b.append(Tag.tradeReportTransType, "0")
        b.append(Tag.tradeReportType, 0)
        b.append(Tag.execType, "F")
        b.append(Tag.execID, "\(r.sequence)-\(r.number)")
        b.append(Tag.secondaryExecID, PublicID.uuid(.execution, execution))
        b.append(Tag.previouslyReported, false)
        b.append(Tag.symbol, order.symbol.description)
        b.append(Tag.lastQty, quantity)
        b.append(Tag.lastPx, price)
        b.append(Tag.tradeDate, FIXValue.date(ExchangeCalendar.newYorkDate(r.time)))
        b.append(Tag.transactTime, r.time)
        b.append(Tag.noSides, 1)
        b.append(Tag.side, order.side == .buy ? "1" : "2")
        b.append(Tag.orderID, PublicID.uuid(.order, r.orderID.rawValue))
        b.append(Tag.clOrdID, r.clientOrderID ?? String(r.orderID.rawValue))
        b.append(Tag.account, accountNumber)
        return b
    }

    private static func date(_ text: String) -> CivilDate? {
        guard text.utf8.count == 8, let v = Int(text) else { return nil }
        return CivilDate(validYear: v / 10_000, month: v / 100 % 100, day: v % 100)
    }
}
