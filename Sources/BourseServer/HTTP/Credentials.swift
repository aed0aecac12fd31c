import BourseCore
import BourseVenue
import Crypto
import Foundation
import NIOCore
import Synchronization

/// An API key as the server keeps it: the secret only as a SHA-256 digest. A broker key belongs to a firm
/// and to no account of its own.
struct StoredKey: Codable, Sendable, Equatable {
    var keyID: String
    var secretSHA256: String
    var account: UInt32
    var role: Role
    var firm: UInt32? = nil

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", secretSHA256 = "secret_sha256", account, role, firm
    }
}

/// An API key as handed to its user once: written to `credentials.json` (mode 0600) for scripts.
public struct IssuedKey: Codable, Sendable {
    public var keyID: String
    public var secret: String
    public var account: UInt32
    public var role: Role
    public var firm: UInt32? = nil

    public init(keyID: String, secret: String, account: UInt32, role: Role, firm: UInt32? = nil) {
        self.keyID = keyID
        self.secret = secret
        self.account = account
        self.role = role
        self.firm = firm
    }

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", secret, account, role, firm
    }
}

/// The keys the server accepts (from `keys.json` in the data directory and those made through the API,
/// less those revoked), and the sessions the web UI signs in to with one: a bearer token standing for the
/// key until it expires or is ended. Tokens are kept in memory only, as SHA-256 digests, so a restart
/// signs everyone out. Each key holds at most `sessionsPerKeyMax` sessions, so no key's sign-ins can crowd
/// out another's. A stream authenticated with a key or a token watches it: revoking the key, or ending the
/// session, closes the stream.
final class KeyStore: Sendable {
    private let keys: Mutex<[String: StoredKey]>
    private let sessions = Mutex<[String: Session]>([:])
    /// What to tell when a session ends or a key is revoked, by subject and watch.
    private let watches = Mutex<[String: [UInt64: @Sendable () -> Void]]>([:])
    private let watchCount = Atomic<UInt64>(0)
    static let sessionNanos: Int64 = 12 * 3_600 * 1_000_000_000
    /// A person signs in from a few browsers; past this a key's oldest session ends.
    static let sessionsPerKeyMax = 32

    private struct Session {
        var key: StoredKey
        var started: Int64
        var expires: Int64
    }

    /// A stream's hold on what authenticated it.
    struct Watch: Sendable {
        var subject: String
        var id: UInt64
    }

