import BourseCore
import BourseServer
import BourseTestSupport
@testable import BourseVenue
import Foundation
import Testing

/// The Broker API over a real server on a loopback port, with two firms: the first owns the demo's
/// traders (accounts 1 and 2), the second the market maker (account 3).
@Suite("the Broker API")
struct BrokerTests {
    typealias Running = ServerTests.Running

    static var twoFirms: VenueConfiguration {
        var configuration = VenueConfiguration.demo
        configuration.firms = [.init(id: 1, name: "First", accounts: [1, 2]), .init(id: 2, name: "Second", accounts: [3])]
        return configuration
    }

    static func broker(_ server: Running, firm: UInt32) -> IssuedKey {
        let keys = DataDirectory.credentials(IssuedKey.self, in: server.directory + "/credentials.json")
        return keys.first { $0.role == .broker && $0.firm == firm }!
    }

    static func object(_ body: Any?) -> [String: Any] { body as? [String: Any] ?? [:] }
    static func list(_ body: Any?) -> [[String: Any]] { body as? [[String: Any]] ?? [] }

    @Test("a firm's broker key never sees or acts on another firm's accounts, through every route that names one, and nothing of theirs changes")
    func firmsAreIsolated() async throws {
        let directory = makeTemporaryDirectory("bourse-broker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, configuration: Self.twoFirms)
        let (first, second) = (Self.broker(server, firm: 1), Self.broker(server, firm: 2))
        let theirs = AccountID(3).uuid
        // The second firm's own things: a bank relationship, a queued transfer, a key, a journal.
        let (_, ach) = try await server.send("POST", "/v1/accounts/\(theirs)/ach_relationships", as: second, body: """
            {"account_owner_name":"Maker","bank_account_type":"CHECKING","bank_account_number":"12345678","bank_routing_number":"121000358"}
            """)
        let relationship = Self.object(ach)["id"] as? String ?? ""
        let (_, transfer) = try await server.send("POST", "/v1/accounts/\(theirs)/transfers", as: second,
                                                  body: #"{"transfer_type":"ach","relationship_id":"\#(relationship)","amount":"5","direction":"INCOMING"}"#)
        let transferID = Self.object(transfer)["id"] as? String ?? ""
        #expect(Self.object(transfer)["status"] as? String == "QUEUED")
        let (_, made) = try await server.send("POST", "/v1/accounts/\(theirs)/api_keys", as: second)
        let theirKey = Self.object(made)["key_id"] as? String ?? ""
        let before = try await server.opened.venue.account(AccountID(3))

        let (_, document) = try await server.send("GET", "/openapi.json", as: nil)
        let paths = Self.object(document)["paths"] as? [String: [String: Any]] ?? [:]
        var tried = 0
        for (path, operations) in paths.sorted(by: { $0.key < $1.key }) where path.contains("{account_id}") {
            let concrete = path.replacingOccurrences(of: "{account_id}", with: theirs).replacingOccurrences(of: "{key_id}", with: theirKey)
                .replacingOccurrences(of: "{transfer_id}", with: transferID).replacingOccurrences(of: "{relationship_id}", with: relationship)
                .replacingOccurrences(of: "{symbol_or_asset_id}", with: "AAPL").replacingOccurrences(of: "{symbol}", with: "AAPL")
                .replacingOccurrences(of: "{watchlist_id}", with: "1").replacingOccurrences(of: "{activity_type}", with: "FILL")
                .replacingOccurrences(of: "{id}", with: "1")
            for method in operations.keys.sorted() {
                let (status, body) = try await server.send(method.uppercased(), concrete, as: first, body: method == "get" || method == "delete" ? nil : "{}")
                #expect(status == 404 && (Self.object(body)["message"] as? String)?.contains("in your firm") == true,
                        "\(method) \(path): \(status) \(body ?? "")")
                tried += 1
            }
        }
        #expect(tried >= 30)
        // Routes that name accounts in their query or body, or list the firm's.
        for (method, path, body) in [
            ("GET", "/v1/accounts/activities?account_id=\(theirs)", nil),
            ("GET", "/v1/journals?from_account=\(theirs)", nil),
            ("POST", "/v1/journals", #"{"from_account":"\#(theirs)","to_account":"\#(AccountID(1).uuid)","entry_type":"JNLC","amount":"1"}"#),
            ("POST", "/v1/journals", #"{"from_account":"\#(AccountID(1).uuid)","to_account":"\#(theirs)","entry_type":"JNLC","amount":"1"}"#),
            ("POST", "/v1/journals/batch", #"{"entry_type":"JNLC","from_account":"\#(AccountID(1).uuid)","entries":[{"to_account":"\#(AccountID(2).uuid)","amount":"1"},{"to_account":"\#(theirs)","amount":"1"}]}"#),
            ("POST", "/v1/journals/reverse_batch", #"{"entry_type":"JNLC","to_account":"\#(AccountID(1).uuid)","entries":[{"from_account":"\#(theirs)","amount":"1"}]}"#),
            ("GET", "/v1/events/transfers/status?since_id=0&until_id=0&id=\(theirs)", nil),
        ] as [(String, String, String?)] {
            let (status, answer) = try await server.send(method, path, as: first, body: body)
            #expect(status == 404, "\(method) \(path): \(status) \(answer ?? "")")
        }
        let (_, accounts) = try await server.send("GET", "/v1/accounts", as: first)
        #expect(Self.list(accounts).compactMap { $0["id"] as? String }.sorted() == [AccountID(1).uuid, AccountID(2).uuid])
        let (_, positions) = try await server.send("GET", "/v1/accounts/positions", as: first)
        #expect((Self.object(positions)["positions"] as? [String: Any])?.keys.sorted() == [AccountID(1).uuid, AccountID(2).uuid])
        // The batch that named another firm's account moved nothing, not even its first entry.
        #expect(try await server.opened.venue.account(AccountID(2))?.cash == Money(dollars: 1_000_000))
        let (_, journal) = try await server.send("POST", "/v1/journals", as: second, body: #"{"from_account":"\#(theirs)","to_account":"\#(theirs)","entry_type":"JNLC","amount":"1"}"#)
        _ = journal
        let (_, journals) = try await server.send("GET", "/v1/journals", as: first)
        #expect(Self.list(journals).isEmpty)
        let (_, audit) = try await server.send("GET", "/v1/audit", as: first)
        #expect(Self.list(audit).allSatisfy { $0["actor"] as? String == first.keyID })
        // Their account, its key and its transfer are as they were.
        #expect(try await server.opened.venue.account(AccountID(3)) == before)
        let (_, stillTheirs) = try await server.send("GET", "/v1/accounts/\(theirs)/api_keys", as: second)
        #expect(Self.list(stillTheirs).contains { $0["key_id"] as? String == theirKey && $0["status"] as? String == "active" })
        let (_, transfers) = try await server.send("GET", "/v1/accounts/\(theirs)/transfers", as: second)
        #expect(Self.list(transfers).first?["status"] as? String == "QUEUED")
        await server.stop()
    }

    @Test("a revoked key, its web sessions and its streams stop working at once; a rotated key gives way to its successor")
    func revokedKeysStop() async throws {
        let directory = makeTemporaryDirectory("bourse-broker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, configuration: Self.twoFirms)
        let broker = Self.broker(server, firm: 1)
        let account = AccountID(1).uuid
        let (status, made) = try await server.send("POST", "/v1/accounts/\(account)/api_keys", as: broker)
        #expect(status == 200)
        let key = IssuedKey(keyID: Self.object(made)["key_id"] as? String ?? "", secret: Self.object(made)["secret"] as? String ?? "", account: 1, role: .trader)
        #expect(try await server.send("GET", "/v2/account", as: key).0 == 200)
        let (_, session) = try await server.send("POST", "/v1/sessions", as: nil, body: #"{"key_id":"\#(key.keyID)","secret":"\#(key.secret)"}"#)
        let token = Self.object(session)["token"] as? String ?? ""
        #expect(try await server.send("GET", "/v2/account", as: nil, token: token).0 == 200)
        // A trading stream signed in with the key closes when it is revoked.
        let received = Received()
        let stream = Task {
            try await server.webSocket("/stream", received, first: #"{"action":"authenticate","data":{"key_id":"\#(key.keyID)","secret_key":"\#(key.secret)"}}"#) { _, _ in false }
        }
        for _ in 0..<200 where !received.all.contains(where: { $0.contains("authorized") }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(received.all.contains { $0.contains(#""status":"authorized""#) })

        #expect(try await server.send("DELETE", "/v1/accounts/\(account)/api_keys/\(key.keyID)", as: broker).0 == 204)
        #expect(try await server.send("GET", "/v2/account", as: key).0 == 401)
        #expect(try await server.send("GET", "/v2/account", as: nil, token: token).0 == 401)
        _ = try await stream.value
        let (_, listed) = try await server.send("GET", "/v1/accounts/\(account)/api_keys", as: broker)
        #expect(Self.list(listed).contains { $0["key_id"] as? String == key.keyID && $0["status"] as? String == "revoked" })

        // Rotation: the new key works, the old one does not, and both survive a restart as they are.
        let (_, second) = try await server.send("POST", "/v1/accounts/\(account)/api_keys", as: broker)
        let old = IssuedKey(keyID: Self.object(second)["key_id"] as? String ?? "", secret: Self.object(second)["secret"] as? String ?? "", account: 1, role: .trader)
        let (_, rotated) = try await server.send("POST", "/v1/accounts/\(account)/api_keys/\(old.keyID)/rotate", as: broker)
        let new = IssuedKey(keyID: Self.object(rotated)["key_id"] as? String ?? "", secret: Self.object(rotated)["secret"] as? String ?? "", account: 1, role: .trader)
        #expect(try await server.send("GET", "/v2/account", as: new).0 == 200)
        #expect(try await server.send("GET", "/v2/account", as: old).0 == 401)
        await server.stop()
        let restarted = try await Running(directory: directory, configuration: Self.twoFirms)
        #expect(try await restarted.send("GET", "/v2/account", as: new).0 == 200)
        #expect(try await restarted.send("GET", "/v2/account", as: old).0 == 401)
        #expect(try await restarted.send("GET", "/v2/account", as: key).0 == 401)
        let (_, audit) = try await restarted.send("GET", "/v1/audit", as: broker)
        #expect(Self.list(audit).compactMap { $0["action"] as? String }.reversed() == ["create_key", "revoke_key", "create_key", "rotate_key", "revoke_key"])
        await restarted.stop()
    }

    @Test("given a kill switch, the account shows blocked by it, in the Broker and the Trading API, and refuses orders until its broker unblocks it")
    func killSwitchUntilUnblocked() async throws {
        let directory = makeTemporaryDirectory("bourse-broker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await Running(directory: directory, configuration: Self.twoFirms)
        let (broker, trader, admin) = (Self.broker(server, firm: 1), server.key(account: 1), server.key(account: 3, role: .admin))
        let account = AccountID(1).uuid
        #expect(try await server.send("POST", "/v1/admin/accounts/\(account)/kill", as: admin).0 == 200)
        let blocked = try await server.eventually("/v1/accounts/\(account)", as: broker) { Self.object($0)["trading_status"] as? String == "blocked_by_kill_switch" }
        #expect(Self.object(blocked)["status"] as? String == "DISABLED")
        let (_, own) = try await server.send("GET", "/v2/account", as: trader)
        #expect(Self.object(own)["trading_blocked"] as? Bool == true && Self.object(own)["trading_status"] as? String == "blocked_by_kill_switch")
        let order = #"{"symbol":"AAPL","qty":"1","side":"buy","type":"limit","time_in_force":"day","limit_price":"100"}"#
        #expect(try await server.send("POST", "/v2/orders", as: trader, body: order).0 == 403)
        let (status, unblocked) = try await server.send("POST", "/v1/accounts/\(account)/actions/unblock", as: broker)
        #expect(status == 200 && Self.object(unblocked)["status"] as? String == "ACTIVE" && Self.object(unblocked)["trading_status"] as? String == "active")
        #expect(try await server.send("POST", "/v2/orders", as: trader, body: order).0 == 200)
        let (_, audit) = try await server.send("GET", "/v1/audit", as: broker)
        #expect(Self.list(audit).first.map { $0["action"] as? String == "unblock" && $0["actor"] as? String == broker.keyID } == true)
        await server.stop()
    }
}
