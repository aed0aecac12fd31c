import BourseNode
import Synchronization

/// Requests per API key: a token bucket per key, refilled continuously. Callers take tokens only for keys
/// in the key store (or `unknownKey`), so the table is bounded by it.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    /// The one bucket for every key id the key store does not hold, so that ids made up by a client cannot
    /// grow the table.
    static let unknownKey = ""

    let perSecond: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock: @Sendable () -> Int64

    init(perSecond: Int, burst: Int, clock: @escaping @Sendable () -> Int64 = monotonicNanos) {
        self.perSecond = Double(perSecond)
        self.burst = Double(burst)
        self.clock = clock
    }

    var bucketCount: Int { buckets.withLock { $0.count } }

    /// Takes a token for the key: nil when the request may go ahead, else the whole seconds to wait.
    func take(_ key: String) -> Int? {
        let now = clock()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + Double(now - bucket.updated) / 1e9 * perSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
        }
    }
}
