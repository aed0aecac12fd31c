import BourseCore
import BourseNode
import BourseVenue
import Foundation
import Hummingbird

/// An account's API keys, managed by its broker (or an operator): made with a secret shown once and kept as
/// a digest, listed without secrets, revoked (its sessions and streams end at once) and rotated (a new key,
/// the old one revoked). Each change is in the audit trail with the key that made it.
extension Routes {
    func addAccountKeys(to table: RouteTable) {
        table.add(.post, "/v1/accounts/:account_id/api_keys", "Make a trader key for the account; its secret is shown this once",
                  answer: .ok("ApiKey")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                return try issueKey(for: id, by: key, replacing: nil)
            }
        }
        table.add(.get, "/v1/accounts/:account_id/api_keys", "The account's keys, live and revoked, without secrets",
                  answer: .list("ApiKey")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                let recorded = try refusing { try node.broker.keys(of: id.rawValue) }
                var rows = keys.keys(of: id.rawValue).map { live in
                    Self.keyJSON(live.keyID, id, live.role, createdAt: recorded.first { $0.keyID == live.keyID }?.createdAt, revokedAt: nil)
                }
                rows += recorded.filter { $0.revokedAt != nil }.map { Self.keyJSON($0.keyID, id, $0.role, createdAt: $0.createdAt, revokedAt: $0.revokedAt) }
                return Self.json(text: "[" + rows.joined(separator: ",") + "]")
            }
        }
        table.add(.delete, "/v1/accounts/:account_id/api_keys/:key_id", "Revoke a key: its sessions and streams end at once",
                  answer: .noContent) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                try revokeKey(context.parameters.get("key_id") ?? "", of: id, by: key)
                return Response(status: .noContent)
            }
        }
        table.add(.post, "/v1/accounts/:account_id/api_keys/:key_id/rotate", "Replace a key: a new one (secret shown once), the old one revoked",
                  answer: .ok("ApiKey")) { request, context in
            try await handle(request) { key in
                let id = try await accountOnBehalf(key, context.parameters.get("account_id") ?? "")
                return try issueKey(for: id, by: key, replacing: context.parameters.get("key_id") ?? "")
            }
        }
    }

    /// A new trader key for the account, recorded before it is accepted; with `replacing`, that key is
    /// revoked once the new one works.
    private func issueKey(for id: AccountID, by key: StoredKey, replacing old: String?) throws -> Response {
        if let old { _ = try liveKey(old, of: id) }
        let (issued, stored) = KeyStore.issue(account: id.rawValue, role: .trader)
        let now = wallClockNanos()
        try refusing {
            try node.broker.add(BrokerRecords.Key(keyID: stored.keyID, secretSHA256: stored.secretSHA256, account: id.rawValue,
                                                  role: .trader, createdAt: now, createdBy: key.keyID))
        }
        keys.add(stored)
        try audit(key, action: old == nil ? "create_key" : "rotate_key", target: id.uuid, detail: "key \(issued.keyID)" + (old.map { " replaces \($0)" } ?? ""))
        if let old { try revokeKey(old, of: id, by: key) }
        var text = Self.keyJSON(issued.keyID, id, .trader, createdAt: now, revokedAt: nil)
        text.removeLast()
        return Self.json(text: text + #","secret":"\#(issued.secret)"}"#)
    }

    private func revokeKey(_ keyID: String, of id: AccountID, by key: StoredKey) throws {
        let live = try liveKey(keyID, of: id)
        try refusing { try node.broker.revoke(keyID: keyID, account: id.rawValue, role: live.role, now: wallClockNanos(), by: key.keyID) }
        keys.revoke(keyID: keyID)
        try audit(key, action: "revoke_key", target: id.uuid, detail: "key \(keyID)")
    }

    private func liveKey(_ keyID: String, of id: AccountID) throws -> StoredKey {
        guard let live = keys.keys(of: id.rawValue).first(where: { $0.keyID == keyID }) else {
            throw Failure.notFound("account \(id.uuid) has no live key \(keyID)")
        }
        return live
    }

    static func keyJSON(_ keyID: String, _ account: AccountID, _ role: Role, createdAt: Int64?, revokedAt: Int64?) -> String {
        var text = #"{"key_id":"\#(keyID)","account_id":"\#(account.uuid)","role":"\#(role.rawValue)","created_at":"#
        text += createdAt.map { #""\#(API.time(Timestamp(nanos: $0)))""# } ?? "null"
        text += #","status":"\#(revokedAt == nil ? "active" : "revoked")","revoked_at":"#
        text += revokedAt.map { #""\#(API.time(Timestamp(nanos: $0)))""# } ?? "null"
        return text + "}"
    }
}
