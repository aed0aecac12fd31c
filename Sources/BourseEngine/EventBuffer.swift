import BourseCore

/// Where the engine writes the events of the commands it applies: a hand-managed array, so that
/// appending costs no uniqueness check, handing out a command's events is a pointer and a count, and
/// clearing is setting the count to zero (events are plain data: nothing to release).
struct EventBuffer {
    private var storage: UnsafeMutablePointer<Event>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 10) {
        precondition(_isPOD(Event.self), "events must be plain data for the buffer to drop them by count")
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    func deallocate() { storage.deallocate() }

    var isEmpty: Bool { count == 0 }

    @inline(__always) mutating func append(_ event: Event) {
        if count == capacity { grow() }
        (storage + count).initialize(to: event)
        count += 1
    }

    @inline(__always) mutating func removeAll() { count = 0 }

    /// The events from `start` on; valid until the next append or clear.
    @inline(__always) func events(from start: Int) -> UnsafeBufferPointer<Event> {
        UnsafeBufferPointer(start: storage + start, count: count - start)
    }

    private mutating func grow() {
        capacity *= 2
        let bigger = UnsafeMutablePointer<Event>.allocate(capacity: capacity)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
    }
}
