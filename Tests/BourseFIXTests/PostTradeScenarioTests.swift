@testable import BourseFIX
import BourseCore
import BourseEngine
import BourseServer
import BourseTestSupport
@testable import BourseVenue
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Synchronization
import Testing

/// Five business days around Columbus Day 2026 on one venue, trades coming in through all three doors
/// (`POST /v1/trades`, a file in the inbox, a TradeCaptureReport over FIX) and from its own book; the
/// scheduler rolls each day over at the cutoff. Every figure expected is worked out by hand in the comments.
@Suite("post-trade over five business days", .serialized)
struct PostTradeScenarioTests {
    static let configuration: VenueConfiguration = {
        var c = VenueConfiguration.demo
        c.symbols = c.symbols.filter { ["AAPL", "MSFT"].contains($0.symbol) }.map {
            var s = $0
            (s.maker_fee, s.taker_fee) = ("0", "0")
            return s
        }
        // 1: cash, 1,000 AAPL; 2: margin, 100 MSFT; 3: the operator's.
        c.accounts = [
            .init(id: 1, kind: "cash", deposit: "1000000.00", positions: [.init(symbol: "AAPL", qty: 1_000, cost: "180.00")], keys: ["trader"]),
            .init(id: 2, kind: "margin", deposit: "1000000.00", positions: [.init(symbol: "MSFT", qty: 100, cost: "400.00")], keys: ["trader"]),
            .init(id: 3, kind: "margin", deposit: "1000000.00", positions: nil, keys: ["admin"]),
        ]
        c.firms = nil
        c.fix = VenueConfiguration.FIXEntry(sessions: [VenueConfiguration.FIXSessionEntry(comp_id: "CLEAR", role: "clearing", accounts: [1, 2])])
        return c
    }()

    final class Clock: @unchecked Sendable {
        let value = Mutex<Int64>(0)
        var now: Int64 {
            get { value.withLock { $0 } }
            set { value.withLock { $0 = newValue } }
        }
    }

    /// Dollars as units of 1/10,000, negative ones too.
    static func units(_ dollars: String) -> Int64 {
        dollars.hasPrefix("-") ? -Money(dollars: String(dollars.dropFirst()))!.units : Money(dollars: dollars)!.units
    }

    static func obligation(_ account: AccountID, _ symbol: String, _ shares: Int64, _ money: String) -> Netting.Obligation {
        Netting.Obligation(account: account, symbol: try! Symbol(validating: symbol), shares: shares, money: units(money))
    }

