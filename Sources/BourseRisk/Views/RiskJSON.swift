import BourseCore

/// Risk figures as JSON, as the API answers them and `bourse risk` prints them: every amount a decimal
/// string of dollars, each answer naming the mark and the sequence it stands at.
public enum RiskJSON {
    public static func mark(_ m: RiskMark) -> String {
        #"{"sequence":"# + String(m.sequence) + #","at":"# + quoted(m.time.rfc3339) + #","method":"# + quoted(m.request.method.name)
            + #","close":"# + (m.request.close ? "true" : "false") + "}"
    }

    /// A call; a listing of calls, open and met, adds its `state` and when it was met.
    public static func marginCall(_ c: MarginCall, state: String? = nil, metAt: Timestamp? = nil) -> String {
        var text = #"{"id":"# + String(c.id) + #","account_id":"# + quoted(c.account.uuid) + #","deficit":"# + money(Int128(c.deficit))
            + #","mark":"# + String(c.mark) + #","opened_at":"# + quoted(c.openedAt.rfc3339) + #","deadline":"# + quoted(c.deadline.rfc3339)
            + #","reduce_only":"# + (c.reduceOnly ? "true" : "false") + #","liquidation_rounds":"# + String(c.liquidationRounds)
        if let state { text += #","state":"# + quoted(state) + #","met_at":"# + (metAt.map { quoted($0.rfc3339) } ?? "null") }
        return text + "}"
    }

    static func money(_ units: Int128) -> String { quoted(formatFixedPoint(units, decimals: 4)) }

    /// Figures as the API answers them, with what they are of and the mark and sequence they stand at.
    public static func figures(_ f: RiskFigures, of book: borrowing RiskBook, account: AccountID? = nil, client: String? = nil) -> String {
        var text = "{"
        if let account {
            text += #""account_id":"# + quoted(account.uuid) + #","margin_call":"# + (book.call(account).map { marginCall($0) } ?? "null") + ","
        }
        if let client { text += #""client":"# + quoted(client) + "," }
        text += #""mark":"# + (book.mark.map(mark) ?? "null") + #","last_close":"# + (book.lastClose.map(mark) ?? "null")
        text += #","sequence":"# + String(book.sequence) + #","accounts":"# + String(f.accounts)
        for (name, value) in [("cash", f.cash), ("long_market_value", f.longValue), ("short_market_value", f.shortValue),
                              ("gross_exposure", f.grossExposure), ("net_exposure", f.netExposure), ("equity", f.equity),
                              ("realized_pl", f.realized), ("unrealized_pl", f.unrealized), ("fees", f.fees), ("total_pl", f.totalPnL),
                              ("day_pl", f.dayPnL), ("reg_t_requirement", f.regTRequirement), ("house_requirement", f.houseRequirement),
                              ("excess", f.excess), ("deficit", f.deficit), ("largest_position", f.largestPosition)] {
            text += #",""# + name + #"":"# + money(value)
        }
        text += #","concentration_bp":"# + (f.concentrationBasisPoints.map { String($0) } ?? "null")
        return text + #","unpriced_positions":"# + String(f.unpricedPositions) + "}"
    }

    public static func firm(_ book: borrowing RiskBook, top: Int) -> String {
        let firm = book.firmFigures
        var text = #"{"firm":"# + figures(firm, of: book) + #","symbols":["#
        text += book.bySymbol().sorted { $0.key.description < $1.key.description }.map { symbol, e in
            #"{"symbol":"# + quoted(symbol.description) + #","price":"# + (e.price.map { money(Int128($0)) } ?? "null")
                + #","qty":"# + quoted(String(e.quantity)) + #","long_market_value":"# + money(e.longValue)
                + #","short_market_value":"# + money(e.shortValue) + #","unrealized_pl":"# + money(e.unrealized)
                + #","realized_pl":"# + money(e.realized) + "}"
        }.joined(separator: ",")
        // The accounts with the most exposure, and every one in deficit first among equals.
        let ranked = zip(book.accounts, book.figures).sorted { a, b in
            a.1.grossExposure != b.1.grossExposure ? a.1.grossExposure > b.1.grossExposure : a.0.id.rawValue < b.0.id.rawValue
        }
        text += #"],"top_exposures":["# + ranked.prefix(top).map { figures($0.1, of: book, account: $0.0.id) }.joined(separator: ",")
        text += #"],"accounts_in_deficit":"# + String(book.accountsInDeficit)
        return text + "}"
    }

    /// Everything at once: the firm, each client, each account in id order.
    public static func report(_ book: borrowing RiskBook) -> String {
        var text = #"{"sequence":"# + String(book.sequence) + #","mark":"# + (book.mark.map(mark) ?? "null")
        text += #","firm":"# + figures(book.firmFigures, of: book) + #","clients":["#
        text += book.clients.keys.sorted().map { figures(book.client($0)!, of: book, client: $0) }.joined(separator: ",")
        text += #"],"accounts":["#
        text += zip(book.accounts, book.figures).sorted { $0.0.id.rawValue < $1.0.id.rawValue }
            .map { figures($0.1, of: book, account: $0.0.id) }.joined(separator: ",")
        return text + "]}"
    }

    /// A scenario's result: what it shocked, and before and after for the firm, each client, and the `top`
    /// accounts that lose the most.
    public static func stress(_ r: StressResult, top: Int) -> String {
        func side(_ f: StressFigures) -> String {
            #""pnl":"# + money(f.pnl) + #","equity_before":"# + money(f.before.equity) + #","equity_after":"# + money(f.after.equity)
                + #","long_market_value_after":"# + money(f.after.longValue) + #","short_market_value_after":"# + money(f.after.shortValue)
                + #","house_requirement_after":"# + money(f.after.houseRequirement) + #","excess_after":"# + money(f.after.excess)
        }
        let s = r.scenario
        var text = #"{"scenario":{"name":"# + quoted(s.name) + #","market_bp":"# + (s.market.map { String($0) } ?? "null")
        text += #","sectors":{"# + s.sectors.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + String($0.value) }.joined(separator: ",")
        text += #"},"symbols":{"# + s.symbols.sorted { $0.key.description < $1.key.description }
            .map { quoted($0.key.description) + ":" + String($0.value) }.joined(separator: ",")
        text += #"}},"mark":"# + (r.mark.map(mark) ?? "null") + #","firm":{"# + side(r.firm) + "}"
        text += #","clients":["# + r.clients.sorted { $0.key < $1.key }.map { #"{"client":"# + quoted($0.key) + "," + side($0.value) + "}" }
            .joined(separator: ",")
        let losers = r.accounts.sorted { $0.1.pnl != $1.1.pnl ? $0.1.pnl < $1.1.pnl : $0.0.rawValue < $1.0.rawValue }.prefix(top)
        text += #"],"accounts":["# + losers.map { #"{"account_id":"# + quoted($0.0.uuid) + "," + side($0.1) + "}" }.joined(separator: ",")
        return text + "]}"
    }

    /// Value at risk for the firm, each client, and the `top` accounts with the most at risk.
    public static func valueAtRisk(_ r: ValueAtRisk.Result, top: Int) -> String {
        func figures(_ f: ValueAtRisk.Figures) -> String { #""var_95":"# + money(f.var95) + #","var_99":"# + money(f.var99) }
        var text = #"{"method":"# + quoted(r.method) + #","horizon_days":1,"outcomes":"# + String(r.outcomes)
        text += #","mark":"# + (r.mark.map(mark) ?? "null") + #","firm":{"# + figures(r.firm) + "}"
        text += #","clients":["# + r.clients.sorted { $0.key < $1.key }.map { #"{"client":"# + quoted($0.key) + "," + figures($0.value) + "}" }
            .joined(separator: ",")
        let most = r.accounts.sorted { $0.1.var99 != $1.1.var99 ? $0.1.var99 > $1.1.var99 : $0.0.rawValue < $1.0.rawValue }.prefix(top)
        text += #"],"accounts":["# + most.map { #"{"account_id":"# + quoted($0.0.uuid) + "," + figures($0.1) + "}" }.joined(separator: ",")
        return text + "]}"
    }

    static func quoted(_ text: String) -> String { JSONText.string(text).text }
}
