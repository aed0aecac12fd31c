import BourseCore
import BourseFeeds
import BourseJournal
import BourseMarketData
import BourseRisk
@testable import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import Synchronization
import Testing

/// The risk platform's API on the demo venue: figures at marks, by account, client and firm.
@Suite("the risk API")
struct RiskRoutesTests {
    @Test("""
        marked by NBBO mid, a symbol a followed venue quotes on both sides is fixed at the NBBO's midpoint, one it does not at the \
        venue's own; the quote is journaled once, before the mark, and the journal read again marks alike
        """)
    func nbboMarks() async throws {
        let directory = makeTemporaryDirectory("bourse-risk")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The followed venue quotes AAPL about $200, where the venue's own previous close is $190.
        let venue = SimulatedVenue(name: "SIM1", stocks: [("AAPL", 2_000_000)], seed: 5)
        venue.generate(400)
        let listening = AsyncStream.makeStream(of: Int.self)
        let served = Task { try await venue.serve { listening.continuation.yield($0) } }
        defer { served.cancel() }
        var ports = listening.stream.makeAsyncIterator()
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        configuration.feeds = [.init(name: "SIM1", host: "127.0.0.1", port: await ports.next() ?? 0, username: nil, password: "secret")]
        configuration.risk = .init(mark_method: "nbbo_mid")
        let server = try await ServerTests.Running(directory: directory, configuration: configuration)
        let following = Task { await server.opened.node.feeds.run() }
        defer { following.cancel() }
        let feeds = server.opened.node.feeds
        #expect(await eventually { feeds.received(0) >= venue.logCount }, "the feed is followed to its end")
        let best = try #require(feeds.best(ITCH.Stock("AAPL")!))
        let (bid, ask) = (try #require(best.bid).price, try #require(best.ask).price)
        #expect(bid > 1_950_000 && ask > bid, "the followed venue quotes about $200: \(bid) \(ask)")

        let admin = server.key(account: 3, role: .admin)
        for _ in 0..<2 {
            let (status, mark) = try await server.send("POST", "/v1/risk/marks", as: admin, body: "{}")
            #expect(status == 200 && (mark as? [String: Any])?["method"] as? String == "nbbo_mid", "\(mark)")
        }
        let (_, firm) = try await server.send("GET", "/v1/risk/firm", as: admin)
        let symbols = try #require((firm as? [String: Any])?["symbols"] as? [[String: Any]])
        let price = { (name: String) in symbols.first { $0["symbol"] as? String == name }?["price"] as? String }
        #expect(price("AAPL") == formatFixedPoint(Int128((bid + ask) / 2), decimals: 4), "\(symbols)")
        // MSFT is not quoted by the followed venue and its own book is empty: its previous close, as the mid falls back to.
        #expect(price("MSFT") == "420.00")
        // The clock finds nothing moved: no mark, and no quote journaled again.
        #expect(try await !MarkClock(node: server.opened.node).tick())
        await server.stop()

        // In the journal: AAPL's quote once (the second mark found it unchanged), before the first mark.
        var commands: [Command] = []
        _ = try JournalReader.read(directory + "/journal") { entry in
            switch entry.command.command {
            case .referenceQuote, .mark: commands.append(entry.command.command)
            default: break
            }
        }
        let quoted = ReferenceQuote(symbol: try Symbol(validating: "AAPL"), bid: Price(units: bid), ask: Price(units: ask))
        #expect(commands == [.referenceQuote(quoted), .mark(MarkRequest(method: .nbboMid, close: false)),
                             .mark(MarkRequest(method: .nbboMid, close: false))])
        let replayed = try RiskReplay.run(journal: directory + "/journal", through: nil, clients: [:])
        #expect(replayed.prices[try Symbol(validating: "AAPL")] == (bid + ask) / 2)
        #expect(replayed.mark?.request == MarkRequest(method: .nbboMid, close: false))
    }

    @Test("a fill moves an account's figures at the next mark; the mark clock marks only when prices moved; keys read only what they may")
    func figures() async throws {
        let directory = makeTemporaryDirectory("bourse-risk")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        configuration.risk = .init(clients: [.init(id: "household", accounts: [1, 2])])
        let server = try await ServerTests.Running(directory: directory, configuration: configuration)
        let trader = server.key(account: 1), admin = server.key(account: 3, role: .admin), other = server.key(account: 2)
        let clock = MarkClock(node: server.opened.node)

        // Before any trade the previous closes are prices a first mark fixes; then nothing moves.
        #expect(try await clock.tick())
        #expect(try await !clock.tick())
        let (_, resting) = try await server.order(trader, #""symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"191.00""#)
        #expect(resting["status"] as? String == "new")
        let (_, taker) = try await server.order(admin, #""symbol":"AAPL","qty":10,"side":"sell","type":"market","time_in_force":"ioc""#)
        #expect(taker["status"] as? String == "filled")
        #expect(try await clock.tick())

        let (status, body) = try await server.send("GET", "/v1/risk/accounts/\(AccountID(1).uuid)", as: trader)
        let f = try #require(body as? [String: Any], "\(status)")
        // 1,010 AAPL cost $191,910 and are worth $192,910 at $191; the maker was paid a $0.02 rebate.
        #expect(f["unrealized_pl"] as? String == "1000.00")
        #expect(f["fees"] as? String == "-0.02")
        #expect(f["total_pl"] as? String == "1000.02")
        #expect(f["cash"] as? String == "998090.02")
        // The demo's 1,000 shares of the four others, at their previous closes: $1,700,000.
        #expect(f["long_market_value"] as? String == "1892910.00")
        #expect(f["equity"] as? String == "2891000.02")
        // A cash account: no requirement, its cash is its excess.
        #expect(f["house_requirement"] as? String == "0.00" && f["excess"] as? String == "998090.02")
        let mark = try #require(f["mark"] as? [String: Any])
        #expect(mark["method"] as? String == "last_trade" && mark["close"] as? Bool == false)

        let (hidden, _) = try await server.send("GET", "/v1/risk/accounts/\(AccountID(1).uuid)", as: other)
        #expect(hidden == 404)
        let (forbidden, _) = try await server.send("GET", "/v1/risk/firm", as: trader)
        #expect(forbidden == 403)

        // A close mark: the day's P&L starts from here.
        let (closed, closeMark) = try await server.send("POST", "/v1/risk/marks", as: admin, body: #"{"close":true}"#)
        #expect(closed == 200 && (closeMark as? [String: Any])?["close"] as? Bool == true)
        let (_, afterClose) = try await server.send("GET", "/v1/risk/accounts/\(AccountID(1).uuid)", as: admin)
        #expect((afterClose as? [String: Any])?["day_pl"] as? String == "0.00")
        let (refused, _) = try await server.send("POST", "/v1/risk/marks", as: admin, body: #"{"close":true,"method":"mid"}"#)
        #expect(refused == 422)

        let (_, client) = try await server.send("GET", "/v1/risk/clients/household", as: admin)
        let household = try #require(client as? [String: Any])
        #expect(household["accounts"] as? Int == 2 && household["client"] as? String == "household")
        let (_, firmBody) = try await server.send("GET", "/v1/risk/firm?limit=2", as: admin)
        let firm = try #require(firmBody as? [String: Any])
        #expect((firm["firm"] as? [String: Any])?["accounts"] as? Int == 3)
        #expect((firm["top_exposures"] as? [Any])?.count == 2)
        let aapl = (firm["symbols"] as? [[String: Any]])?.first { $0["symbol"] as? String == "AAPL" }
        // 1,010 + 1,000 + 99,990 shares: what account 3 sold went to account 1.
        #expect(aapl?["qty"] as? String == "102000" && aapl?["price"] as? String == "191.00")
        let (unknown, _) = try await server.send("GET", "/v1/risk/clients/nobody", as: admin)
        #expect(unknown == 404)
        let metrics = try await server.metrics()
        #expect(metrics.contains("bourse_risk_firm_equity_dollars") && metrics.contains("bourse_risk_margin_calls_open 0"), "\(metrics)")

        // The figures streamed at this point equal the same computation over the journal through it.
        let streamed = server.opened.node.risk.read { (RiskJSON.report($0), $0.sequence) }
        _ = try await server.order(trader, #""symbol":"MSFT","qty":"5","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"400.00""#)
        await server.stop()
        let bounded = try RiskReplay.run(journal: directory + "/journal", through: streamed.1, clients: ["household": [1, 2].map(AccountID.init)])
        #expect(RiskJSON.report(bounded) == streamed.0)

        // Restored from its checkpoint, the book gives the same figures (a resting order since moved nothing but the sequence).
        let restarted = try await ServerTests.Running(directory: directory, configuration: configuration)
        let (_, again) = try await restarted.send("GET", "/v1/risk/accounts/\(AccountID(1).uuid)", as: admin)
        var (before, after) = (afterClose as? [String: Any] ?? [:], again as? [String: Any] ?? [:])
        #expect(after["sequence"] as? Int == (before["sequence"] as? Int ?? 0) + 1)
        (before["sequence"], after["sequence"]) = (nil, nil)
        #expect(NSDictionary(dictionary: after) == NSDictionary(dictionary: before))
        await restarted.stop()
    }

    @Test("""
    configured and posted scenarios shock the demo's holdings; historical VaR reads five days of daily closes the venue     made; Monte Carlo VaR is the same twice; a scenario naming an unknown sector is refused by name
    """)
    func analytics() async throws {
        let clock = ConfigurationTests.Clock()
        clock.now = API.parseTime("2026-03-02T15:00:00Z")!
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        configuration.risk = .init(clients: [.init(id: "household", accounts: [1, 2])],
                                   sectors: [.init(id: "tech", symbols: ["AAPL", "MSFT"])],
                                   scenarios: [.init(name: "tech-crash", market_bp: -1_000, sectors: ["tech": -3_000])],
                                   monte_carlo_paths: 2_000)
        let server = try await ServerTests.Running(directory: makeTemporaryDirectory("bourse-risk"), configuration: configuration, clock: { clock.now })
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let (buyer, seller, admin, trader) = (server.key(account: 2), server.key(account: 3), server.key(account: 3, role: .admin), server.key(account: 1))
        // One share of AAPL a day, Monday to Friday: closes $190, $200, $180, $189, $198.45.
        for (day, price) in ["190.00", "200.00", "180.00", "189.00", "198.45"].enumerated() {
            clock.now = API.parseTime("2026-03-0\(2 + day)T15:00:00Z")!
            _ = try await server.order(seller, #""symbol":"AAPL","qty":"1","side":"sell","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            let (_, fill) = try await server.order(buyer, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            #expect(fill["status"] as? String == "filled", "day \(day)")
        }
        #expect(try await MarkClock(node: server.opened.node).tick())

        let (_, scenarios) = try await server.send("GET", "/v1/risk/scenarios", as: admin)
        let crash = try #require((scenarios as? [[String: Any]])?.first)
        // Account 1's 1,000 AAPL ($198,450) and MSFT ($420,000) fall 30%, SPY, TSLA and BRK.B ($1,280,000) 10%.
        let one = (crash["accounts"] as? [[String: Any]])?.first { $0["account_id"] as? String == AccountID(1).uuid }
        #expect(one?["pnl"] as? String == "-313535.00", "\(crash)")
        let (posted, mine) = try await server.send("POST", "/v1/risk/scenarios?limit=3", as: admin, body: #"{"name":"aapl","symbols":{"AAPL":-5000}}"#)
        #expect(posted == 200 && ((mine as? [String: Any])?["accounts"] as? [Any])?.count == 3)
        let (unknown, refusal) = try await server.send("POST", "/v1/risk/scenarios", as: admin, body: #"{"name":"x","sectors":{"energy":-100}}"#)
        #expect(unknown == 422 && ((refusal as? [String: Any])?["message"] as? String)?.contains("energy") == true)
        let (forbidden, _) = try await server.send("GET", "/v1/risk/var", as: trader)
        #expect(forbidden == 403)

        let (_, historical) = try await server.send("GET", "/v1/risk/var?limit=100", as: admin)
        let h = try #require(historical as? [String: Any])
        #expect(h["method"] as? String == "historical" && h["outcomes"] as? Int == 4)
        // The worst of four days is AAPL's fall of 10%: $19,845 of account 1's $198,450.
        let var1 = (h["accounts"] as? [[String: Any]])?.first { $0["account_id"] as? String == AccountID(1).uuid }
        #expect(var1?["var_95"] as? String == "19845.00" && var1?["var_99"] as? String == "19845.00", "\(h)")
        let (_, mc1) = try await server.send("GET", "/v1/risk/var?method=monte_carlo", as: admin)
        let (_, mc2) = try await server.send("GET", "/v1/risk/var?method=monte_carlo", as: admin)
        #expect((mc1 as? [String: Any])?["outcomes"] as? Int == 2_000)
        #expect(NSDictionary(dictionary: mc1 as? [String: Any] ?? [:]) == NSDictionary(dictionary: mc2 as? [String: Any] ?? [:]))
        await server.stop()
    }

    @Test("""
    an account bought on margin falls below its requirement: a mark opens a call that the account and the desk see, it may only \
    reduce; after the deadline the desk sells its position, noted with the call, and the covered call is met
    """)
    func marginCallLiquidation() async throws {
        let clock = ConfigurationTests.Clock()
        clock.now = API.parseTime("2026-03-02T15:00:00Z")!
        var configuration = VenueConfiguration.demo
        (configuration.fix, configuration.firms) = (nil, nil)
        configuration.accounts = [
            .init(id: 1, kind: "margin", deposit: "1000.00", positions: nil, keys: ["trader"]),
            .init(id: 2, kind: "margin", deposit: "1000000.00", positions: [.init(symbol: "AAPL", qty: 1_000, cost: "190.00")], keys: ["trader"]),
            .init(id: 3, kind: "margin", deposit: "1000000.00", positions: nil, keys: ["trader", "admin"]),
        ]
        configuration.risk = .init(margin_calls: .init(deadline_minutes: 10, enforce: true))
        let server = try await ServerTests.Running(directory: makeTemporaryDirectory("bourse-risk"), configuration: configuration, clock: { clock.now })
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let (borrower, seller, buyer, admin) = (server.key(account: 1), server.key(account: 2), server.key(account: 3), server.key(account: 3, role: .admin))
        let (marks, desk) = (MarkClock(node: server.opened.node), MarginDesk(node: server.opened.node, now: { clock.now }))
        func trade(_ price: String, _ qty: Int, from: IssuedKey, to: IssuedKey) async throws {
            _ = try await server.order(from, #""symbol":"AAPL","qty":"\#(qty)","side":"sell","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            let (_, fill) = try await server.order(to, #""symbol":"AAPL","qty":"\#(qty)","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            #expect(fill["status"] as? String == "filled", "\(price): \(fill)")
        }
        // 10 AAPL at $190 on $1,000 of equity; then AAPL trades down, within the 10% collar each time, to $114.
        try await trade("190.00", 10, from: seller, to: borrower)
        for price in ["171.00", "154.00", "139.00", "126.00", "114.00"] { try await trade(price, 1, from: seller, to: buyer) }
        #expect(try await marks.tick())
        #expect(try await desk.tick().count == 1)

        // Cash −$900.03 (the taker fee), $1,140 of AAPL, 25% of it required: $45.03 short.
        let (_, figures) = try await server.send("GET", "/v1/risk/accounts/\(AccountID(1).uuid)", as: borrower)
        let call = try #require((figures as? [String: Any])?["margin_call"] as? [String: Any], "\(figures ?? "")")
        #expect(call["deficit"] as? String == "45.03" && call["reduce_only"] as? Bool == true)
        #expect(call["deadline"] as? String == "2026-03-02T15:10:00.000000000Z")
        let (refused, _) = try await server.order(borrower, #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"114.00""#)
        #expect(refused == 403 || refused == 422)
        #expect(try await desk.tick().isEmpty, "nothing more before the deadline")

        // Past the deadline, with a bid to sell into.
        clock.now += 11 * 60_000_000_000
        _ = try await server.order(buyer, #""symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"day","limit_price":"114.00""#)
        let done = try await desk.tick()
        #expect(done.count == 1 && done[0].contains("liquidating account 1"), "\(done)")
        let (_, positions) = try await server.send("GET", "/v2/positions", as: borrower)
        #expect((positions as? [Any])?.isEmpty == true, "\(positions ?? "")")
        #expect(try await desk.tick() == ["account 1 met its margin call"])
        let (_, met) = try await server.send("GET", "/v1/risk/margin-calls?state=met", as: admin)
        let record = try #require((met as? [[String: Any]])?.first)
        #expect(record["liquidation_rounds"] as? Int == 1 && record["state"] as? String == "met")
        let (_, account) = try await server.send("GET", "/v2/account", as: borrower)
        #expect((account as? [String: Any])?["status"] as? String == "ACTIVE")
        await server.stop()
    }

    @Test("the risk stream pushes a trader's own figures when a fill and a mark change them, and a risk desk's key the firm's too")
    func stream() async throws {
        let directory = makeTemporaryDirectory("bourse-risk")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        let server = try await ServerTests.Running(directory: directory, configuration: configuration)
        let (trader, admin) = (server.key(account: 1), server.key(account: 3, role: .admin))
        let marks = MarkClock(node: server.opened.node)
        #expect(try await marks.tick())
        let received = Received()
        let traded = Atomic<Bool>(false)
        let authenticate = #"{"action":"authenticate","data":{"key_id":"\#(trader.keyID)","secret_key":"\#(trader.secret)"}}"#
        try await server.webSocket("/stream", received, first: authenticate) { text, outbound in
            if text.contains(#""status":"authorized""#) {
                try await outbound.write(.text(#"{"action":"listen","data":{"streams":["risk"]}}"#))
            } else if text.contains(#""stream":"risk""#), !traded.exchange(true, ordering: .relaxed) {
                // The first message is the figures as they stand; a fill at a new price and a mark change them.
                _ = try await server.order(trader, #""symbol":"TSLA","qty":"3","side":"buy","type":"limit","time_in_force":"day","limit_price":"255.00""#)
                _ = try await server.order(admin, #""symbol":"TSLA","qty":"3","side":"sell","type":"limit","time_in_force":"day","limit_price":"255.00""#)
                #expect(try await marks.tick())
            }
            return text.contains(#""stream":"risk""#) && text.contains(#""long_market_value":"1895765.00""#)
        }
        let figures = received.all.filter { $0.contains(#""stream":"risk""#) }
        #expect(figures.count >= 2 && figures.allSatisfy { $0.contains(AccountID(1).uuid) })
        #expect(received.all.contains { $0.contains(#""streams":["risk"]"#) })

        let desk = Received()
        let authenticateDesk = #"{"action":"authenticate","data":{"key_id":"\#(admin.keyID)","secret_key":"\#(admin.secret)"}}"#
        try await server.webSocket("/stream", desk, first: authenticateDesk) { text, outbound in
            if text.contains(#""status":"authorized""#) {
                try await outbound.write(.text(#"{"action":"listen","data":{"streams":["risk"],"risk_accounts":["nobody"]}}"#))
                try await outbound.write(.text(#"{"action":"listen","data":{"streams":["risk"],"risk_accounts":["\#(AccountID(2).uuid)"]}}"#))
            }
            return desk.all.contains { $0.contains(#""stream":"risk_firm""#) } && desk.all.contains { $0.contains(AccountID(2).uuid) }
        }
        #expect(desk.all.contains { $0.contains("nobody is not an account id") })
        await server.stop()
    }
}