    @Test("""
    trades from the API, a file, FIX and the book over five days: each day rolls over; the Friday before Columbus Day \\
    settles on Tuesday; netted obligations equal the figures worked by hand; a short sale fails in part, is carried \\
    and settles the next cycle; a trade cancelled after settling is reversed; a dividend is paid and a split applied; \
    each date's trial balance balances and every customer's settled and unsettled books equal the engine's
    """)
    func fiveDays() async throws {
        let directory = makeTemporaryDirectory("bourse-scenario")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = Clock()
        /// A New York time of a day.
        func at(_ date: String, _ minute: Int) { clock.now = ExchangeCalendar.instant(CivilDate(date)!, minute: minute).nanos }
        at("2026-10-08", 10 * 60)
        let opened = try await DataDirectory(path: directory).open(configuration: Self.configuration, clock: { clock.now })
        let node = opened.node, venue = opened.venue
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Server(opened: opened, port: 0).application { continuation.yield($0) }
        let server = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        let admin = DataDirectory.credentials(IssuedKey.self, in: directory + "/credentials.json").first { $0.role == .admin }!
        let gateway = try await FIXGateway(settings: SessionSettings.all(Self.configuration.fix!), storePath: directory + "/fix", node: node,
                                           clock: { clock.now }, log: { _ in })
        let fixPort = try await gateway.start(host: "127.0.0.1", port: 0)
        let scheduler = Scheduler(node: node, now: { clock.now })
        let (a, b) = (AccountID(1), AccountID(2))
        let (aapl, msft) = (try Symbol(validating: "AAPL"), try Symbol(validating: "MSFT"))

        func http(_ method: String, _ path: String, _ body: String? = nil) async throws -> (Int, Any?) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            request.setValue(admin.keyID, forHTTPHeaderField: "APCA-API-KEY-ID")
            request.setValue(admin.secret, forHTTPHeaderField: "APCA-API-SECRET-KEY")
            if let body { request.httpBody = Data(body.utf8); request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONSerialization.jsonObject(with: data))
        }
        func captureOverAPI(_ id: String, _ account: Int, _ symbol: String, _ side: String, _ qty: Int, _ price: String, _ date: String) async throws {
            let (status, body) = try await http("POST", "/v1/trades", #"{"trade_id":"\#(id)","account":"\#(account)","symbol":"\#(symbol)","side":"\#(side)","qty":"\#(qty)","price":"\#(price)","trade_date":"\#(date)"}"#)
            #expect(status == 200, "\(id): \(body ?? "")")
        }
        func fill(_ seller: UInt32, _ buyer: UInt32, _ symbol: Symbol, _ qty: Int64, _ price: String) async throws {
            for (account, side) in [(seller, Side.sell), (buyer, .buy)] {
                _ = try await venue.execute(.newOrder(NewOrder(orderID: venue.newOrderID(), account: AccountID(account), symbol: symbol, side: side,
                                                               type: .limit, timeInForce: .day, quantity: Quantity(qty), limitPrice: Price(dollars: price)!)))
            }
        }
        func trade(_ id: String) async throws -> [String: Any] { (try await http("GET", "/v1/trades/\(id)").1 as? [String: Any]) ?? [:] }
        func due(_ date: String) async throws -> [Netting.Obligation] { try await venue.read { $0.obligations(due: CivilDate(date)!) } }
        /// The trial balance of a date, and one book of it as a signed figure (debit positive; cash in units of 1/10,000).
        func trialBalance(_ date: String, account: AccountID? = nil) async throws -> [String: Any] {
            let (status, body) = try await http("GET", "/v1/ledger/trial-balance?date=\(date)&limit=5000" + (account.map { "&account=\($0.uuid)" } ?? ""))
            #expect(status == 200, "\(body ?? "")")
            return body as? [String: Any] ?? [:]
        }
        func line(_ balance: [String: Any], _ account: AccountID, _ book: String, _ asset: String) -> [String: Int64] {
            let books = balance["books"] as? [[String: Any]] ?? []
            guard let line = books.first(where: { $0["account_id"] as? String == account.uuid && $0["book"] as? String == book && $0["asset"] as? String == asset }) else {
                return [:]
            }
            func figure(_ name: String) -> Int64 { asset == "USD" ? Self.units(line[name] as! String) : Int64(line[name] as! String)! }
            return ["balance": figure("debit") - figure("credit"), "day_debits": figure("day_debits"), "day_credits": figure("day_credits")]
        }
        /// The open date's trial balance balances, and each customer's books equal what the engine holds settled and not.
        func ledgerAgrees() async throws {
            let date = try await venue.read { $0.businessDate }!
            let balance = try await trialBalance("\(date)")
            #expect(balance["balanced"] as? Bool == true, "\(date): \(balance)")
            for account in [a, b] {
                let summary = try await venue.account(account)!
                #expect(line(balance, account, "settled", "USD")["balance", default: 0] == summary.settledCash.units, "\(date) \(account)")
                #expect(line(balance, account, "unsettled", "USD")["balance", default: 0] == summary.unsettledCash.units, "\(date) \(account)")
                for p in try await venue.positions(of: account) {
                    let settled = try await venue.read { $0.settledShares(account, p.symbol) }!.shares
                    #expect(line(balance, account, "settled", "\(p.symbol)")["balance", default: 0] == settled, "\(date) \(account) \(p.symbol)")
                    #expect(line(balance, account, "unsettled", "\(p.symbol)")["balance", default: 0] == p.quantity.shares - settled, "\(date) \(account) \(p.symbol)")
                }
            }
        }
        /// The rollover at the cutoff (17:30 in New York) and the cycle it runs; the next day starts at 10:00.
        func rollOver(_ day: String) async throws {
            at(day, 17 * 60 + 30)
            try await scheduler.tick(after: .open)
            for view in ["post_trade", "ledger"] {
                if let problem = await node.projections.wait(view, for: try await venue.lastSequence()) { Issue.record("\(problem)") }
            }
            try await ledgerAgrees()
            clock.now += 16 * 3_600_000_000_000 + 30 * 60_000_000_000
        }

        // Thursday 8 October: the first business date opens; its trades settle Friday the 9th.
        try await scheduler.tick(after: nil)
        #expect(try await venue.read { [$0.businessDate, $0.settlementDateOfFills] } == [CivilDate("2026-10-08"), CivilDate("2026-10-09")])
        try await fill(1, 2, aapl, 100, "190.00")                                  // the book: 2 buys 100 AAPL from 1 at $190
        try await captureOverAPI("API-1", 2, "AAPL", "buy", 50, "189.00", "2026-10-08") // the API: 2 buys 50 AAPL from the street at $189
        try await rollOver("2026-10-08")
        // Due Friday, by hand: 1 delivers 100 for $19,000; 2 receives 150 for 19,000 + 9,450; the street delivers 50 for $9,450.
        let friday = try await node.projections.store.query("SELECT account, symbol, obligation_shares, obligation_money, settled_shares FROM pt_settlements WHERE business_date = ? AND kind = 'settlement' ORDER BY n", [.int(Int64(CivilDate("2026-10-09")!.daysSinceEpoch))])
        #expect(friday.map { [$0.int("account")!, $0.int("obligation_shares")!, $0.int("obligation_money")!, $0.int("settled_shares")!] }
                == [[1, -100, Self.units("19000"), -100], [2, 150, Self.units("-28450"), 150], [Int64(AccountID.street.rawValue), -50, Self.units("9450"), -50]])
        #expect(try await trade("C-1")["state"] as? String == "settled")

