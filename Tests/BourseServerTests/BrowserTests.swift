import BourseCore
@testable import BourseServer
@testable import BourseVenue
import BourseTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import Testing

/// Headless Chromium (Debian's package; `scripts/test` installs it) driven over the DevTools protocol:
/// the page is used as a person would, by filling its fields and pressing its buttons.
final class Chromium: @unchecked Sendable {
    static let executable = ProcessInfo.processInfo.environment["BOURSE_CHROMIUM"]
        ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }

    let process = Process()
    let profile = makeTemporaryDirectory("bourse-chromium")

    init() throws {
        guard let executable = Self.executable else { throw Failure("Chromium is not installed: scripts/test installs Debian's chromium package") }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "--remote-allow-origins=*", "--user-data-dir=" + profile,
                             "--window-size=1280,900", "about:blank"]
        // Chromium keeps its own scratch files (a singleton lock, a cookie) in TMPDIR: inside the profile,
        // they go with it.
        process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": profile]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for Chromium to write the port it listens on, and the browser's socket path, into its profile.
    /// (Its HTTP listing of pages is not used: its headers lack the space after the colon, which
    /// FoundationNetworking's parser refuses.)
    func browserSocket() async throws -> String {
        let file = profile + "/DevToolsActivePort"
        for _ in 0..<300 {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) {
                let lines = text.split(separator: "\n")
                if lines.count == 2, let port = Int(lines[0]) { return "ws://127.0.0.1:\(port)\(lines[1])" }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure("Chromium did not start within 30 seconds")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        // Chromium's helper processes may still write into the profile for a moment after it exits.
        for _ in 0..<20 where FileManager.default.fileExists(atPath: profile) {
            try? FileManager.default.removeItem(atPath: profile)
            if FileManager.default.fileExists(atPath: profile) { usleep(100_000) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// One DevTools session over a page's WebSocket: commands answered in order of their ids.
struct DevTools {
    var inbound: WebSocketInboundMessageStream.AsyncIterator
    let outbound: WebSocketOutboundWriter
    var nextID = 0
    /// The page's session once attached; commands go to the browser before that.
    var sessionID: String?

    /// Opens a page and attaches to it, so that later commands go to that page.
    mutating func openPage() async throws {
        let created = try JSONSerialization.jsonObject(with: try await call("Target.createTarget", ["url": "about:blank"])) as? [String: Any]
        let attached = try JSONSerialization.jsonObject(with: try await call("Target.attachToTarget", [
            "targetId": created?["targetId"] as? String ?? "", "flatten": true,
        ])) as? [String: Any]
        sessionID = attached?["sessionId"] as? String
    }

    /// Sends a command and returns its result as JSON data (events that arrive meanwhile are skipped).
    mutating func call(_ method: String, _ params: [String: Any] = [:]) async throws -> Data {
        nextID += 1
        var command: [String: Any] = ["id": nextID, "method": method, "params": params]
        if let sessionID { command["sessionId"] = sessionID }
        let request = try JSONSerialization.data(withJSONObject: command)
        try await outbound.write(.text(String(decoding: request, as: UTF8.self)))
        while let message = try await inbound.next() {
            guard case .text(let text) = message, let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  object["id"] as? Int == nextID else { continue }
            if let error = object["error"] { throw Chromium.Failure("\(method) failed: \(error)") }
            return try JSONSerialization.data(withJSONObject: object["result"] ?? [:])
        }
        throw Chromium.Failure("the DevTools connection closed during \(method)")
    }

    /// Evaluates a script in the page (awaiting a promise) and returns its value as text.
    mutating func evaluate(_ script: String) async throws -> String {
        let data = try await call("Runtime.evaluate", ["expression": script, "returnByValue": true, "awaitPromise": true])
        let result = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["result"] as? [String: Any]
        if let value = result?["value"] { return "\(value)" }
        return ""
    }

    /// Evaluates `condition` every 50 ms until it is true; fails after `seconds`, saying what the page shows.
    mutating func waitFor(_ condition: String, seconds: Int = 15, _ what: String) async throws {
        for _ in 0..<(seconds * 20) {
            if try await evaluate("String(Boolean(\(condition)))") == "true" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = try await evaluate("document.body.innerText.slice(0, 2000)")
        throw Chromium.Failure("timed out waiting for \(what); the page shows: \(text)")
    }

    /// A new page at `url`, once its sign-in form is there.
    mutating func open(_ url: String) async throws {
        try await openPage()
        _ = try await call("Page.enable")
        _ = try await call("Page.navigate", ["url": url])
        try await waitFor("document.getElementById('signin-form') && document.readyState === 'complete'", "the sign-in form")
    }

    mutating func signIn(_ keyID: String, _ secret: String) async throws {
        _ = try await evaluate("""
            document.getElementById('key-id').value = '\(keyID)';
            document.getElementById('secret').value = '\(secret)';
            document.getElementById('signin-button').click();
            """)
    }

    mutating func screenshot(to path: String) async throws {
        let data = try await call("Page.captureScreenshot", ["format": "png"])
        let base64 = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["data"] as? String ?? ""
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(base64Encoded: base64)?.write(to: URL(fileURLWithPath: path))
    }
}

@Suite("web UI in a browser", .serialized)
struct BrowserTests {
    /// Where screenshots are kept: `artifacts/` at the package's root (ignored by git).
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("artifacts").path

    /// Headless Chromium with the server's page open, for `body` to drive.
    static func onPage(of server: ServerTests.Running, _ body: @escaping @Sendable (inout DevTools) async throws -> Void) async throws {
        let chromium = try Chromium()
        defer { chromium.stop() }
        let socket = try await chromium.browserSocket()
        let port = server.port
        try await WebSocketClient.connect(url: socket, configuration: .init(maxFrameSize: 1 << 24), logger: Logger(label: "devtools")) { inbound, outbound, _ in
            var page = DevTools(inbound: inbound.messages(maxSize: 1 << 26).makeAsyncIterator(), outbound: outbound)
            try await page.open("http://127.0.0.1:\(port)/")
            try await body(&page)
        }
    }

    @Test("headless Chromium signs in, places an order through the page and sees it fill there, on a laptop and a phone screen")
    func placeAndFill() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ServerTests.Running(directory: directory)
        let buyer = server.key(account: 1), seller = server.key(account: 3), other = server.key(account: 2)
        // The order the page's buy will meet.
        let (resting, _) = try await server.order(seller, #""symbol":"MSFT","qty":"7","side":"sell","type":"limit","time_in_force":"gtc","limit_price":"420.00""#)
        #expect(resting == 200)
        // Prints before the page opens, for the tape to start with: up, up, then down a tick.
        for price in ["419.00", "419.50", "419.25"] {
            _ = try await server.order(seller, #""symbol":"MSFT","qty":"1","side":"sell","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            _ = try await server.order(other, #""symbol":"MSFT","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
        }

        try await Self.onPage(of: server) { page in

            // A wrong secret is refused on the page.
            try await page.signIn(buyer.keyID, "wrong")
            try await page.waitFor("document.getElementById('signin-error').textContent.includes('wrong')", "the sign-in error")
            try await page.signIn(buyer.keyID, buyer.secret)
            try await page.waitFor("!document.getElementById('app').hidden && document.getElementById('symbol').options.length === 5", "the trading page")
            try await page.waitFor("document.getElementById('account-line').textContent.includes('Account 1')", "the account line")
            // Money with thousands separators and two decimals.
            try await page.waitFor("/cash 1,000,000\\.00/.test(document.getElementById('account-line').textContent)", "money as 1,000,000.00")

            // Choose MSFT and see its book: the resting sell in the ladder.
            _ = try await page.evaluate("""
                const s = document.getElementById('symbol'); s.value = 'MSFT'; s.dispatchEvent(new Event('change'));
                """)
            try await page.waitFor("[...document.querySelectorAll('#ladder td.ask')].some(td => td.textContent === '7')", "the resting sell in the depth ladder")
            // The tape starts with the prints made before, coloured by tick: 419.50 up, 419.25 down.
            try await page.waitFor("[...document.querySelectorAll('#tape td.buy')].some(td => td.textContent === '419.50') && [...document.querySelectorAll('#tape td.sell')].some(td => td.textContent === '419.25')", "the tape back-filled and coloured by tick")
            // A click on a ladder price puts it in the ticket.
            _ = try await page.evaluate("[...document.querySelectorAll('#ladder td.price')].find(td => td.textContent === '420.00').click()")
            try await page.waitFor("document.getElementById('limit-price').value === '420.00' && document.getElementById('type').value === 'limit'", "the ladder's price in the ticket")

            // A limit buy through the form.
            _ = try await page.evaluate("""
                document.querySelector('input[name=side][value=buy]').checked = true;
                const t = document.getElementById('type'); t.value = 'limit'; t.dispatchEvent(new Event('change'));
                document.getElementById('qty').value = '7';
                document.getElementById('limit-price').value = '420.00';
                document.getElementById('tif').value = 'day';
                document.getElementById('client-order-id').value = 'from-the-browser';
                document.getElementById('place').click();
                """)
            try await page.waitFor("document.getElementById('order-message').textContent === 'Buy 7 MSFT at 420.00: filled 7 at 420.00'", "the fill in the order message")
            try await page.waitFor("document.querySelector('#orders tr[data-order-status=\"filled\"]')", "the filled order in the orders list")
            try await page.waitFor("[...document.querySelectorAll('#tape td')].some(td => td.textContent === '420.00')", "the trade on the tape")
            try await page.waitFor("[...document.querySelectorAll('#positions td')].some(td => td.textContent === 'MSFT')", "the position")
            try await page.waitFor("document.querySelectorAll('#ladder tbody tr').length === 0", "the emptied book in the ladder")
            // The fill in the activity: its side, and the amount it moved, as money.
            _ = try await page.evaluate("document.querySelector('[data-tab=activity]').click()")
            try await page.waitFor("[...document.querySelectorAll('#activity tr')].some(tr => tr.textContent.includes('buy') && tr.textContent.includes('-2,940.00'))", "the fill's side and amount in the activity")
            // An open order for the phone's table.
            let (open, _) = try await server.order(buyer, #""symbol":"AAPL","qty":"3","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"180.00""#)
            #expect(open == 200)
            _ = try await page.evaluate("document.querySelector('[data-tab=orders]').click()")
            try await page.screenshot(to: Self.artifacts + "/web-ui-laptop.png")

            // On a phone's screen the page stacks into one column without sideways scrolling.
            _ = try await page.call("Emulation.setDeviceMetricsOverride", ["width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true])
            try await page.waitFor("document.documentElement.scrollWidth <= 390", "the page to fit a phone's width")
            let columns = try await page.evaluate("getComputedStyle(document.querySelector('.grid')).gridTemplateColumns.split(' ').length")
            #expect(columns == "1")
            // The open orders fit the phone's width, their buttons within reach.
            _ = try await page.evaluate("document.querySelector('[data-tab=open]').click()")
            try await page.waitFor("document.querySelectorAll('#open-orders tbody tr').length === 1", "the open order on the phone")
            try await page.waitFor("document.getElementById('open-orders').scrollWidth <= document.getElementById('open-orders').parentElement.clientWidth", "the open orders to fit the phone")
            _ = try await page.evaluate("document.getElementById('open-orders').scrollIntoView()")
            try await page.screenshot(to: Self.artifacts + "/web-ui-phone-orders.png")
            try await page.screenshot(to: Self.artifacts + "/web-ui-phone.png")
        }

        // The page's order went through the API like any client's, with its client order id.
        let (_, order) = try await server.send("GET", "/v2/orders:by_client_order_id?client_order_id=from-the-browser", as: buyer)
        #expect((order as? [String: Any])?["status"] as? String == "filled")
        await server.stop()
    }

    @Test("an operator finds an account on the page, sees it blocked by the kill switch, funds it, journals from it, revokes a key and unblocks it")
    func operatorAccounts() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ServerTests.Running(directory: directory)
        let admin = server.key(account: 3, role: .admin), trader = server.key(account: 1)
        try await Self.onPage(of: server) { page in
            try await page.signIn(admin.keyID, admin.secret)
            try await page.waitFor("!document.getElementById('app').hidden && !document.getElementById('admin-tab').hidden", "the page with its admin tab")
            _ = try await page.evaluate("document.getElementById('admin-tab').click(); window.confirm = () => true;")
            // The kill switch from the page, then the account found by its number shows why it is blocked.
            _ = try await page.evaluate("document.getElementById('kill-account').value = '1'; document.getElementById('kill-form').requestSubmit();")
            try await page.waitFor("document.getElementById('admin-message').textContent.includes('is blocked')", "the kill switch applied")
            _ = try await page.evaluate("document.getElementById('find-account').value = '1'; document.getElementById('find-form').requestSubmit();")
            try await page.waitFor("document.getElementById('account-summary').textContent.includes('blocked by kill switch')", "the account blocked by the kill switch")
            try await page.waitFor("document.getElementById('account-summary').textContent.includes('cash 1,000,000.00') && !document.getElementById('unblock').hidden", "its cash and the unblock button")
            try await page.waitFor("[...document.querySelectorAll('#account-keys td')].some(td => td.textContent === '\(trader.keyID)')", "its key")
            // Fund it, journal from it, revoke its key, unblock it.
            _ = try await page.evaluate("document.getElementById('fund-amount').value = '250.50'; document.getElementById('fund-form').requestSubmit();")
            try await page.waitFor("document.getElementById('account-summary').textContent.includes('cash 1,000,250.50')", "the deposit")
            _ = try await page.evaluate("""
                document.getElementById('journal-to').value = '2'; document.getElementById('journal-amount').value = '0.50';
                document.getElementById('journal-form').requestSubmit();
                """)
            try await page.waitFor("document.getElementById('admin-message').textContent === 'Journaled 0.50 to account 2' && document.getElementById('account-summary').textContent.includes('cash 1,000,250.00')", "the journal")
            _ = try await page.evaluate("[...document.querySelectorAll('#account-keys button')][0].click()")
            try await page.waitFor("document.getElementById('admin-message').textContent.includes('is revoked')", "the key revoked")
            _ = try await page.evaluate("document.getElementById('unblock').click()")
            try await page.waitFor("document.getElementById('account-summary').textContent.includes('ACTIVE · active') && document.getElementById('unblock').hidden", "the account active again")
            _ = try await page.evaluate("document.getElementById('account-view').scrollIntoView()")
            try await page.screenshot(to: Self.artifacts + "/web-ui-accounts.png")
        }
        #expect(try await server.send("GET", "/v2/account", as: trader).0 == 401)
        #expect(try await server.opened.venue.account(AccountID(2))?.cash == Money(dollars: "1000000.50"))
        #expect(try await server.opened.venue.account(AccountID(1))?.state == .active)
        await server.stop()
    }

    @Test("an operator sees post-trade on the page: the business date, the trades, a queued capture discarded, a break resolved")
    func operatorPostTrade() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ServerTests.Running(directory: directory)
        let admin = server.key(account: 3, role: .admin)
        let (_, day) = try await server.send("POST", "/v1/admin/business-date/rollover", as: admin)
        let date = (day as? [String: Any])?["business_date"] as? String ?? ""
        func trade(_ id: String, _ symbol: String, _ qty: Int) -> String {
            #"{"trade_id":"\#(id)","account":"1","symbol":"\#(symbol)","side":"buy","qty":"\#(qty)","price":"190.00","trade_date":"\#(date)"}"#
        }
        #expect(try await server.send("POST", "/v1/trades", as: admin, body: trade("W-1", "AAPL", 1)).0 == 200)
        #expect(try await server.send("POST", "/v1/trades", as: admin, body: trade("W-2", "NEWCO", 1)).0 == 202)
        let street = "trade_id,account,symbol,side,quantity,price,trade_date\nW-1,1,AAPL,buy,2,190.00,\(date)"
        #expect(try await server.send("POST", "/v1/admin/reconciliations", as: admin, body: #"{"trade_date":"\#(date)","csv":"# + API.quoted(street) + "}").0 == 200)
        try await Self.onPage(of: server) { page in
            try await page.signIn(admin.keyID, admin.secret)
            try await page.waitFor("!document.getElementById('app').hidden && !document.getElementById('post-trade-tab').hidden", "the page with its post-trade tab")
            _ = try await page.evaluate("document.getElementById('post-trade-tab').click()")
            try await page.waitFor("document.getElementById('business-date').textContent.includes('Business date \(date)')", "the business date")
            try await page.waitFor("[...document.querySelectorAll('#trades td')].some(td => td.textContent === 'C-1')", "the captured trade")
            try await page.waitFor("[...document.querySelectorAll('#capture-queue td')].some(td => td.textContent === 'W-2')", "the queued capture")
            _ = try await page.evaluate("[...document.querySelectorAll('#capture-queue button')].find(b => b.textContent === 'Discard').click()")
            try await page.waitFor("document.getElementById('post-trade-message').textContent === 'Discarded W-2: discarded'", "the capture discarded")
            try await page.waitFor("[...document.querySelectorAll('#breaks td')].some(td => td.textContent === 'quantity')", "the break")
            _ = try await page.evaluate("""
                document.querySelector('#breaks input.resolution').value = 'the street booked 2 by mistake; confirmed with GSCO';
                [...document.querySelectorAll('#breaks button')].find(b => b.textContent === 'Resolve').click();
                """)
            try await page.waitFor("document.getElementById('post-trade-message').textContent === 'Resolved the quantity break of W-1'", "the break resolved")
            try await page.screenshot(to: Self.artifacts + "/web-ui-post-trade.png")
        }
        let (_, open) = try await server.send("GET", "/v1/admin/reconciliation-breaks?state=open", as: admin)
        #expect((open as? [Any])?.isEmpty == true)
        let (_, queue) = try await server.send("GET", "/v1/admin/capture-queue?state=discarded", as: admin)
        #expect((queue as? [[String: Any]])?.first?["trade_id"] as? String == "W-2")
        await server.stop()
    }

    @Test("a risk desk sees the firm, the top exposures, a margin call and a scenario on the page, and it fits a phone")
    func riskDesk() async throws {
        let directory = makeTemporaryDirectory("bourse-server")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = VenueConfiguration.demo
        configuration.fix = nil
        configuration.accounts.append(.init(id: 4, kind: "margin", deposit: "10000.00", positions: nil, keys: ["trader"]))
        configuration.risk = .init(scenarios: [.init(name: "market-down-20", market_bp: -2_000)])
        let server = try await ServerTests.Running(directory: directory, configuration: configuration)
        let admin = server.key(account: 3, role: .admin)
        // Account 4 buys $19,000 of AAPL on $10,000: with AAPL down to $114 it gets a margin call.
        _ = try await server.order(server.key(account: 2), #""symbol":"AAPL","qty":"100","side":"sell","type":"limit","time_in_force":"day","limit_price":"190.00""#)
        let (_, bought) = try await server.order(server.key(account: 4), #""symbol":"AAPL","qty":"100","side":"buy","type":"limit","time_in_force":"day","limit_price":"190.00""#)
        #expect(bought["status"] as? String == "filled")
        for price in ["171.00", "154.00", "139.00", "126.00", "114.00"] {
            _ = try await server.order(server.key(account: 2), #""symbol":"AAPL","qty":"1","side":"sell","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
            _ = try await server.order(server.key(account: 1), #""symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"\#(price)""#)
        }
        #expect(try await MarkClock(node: server.opened.node).tick())
        #expect(try await MarginDesk(node: server.opened.node).tick().count == 1)
        try await Self.onPage(of: server) { page in
            try await page.signIn(admin.keyID, admin.secret)
            try await page.waitFor("!document.getElementById('app').hidden && !document.getElementById('risk-tab').hidden", "the page with its risk tab")
            _ = try await page.evaluate("document.getElementById('risk-tab').click()")
            try await page.waitFor("document.getElementById('risk-mark').textContent.startsWith('Mark ')", "the mark")
            try await page.waitFor("document.querySelectorAll('#risk-firm tbody tr').length === 7", "the firm's figures")
            try await page.waitFor("document.querySelectorAll('#risk-top tbody tr').length === 4", "the accounts by exposure")
            try await page.waitFor("[...document.querySelectorAll('#risk-calls td')].some(td => td.textContent === '1')", "the margin call")
            try await page.waitFor("[...document.querySelectorAll('#risk-scenarios td')].some(td => td.textContent === 'market-down-20')", "the scenario")
            _ = try await page.evaluate("document.getElementById('take-mark').click()")
            try await page.waitFor("document.getElementById('risk-message').textContent.startsWith('Took mark ')", "a mark taken from the page")
            try await page.screenshot(to: Self.artifacts + "/web-ui-risk.png")
            _ = try await page.call("Emulation.setDeviceMetricsOverride", ["width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true])
            try await page.waitFor("document.documentElement.scrollWidth <= 390", "the risk tab to fit a phone's width")
            try await page.screenshot(to: Self.artifacts + "/web-ui-phone-risk.png")
        }
        await server.stop()
    }
}
