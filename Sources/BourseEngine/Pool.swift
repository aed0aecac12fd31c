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
        storage = Self.allocateStorage(capacity)
        freeList = .allocate(capacity: capacity)
    }

    /// Storage on a cache-line boundary, so that an element of 64 bytes is one line and not two.
    private static func allocateStorage(_ capacity: Int) -> UnsafeMutablePointer<T> {
        UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<T>.stride,
                                         alignment: max(64, MemoryLayout<T>.alignment))
            .bindMemory(to: T.self, capacity: capacity)
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
        let bigger = Self.allocateStorage(newCapacity)
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
