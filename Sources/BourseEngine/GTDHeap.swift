/// Min-heap of GTD expiry entries ordered by (expire time, acceptance serial). Entries are checked
/// against the order slot when popped, so cancelled or filled orders need no removal here.
struct GTDHeap {
    struct Entry {
        var expire: Int64
        var accepted: UInt64
        var slot: Int32
    }
    private(set) var entries: [Entry] = []

    @inline(__always) private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.expire != b.expire ? a.expire < b.expire : a.accepted < b.accepted
    }

    var top: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.less(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        let last = entries.removeLast()
        guard !entries.isEmpty else { return }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, Self.less(entries[left], entries[smallest]) { smallest = left }
            if right < entries.count, Self.less(entries[right], entries[smallest]) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
