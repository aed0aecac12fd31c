import BourseCore
import BourseVenue
import Crypto
import Foundation
import NIOCore
import Synchronization

/// An API key as the server keeps it: the secret only as a SHA-256 digest.
struct StoredKey: Codable, Sendable {
    var keyID: String
    var secretSHA256: String
    var account: UInt32
    var role: Role

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", secretSHA256 = "secret_sha256", account, role
    }
}

/// An API key as handed to its user once: written to `credentials.json` (mode 0600) for scripts.
public struct IssuedKey: Codable, Sendable {
    public var keyID: String
    public var secret: String
    public var account: UInt32
    public var role: Role

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id", secret, account, role
    }
}

/// The keys the server accepts, loaded from `keys.json` in the data directory, and the sessions the web UI
/// signs in to with one: a bearer token standing for the key until it expires or is ended. Tokens are kept
/// in memory only, as SHA-256 digests, so a restart signs everyone out. Each key holds at most
/// `sessionsPerKeyMax` sessions, so no key's sign-ins can crowd out another's.
final class KeyStore: Sendable {
    private let keys: [String: StoredKey]
    private let sessions = Mutex<[String: Session]>([:])
    private let watches = Atomic<UInt64>(0)
    static let sessionNanos: Int64 = 12 * 3_600 * 1_000_000_000
    /// A person signs in from a few browsers; past this a key's oldest session ends.
    static let sessionsPerKeyMax = 32

    private struct Session {
        var key: StoredKey
        var started: Int64
        var expires: Int64
        /// What to tell when the session ends, by watch: the streams it authenticated close.
        var onEnd: [UInt64: @Sendable () -> Void] = [:]
    }

    init(_ keys: [StoredKey]) {
        self.keys = Dictionary(keys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func contains(keyID: String) -> Bool { keys[keyID] != nil }

    /// A new session for a key and its secret: the token and when it expires; nil for a wrong key. A key
    /// at `sessionsPerKeyMax` live sessions loses its oldest.
    func startSession(keyID: String, secret: String, now: Int64) -> (token: String, key: StoredKey, expires: Int64)? {
        guard let key = authenticate(keyID: keyID, secret: secret) else { return nil }
        let token = "bst_" + Self.randomString(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let expires = now + Self.sessionNanos
        let ended: [Session] = sessions.withLock { sessions in
            var ended: [Session] = []
            let expired = sessions.filter { $0.value.expires <= now }.map(\.key)
            for digest in expired { ended.append(sessions.removeValue(forKey: digest)!) }
            let own = sessions.filter { $0.value.key.keyID == keyID }.sorted { $0.value.started < $1.value.started }
            for (digest, _) in own.prefix(max(0, own.count - Self.sessionsPerKeyMax + 1)) {
                ended.append(sessions.removeValue(forKey: digest)!)
            }
            sessions[Self.digest(token)] = Session(key: key, started: now, expires: expires)
            return ended
        }
        for session in ended { session.onEnd.values.forEach { $0() } }
        return (token, key, expires)
    }

    /// The key a live session's token stands for.
    func authenticate(token: String, now: Int64) -> StoredKey? {
        let digest = Self.digest(token)
        let (key, ended): (StoredKey?, Session?) = sessions.withLock { sessions in
            guard let session = sessions[digest] else { return (nil, nil) }
            guard session.expires > now else { return (nil, sessions.removeValue(forKey: digest)) }
            return (session.key, nil)
        }
        ended?.onEnd.values.forEach { $0() }
        return key
    }

    /// Calls `onEnd` when the token's session ends (signed out, replaced or found expired). Returns the
    /// watch, to `unwatch` when its stream closes first; nil, without calling it, when there is no such session.
    func watch(token: String, onEnd: @escaping @Sendable () -> Void) -> UInt64? {
        let id = watches.add(1, ordering: .relaxed).newValue
        return sessions.withLock { sessions in
            let digest = Self.digest(token)
            guard sessions[digest] != nil else { return nil }
            sessions[digest]!.onEnd[id] = onEnd
            return id
        }
    }

    func unwatch(token: String, _ id: UInt64) {
        sessions.withLock { _ = $0[Self.digest(token)]?.onEnd.removeValue(forKey: id) }
    }

    /// A stream's sign-in with a token: the key, and the stream's channel closed when the session ends.
    /// `watching` holds the stream's watch, replaced by each sign-in; unwatch it when the stream closes.
    func authenticate(token: String, now: Int64, closing channel: any Channel, watching: inout (token: String, id: UInt64)?) -> StoredKey? {
        if let previous = watching { unwatch(token: previous.token, previous.id) }
        watching = nil
        guard let key = authenticate(token: token, now: now),
              let id = watch(token: token, onEnd: { channel.close(promise: nil) }) else { return nil }
        watching = (token, id)
        return key
    }

    func endSession(token: String) {
        let ended = sessions.withLock { $0.removeValue(forKey: Self.digest(token)) }
        ended?.onEnd.values.forEach { $0() }
    }

    /// Live sessions, for tests and metrics.
    var sessionCount: Int { sessions.withLock { $0.count } }

    /// The key's account and role, or nil for an unknown key or a wrong secret. The digests are compared
    /// in constant time.
    func authenticate(keyID: String, secret: String) -> StoredKey? {
        guard let key = keys[keyID] else { return nil }
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

    /// A new key with a random id and secret, in Alpaca's shape (20 and 40 characters).
    static func issue(account: UInt32, role: Role) -> (IssuedKey, StoredKey) {
        let id = "PK" + randomString(18, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let secret = randomString(40, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return (IssuedKey(keyID: id, secret: secret, account: account, role: role),
                StoredKey(keyID: id, secretSHA256: digest(secret), account: account, role: role))
    }

    static func randomString(_ count: Int, alphabet: String) -> String {
        let letters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in letters[Int.random(in: 0..<letters.count, using: &generator)] })
    }
}
