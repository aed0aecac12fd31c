import BourseCore
import BourseProjections
/// A JSON Schema, as `/openapi.json` declares a request body or an answer. Each route names its own in the
/// route table, beside its handler, so the document and the routes are written in one place; schemathesis
/// checks the answers against them in CI.
indirect enum Schema: Sendable {
    case string
    /// A decimal written as a string: "190.25".
    case decimal
    case time
    case uuid
    case integer
    case number
    case boolean
    case choice([String])
    case array(Schema)
    /// Properties in order; `optional` lists those that may be left out.
    case object([(String, Schema)], optional: Set<String> = [])
    /// An object whose keys are free (symbols) and whose values are all of one schema.
    case map(Schema)
    case nullable(Schema)
    /// One of the components below, by name.
    case ref(String)
    /// Any JSON object.
    case anyObject

    var json: [String: Any] {
        switch self {
        case .string: ["type": "string"]
        case .decimal: ["type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"]
        case .time: ["type": "string", "format": "date-time"]
        case .uuid: ["type": "string", "format": "uuid"]
        case .integer: ["type": "integer"]
        case .number: ["type": "number"]
        case .boolean: ["type": "boolean"]
        case .choice(let options): ["type": "string", "enum": options]
        case .array(let items): ["type": "array", "items": items.json]
        case .object(let properties, let optional):
            [
                "type": "object",
                "properties": Dictionary(properties.map { ($0.0, $0.1.json) }) { first, _ in first },
                "required": properties.map(\.0).filter { !optional.contains($0) },
            ]
        case .map(let values): ["type": "object", "additionalProperties": values.json]
        case .nullable(let inner):
            if case .ref(let name) = inner { ["nullable": true, "allOf": [["$ref": "#/components/schemas/\(name)"]]] }
            else { inner.json.merging(["nullable": true]) { $1 } }
        case .ref(let name): ["$ref": "#/components/schemas/\(name)"]
        case .anyObject: ["type": "object"]
        }
    }

    static func object(_ properties: [(String, Schema)], optional: [String]) -> Schema {
        .object(properties, optional: Set(optional))
    }

    /// The shapes the API answers with, by name.
    static let components: [String: Schema] = [
        "Error": .object([("code", .integer), ("message", .string)]),
        "TradeRecord": .object([
            ("id", .string), ("origin", .choice(["book", "capture"])), ("reference", .string), ("account_id", .uuid), ("symbol", .string),
            ("side", .choice(["buy", "sell"])), ("qty", .decimal), ("price", .decimal), ("trade_date", .nullable(.string)),
            ("settlement_date", .nullable(.string)), ("counterparty", .string), ("venue", .string), ("source", .string),
            ("state", .choice(["captured", "cleared", "settled", "failed", "cancelled"])), ("reason", .string), ("business_date", .nullable(.string)),
            ("created_at", .time), ("updated_at", .time), ("events", .array(.anyObject)),
        ], optional: ["events"]),
        "BusinessDate": .object([
            ("business_date", .nullable(.string)), ("settles_on", .nullable(.string)), ("closes_at", .nullable(.time)), ("cutoff", .string),
            ("rollover", .choice(["automatic", "operator"])), ("settlement_cycle", .integer),
        ]),
        "QueuedCapture": .object([("trade_id", .string), ("status", .choice(["queued"])), ("queue_id", .integer), ("reason", .string)]),
        "CaptureQueueEntry": .object([
            ("id", .integer), ("trade_id", .string), ("account", .string), ("symbol", .string), ("side", .choice(["buy", "sell"])),
            ("qty", .decimal), ("price", .decimal), ("trade_date", .string), ("settlement_date", .nullable(.string)),
            ("counterparty", .nullable(.string)), ("venue", .nullable(.string)), ("source", .string),
            ("state", .choice(["waiting", "dead", "captured", "discarded"])), ("reason", .string), ("attempts", .integer),
            ("next_attempt_at", .nullable(.time)), ("trade", .nullable(.string)), ("created_at", .time), ("updated_at", .time),
            ("actions", .array(.anyObject)),
        ], optional: ["actions"]),
        "CaptureFile": .object([
            ("id", .integer), ("name", .string), ("digest", .string), ("bytes", .integer), ("state", .choice(["done", "refused"])),
            ("reason", .string), ("rows", .integer), ("captured", .integer), ("queued", .integer), ("refused", .integer), ("received_at", .time),
        ]),
        "CaptureFileRow": .object([
            ("line", .integer), ("trade_id", .string), ("status", .choice(["captured", "queued", "refused"])), ("id", .string), ("reason", .string),
        ]),
        "CorporateAction": .object([("id", .integer), ("kind", .choice(["dividend", "split"])), ("symbol", .string), ("detail", .string), ("declared_at", .time)]),
        "Reconciliation": .object([
            ("id", .integer), ("trade_date", .string), ("name", .string), ("house", .integer), ("street", .integer), ("matched", .integer),
            ("breaks", .integer), ("unreadable", .array(.string)), ("actor", .string), ("created_at", .time),
            ("break_records", .array(.ref("ReconciliationBreak"))),
        ], optional: ["break_records"]),
        "ReconciliationBreak": .object([
            ("id", .integer), ("run", .integer),
            ("kind", .choice(["missing_in_house", "missing_in_street", "quantity", "price", "side", "settlement_date"])),
            ("trade_id", .string), ("house", .string), ("street", .string), ("state", .choice(["open", "resolved"])), ("resolution", .string),
            ("resolved_by", .string), ("resolved_at", .nullable(.time)),
        ]),
        "TrialBalance": .object([
            ("business_date", .string), ("balanced", .boolean),
            ("totals", .array(.object([("asset", .string), ("debits", .decimal), ("credits", .decimal), ("day_debits", .decimal),
                                       ("day_credits", .decimal), ("balanced", .boolean)]))),
            ("books", .array(.object([
                ("ledger_account", .choice(["customer", "venue_fees", "clearing", "outside_world", "in_transit", "street"])),
                ("account_id", .nullable(.uuid)), ("book", .choice(["settled", "unsettled"])), ("asset", .string), ("debit", .decimal),
                ("credit", .decimal), ("day_debits", .decimal), ("day_credits", .decimal),
            ]))),
            ("next_page_token", .nullable(.string)),
        ]),
        "LedgerEntryPage": .object([
            ("entries", .array(.object([
                ("transaction", .integer), ("kind", .string), ("reference", .string), ("business_date", .string), ("account_id", .uuid),
                ("book", .choice(["settled", "unsettled"])), ("asset", .string), ("amount", .decimal), ("at", .time),
            ]))),
            ("next_page_token", .nullable(.string)),
        ]),
        "RiskMark": .object([("sequence", .integer), ("at", .time), ("method", .choice(MarkMethod.allCases.map(\.name))), ("close", .boolean)]),
        "RiskMarginCall": .object([
            ("id", .integer), ("account_id", .uuid), ("deficit", .decimal), ("mark", .integer), ("opened_at", .time), ("deadline", .time),
            ("reduce_only", .boolean), ("liquidation_rounds", .integer), ("state", .choice(["open", "met"])), ("met_at", .nullable(.time)),
        ], optional: ["state", "met_at"]),
        "RiskFigures": .object([("account_id", .uuid), ("margin_call", .nullable(.ref("RiskMarginCall"))), ("client", .string), ("mark", .nullable(.ref("RiskMark"))),
                                ("last_close", .nullable(.ref("RiskMark"))), ("sequence", .integer), ("accounts", .integer)]
                               + ["cash", "long_market_value", "short_market_value", "gross_exposure", "net_exposure", "equity", "realized_pl",
                                  "unrealized_pl", "fees", "total_pl", "day_pl", "reg_t_requirement", "house_requirement", "excess", "deficit",
                                  "largest_position"].map { ($0, Schema.decimal) }
                               + [("concentration_bp", .nullable(.integer)), ("unpriced_positions", .integer)],
                               optional: ["account_id", "margin_call", "client"]),
        "RiskFirm": .object([
            ("firm", .ref("RiskFigures")),
            ("symbols", .array(.object([("symbol", .string), ("price", .nullable(.decimal)), ("qty", .decimal), ("long_market_value", .decimal),
                                        ("short_market_value", .decimal), ("unrealized_pl", .decimal), ("realized_pl", .decimal)]))),
            ("top_exposures", .array(.ref("RiskFigures"))), ("accounts_in_deficit", .integer),
        ]),
        "RiskScenarioResult": .object([
            ("scenario", .object([("name", .string), ("market_bp", .nullable(.integer)), ("sectors", .map(.integer)), ("symbols", .map(.integer))])),
            ("mark", .nullable(.ref("RiskMark"))), ("firm", .ref("RiskStress")),
            ("clients", .array(.ref("RiskStress"))), ("accounts", .array(.ref("RiskStress"))),
        ]),
        "RiskStress": .object([("client", .string), ("account_id", .uuid)]
                              + ["pnl", "equity_before", "equity_after", "long_market_value_after", "short_market_value_after",
                                 "house_requirement_after", "excess_after"].map { ($0, Schema.decimal) }, optional: ["client", "account_id"]),
        "RiskValueAtRisk": .object([
            ("method", .choice(["historical", "monte_carlo"])), ("horizon_days", .integer), ("outcomes", .integer), ("mark", .nullable(.ref("RiskMark"))),
            ("firm", .ref("RiskVaR")), ("clients", .array(.ref("RiskVaR"))), ("accounts", .array(.ref("RiskVaR"))),
        ]),
        "RiskVaR": .object([("client", .string), ("account_id", .uuid), ("var_95", .decimal), ("var_99", .decimal)],
                           optional: ["client", "account_id"]),
        "TradeRecordPage": .object([("trades", .array(.ref("TradeRecord"))), ("next_page_token", .nullable(.string))]),
        "BrokerAccount": .object([
            ("id", .uuid), ("account_number", .string), ("account_type", .string), ("status", .string), ("currency", .string),
            ("last_equity", .decimal), ("created_at", .time), ("kind", .choice(["cash", "margin"])), ("trading_status", .string),
        ]),
        "BankRelationship": .object([
            ("id", .uuid), ("account_id", .uuid), ("status", .string), ("account_owner_name", .string), ("bank_account_type", .string),
            ("bank_account_number", .string), ("bank_routing_number", .string), ("nickname", .nullable(.string)),
        ]),
        "Transfer": .object([
            ("id", .uuid), ("account_id", .uuid), ("relationship_id", .nullable(.uuid)), ("amount", .decimal), ("type", .string),
            ("status", .choice(TransferStatus.allCases.map(\.name))), ("direction", .choice(["INCOMING", "OUTGOING"])),
            ("reason", .nullable(.string)), ("created_at", .time), ("updated_at", .time),
        ]),
        "Journal": .object([
            ("id", .uuid), ("entry_type", .choice(["JNLC", "JNLS"])), ("from_account", .uuid), ("to_account", .uuid),
            ("symbol", .nullable(.string)), ("qty", .nullable(.decimal)), ("price", .nullable(.decimal)), ("net_amount", .nullable(.decimal)),
            ("status", .choice(["executed", "rejected"])), ("error_message", .nullable(.string)),
        ]),
        "ApiKey": .object([
            ("key_id", .string), ("account_id", .uuid), ("role", .string), ("created_at", .nullable(.time)), ("status", .choice(["active", "revoked"])),
        ]),
        "Order": .object([
            ("id", .uuid), ("client_order_id", .string), ("created_at", .nullable(.time)), ("updated_at", .nullable(.time)),
            ("submitted_at", .nullable(.time)), ("filled_at", .nullable(.time)), ("canceled_at", .nullable(.time)),
            ("expired_at", .nullable(.time)), ("replaced_by", .nullable(.uuid)), ("replaces", .nullable(.uuid)), ("asset_id", .uuid),
            ("asset_class", .string), ("symbol", .string), ("notional", .nullable(.decimal)), ("qty", .decimal), ("filled_qty", .decimal),
            ("filled_avg_price", .nullable(.decimal)), ("order_class", .choice(["simple", "bracket", "oco", "oto"])),
            ("order_type", .string), ("type", .choice(["market", "limit", "stop", "stop_limit", "trailing_stop"])),
            ("side", .choice(["buy", "sell"])), ("time_in_force", .choice(["day", "gtc", "gtd", "ioc", "fok"])),
            ("limit_price", .nullable(.decimal)), ("stop_price", .nullable(.decimal)), ("trail_price", .nullable(.decimal)),
            ("trail_percent", .nullable(.decimal)), ("hwm", .nullable(.decimal)),
            ("status", .choice(OrderStatus.allCases.map(\.rawValue))),
            ("extended_hours", .boolean), ("expire_at", .nullable(.time)), ("cancel_reason", .string), ("cancel_message", .string),
            ("legs", .nullable(.array(.ref("Order")))),
        ], optional: ["cancel_reason", "cancel_message"]),
        "Account": .object([
            ("id", .uuid), ("account_number", .string), ("status", .string), ("currency", .string), ("cash", .decimal),
            ("buying_power", .decimal), ("equity", .decimal), ("portfolio_value", .decimal), ("long_market_value", .decimal),
            ("short_market_value", .decimal), ("initial_margin", .decimal), ("maintenance_margin", .decimal), ("multiplier", .decimal),
            ("shorting_enabled", .boolean), ("trading_blocked", .boolean), ("account_blocked", .boolean), ("pattern_day_trader", .boolean),
            ("cash_on_hold", .decimal), ("settled_cash", .decimal), ("unsettled_cash", .decimal), ("realized_pl", .decimal),
            ("unrealized_pl", .decimal), ("open_orders", .integer),
        ], optional: ["buying_power", "equity", "portfolio_value", "long_market_value", "short_market_value", "initial_margin",
                      "maintenance_margin", "unrealized_pl"]),
        "Configuration": .object([
            ("dtbp_check", .nullable(.string)), ("fractional_trading", .boolean), ("max_margin_multiplier", .decimal),
            ("no_shorting", .boolean), ("pdt_check", .nullable(.string)), ("suspend_trade", .boolean),
            ("trade_confirm_email", .choice(["all", "none"])), ("ptp_no_exception_entry", .boolean), ("max_options_trading_level", .integer),
        ]),
        "Position": .object([
            ("asset_id", .uuid), ("symbol", .string), ("exchange", .string), ("asset_class", .string), ("qty", .decimal),
            ("qty_available", .decimal), ("side", .choice(["long", "short"])), ("avg_entry_price", .decimal), ("cost_basis", .decimal),
            ("market_value", .decimal), ("current_price", .decimal), ("unrealized_pl", .decimal), ("realized_pl", .decimal),
        ], optional: ["avg_entry_price", "market_value", "current_price", "unrealized_pl"]),
        "Asset": .object([
            ("id", .uuid), ("class", .string), ("exchange", .string), ("symbol", .string), ("name", .string), ("status", .string),
            ("tradable", .boolean), ("marginable", .boolean), ("shortable", .boolean), ("easy_to_borrow", .boolean), ("fractionable", .boolean),
        ]),
        "Activity": .object([
            ("id", .string), ("activity_type", .string), ("transaction_time", .time), ("type", .string), ("price", .decimal),
            ("qty", .decimal), ("side", .string), ("symbol", .string), ("leaves_qty", .decimal), ("order_id", .uuid), ("fee", .decimal),
            ("date", .string), ("net_amount", .decimal),
        ], optional: ["type", "price", "qty", "side", "symbol", "leaves_qty", "order_id", "fee", "date", "net_amount"]),
        "Clock": .object([("timestamp", .time), ("is_open", .boolean), ("next_open", .time), ("next_close", .time)]),
        "CalendarDay": .object([("date", .string), ("open", .string), ("close", .string), ("settlement_date", .string)]),
        "Bar": .object([("t", .time), ("o", .number), ("h", .number), ("l", .number), ("c", .number), ("v", .integer), ("n", .integer),
                        ("vw", .number)]),
        "Trade": .object([("i", .integer), ("x", .string), ("p", .number), ("s", .integer), ("t", .time), ("c", .array(.string)),
                          ("z", .string)]),
        "Quote": .object([("t", .time), ("ax", .string), ("ap", .number), ("as", .integer), ("bx", .string), ("bp", .number),
                          ("bs", .integer), ("c", .array(.string)), ("z", .string)]),
        "Snapshot": .object([("symbol", .string), ("latestTrade", .nullable(.ref("Trade"))), ("latestQuote", .nullable(.ref("Quote"))),
                             ("minuteBar", .nullable(.ref("Bar"))), ("dailyBar", .nullable(.ref("Bar"))),
                             ("prevDailyBar", .nullable(.ref("Bar")))], optional: ["symbol"]),
        "Watchlist": .object([("id", .uuid), ("account_id", .uuid), ("name", .string), ("created_at", .time), ("updated_at", .time),
                              ("assets", .array(.ref("Asset")))], optional: ["assets"]),
        "Alert": .object([("id", .string), ("symbol", .string), ("condition", .string), ("value", .decimal), ("source", .string),
                          ("status", .choice(["active", "fired"])), ("created_at", .time), ("fired_at", .nullable(.time)),
                          ("fired_price", .nullable(.decimal))]),
        "Book": .object([
            ("symbol", .string), ("state", .string), ("bids", .array(.ref("BookLevel"))), ("asks", .array(.ref("BookLevel"))),
            ("last_trade", .decimal), ("l2_sequence", .integer), ("l3_sequence", .integer), ("session", .string), ("timestamp", .time),
        ], optional: ["last_trade"]),
        "BookLevel": .object([("price", .decimal), ("size", .decimal), ("orders", .integer),
                              ("queue", .array(.object([("id", .uuid), ("size", .integer)])))], optional: ["queue"]),
        "PortfolioHistory": .object([
            ("timestamp", .array(.integer)), ("equity", .array(.nullable(.number))), ("profit_loss", .array(.nullable(.number))),
            ("profit_loss_pct", .array(.nullable(.number))), ("base_value", .nullable(.number)), ("timeframe", .string), ("cashflow", .anyObject),
        ]),
        "PositionChange": .object([("symbol", .string), ("time", .time), ("reason", .string), ("change", .decimal), ("qty", .decimal),
                                   ("price", .decimal)]),
        "Applied": .object([("sequence", .string), ("events", .string)]),
    ]

    /// A page of a series for several symbols, and for one.
    static func series(_ name: String, _ item: String) -> Schema {
        .object([(name, .map(.array(.ref(item)))), ("next_page_token", .nullable(.string))])
    }

    static func singleSeries(_ name: String, _ item: String) -> Schema {
        .object([(name, .array(.ref(item))), ("symbol", .string), ("next_page_token", .nullable(.string))])
    }
}

