@testable import BourseServer
@testable import BourseVenue
import BourseCore
import BourseJournal
import BourseTestSupport
import Foundation
import Testing

@Suite("configuration and schedule")
final class ConfigurationTests {
    /// The files a test writes, removed with it.
    let directory = makeTemporaryDirectory("bourse-config")
    private var files = 0

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func write(_ text: String) -> String {
        files += 1
        let path = directory + "/bourse-\(files).json"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test("the demo configuration is written out and reads back the same")
    func demoRoundTrip() throws {
        let path = directory + "/bourse.json"
        try VenueConfiguration.demo.write(to: path)
        #expect(try VenueConfiguration.read(path) == .demo)
        #expect(VenueConfiguration.demo.problem == nil)
    }

    @Test("an unknown setting, a wrong type or a bad value is an error that says where")
    func mistakes() throws {
        let cases: [(String, String)] = [
            (#"{"symbols":[{"symbol":"AAPL","tick_size":"0.01"}],"accounts":[]}"#, "symbols[0].tick_size is not a known setting"),
            (#"{"symbols":[],"accounts":[],"listen":{"prot":1}}"#, "listen.prot is not a known setting"),
            (#"{"symbols":[{"symbol":"AAPL","lot_size":"ten"}],"accounts":[]}"#, "symbols[0].lot_size must be Int64"),
            (#"{"symbols":[{"symbol":"aapl"}],"accounts":[]}"#, "symbol aapl: not a valid symbol (1 to 8 of A-Z, 0-9 and '.')"),
            (#"{"symbols":[{"symbol":"AAPL","maker_fee":"-2.00"}],"accounts":[]}"#, "symbol AAPL: fees must be at most $1 a share either way"),
            (#"{"symbols":[{"symbol":"AAPL","tick":"nickel"}],"accounts":[]}"#, "symbol AAPL: tick must be standard or half_penny, not \"nickel\""),
            (#"{"symbols":[{"symbol":"AAPL"},{"symbol":"AAPL"}],"accounts":[]}"#, "symbol AAPL is listed twice"),
            (#"{"symbols":[],"accounts":[{"id":1,"kind":"cash","positions":[{"symbol":"MSFT","qty":1,"cost":"1"}]}]}"#,
             "account 1: position in MSFT, which the file does not list"),
            (#"{"symbols":[],"accounts":[{"id":1,"kind":"hedge"}]}"#, "account 1: kind must be cash or margin, not \"hedge\""),
            (#"{"symbols":[],"accounts":[{"id":1,"kind":"cash","keys":["root"]}]}"#, "account 1: key role must be trader, risk or admin, not \"root\""),
            (#"{"symbols":[],"accounts":[],"sessions":{"automatic":true,"overrides":[{"date":"2026-12-24","close":"17:00"}]}}"#,
             "sessions.overrides: close 17:00 on 2026-12-24 must be a New York time as HH:MM after 09:30 and by 16:00"),
            (#"{"symbols":[],"accounts":[],"sessions":{"automatic":true,"overrides":[{"date":"2026-02-30","closed":true}]}}"#,
             "sessions.overrides: 2026-02-30 is not a date as YYYY-MM-DD from 1678-01-01 to 2261-12-31"),
            (#"{"symbols":[],"accounts":[],"feeds":[{"name":"X","host":"127.0.0.1","port":9,"transport":"pigeon"}]}"#,
             "feeds: X's transport must be soupbintcp or moldudp64, not \"pigeon\""),
            (#"{"symbols":[],"accounts":[],"risk":{"house_margin":{"long_bp":20000}}}"#,
             "risk.house_margin: long_bp 20000 must be 0 to 10000 basis points"),
            (#"{"symbols":[],"accounts":[],"risk":{"house_margin":{"symbols":[{"symbol":"AAPL","long":5000}]}}}"#,
             "risk.house_margin.symbols[0].long is not a known setting"),
            (#"{"symbols":[],"accounts":[],"risk":{"house_margin":{"symbols":[{"symbol":"AAPL"},{"symbol":"AAPL"}]}}}"#,
             "risk.house_margin.symbols: AAPL is listed twice"),
            (#"{"symbols":[],"accounts":[],"risk":{"partitions":0}}"#, "risk.partitions 0 must be 1 to 64"),
            (#"{"symbols":[],"accounts":[],"risk":{"mark_method":"vwap"}}"#, "risk.mark_method \"vwap\" must be \"last_trade\", \"mid\" or \"nbbo_mid\""),
            (#"{"symbols":[],"accounts":[],"risk":{"mark_method":"nbbo_mid"}}"#, "risk.mark_method \"nbbo_mid\" needs feeds to follow: without them the NBBO is the venue's own mid"),
            ("{", "is not valid JSON"),
        ]
        for (text, message) in cases {
            let path = write(text)
            do {
                _ = try VenueConfiguration.read(path)
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".hasSuffix(message), "\(text): \(error)")
            }
        }
    }

    @Test("calendar overrides close a day or close it early")
    func overrides() throws {
        let path = write(#"{"symbols":[],"accounts":[],"sessions":{"automatic":true,"overrides":[{"date":"2026-11-23","closed":true},{"date":"2026-11-24","close":"12:00"}]}}"#)
        let calendar = try VenueConfiguration.read(path).calendar()
        #expect(calendar.session(on: CivilDate(year: 2026, month: 11, day: 23)) == nil)
        #expect(calendar.session(on: CivilDate(year: 2026, month: 11, day: 24))?.closeMinute == 12 * 60)
    }

    static let custom = VenueConfiguration(
        listen: nil, rate_limit: nil, sessions: .init(automatic: true, overrides: []),
        symbols: [.init(symbol: "XYZ", previous_close: "10.00", tick: "standard", lot_size: 1, min_qty: 1, max_qty: 10_000,
                        market_protection_bp: 500, maker_fee: "0.0010", taker_fee: "0.0020", easy_to_borrow: false)],
        accounts: [.init(id: 7, kind: "cash", deposit: "5000.00", positions: [.init(symbol: "XYZ", qty: 100, cost: "9.50")], keys: ["trader"]),
                   .init(id: 8, kind: "cash", deposit: "5000.00", positions: nil, keys: ["trader", "risk"])])

    @Test("a start creates what the configuration names; a later start adds what is new and follows changed fees, leaving cash alone")
    func applied() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ServerTests.Running(directory: directory, configuration: Self.custom)
        #expect(server.opened.node.applied == ["listed XYZ", "opened account 7", "opened account 8"])
        #expect(server.opened.issued.map { "\($0.account) \($0.role)" } == ["7 trader", "8 trader", "8 risk"])
        let trader = server.key(account: 7)
        let (_, assets) = try await server.send("GET", "/v2/assets", as: trader)
        #expect((assets as? [[String: Any]])?.map { $0["symbol"] as? String } == ["XYZ"])
        // Automatic sessions: the scheduler has not run, so XYZ is still closed.
        let (closed, body) = try await server.order(trader, #""symbol":"XYZ","qty":"1","side":"sell","type":"limit","time_in_force":"day","limit_price":"10.00""#)
        #expect(closed == 422 && (body["message"] as? String)?.hasPrefix("symbol_closed") == true, "\(body)")
        _ = try await server.send("POST", "/v1/admin/accounts/7/deposits", as: server.key(account: 8, role: .risk), body: #"{"amount":"1.00"}"#)
        await server.stop()

        var changed = Self.custom
        changed.symbols[0].taker_fee = "0.0025"
        changed.symbols.append(.init(symbol: "ABC", previous_close: "5.00", tick: nil, lot_size: nil, min_qty: nil, max_qty: nil,
                                     market_protection_bp: nil, maker_fee: nil, taker_fee: nil, easy_to_borrow: true))
        changed.accounts[0].deposit = "9999.00"
        let restarted = try await ServerTests.Running(directory: directory, configuration: changed)
        #expect(restarted.opened.node.applied == ["set XYZ's fees", "listed ABC"])
        #expect(restarted.opened.issued.isEmpty)
        let (_, account) = try await restarted.send("GET", "/v2/account", as: trader)
        #expect((account as? [String: Any])?["cash"] as? String == "5000.00")
        let fees = try await restarted.opened.venue.read { $0.summary(of: try! Symbol(validating: "XYZ"))?.fees }
        #expect(fees?.takerPerShare == Money(dollars: "0.0025"))
        await restarted.stop()
    }

    @Test("automatic sessions open the symbols at the open and close them at the close, expiring DAY orders; GTD orders expire on time")
    func schedule() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // One clock for the scheduler and the sequencer that stamps every command, so that neither the date
        // nor the hour the test runs at can change what it sees.
        let clock = Clock()
        clock.now = API.parseTime("2026-11-20T14:00:00Z")!
        let server = try await ServerTests.Running(directory: directory, configuration: Self.custom, clock: { clock.now })
        let trader = server.key(account: 7)
        let scheduler = Scheduler(node: server.opened.node, now: { clock.now })
        let xyz = try Symbol(validating: "XYZ")
        func state() async throws -> TradingState? { try await server.opened.venue.read { $0.summary(of: xyz)?.state } }

        // Friday 2026-11-20, 10:00 in New York: in session.
        clock.now = API.parseTime("2026-11-20T15:00:00Z")!
        #expect(try await scheduler.tick(after: nil) == .open)
        #expect(try await state() == .open)
        let (placed, day) = try await server.order(trader, #""symbol":"XYZ","qty":"5","side":"sell","type":"limit","time_in_force":"day","limit_price":"10.50""#)
        #expect(placed == 200)
        let expiry = clock.now + 300_000_000
        let (gtdPlaced, gtd) = try await server.order(trader, #""symbol":"XYZ","qty":"5","side":"sell","type":"limit","time_in_force":"gtd","limit_price":"10.60","expire_at":"\#(API.time(Timestamp(nanos: expiry)))""#)
        #expect(gtdPlaced == 200 && gtd["time_in_force"] as? String == "gtd" && gtd["expire_at"] is String, "\(gtd)")

        // An operator's halt stands while the calendar's state does not change.
        _ = try await server.opened.venue.execute(.setTradingState(xyz, .halted))
        #expect(try await scheduler.tick(after: .open) == .open)
        #expect(try await state() == .halted)
        // At 16:00 the session closes, halted or not: the DAY order expires with it.
        // The GTD order's time has come too.
        clock.now = API.parseTime("2026-11-20T21:00:00Z")!
        #expect(try await scheduler.tick(after: .open) == .closed)
        #expect(try await state() == .closed)
        let dayID = day["id"] as? String ?? "", gtdID = gtd["id"] as? String ?? ""
        let dayOrder = try await server.eventually("/v2/orders/\(dayID)", as: trader) { ($0 as? [String: Any])?["status"] as? String == "expired" }
        #expect((dayOrder as? [String: Any])?["status"] as? String == "expired")
        let gtdOrder = try await server.eventually("/v2/orders/\(gtdID)", as: trader) { ($0 as? [String: Any])?["status"] as? String == "expired" }
        #expect((gtdOrder as? [String: Any])?["status"] as? String == "expired")
        #expect(server.opened.orders.nextExpiry() == nil)

        // Saturday: still closed. Monday's open opens it again.
        clock.now = API.parseTime("2026-11-21T15:00:00Z")!
        #expect(try await scheduler.tick(after: .closed) == .closed)
        clock.now = API.parseTime("2026-11-23T14:30:00Z")!
        #expect(try await scheduler.tick(after: .closed) == .open)
        #expect(try await state() == .open)
        await server.stop()
    }

    @Test("""
    automatic business dates: the first tick opens Friday 9 October 2026; its cutoff rolls over to Columbus Day, \
    whose cutoff rolls to Tuesday, when Friday's fill settles; after days stopped, each tick rolls one day
    """)
    func businessDates() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = Clock()
        clock.now = API.parseTime("2026-10-09T15:00:00Z")!
        let server = try await ServerTests.Running(directory: directory, configuration: Self.custom, clock: { clock.now })
        let venue = server.opened.venue
        let scheduler = Scheduler(node: server.opened.node, now: { clock.now })
        func dates() async throws -> [CivilDate?] { try await venue.read { [$0.businessDate, $0.settlementDateOfFills] } }
        let (fri, columbus, tue) = (CivilDate("2026-10-09")!, CivilDate("2026-10-12")!, CivilDate("2026-10-13")!)

        try await scheduler.tick(after: nil)
        #expect(try await dates() == [fri, tue])
        let xyz = try Symbol(validating: "XYZ")
        for (account, side) in [(7, Side.sell), (8, .buy)] {
            let order = NewOrder(orderID: venue.newOrderID(), account: AccountID(UInt32(account)), symbol: xyz, side: side, type: .limit,
                                 timeInForce: .day, quantity: Quantity(10), limitPrice: Price(dollars: "10.00")!)
            _ = try await venue.execute(.newOrder(order))
        }
        #expect(try await venue.account(AccountID(8))?.unsettledCash == Money(units: -100_0200))
        // 17:29 in New York: not yet. 17:30: Columbus Day opens, a trading day the banks keep closed.
        clock.now = API.parseTime("2026-10-09T21:29:59Z")!
        try await scheduler.tick(after: .closed)
        #expect(try await dates() == [fri, tue])
        clock.now = API.parseTime("2026-10-09T21:30:00Z")!
        try await scheduler.tick(after: .closed)
        #expect(try await dates() == [columbus, tue])
        #expect(try await venue.account(AccountID(8))?.unsettledCash == Money(units: -100_0200))
        clock.now = API.parseTime("2026-10-12T21:30:00Z")!
        try await scheduler.tick(after: .closed)
        #expect(try await dates() == [tue, CivilDate("2026-10-14")!])
        #expect(try await venue.account(AccountID(8))?.unsettledCash == .zero)
        #expect(try await venue.account(AccountID(7))?.unsettledCash == .zero)
        try await scheduler.tick(after: .closed)
        #expect(try await dates() == [tue, CivilDate("2026-10-14")!])

        // Stopped from Tuesday to Saturday: Wednesday, Thursday, Friday, then Monday, one a tick.
        clock.now = API.parseTime("2026-10-17T15:00:00Z")!
        for expected in ["2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19", "2026-10-19"] {
            try await scheduler.tick(after: .closed)
            #expect(try await dates().first == CivilDate(expected))
        }
        await server.stop()
    }

    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int64 = 0
        var now: Int64 {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }
}
