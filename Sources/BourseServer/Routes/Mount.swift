import BourseCore
import BourseVenue
import Hummingbird

/// Where the Trading API's routes for one account are mounted: `/v2`, acting on the key's own account, and
/// `/v1/trading/accounts/{account_id}`, where a broker acts on an account of its firm (Alpaca's Broker API)
/// and an operator's admin key on any. Both run the same handlers: a request on behalf of an account
/// reaches them as the account's own.
struct Mount: Sendable {
    var prefix: String
    var onBehalf: Bool

    static let own = Mount(prefix: "/v2", onBehalf: false)
    static let broker = Mount(prefix: "/v1/trading/accounts/:account_id", onBehalf: true)
}

extension Routes {
    /// `handle` for a mounted route: the handler gets the key of the account it acts on.
    func handle(_ request: Request, _ mount: Mount, _ context: BasicRequestContext,
                _ body: (StoredKey) async throws -> Response) async throws -> Response {
        try await handle(request) { key in
            guard mount.onBehalf else {
                guard key.role != .broker else {
                    throw Failure(status: .forbidden, code: 40310000,
                                  message: "a broker key has no account of its own: it acts on its firm's accounts under /v1/trading/accounts/{account_id}")
                }
                return try await body(key)
            }
            let account = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
            return try await body(StoredKey(keyID: key.keyID, secretSHA256: "", account: account.rawValue, role: .trader, firm: key.firm))
        }
    }

    /// The account a broker's path names (by its UUID or account number), when the key may act on it: a
    /// broker key on its own firm's accounts, an admin key on any. Another firm's account is answered as one
    /// that does not exist, so that a firm cannot learn of another's accounts.
    func accountOnBehalf(_ key: StoredKey, _ text: String) async throws -> AccountID {
        guard key.role == .broker || key.role == .admin else {
            throw Failure(status: .forbidden, code: 40310000, message: "a \(key.role.rawValue) key may not act on other accounts")
        }
        var id = AccountID(uuid: text)
        if id == nil, let number = AccountNumber(text) { id = try await venue.account(number: number) }
        guard let id, try await venue.account(id) != nil else { throw Failure.notFound("no account \(text) in your firm") }
        if key.role == .broker {
            guard let firm = key.firm, try node.broker.firm(of: id.rawValue) == firm else {
                throw Failure.notFound("no account \(text) in your firm")
            }
        }
        return id
    }
}
