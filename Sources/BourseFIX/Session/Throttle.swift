/// A token bucket of one second's messages: a session under its rate never waits; one over it waits for
/// each token.
struct Throttle {
    let perSecond: Int64
    /// In nanosecond-messages (a message is a billion), so that refilling is exact.
    private var tokens: Int64
    private var updated: Int64?

    init(perSecond: Int) {
        self.perSecond = Int64(perSecond)
        tokens = Int64(perSecond) * 1_000_000_000
    }

    /// Takes a token and returns 0, or returns how long until one is there (taking nothing).
    mutating func take(now: Int64) -> Int64 {
        let capacity = perSecond * 1_000_000_000
        if let updated { tokens = min(capacity, tokens + max(0, now - updated) * perSecond) }
        updated = now
        guard tokens >= 1_000_000_000 else { return (1_000_000_000 - tokens) / perSecond + 1 }
        tokens -= 1_000_000_000
        return 0
    }
}
