import BourseCore
import BourseNode
import BourseProjections
import BourseVenue
import Hummingbird

/// The key's account: its balances and settings, and what happened to it.
extension Routes {
    func addAccounts(to table: RouteTable, at mount: Mount) {
        table.add(.get, mount.prefix + "/account", "The key's account: cash, holds, buying power, equity, margin", answer: .ok("Account")) { request, context in
            try await handle(request, mount, context) { key in try await account(key) }
        }
        table.add(.get, mount.prefix + "/account/configurations", "How the account trades, as Alpaca's settings describe it", answer: .ok("Configuration")) { request, context in
            try await handle(request, mount, context) { key in Self.json(text: try await configuration(key).json) }
        }
        table.add(.patch, mount.prefix + "/account/configurations", "Settings: each may be given as it is; Bourse refuses by name a change it cannot make",
                  body: Schema.configurationChange, answer: .ok("Configuration")) { request, context in
            var request = request
            let body = try? await request.collectBody(upTo: Self.bodyBytesMax)
            return try await handle(request, mount, context) { key in
                let change: API.Configuration.Change = try Self.decode(body)
                let current = try await configuration(key)
                if let problem = current.refusal(of: change) { throw Failure.unprocessable(problem) }
                return Self.json(text: current.json)
            }
        }
        table.add(.get, mount.prefix + "/account/activities", "Fills and transfers, newest first by default", query: Self.activityFilters(typed: true),
                  answer: .list("Activity")) { request, context in
            try await handle(request, mount, context) { key in try await activities(key, Query(request), type: nil) }
        }
        table.add(.get, mount.prefix + "/account/activities/:activity_type", "Activities of one type, newest first by default",
                  query: Self.activityFilters(typed: false), answer: .list("Activity")) { request, context in
            try await handle(request, mount, context) { key in try await activities(key, Query(request), type: context.parameters.get("activity_type") ?? "") }
        }
        table.add(.get, mount.prefix + "/account/portfolio/history", "Equity and profit and loss over time, from the fills, transfers and bars", query: [
            Parameter("period", .text, "How far back from the end: a number and D, W, M or A (default 1M)"),
            Parameter("timeframe", .choice(PortfolioHistory.Timeframe.allCases.map(\.rawValue)), "The interval (default 1Min under 7 days, 15Min under 30, else 1D)"),
            Parameter("start", .time, "From this time (instead of period)"),
            Parameter("end", .time, "To this time (default now)"),
            Parameter("date_end", .date, "To the end of this day, New York"),
            Parameter("extended_hours", .choice(["false", "False"]), "Bourse has its regular session only"),
            Parameter("intraday_reporting", .choice(["continuous"]), "Bourse reports every interval of the period"),
            Parameter("pnl_reset", .choice(["no_reset"]), "Profit and loss counts from the start of the period"),
        ], answer: .ok("PortfolioHistory")) { request, context in
            try await handle(request, mount, context) { key in try await portfolioHistory(key, Query(request)) }
        }
        table.add(.get, mount.onBehalf ? mount.prefix + "/account/positions/history" : "/v1/account/positions/history", "Every change to the account's positions, newest first",
                  query: [Parameter("symbol", .text, "Only this symbol's changes"), .limit(default: 100, max: 1_000)],
                  answer: .list("PositionChange")) { request, context in
            try await handle(request, mount, context) { key in try await positionHistory(key, Query(request)) }
        }
    }

    private func account(_ key: StoredKey) async throws -> Response {
        let id = AccountID(key.account)
        guard let summary = try await venue.account(id) else {
            throw Failure.notFound("account \(id.uuid) does not exist")
        }
        var answer = API.Account(summary)
        answer.trading_status = API.tradingStatus(summary.state, blockedBy: try await blockedBy(summary))
        return Self.json(text: API.accountJSON(answer))
    }

    private func configuration(_ key: StoredKey) async throws -> API.Configuration {
        guard let summary = try await venue.account(AccountID(key.account)) else {
            throw Failure.notFound("account \(AccountID(key.account).uuid) does not exist")
        }
        return API.Configuration(summary)
    }

