import BourseCore
import BourseNode
import BoursePostTrade

/// Post-trade's capture gateway: the one way in for trades from the API, dropped files and FIX. It checks
/// a trade against the venue's calendars and accounts and fills in what is missing (the account behind
/// the number, the settlement date), then journals it as one capture command whose note keeps the
/// reference, counterparty, venue and source. The engine books it, or refuses it by name.
public final class CaptureDesk: TradeCapture {
    let venue: Venue
    let rules: VenueConfiguration.PostTradeRules

    public init(venue: Venue, rules: VenueConfiguration.PostTradeRules) {
        self.venue = venue
        self.rules = rules
    }

    /// A refusal: a stable code and a sentence, as the engine's reasons have.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var code: String
        public var message: String
        public var description: String { "\(code): \(message)" }
        init(_ code: String, _ message: String) { (self.code, self.message) = (code, message) }
    }

    public func capture(_ trade: CapturedTrade) async -> CaptureOutcome {
        switch await book(trade) {
        case .success(let id): .accepted(id: "C-\(id)")
        case .failure(let refusal): .refused(reason: refusal.description)
        }
    }

    /// Books the trade; the venue's id for it (the same as before for a reference captured before), or why not.
    public func book(_ trade: CapturedTrade) async -> Result<UInt64, Refusal> {
        let report: TradeReport, note: CaptureNote
        switch await enrich(trade) {
        case .success(let enriched): (report, note) = enriched
        case .failure(let refusal): return .failure(refusal)
        }
        let ack: Sequencer.Acknowledgement
        do throws(Venue.Failure) { ack = try await venue.execute(.captureTrade(report), note: note.note) } catch {
            return .failure(Refusal("unavailable", error.description))
        }
        switch ack.events.first {
        case .tradeCaptured(let id, _)?: return .success(id)
        case .commandRejected(.tradeAlreadyCaptured(let id))?: return .success(id)
        case .commandRejected(let reason)?: return .failure(Refusal(reason.code, reason.message))
        default: return .failure(Refusal("unavailable", "the venue answered the capture with nothing"))
        }
    }

    /// The trade as the engine takes it, with its note, or why it cannot be.
    func enrich(_ trade: CapturedTrade) async -> Result<(TradeReport, CaptureNote), Refusal> {
        guard let reference = ShortText(trade.tradeID), !reference.isEmpty else {
            return .failure(Refusal("trade_id_invalid", "trade id must be 1 to \(ShortText.bytesMax) printable ASCII characters without spaces"))
        }
        for (field, text) in [("counterparty", trade.counterparty ?? ""), ("venue", trade.venue ?? "")] where text.utf8.count > TradeFile.fieldBytesMax {
            return .failure(Refusal("\(field)_invalid", "\(field) is at most \(TradeFile.fieldBytesMax) bytes"))
        }
        guard rules.businessDay.isBusinessDay(trade.tradeDate) else {
            return .failure(Refusal("trade_date_not_business_day", "trade date \(trade.tradeDate) is not a business day: the exchange does not trade"))
        }
        let settles = trade.settlementDate ?? rules.settlement.settlementDate(tradeDate: trade.tradeDate, cycle: rules.cycle)
        guard CivilDate.supported.contains(settles) else {
            return .failure(Refusal("settlement_date_invalid", "settlement date \(settles) is past \(CivilDate.supported.upperBound)"))
        }
        if trade.settlementDate != nil, !rules.settlement.isSettlementDay(settles) {
            return .failure(Refusal("settlement_date_not_settlement_day", "settlement date \(settles) is not a settlement day: the depository or the banks are closed"))
        }
        let account: AccountID?
        do throws(Venue.Failure) { account = try await venue.account(number: trade.account) } catch {
            return .failure(Refusal("unavailable", error.description))
        }
        guard let account else { return .failure(Refusal("unknown_account", "no account has the number \(trade.account)")) }
        let terms = TradeTerms(account: account, symbol: trade.symbol, side: trade.side, quantity: trade.quantity, price: trade.price,
                               tradeDate: trade.tradeDate, settlementDate: settles)
        return .success((TradeReport(reference: reference, terms: terms),
                         CaptureNote(reference: trade.tradeID, counterparty: trade.counterparty ?? "", venue: trade.venue ?? "", source: trade.source)))
    }
}
