import BourseCore

/// Account ids to their places in the book: open addressing with linear probing on a multiplicative hash,
/// kept at most half full, each key beside its value so that a lookup is one cache miss. Every fill looks
/// two accounts up; the standard dictionary's seeded hash was a tenth of applying one.
struct AccountSlots: Sendable {
    private struct Entry {
        var key: UInt32
        /// Below zero: empty.
        var value: Int32
    }

    private var entries = [Entry](repeating: Entry(key: 0, value: -1), count: 16)
    private(set) var count = 0

    @inline(__always) private func home(_ key: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & (entries.count - 1)
    }

    subscript(id: AccountID) -> Int? {
        get {
            var i = home(id.rawValue)
            while entries[i].value >= 0 {
                if entries[i].key == id.rawValue { return Int(entries[i].value) }
                i = (i + 1) & (entries.count - 1)
            }
            return nil
        }
        set {
            precondition(newValue != nil && self[id] == nil, "accounts are added once and never removed")
            if (count + 1) * 2 > entries.count { grow() }
            insert(id.rawValue, Int32(newValue!))
        }
    }

    private mutating func insert(_ key: UInt32, _ value: Int32) {
        var i = home(key)
        while entries[i].value >= 0 { i = (i + 1) & (entries.count - 1) }
        entries[i] = Entry(key: key, value: value)
        count += 1
    }

    private mutating func grow() {
        let old = entries
        entries = [Entry](repeating: Entry(key: 0, value: -1), count: old.count * 2)
        count = 0
        for e in old where e.value >= 0 { insert(e.key, e.value) }
    }
}
