/// Slots written from several threads, each slot by one thread only, and read once they are done: what
/// work spread over cores (`DispatchQueue.concurrentPerform`) writes its parts into.
struct Disjoint<T>: @unchecked Sendable {
    let slots: UnsafeMutableBufferPointer<T>

    /// Slots of its own, each `initial`, until `free`.
    init(count: Int, _ initial: T) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: initial)
    }

    /// The slots of a buffer the caller owns and keeps alive while they are used.
    init(sharing buffer: UnsafeMutableBufferPointer<T>) {
        slots = buffer
    }

    var count: Int { slots.count }

    subscript(i: Int) -> T {
        get { slots[i] }
        nonmutating set { slots[i] = newValue }
    }

    /// Changes slot `i` in place, without copying it.
    func update<R>(_ i: Int, _ body: (inout T) -> R) -> R {
        body(&slots[i])
    }

    /// Gives back slots made by `init(count:_:)`.
    func free() {
        slots.deinitialize()
        slots.deallocate()
    }
}
