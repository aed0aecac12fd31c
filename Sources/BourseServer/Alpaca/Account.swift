import BourseCore
import BourseProjections
import BourseVenue
import Foundation

extension API {
    struct Account: Encodable {
        var id: String
        var account_number: String
        var status: String
        var currency = "USD"
        var cash: String
        var buying_power: String?
        var equity: String?
        var portfolio_value: String?
        var long_market_value: String?
        var short_market_value: String?
        var initial_margin: String?
        var maintenance_margin: String?
        var multiplier: String
        var shorting_enabled: Bool
        var trading_blocked: Bool
        var account_blocked: Bool
        var pattern_day_trader = false
        // Bourse's extras.
        var cash_on_hold: String
        var settled_cash: String
        var unsettled_cash: String
        var realized_pl: String
        var unrealized_pl: String?
        var open_orders: Int
        /// Alpaca's Broker API fields: what may leave by withdrawal or journal.
        var cash_withdrawable: String
        var cash_transferable: String
        /// Why the account trades as it does: active, reduce_only, blocked (by the kill switch or an operator), closed.
        var trading_status: String

        init(_ s: AccountSummary) {
            id = s.account.uuid
            account_number = s.number.text
            status = API.status(s.state)
            cash = API.decimal(s.cash)
            buying_power = s.buyingPower.map(API.decimal)
            equity = s.equity.map(API.decimal)
            portfolio_value = equity
            long_market_value = s.longMarketValue.map(API.decimal)
            short_market_value = s.shortMarketValue.map(API.decimal)
            initial_margin = s.initialRequirement.map(API.decimal)
            maintenance_margin = s.maintenanceRequirement.map(API.decimal)
            multiplier = s.kind == .margin ? "2" : "1"
            shorting_enabled = s.kind == .margin
            trading_blocked = s.state == .blocked || s.state == .closed
            account_blocked = s.state == .closed
            cash_on_hold = API.decimal(s.cashHold)
            settled_cash = API.decimal(s.settledCash)
            unsettled_cash = API.decimal(s.unsettledCash)
            realized_pl = API.decimal(s.realizedPnL)
            unrealized_pl = s.unrealizedPnL.map(API.decimal)
            open_orders = s.openOrders
            cash_withdrawable = API.decimal(s.withdrawable)
            cash_transferable = cash_withdrawable
            trading_status = API.tradingStatus(s.state, blockedBy: nil)
        }
    }

    /// The account as JSON, with the previous-close figures of Alpaca's Broker API, which Bourse does not keep,
    /// as nulls: the Broker SDK's model needs them present.
    static func accountJSON(_ account: Account) -> String {
        var text = String(decoding: (try? JSONEncoder().encode(account)) ?? Data("{}".utf8), as: UTF8.self)
        text.removeLast()
        return text + #","previous_close":null,"last_long_market_value":null,"last_short_market_value":null,"last_cash":null,"#
            + #""last_initial_margin":null,"last_regt_buying_power":null,"last_buying_power":null,"clearing_broker":null}"#
    }

    /// Alpaca's account status for the engine's state: a reduce-only account is LIMITED, a blocked one DISABLED.
    static func status(_ state: AccountState) -> String {
        switch state {
        case .active: "ACTIVE"
        case .reduceOnly: "LIMITED"
        case .blocked: "DISABLED"
        case .closed: "ACCOUNT_CLOSED"
        }
    }

    /// Bourse's own account of it, naming who blocked a blocked account when known (`kill_switch`, `operator`).
    static func tradingStatus(_ state: AccountState, blockedBy: String?) -> String {
        switch state {
        case .active: "active"
        case .reduceOnly: "reduce_only"
        case .blocked: blockedBy.map { "blocked_by_" + $0 } ?? "blocked"
        case .closed: "closed"
        }
    }

    struct Position: Encodable {
        var asset_id: String
        var symbol: String
        var exchange: String
        var asset_class = "us_equity"
        var qty: String
        var qty_available: String
        var side: String
        var avg_entry_price: String?
        var cost_basis: String
        var market_value: String?
        var current_price: String?
        var unrealized_pl: String?
        var realized_pl: String

        init(_ p: PositionSummary, exchange: String) {
            asset_id = p.symbol.uuid
            symbol = p.symbol.description
            self.exchange = exchange
            qty = String(p.quantity.shares)
            qty_available = String(p.quantity.shares.magnitude - UInt64(p.held.shares))
            side = p.quantity.shares < 0 ? "short" : "long"
            avg_entry_price = p.averageCost.map(API.decimal)
            cost_basis = API.decimal(p.costBasis)
            market_value = p.marketValue.map(API.decimal)
            current_price = p.mark.map(API.decimal)
            unrealized_pl = p.unrealizedPnL.map(API.decimal)
            realized_pl = API.decimal(p.realizedPnL)
        }
    }

    struct Asset: Encodable {
        var id: String
        var `class` = "us_equity"
        /// The primary listing market; Bourse's own code appears only as a trade's or quote's venue.
        var exchange: String
        var symbol: String
        var name: String
        var status = "active"
        var tradable: Bool
        var marginable = true
        var shortable: Bool
        var easy_to_borrow: Bool
        var fractionable = false
    }

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

    /// An activity as Alpaca's `/v2/account/activities` writes one. A fill's id says where its event is in
    /// the journal and which side it is (`::m`, `::t`); a transfer's, where its event is.
    static func activity(_ a: OrderQueries.Activity, account: AccountID) -> String {
        let id = "\(a.time)::\(a.sequence)::\(a.event)"
        let at = time(Timestamp(nanos: a.time))
        let fields: [(String, String)]
        switch a.kind {
        case .fill(let orderID, let side, let price, let qty, let leaves, let fee, let taker, let filled):
            fields = [("id", id + (taker ? "::t" : "::m")), ("account_id", account.uuid), ("activity_type", "FILL"), ("transaction_time", at),
                      ("type", leaves == 0 ? "fill" : "partial_fill"), ("price", decimal(price)), ("qty", String(qty)),
                      ("side", side), ("symbol", a.symbol ?? ""), ("leaves_qty", String(leaves)), ("order_id", OrderID(orderID).uuid),
                      ("fee", decimal(fee)), ("cum_qty", String(filled)), ("order_status", leaves == 0 ? "filled" : "partially_filled")]
        case .transfer(let kind, let symbol, let qty, let amount):
            var f = [("id", id), ("account_id", account.uuid), ("activity_type", kind.rawValue), ("date", String(at.prefix(10))),
                     ("transaction_time", at), ("description", Self.activityDescriptions[kind] ?? "")]
            // Shares moved without cash have a net amount of zero.
            f.append(("net_amount", decimal(amount ?? 0)))
            if let symbol, let qty { f += [("symbol", symbol), ("qty", String(qty))] }
            fields = f
        }
        return "{" + fields.map { quoted($0.0) + ":" + quoted($0.1) }.joined(separator: ",") + "}"
    }

    static let activityDescriptions: [OrderQueries.TransferKind: String] = [
        .deposit: "cash deposited", .withdrawal: "cash withdrawn", .securities: "shares moved", .cashJournal: "cash journal",
    ]

    /// The activity types Alpaca defines. Bourse records FILL, CSD, CSW, JNLC and JNLS; a filter by any of the
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
