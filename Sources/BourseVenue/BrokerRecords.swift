import BourseCore
import Foundation
import GRDB

/// What a brokerage keeps about its customers beside their balances, in `broker.sqlite` in the data
/// directory, written with full synchronization: which firm each account belongs to, the contact and
/// identity details given when it was opened (stored as given: Bourse does no KYC), bank relationships,
/// API keys (secrets only as digests) and an audit trail of every action with who took it. Balances,
/// transfers and journals are the engine's, in the journal; the audit trail names their sequences.
public final class BrokerRecords: Sendable {
    public static let bankRelationshipsPerAccountMax = 5
    public static let keysPerAccountMax = 20
    /// The details given for an account, as JSON text.
    public static let profileBytesMax = 16 << 10
    public static let auditPageMax = 1_000

    public struct Profile: Sendable, Equatable {
        public var account: UInt32
        public var firm: UInt32
        /// Alpaca's `account_type` (trading) and the details given, a JSON object's text.
        public var accountType: String
        public var details: String
        public var createdAt: Int64
        public var updatedAt: Int64

        public init(account: UInt32, firm: UInt32, accountType: String, details: String, createdAt: Int64, updatedAt: Int64) {
            self.account = account
            self.firm = firm
            self.accountType = accountType
            self.details = details
            self.createdAt = createdAt
            self.updatedAt = updatedAt
        }
    }

    public struct BankRelationship: Sendable, Equatable {
        public var id: UInt64
        public var account: UInt32
        public var ownerName: String
        public var bankAccountType: String
        public var bankAccountNumber: String
        public var bankRoutingNumber: String
        public var nickname: String?
        /// APPROVED, or CANCELED once deleted (kept, as transfers name it).
        public var status: String
        public var createdAt: Int64
        public var updatedAt: Int64

        public init(id: UInt64 = 0, account: UInt32, ownerName: String, bankAccountType: String, bankAccountNumber: String,
                    bankRoutingNumber: String, nickname: String?, status: String, createdAt: Int64, updatedAt: Int64) {
            self.id = id
            self.account = account
            self.ownerName = ownerName
            self.bankAccountType = bankAccountType
            self.bankAccountNumber = bankAccountNumber
            self.bankRoutingNumber = bankRoutingNumber
            self.nickname = nickname
            self.status = status
            self.createdAt = createdAt
            self.updatedAt = updatedAt
        }
    }

    public struct Key: Sendable, Equatable {
        public var keyID: String
        public var secretSHA256: String
        public var account: UInt32
        public var role: Role
        public var createdAt: Int64
        public var createdBy: String
        public var revokedAt: Int64?

        public init(keyID: String, secretSHA256: String, account: UInt32, role: Role, createdAt: Int64, createdBy: String, revokedAt: Int64? = nil) {
            self.keyID = keyID
            self.secretSHA256 = secretSHA256
            self.account = account
            self.role = role
            self.createdAt = createdAt
            self.createdBy = createdBy
            self.revokedAt = revokedAt
        }
    }

    public struct AuditEntry: Sendable, Equatable {
        public var id: Int64
        public var time: Int64
        public var actor: String
        public var firm: UInt32?
        public var action: String
        public var target: String
        public var detail: String
    }

    public typealias Refusal = RecordRefusal

    private let database: DatabaseQueue

    public init(path: String) throws {
        database = try ServiceDatabase.open(path: path, schema: """
            CREATE TABLE accounts (
                account INTEGER PRIMARY KEY, firm INTEGER NOT NULL, account_type TEXT NOT NULL, details TEXT NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE INDEX accounts_by_firm ON accounts (firm, account);
            CREATE TABLE bank_relationships (
                id INTEGER PRIMARY KEY, account INTEGER NOT NULL, owner_name TEXT NOT NULL, bank_account_type TEXT NOT NULL,
                bank_account_number TEXT NOT NULL, bank_routing_number TEXT NOT NULL, nickname TEXT, status TEXT NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            CREATE TABLE api_keys (
                key_id TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL, account INTEGER NOT NULL, role TEXT NOT NULL,
                created_at INTEGER NOT NULL, created_by TEXT NOT NULL, revoked_at INTEGER);
            CREATE TABLE audit (
                id INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL, firm INTEGER, action TEXT NOT NULL,
                target TEXT NOT NULL, detail TEXT NOT NULL);
            CREATE INDEX audit_by_firm ON audit (firm, id);
            """)
    }