        // Friday 9 October: trades settle Tuesday the 13th, Columbus Day being no settlement day.
        #expect(try await venue.read { $0.settlementDateOfFills } == CivilDate("2026-10-13"))
        let client = try await Client.connect(port: fixPort)
        var seq = 0
        /// Sends a message and returns the first answer of type `answer` (the session also reports the venue's fills as AE).
        func fix(_ type: String, _ body: FIXBody, answer: String) async throws -> FIXMessage? {
            seq += 1
            try await client.send(FIXEncoder.encode(type: type, sequence: seq, sender: "CLEAR", target: "BOURSE", sendingTime: Timestamp(nanos: clock.now), body: body))
            while let message = try await client.next(timeout: .seconds(5)) {
                if message.msgType == answer { return message }
            }
            return nil
        }
        var logon = FIXBody()
        logon.append(98, 0); logon.append(108, 30)
        #expect(try await fix("A", logon, answer: "A") != nil)
        var report = FIXBody()                                                     // FIX: 1 sells 30 AAPL to the street at $191
        for (tag, value) in [(571, "FIX-1"), (570, "N"), (55, "AAPL"), (32, "30"), (31, "191"), (75, "20261009"), (60, "20261009-15:00:00"),
                             (552, "1"), (54, "2"), (37, "X1"), (1, "1")] { report.append(tag, value) }
        let ack = try await fix("AE", report, answer: "AR")
        #expect(ack?.msgType == "AR" && ack?[939] == "0", "\(ack.map { $0.text } ?? "none")")
        // The file: 2 sells 200 MSFT short at $420 (it holds 100), 1 buys 10 MSFT at $419.
        try Data("""
        trade_id,account,symbol,side,quantity,price,trade_date,counterparty
        FILE-1,2,MSFT,sell,200,420.00,2026-10-09,GSCO
        FILE-2,1,MSFT,buy,10,419.00,2026-10-09,MSCO
        """.utf8).write(to: URL(fileURLWithPath: node.files.inbox + "/friday.csv"))
        #expect(try await node.files.scan().map { "\($0.captured)/\($0.rows)" } == ["2/2"])
        #expect(try await http("POST", "/v1/admin/corporate-actions/dividends", #"{"symbol":"AAPL","per_share":"0.50","ex_date":"2026-10-13","record_date":"2026-10-13","pay_date":"2026-10-14"}"#).0 == 200)
        #expect(try await http("POST", "/v1/admin/corporate-actions/splits", #"{"symbol":"MSFT","ratio":2,"effective_date":"2026-10-15"}"#).0 == 200)
        try await rollOver("2026-10-09")
        // Columbus Day opens: a trading day, nothing settles; its trades settle Tuesday too.
        #expect(try await venue.read { [$0.businessDate, $0.settlementDateOfFills] } == [CivilDate("2026-10-12"), CivilDate("2026-10-13")])
        #expect(try await trade("C-2")["state"] as? String == "captured")
        // Due Tuesday, by hand, sorted by symbol then account: AAPL 1 delivers 30 for $5,730, the street receives them;
        // MSFT 1 receives 10 for $4,190, 2 delivers 200 for $84,000, the street takes 200 and gives 10: receives 190 for $79,810.
        #expect(try await due("2026-10-13") == [Self.obligation(a, "AAPL", -30, "5730"), Self.obligation(.street, "AAPL", 30, "-5730"),
                                               Self.obligation(a, "MSFT", 10, "-4190"), Self.obligation(b, "MSFT", -200, "84000"),
                                               Self.obligation(.street, "MSFT", 190, "-79810")])
        try await rollOver("2026-10-12")

        // Tuesday 13 October. 2 held 100 MSFT settled: it delivers those, money in proportion ($42,000), and fails 100.
        // The pool of 100 goes by account: 1 receives its 10, the street 90 of its 190 (money 79,810 × 90 / 190 = 37,804.7368,
        // toward zero), failing 100 for 79,810 − 37,804.7368 = $42,005.2632. Marked at MSFT's $420 that fail is worth $42,000:
        // the street pays the $5.2632 difference now.
        let tuesday = try await venue.read { $0.fails }
        #expect(tuesday == [Self.obligation(b, "MSFT", -100, "42000"), Self.obligation(.street, "MSFT", 100, "-42000")])
        let marks = try await node.projections.store.query("SELECT account, settled_money FROM pt_settlements WHERE kind = 'mark'", [])
        #expect(marks.map { [$0.int("account")!, $0.int("settled_money")!] } == [[Int64(AccountID.street.rawValue), Self.units("-5.2632")]])
        // The venue's ids: API-1 is C-1, FIX-1 C-2, FILE-1 and FILE-2 C-3 and C-4.
        #expect(try await trade("C-3")["state"] as? String == "failed")      // FILE-1
        #expect(try await trade("C-2")["state"] as? String == "settled")     // FIX-1
        // The dividend's record date: 1 holds 1,000 − 100 − 30 = 870 settled AAPL, 2 holds 150.
        let recorded = try await node.projections.store.query("SELECT account, settled_shares FROM pt_settlements WHERE kind = 'dividend_recorded' ORDER BY account", [])
        #expect(recorded.map { [$0.int("account")!, $0.int("settled_shares")!] } == [[1, 870], [2, 150]])
        // FIX-1 settled; cancelled now, its reverse is due Wednesday.
        let (cancelled, cancelBody) = try await http("POST", "/v1/trades/C-2/cancel")
        #expect(cancelled == 200 && (cancelBody as? [String: Any])?["state"] as? String == "cancelled", "\(cancelBody ?? "")")
        try await captureOverAPI("API-2", 2, "MSFT", "buy", 200, "418.00", "2026-10-13")   // 2 covers: buys 200 MSFT at $418
        let cashBefore = try await venue.account(a)!.cash
        try await rollOver("2026-10-13")

        // Wednesday 14 October. 2's fail (−100, +$42,000; marked at $420 it needs no payment) nets with its buy (+200, −$83,600):
        // it receives 100 for $41,600, all of it. The street's fail (marked: it pays $5.2632) nets with its sale to 2 and delivers.
        #expect(try await venue.read { $0.fails }.isEmpty)
        #expect(try await trade("C-3")["state"] as? String == "settled")     // FILE-1, once its fail delivered
        #expect(try await trade("C-5")["state"] as? String == "settled")     // API-2
        let wednesday = try await node.projections.store.query("SELECT account, symbol, obligation_shares, obligation_money, settled_shares, settled_money FROM pt_settlements WHERE business_date = ? AND kind = 'settlement' ORDER BY n", [.int(Int64(CivilDate("2026-10-14")!.daysSinceEpoch))])
        #expect(wednesday.contains { $0.int("account") == 2 && $0.text("symbol") == "MSFT" && $0.int("obligation_shares") == 100
                && $0.int("obligation_money") == Self.units("-41600") && $0.int("settled_shares") == 100 })
        // FIX-1's reverse: 1 receives back 30 AAPL and pays $5,730.
        #expect(wednesday.contains { $0.int("account") == 1 && $0.text("symbol") == "AAPL" && $0.int("obligation_shares") == 30
                && $0.int("settled_money") == Self.units("-5730") })
        // The dividend: 870 × $0.50 = $435 to 1.
        #expect(try await venue.account(a)!.cash.units == cashBefore.units + Self.units("435"))
        try await rollOver("2026-10-14")

        // Thursday 15 October: MSFT splits 2 for 1. 1's 10 shares become 20, 2's 100 (100 + 200 − 200) become 200.
        #expect(try await venue.read { $0.businessDate } == CivilDate("2026-10-15"))
        #expect(try await venue.positions(of: a).first { $0.symbol == msft }?.quantity == Quantity(20))
        #expect(try await venue.positions(of: b).first { $0.symbol == msft }?.quantity == Quantity(200))
        #expect(try await venue.read { ($0.settledShares(b, msft), $0.invariantViolations()) } == (Quantity(200), []))
        for account in [a, b] { #expect(try await venue.account(account)!.unsettledCash == .zero) }

        // The ledger at the close of Tuesday the 13th, by hand: 2's 100 settled MSFT delivered (settled 100 → 0, unsettled
        // −200 → −100), then API-2's 200 bought (unsettled +100); its cash: +$84,000 unsettled from FILE-1, $42,000 of it
        // settled, −$83,600 for API-2: unsettled −$41,600. Read again now, two days on, a closed date's books stand.
        let tuesdayClose = try await trialBalance("2026-10-13", account: b)
        #expect(tuesdayClose["balanced"] as? Bool == true)
        #expect(line(tuesdayClose, b, "settled", "MSFT") == ["balance": 0, "day_debits": 0, "day_credits": 100])
        #expect(line(tuesdayClose, b, "unsettled", "MSFT") == ["balance": 100, "day_debits": 300, "day_credits": 0])
        #expect(line(tuesdayClose, b, "unsettled", "USD")["balance"] == Self.units("-41600"))
        #expect((tuesdayClose["books"] as? [[String: Any]])?.allSatisfy { $0["account_id"] as? String == b.uuid } == true)
        let (entriesStatus, entries) = try await http("GET", "/v1/ledger/entries?account=\(b.uuid)&business_date=2026-10-13")
        let kinds = ((entries as? [String: Any])?["entries"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(entriesStatus == 200 && Set(kinds) == ["settlement", "capture"], "\(entries ?? "")")

        client.close()
        await gateway.stop()
        server.cancel()
        _ = await server.result
        opened.stop()
    }
}