/// What a route answers with when it succeeds: a status and the schema of its body (none for 204).
struct Answer: Sendable {
    var status: Int
    var schema: Schema?
    /// Other answers that are not failures in the error shape: a health check's 503, say.
    var others: [(status: Int, schema: Schema)] = []
    var contentType = "application/json"

    /// Server-sent events: a stream of `id:` and `data:` lines.
    static let eventStream = Answer(status: 200, schema: .string, contentType: "text/event-stream")

    static func ok(_ schema: Schema) -> Answer { Answer(status: 200, schema: schema) }
    static func ok(_ name: String) -> Answer { Answer(status: 200, schema: .ref(name)) }
    static func list(_ name: String) -> Answer { Answer(status: 200, schema: .array(.ref(name))) }
    static let noContent = Answer(status: 204, schema: nil)
}

/// The request bodies.
extension Schema {
    /// A price or quantity: a decimal string, or a JSON number read exactly from its text.
    static let amount = Schema.string

    static let brokerAccountRequest = Schema.object([
        ("contact", .anyObject), ("identity", .anyObject), ("disclosures", .anyObject), ("agreements", .array(.anyObject)),
        ("trusted_contact", .anyObject), ("account_type", .choice(["trading"])), ("currency", .choice(["USD"])),
        ("enabled_assets", .array(.choice(["us_equity"]))), ("account_number", .string), ("kind", .choice(["cash", "margin"])),
        ("limits", .anyObject),
    ], optional: ["disclosures", "agreements", "trusted_contact", "account_type", "currency", "enabled_assets", "account_number", "kind", "limits"])