    // MARK: - Accounts

    /// Puts configured accounts in their firm (at each start, so the file decides).
    public func assign(_ accounts: [UInt32], to firm: UInt32, now: Int64) throws {
        try database.write { db in
            for account in accounts {
                try db.execute(sql: """
                    INSERT INTO accounts (account, firm, account_type, details, created_at, updated_at) VALUES (?, ?, 'trading', '{}', ?, ?)
                    ON CONFLICT (account) DO UPDATE SET firm = excluded.firm
                    """, arguments: [Int64(account), Int64(firm), now, now])
            }
        }
    }

    public func firm(of account: UInt32) throws -> UInt32? {
        try database.read { db in
            try Int64.fetchOne(db, sql: "SELECT firm FROM accounts WHERE account = ?", arguments: [Int64(account)]).map(UInt32.init)
        }
    }

    public func profile(_ account: UInt32) throws -> Profile? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE account = ?", arguments: [Int64(account)]).map(Self.profile)
        }
    }

    /// The firm's accounts in id order, from after `account`.
    public func accounts(of firm: UInt32, after account: UInt32 = 0, limit: Int = 1_000_000) throws -> [Profile] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM accounts WHERE firm = ? AND account > ? ORDER BY account LIMIT ?",
                             arguments: [Int64(firm), Int64(account), limit]).map(Self.profile)
        }
    }

    public func create(_ profile: Profile) throws {
        guard profile.details.utf8.count <= Self.profileBytesMax else {
            throw Refusal.invalid("an account's details are at most \(Self.profileBytesMax) bytes of JSON")
        }
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO accounts (account, firm, account_type, details, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [Int64(profile.account), Int64(profile.firm), profile.accountType, profile.details,
                                 profile.createdAt, profile.updatedAt])
        }
    }

    /// Forgets an account the engine refused to open.
    public func remove(account: UInt32) throws {
        try database.write { db in try db.execute(sql: "DELETE FROM accounts WHERE account = ?", arguments: [Int64(account)]) }
    }

    public func update(account: UInt32, details: String, now: Int64) throws {
        guard details.utf8.count <= Self.profileBytesMax else {
            throw Refusal.invalid("an account's details are at most \(Self.profileBytesMax) bytes of JSON")
        }
        try database.write { db in
            try db.execute(sql: "UPDATE accounts SET details = ?, updated_at = ? WHERE account = ?", arguments: [details, now, Int64(account)])
        }
    }

    private static func profile(_ row: Row) -> Profile {
        Profile(account: UInt32(row["account"] as Int64), firm: UInt32(row["firm"] as Int64), accountType: row["account_type"],
                details: row["details"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    // MARK: - Bank relationships

    public func bankRelationships(of account: UInt32) throws -> [BankRelationship] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bank_relationships WHERE account = ? ORDER BY id", arguments: [Int64(account)])
                .map(Self.bank)
        }
    }

    public func bankRelationship(_ id: UInt64, of account: UInt32) throws -> BankRelationship? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM bank_relationships WHERE id = ? AND account = ?",
                             arguments: [Int64(bitPattern: id), Int64(account)]).map(Self.bank)
        }
    }

    public func add(_ relationship: BankRelationship) throws -> BankRelationship {
        try database.write { db in
            let live = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bank_relationships WHERE account = ? AND status != 'CANCELED'",
                                        arguments: [Int64(relationship.account)]) ?? 0
            guard live < Self.bankRelationshipsPerAccountMax else {
                throw Refusal.invalid("an account has at most \(Self.bankRelationshipsPerAccountMax) bank relationships")
            }
            try db.execute(sql: """
                INSERT INTO bank_relationships (account, owner_name, bank_account_type, bank_account_number, bank_routing_number,
                    nickname, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [Int64(relationship.account), relationship.ownerName, relationship.bankAccountType,
                                 relationship.bankAccountNumber, relationship.bankRoutingNumber, relationship.nickname,
                                 relationship.status, relationship.createdAt, relationship.updatedAt])
            var made = relationship
            made.id = UInt64(db.lastInsertedRowID)
            return made
        }
    }

    /// Marks the relationship cancelled; false when the account has no such live relationship.
    public func cancelBankRelationship(_ id: UInt64, of account: UInt32, now: Int64) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE bank_relationships SET status = 'CANCELED', updated_at = ? WHERE id = ? AND account = ? AND status != 'CANCELED'
                """, arguments: [now, Int64(bitPattern: id), Int64(account)])
            return db.changesCount == 1
        }
    }

    private static func bank(_ row: Row) -> BankRelationship {
        BankRelationship(id: UInt64(bitPattern: row["id"]), account: UInt32(row["account"] as Int64), ownerName: row["owner_name"],
                         bankAccountType: row["bank_account_type"], bankAccountNumber: row["bank_account_number"],
                         bankRoutingNumber: row["bank_routing_number"], nickname: row["nickname"], status: row["status"],
                         createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    // MARK: - Keys

    /// Keys made through the API that are not revoked, and the ids of every revoked key (made here or in
    /// `keys.json`).
    public func keys() throws -> (live: [Key], revoked: Set<String>) {
        try database.read { db in
            let all = try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY key_id").map(Self.key)
            return (all.filter { $0.revokedAt == nil && $0.secretSHA256 != "" }, Set(all.filter { $0.revokedAt != nil }.map(\.keyID)))
        }
    }

    public func keys(of account: UInt32) throws -> [Key] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys WHERE account = ? ORDER BY created_at, key_id", arguments: [Int64(account)])
                .map(Self.key)
        }
    }

    public func add(_ key: Key) throws {
        try database.write { db in
            let live = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_keys WHERE account = ? AND revoked_at IS NULL",
                                        arguments: [Int64(key.account)]) ?? 0
            guard live < Self.keysPerAccountMax else { throw Refusal.invalid("an account has at most \(Self.keysPerAccountMax) live keys") }
            try db.execute(sql: """
                INSERT INTO api_keys (key_id, secret_sha256, account, role, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
                """, arguments: [key.keyID, key.secretSHA256, Int64(key.account), key.role.rawValue, key.createdAt, key.createdBy])
        }
    }

    /// Records the key revoked (a key of `keys.json` too, by its id and account).
    public func revoke(keyID: String, account: UInt32, role: Role, now: Int64, by actor: String) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO api_keys (key_id, secret_sha256, account, role, created_at, created_by, revoked_at) VALUES (?, '', ?, ?, ?, ?, ?)
                ON CONFLICT (key_id) DO UPDATE SET revoked_at = excluded.revoked_at
                """, arguments: [keyID, Int64(account), role.rawValue, now, actor, now])
        }
    }

    private static func key(_ row: Row) -> Key {
        Key(keyID: row["key_id"], secretSHA256: row["secret_sha256"], account: UInt32(row["account"] as Int64),
            role: Role(rawValue: row["role"]) ?? .trader, createdAt: row["created_at"], createdBy: row["created_by"], revokedAt: row["revoked_at"])
    }

    // MARK: - Audit

    public func audit(actor: String, firm: UInt32?, action: String, target: String, detail: String, now: Int64) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO audit (time, actor, firm, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [now, actor, firm.map { Int64($0) }, action, target, detail])
        }
    }

    /// The newest entries first; a firm's own, or all for nil.
    public func auditTrail(firm: UInt32?, limit: Int) throws -> [AuditEntry] {
        try database.read { db in
            let rows = firm == nil
                ? try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [min(limit, Self.auditPageMax)])
                : try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE firm = ? ORDER BY id DESC LIMIT ?",
                                   arguments: [Int64(firm!), min(limit, Self.auditPageMax)])
            return rows.map { row in
                AuditEntry(id: row["id"], time: row["time"], actor: row["actor"], firm: (row["firm"] as Int64?).map { UInt32($0) },
                           action: row["action"], target: row["target"], detail: row["detail"])
            }
        }
    }
}
