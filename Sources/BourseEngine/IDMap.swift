import CBourseSupport

/// An open-addressing map from UInt64 keys to Int32 values: linear probing, backward-shift deletion,
/// Fibonacci hashing. Lookups do not depend on any per-process seed, and nothing iterates it.
struct IDMap {
    private struct Entry {
        var key: UInt64
        var value: Int32  // -1: empty
    }
    private var entries: UnsafeMutablePointer<Entry>
    private var mask: Int
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        entries = .allocate(capacity: size)
        entries.initialize(repeating: Entry(key: 0, value: -1), count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    func deallocate() { entries.deallocate() }

    @inline(__always) private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always) func find(_ key: UInt64) -> Int32? {
        var i = home(key)
        while true {
            let e = entries[i]
            if e.value < 0 { return nil }
            if e.key == key { return e.value }
            i = (i + 1) & mask
        }
    }

    /// The value in `key`'s home entry, whichever key is there, or -1: a guess, without a branch, for
    /// prefetching. Right for most present keys (probes are short at this load factor).
    @inline(__always) func hint(_ key: UInt64) -> Int32 { entries[home(key)].value }

    /// Starts loading the cache line where `key` would be found.
    @inline(__always) func prefetch(_ key: UInt64) {
        bourse_prefetch(entries + home(key))
    }

    /// Inserts a key that is not present.
    mutating func insert(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 2 > mask + 1 { grow() }
        var i = home(key)
        while entries[i].value >= 0 {
            assert(entries[i].key != key, "duplicate key")
            i = (i + 1) & mask
        }
        entries[i] = Entry(key: key, value: value)
        count += 1
    }

    mutating func remove(_ key: UInt64) {
        var i = home(key)
        while true {
            let e = entries[i]
            if e.value < 0 { return }
            if e.key == key { break }
            i = (i + 1) & mask
        }
        // Backward-shift: pull later entries of the probe run into the hole so no tombstones are needed.
        var hole = i
        var j = (i + 1) & mask
        while entries[j].value >= 0 {
            let want = home(entries[j].key)
            let distanceFromHome = (j - want) & mask
            let distanceToHole = (j - hole) & mask
            if distanceFromHome >= distanceToHole {
                entries[hole] = entries[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        entries[hole] = Entry(key: 0, value: -1)
        count -= 1
    }

    private mutating func grow() {
        let oldSize = mask + 1
        let old = entries
        let size = oldSize * 2
        entries = .allocate(capacity: size)
        entries.initialize(repeating: Entry(key: 0, value: -1), count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for index in 0..<oldSize where old[index].value >= 0 {
            insert(old[index].key, old[index].value)
        }
        old.deallocate()
    }
}
