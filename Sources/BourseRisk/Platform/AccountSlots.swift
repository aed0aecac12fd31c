import BourseCore

/// Account ids to their places in the book: open addressing with linear probing on a multiplicative hash,
/// kept at most half full. Every fill looks two accounts up; the standard dictionary's seeded hash was a
/// tenth of applying one.
struct AccountSlots: Sendable {
    private var keys: [UInt32] = Array(repeating: 0, count: 16)
    private var values: [Int32] = Array(repeating: -1, count: 16)
    private(set) var count = 0

    @inline(__always) private func home(_ key: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & (keys.count - 1)
    }

    subscript(id: AccountID) -> Int? {
        get {
            var i = home(id.rawValue)
            while values[i] >= 0 {
                if keys[i] == id.rawValue { return Int(values[i]) }
                i = (i + 1) & (keys.count - 1)
            }
            return nil
        }
        set {
            precondition(newValue != nil && self[id] == nil, "accounts are added once and never removed")
            if (count + 1) * 2 > keys.count { grow() }
            insert(id.rawValue, Int32(newValue!))
        }
    }

    private mutating func insert(_ key: UInt32, _ value: Int32) {
        var i = home(key)
        while values[i] >= 0 { i = (i + 1) & (keys.count - 1) }
        (keys[i], values[i]) = (key, value)
        count += 1
    }

    private mutating func grow() {
        let (oldKeys, oldValues) = (keys, values)
        keys = Array(repeating: 0, count: oldKeys.count * 2)
        values = Array(repeating: -1, count: oldKeys.count * 2)
        count = 0
        for i in oldKeys.indices where oldValues[i] >= 0 { insert(oldKeys[i], oldValues[i]) }
    }
}