    init(_ keys: [StoredKey]) {
        self.keys = Mutex(Dictionary(keys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first }))
    }

    func contains(keyID: String) -> Bool { keys.withLock { $0[keyID] != nil } }

    /// The live keys of an account.
    func keys(of account: UInt32) -> [StoredKey] {
        keys.withLock { $0.values.filter { $0.account == account && $0.firm == nil }.sorted { $0.keyID < $1.keyID } }
    }

    func add(_ key: StoredKey) {
        keys.withLock { $0[key.keyID] = key }
    }

    /// Removes the key; its sessions end and every stream it or they authenticated closes, before this returns.
    func revoke(keyID: String) {
        keys.withLock { _ = $0.removeValue(forKey: keyID) }
        let ended: [String] = sessions.withLock { sessions in
            let digests = sessions.filter { $0.value.key.keyID == keyID }.map(\.key)
            for digest in digests { sessions.removeValue(forKey: digest) }
            return digests
        }
        for digest in ended { tell("token:" + digest) }
        tell("key:" + keyID)
    }

    /// A new session for a key and its secret: the token and when it expires; nil for a wrong key. A key
    /// at `sessionsPerKeyMax` live sessions loses its oldest.
    func startSession(keyID: String, secret: String, now: Int64) -> (token: String, key: StoredKey, expires: Int64)? {
        guard let key = authenticate(keyID: keyID, secret: secret) else { return nil }
        let token = "bst_" + Self.randomString(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let expires = now + Self.sessionNanos
        let ended: [String] = sessions.withLock { sessions in
            var ended = sessions.filter { $0.value.expires <= now }.map(\.key)
            for digest in ended { sessions.removeValue(forKey: digest) }
            let own = sessions.filter { $0.value.key.keyID == keyID }.sorted { $0.value.started < $1.value.started }
            for (digest, _) in own.prefix(max(0, own.count - Self.sessionsPerKeyMax + 1)) {
                sessions.removeValue(forKey: digest)
                ended.append(digest)
            }
            sessions[Self.digest(token)] = Session(key: key, started: now, expires: expires)
            return ended
        }
        for digest in ended { tell("token:" + digest) }
        return (token, key, expires)
    }

    /// The key a live session's token stands for.
    func authenticate(token: String, now: Int64) -> StoredKey? {
        let digest = Self.digest(token)
        let (key, expired): (StoredKey?, Bool) = sessions.withLock { sessions in
            guard let session = sessions[digest] else { return (nil, false) }
            guard session.expires > now else {
                sessions.removeValue(forKey: digest)
                return (nil, true)
            }
            return (session.key, false)
        }
        if expired { tell("token:" + digest) }
        return key
    }

    /// A stream's sign-in with a token: the key, and the stream's channel closed when the session ends.
    /// `watching` holds the stream's watch, replaced by each sign-in; unwatch it when the stream closes.
    func authenticate(token: String, now: Int64, closing channel: any Channel, watching: inout Watch?) -> StoredKey? {
        if let previous = watching { unwatch(previous) }
        watching = nil
        guard let key = authenticate(token: token, now: now) else { return nil }
        watching = watch("token:" + Self.digest(token), closing: channel) { self.sessions.withLock { $0[Self.digest(token)] != nil } }
        return watching == nil ? nil : key
    }

    /// The same with a key and its secret: the stream closes when the key is revoked.
    func authenticate(keyID: String, secret: String, closing channel: any Channel, watching: inout Watch?) -> StoredKey? {
        if let previous = watching { unwatch(previous) }
        watching = nil
        guard let key = authenticate(keyID: keyID, secret: secret) else { return nil }
        watching = watch("key:" + keyID, closing: channel) { self.keys.withLock { $0[keyID] != nil } }
        return watching == nil ? nil : key
    }

    /// Registers `channel` to close when `subject` ends; nil when `live` finds it has ended already.
    private func watch(_ subject: String, closing channel: any Channel, live: () -> Bool) -> Watch? {
        let id = watchCount.add(1, ordering: .relaxed).newValue
        watches.withLock { $0[subject, default: [:]][id] = { channel.close(promise: nil) } }
        // Checked after registering, so an end between the two is not missed.
        guard live() else {
            unwatch(Watch(subject: subject, id: id))
            return nil
        }
        return Watch(subject: subject, id: id)
    }

    func unwatch(_ watch: Watch) {
        watches.withLock { all in
            all[watch.subject]?.removeValue(forKey: watch.id)
            if all[watch.subject]?.isEmpty == true { all.removeValue(forKey: watch.subject) }
        }
    }

    private func tell(_ subject: String) {
        let ended = watches.withLock { $0.removeValue(forKey: subject) } ?? [:]
        for onEnd in ended.values { onEnd() }
    }

    func endSession(token: String) {
        let digest = Self.digest(token)
        if sessions.withLock({ $0.removeValue(forKey: digest) }) != nil { tell("token:" + digest) }
    }

    /// Live sessions, for tests and metrics.
    var sessionCount: Int { sessions.withLock { $0.count } }

    /// The key's account and role, or nil for an unknown key or a wrong secret. The digests are compared
    /// in constant time.
    func authenticate(keyID: String, secret: String) -> StoredKey? {
        guard let key = keys.withLock({ $0[keyID] }) else { return nil }
        // Every request passes here: the digest is compared as it is made, without a string of it.
        var stored = key.secretSHA256.utf8.makeIterator()
        var difference: UInt8 = key.secretSHA256.utf8.count == 64 ? 0 : 1
        for byte in SHA256.hash(data: Data(secret.utf8)) {
            difference |= Self.hex[Int(byte >> 4)] ^ (stored.next() ?? 0)
            difference |= Self.hex[Int(byte & 15)] ^ (stored.next() ?? 0)
        }
        return difference == 0 ? key : nil
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func digest(_ secret: String) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(secret.utf8)) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A new key with a random id and secret, in Alpaca's shape (20 and 40 characters; a broker key's id
    /// starts CK as Alpaca's do).
    static func issue(account: UInt32, role: Role, firm: UInt32? = nil) -> (IssuedKey, StoredKey) {
        let id = (role == .broker ? "CK" : "PK") + randomString(18, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let secret = randomString(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return (IssuedKey(keyID: id, secret: secret, account: account, role: role, firm: firm),
                StoredKey(keyID: id, secretSHA256: digest(secret), account: account, role: role, firm: firm))
    }

    static func randomString(_ count: Int, alphabet: String) -> String {
        let letters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in letters[Int.random(in: 0..<letters.count, using: &generator)] })
    }
}
