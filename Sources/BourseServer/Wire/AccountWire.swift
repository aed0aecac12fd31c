import BourseCore
import BourseVenue
import Foundation

extension API {
    /// Alpaca's account settings, as they are true of a Bourse account: no day-trade or pattern-day-trader
    /// checks (null), no confirmation emails, whole shares only, shorting and 2x margin for margin accounts,
    /// trading suspended while the account is blocked.
    struct Configuration: Encodable {
        var dtbp_check: String?
        var fractional_trading = false
        var max_margin_multiplier: String
        var no_shorting: Bool
        var pdt_check: String?
        var suspend_trade: Bool
        var trade_confirm_email = "none"
        var ptp_no_exception_entry = false
        var max_options_trading_level = 0

        init(_ s: AccountSummary) {
            max_margin_multiplier = s.kind == .margin ? "2" : "1"
            no_shorting = s.kind == .cash
            suspend_trade = s.state == .blocked || s.state == .closed
        }

        var json: String {
            func text(_ value: String?) -> String { value.map(API.quoted) ?? "null" }
            return #"{"dtbp_check":\#(text(dtbp_check)),"fractional_trading":\#(fractional_trading),"max_margin_multiplier":"\#(max_margin_multiplier)","no_shorting":\#(no_shorting),"pdt_check":\#(text(pdt_check)),"suspend_trade":\#(suspend_trade),"trade_confirm_email":"\#(trade_confirm_email)","ptp_no_exception_entry":\#(ptp_no_exception_entry),"max_options_trading_level":\#(max_options_trading_level)}"#
        }

        /// A `PATCH` body: every field optional, null meaning unchanged.
        struct Change: Decodable {
            var dtbp_check: String?
            var fractional_trading: Bool?
            var max_margin_multiplier: String?
            var no_shorting: Bool?
            var pdt_check: String?
            var suspend_trade: Bool?
            var trade_confirm_email: String?
            var ptp_no_exception_entry: Bool?
            var max_options_trading_level: Int?
        }

        /// Why a change cannot be made, naming the first field that differs from what the account is; nil
        /// when every field given is as the account already is.
        func refusal(of change: Change) -> String? {
            func differs<T: Equatable>(_ given: T?, _ current: T) -> Bool { given.map { $0 != current } ?? false }
            if change.dtbp_check != nil || change.pdt_check != nil {
                return "\(change.dtbp_check != nil ? "dtbp_check" : "pdt_check") cannot be set: Bourse runs no day-trading checks"
            }
            if differs(change.fractional_trading, fractional_trading) { return "fractional_trading cannot be set: Bourse trades whole shares" }
            if differs(change.max_margin_multiplier, max_margin_multiplier) {
                return "max_margin_multiplier cannot be changed: it is \(max_margin_multiplier) for this account's kind"
            }
            if differs(change.no_shorting, no_shorting) {
                return "no_shorting cannot be changed: \(no_shorting ? "a cash account may not sell short" : "a margin account may sell short")"
            }
            if differs(change.suspend_trade, suspend_trade) { return "suspend_trade cannot be changed here: an operator blocks and unblocks accounts" }
            if differs(change.trade_confirm_email, trade_confirm_email) { return "trade_confirm_email cannot be set: Bourse sends no email" }
            if differs(change.ptp_no_exception_entry, ptp_no_exception_entry) { return "ptp_no_exception_entry cannot be set: Bourse lists no PTP symbols" }
            if differs(change.max_options_trading_level, max_options_trading_level) { return "max_options_trading_level cannot be set: Bourse lists no options" }
            return nil
        }
    }

    /// The activity types Alpaca defines. Bourse records FILL, CSD, CSW and JNLS; a filter by any of the
    /// others is valid and finds nothing.
    enum ActivityType: String, CaseIterable {
        case FILL, ACATC, ACATS, CFEE, CIL, CSD, CSW, DIV, DIVCGL, DIVCGS, DIVNRA, DIVROC, DIVTXEX, DIVWH, EXTRD, FEE, FXTRD, INT,
             INTPNL, JNLC, JNLS, MA, MEM, NC, OCT, OPASN, OPCSH, OPEXC, OPEXP, OPTRD, PTC, REORG, SPIN, SPLIT, SWP, VOF, WH
    }

    /// Where an activity's id (`time::sequence::event`, a fill's with `::m` or `::t`) places it, for paging.
    static func activityCursor(_ id: String) -> (sequence: Int64, event: Int64, rank: Int64)? {
        let parts = id.split(separator: ":", omittingEmptySubsequences: true)
        guard (3...4).contains(parts.count), Int64(parts[0]) != nil, let sequence = Int64(parts[1]), let event = Int64(parts[2]) else { return nil }
        switch parts.count == 4 ? parts[3] : nil {
        case nil: return (sequence, event, 0)
        case "m"?: return (sequence, event, 1)
        case "t"?: return (sequence, event, 2)
        default: return nil
        }
    }
}

extension API {
    /// A watchlist as Alpaca writes one; its assets when they are asked for (a listing leaves them out).
    static func watchlist(_ w: Watchlists.Watchlist, assets: [Asset]?) -> String {
        let encoded = assets.map { list in
            "[" + list.map { (try? JSONEncoder().encode($0)).map { String(decoding: $0, as: UTF8.self) } ?? "null" }.joined(separator: ",") + "]"
        }
        return #"{"id":"\#(PublicID.uuid(.watchlist, w.id))","account_id":"\#(AccountID(w.account).uuid)","name":\#(quoted(w.name)),"created_at":"\#(time(Timestamp(nanos: w.createdAt)))","updated_at":"\#(time(Timestamp(nanos: w.updatedAt)))""#
            + (encoded.map { #","assets":\#($0)"# } ?? "") + "}"
    }
}
