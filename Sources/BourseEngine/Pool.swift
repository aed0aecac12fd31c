import CBourseSupport

/// A growable slab of `T` addressed by Int32 handles, with a free list. Handles stay valid until
/// freed, so intrusive links between elements survive growth. Owned by one thread.
struct Pool<T> {
    private(set) var storage: UnsafeMutablePointer<T>
    private(set) var capacity: Int
    /// Slots ever handed out; everything below is initialized.
    private(set) var high: Int32 = 0
    /// Freed handles, a stack as deep as the pool is wide.
    private var freeList: UnsafeMutablePointer<Int32>
    private var freeCount = 0
    private(set) var live = 0
    private let blank: T

    init(capacity: Int, blank: T) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.blank = blank
        storage = .allocate(capacity: capacity)
        freeList = .allocate(capacity: capacity)
    }

    func deallocate() {
        storage.deinitialize(count: Int(high))
        storage.deallocate()
        freeList.deallocate()
    }

    @inline(__always) subscript(handle: Int32) -> T {
        get { storage[Int(handle)] }
        nonmutating _modify { yield &storage[Int(handle)] }
    }

    @inline(__always) func pointer(_ handle: Int32) -> UnsafeMutablePointer<T> { storage + Int(handle) }

    mutating func allocate() -> Int32 { allocate(blank) }

    /// Takes a slot holding `value`.
    @inline(__always) mutating func allocate(_ value: T) -> Int32 {
        live += 1
        if freeCount > 0 {
            freeCount -= 1
            let handle = freeList[freeCount]
            storage[Int(handle)] = value
            return handle
        }
        if Int(high) == capacity { grow() }
        (storage + Int(high)).initialize(to: value)
        high += 1
        return high - 1
    }

    @inline(__always) mutating func free(_ handle: Int32) {
        live -= 1
        freeList[freeCount] = handle
        freeCount += 1
    }

    private mutating func grow() {
        let newCapacity = capacity * 2
        precondition(newCapacity < Int(Int32.max), "pool exceeds Int32 handles")
        let bigger = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
        bigger.moveInitialize(from: storage, count: Int(high))
        storage.deallocate()
        storage = bigger
        let biggerFree = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        biggerFree.moveInitialize(from: freeList, count: freeCount)
        freeList.deallocate()
        freeList = biggerFree
        capacity = newCapacity
    }
}

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