    private func portfolioHistory(_ key: StoredKey, _ query: Query) async throws -> Response {
        var end = query.time("end") ?? wallClockNanos()
        if let date = query.date("date_end") { end = min(end, ExchangeCalendar.instant(date.adding(days: 1), minute: 0).nanos - 1) }
        var start: Int64
        if let given = query.time("start") {
            start = given
        } else {
            let period = query["period"] ?? "1M"
            guard let unit = period.last, let count = Int64(period.dropLast()), count > 0,
                  let days = ["D": 1, "W": 7, "M": 30, "A": 365][String(unit)].map({ Int64($0) * count }), days <= 36_500 else {
                throw Failure.unprocessable("period must be a number and D, W, M or A, at most 100 years, not \"\(period)\"")
            }
            start = end - days * 86_400_000_000_000
        }
        guard start < end else { throw Failure.unprocessable("start must be before end") }
        let span = end - start
        let timeframe = query["timeframe"].flatMap(PortfolioHistory.Timeframe.init)
            ?? (span < 7 * 86_400_000_000_000 ? .minute : span < 30 * 86_400_000_000_000 ? .fifteenMinutes : .day)
        try await requireHistory()
        let history: PortfolioHistory
        do {
            history = try await PortfolioHistory.compute(account: key.account, from: start, to: end, timeframe: timeframe, orders: orderQueries,
                                                         market: marketData, calendar: calendar)
        } catch PortfolioHistory.Refusal.tooManyPoints(let count) {
            throw Failure.unprocessable("\(count) intervals of \(timeframe.rawValue) is more than \(PortfolioHistory.pointsMax); ask for a longer timeframe or a shorter period")
        }
        func numbers(_ values: [Int64?], decimals: Int = 4) -> String {
            "[" + values.map { $0.map { formatFixedPoint($0, decimals: decimals) } ?? "null" }.joined(separator: ",") + "]"
        }
        let base = history.baseValue.map { formatFixedPoint($0, decimals: 4) } ?? "null"
        return Self.json(text: #"{"timestamp":[\#(history.timestamps.map(String.init).joined(separator: ","))],"equity":\#(numbers(history.equity)),"profit_loss":\#(numbers(history.profitLoss)),"profit_loss_pct":\#(numbers(history.profitLossBasisPoints)),"base_value":\#(base),"timeframe":"\#(timeframe.rawValue)","cashflow":{}}"#)
    }

    static func activityFilters(typed: Bool) -> [Parameter] {
        (typed ? [Parameter("activity_types", .list, "Only these types (FILL, CSD, CSW, JNLS, …), comma-separated"),
                  Parameter("category", .choice(["trade_activity", "non_trade_activity"]), "Only fills, or only the others")] : [])
            + [Parameter("date", .date, "Only this day's (UTC)"),
               Parameter("after", .time, "Only after this time"),
               Parameter("until", .time, "Only before this time"),
               Parameter("direction", .choice(["asc", "desc"]), "desc (the default) or asc"),
               Parameter("page_size", .integer(1...1_000), "At most this many (default 100)"),
               Parameter("page_token", .text, "The id of the last activity of the page before")]
    }

    /// Activities as the order projection has them once it holds everything acknowledged before the request.
    func activities(_ key: StoredKey, _ query: Query, type: String?) async throws -> Response {
        var filter = OrderQueries.ActivityFilter()
        var types = type.map { [$0] } ?? query.list("activity_types")
        switch query["category"] {
        case "trade_activity"?: types = (types ?? ["FILL"]).filter { $0 == "FILL" }
        case "non_trade_activity"?: types = (types ?? API.ActivityType.allCases.map(\.rawValue)).filter { $0 != "FILL" }
        default: break
        }
        if let types {
            let kinds = try types.map { text in
                guard let kind = API.ActivityType(rawValue: text) else {
                    throw Failure.unprocessable("activity type \(text) is not one of Alpaca's: \(API.ActivityType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kind
            }
            filter.fills = kinds.contains(.FILL)
            filter.transfers = kinds.compactMap { OrderQueries.TransferKind(rawValue: $0.rawValue) }
        }
        filter.after = query.time("after")
        filter.until = query.time("until")
        if let date = query.date("date") {
            let start = Int64(date.daysSinceEpoch) * 86_400_000_000_000
            filter.after = max(filter.after ?? Int64.min, start - 1)
            filter.until = min(filter.until ?? Int64.max, start + 86_400_000_000_000)
        }
        filter.ascending = query["direction"] == "asc"
        filter.pageSize = query.integer("page_size") ?? 100
        if let token = query["page_token"] {
            guard let cursor = API.activityCursor(token) else { throw Failure.unprocessable("page_token \"\(token)\" is not an activity's id") }
            filter.cursor = cursor
        }
        try await requireHistory()
        let activities = try await orderQueries.activities(account: key.account, filter)
        return Self.json(text: "[" + activities.map { API.activity($0, account: AccountID(key.account)) }.joined(separator: ",") + "]")
    }

    /// Bourse's extra: every change to the account's positions (fills, transfers), newest first.
    private func positionHistory(_ key: StoredKey, _ query: Query) async throws -> Response {
        try await requireHistory()
        return Self.json(try await orderQueries.positionChanges(account: key.account, symbol: query["symbol"], limit: query.integer("limit") ?? 100).map { c in
            PositionChange(symbol: c.symbol, time: API.time(Timestamp(nanos: c.time)), reason: c.reason, change: String(c.change),
                           qty: String(c.qty), price: API.decimal(c.price))
        })
    }

    struct PositionChange: Encodable {
        var symbol: String
        var time: String
        var reason: String
        var change: String
        var qty: String
        var price: String
    }
}
