import BourseCore
import BourseRisk
import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import Testing

/// The risk platform's API on the demo venue: figures at marks, by account, client and firm.
@Suite("the risk API")
struct RiskRoutesTests {
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
}