    static let brokerAccountUpdate = Schema.object([
        ("contact", .anyObject), ("identity", .anyObject), ("disclosures", .anyObject), ("trusted_contact", .anyObject), ("limits", .anyObject),
    ], optional: ["contact", "identity", "disclosures", "trusted_contact", "limits"])

    static let achRequest = Schema.object([
        ("account_owner_name", .string), ("bank_account_type", .choice(["CHECKING", "SAVINGS"])), ("bank_account_number", .string),
        ("bank_routing_number", .string), ("nickname", .string),
    ], optional: ["nickname"])

    static let transferRequest = Schema.object([
        ("transfer_type", .choice(["ach"])), ("relationship_id", .uuid), ("amount", .decimal), ("direction", .choice(["INCOMING", "OUTGOING"])),
        ("timing", .choice(["immediate"])),
    ], optional: ["transfer_type", "timing"])

    static let journalRequest = Schema.object([
        ("from_account", .uuid), ("to_account", .uuid), ("entry_type", .choice(["JNLC", "JNLS"])), ("amount", .decimal),
        ("symbol", .string), ("qty", .decimal), ("description", .string),
    ], optional: ["amount", "symbol", "qty", "description"])

    static let orderRequest = Schema.object([
        ("symbol", .string), ("qty", amount), ("side", .choice(["buy", "sell"])),
        ("type", .choice(["market", "limit", "stop", "stop_limit", "trailing_stop"])),
        ("time_in_force", .choice(["day", "gtc", "gtd", "ioc", "fok"])), ("limit_price", amount), ("stop_price", amount),
        ("trail_price", amount), ("trail_percent", amount), ("client_order_id", .string), ("extended_hours", .boolean),
        ("display_qty", amount), ("post_only", .boolean), ("stp", .choice(["none", "cancel_newest", "cancel_oldest", "cancel_both", "decrement"])),
        ("expire_at", .time), ("order_class", .choice(["simple", "bracket", "oco", "oto"])),
        ("take_profit", .object([("limit_price", amount)])),
        ("stop_loss", .object([("stop_price", amount), ("limit_price", amount)], optional: ["limit_price"])),
    ], optional: ["limit_price", "stop_price", "trail_price", "trail_percent", "client_order_id", "extended_hours", "display_qty",
                  "post_only", "stp", "expire_at", "order_class", "take_profit", "stop_loss"])

    static let replaceRequest = Schema.object([("qty", amount), ("limit_price", amount), ("stop_price", amount), ("client_order_id", .string)],
                                              optional: ["qty", "limit_price", "stop_price", "client_order_id"])

    static let configurationChange = Schema.object([
        ("fractional_trading", .boolean), ("max_margin_multiplier", .string), ("no_shorting", .boolean), ("suspend_trade", .boolean),
        ("trade_confirm_email", .string), ("ptp_no_exception_entry", .boolean),
    ], optional: ["fractional_trading", "max_margin_multiplier", "no_shorting", "suspend_trade", "trade_confirm_email", "ptp_no_exception_entry"])

    static let watchlist = Schema.object([("name", .string), ("symbols", .array(.string))], optional: ["symbols"])

    static let alertRequest = Schema.object([
        ("symbol", .string), ("condition", .choice(["price_above", "price_below", "change_pct_above", "change_pct_below"])),
        ("value", .string), ("source", .choice(["trade", "nbbo"])),
    ], optional: ["source"])

    /// One position's outcome when all are closed.
    static let closeOutcome = Schema.object([("symbol", .string), ("status", .integer), ("order_id", .nullable(.uuid)), ("body", .anyObject)])
}
