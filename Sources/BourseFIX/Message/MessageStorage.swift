/// A message's bytes and fields in one allocation: the fields first (their room bound by the bytes, since
/// a field takes four bytes at least, and by `FIXMessage.fieldsMax`), then the bytes, then eight SOHs that
/// end every search for a field's end. `FIXMessage` makes new storage rather than write to storage that is
/// shared, so what a value sees never changes (hence unchecked Sendable).
final class MessageStorage: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let byteCapacity: Int
    private let fieldCapacity: Int
    private(set) var byteCount = 0
    /// SOHs after the bytes: a word read at any byte of the message ends within them.
    static let sentinelCount = 8
    var fieldCount = 0 {
        didSet { precondition(fieldCount <= fieldCapacity, "the fields fit their room") }
    }

    /// Storage with room for a message of `bytes` bytes and all the fields it can hold.
    init(bytes: Int) {
        precondition(bytes < Int(Int32.max) - Self.sentinelCount, "a field's offsets fit 32 bits")
        byteCapacity = bytes
        fieldCapacity = Swift.min(bytes / 4 + 1, FIXMessage.fieldsMax)
        let fieldBytes = fieldCapacity * MemoryLayout<FIXMessage.Field>.stride
        base = .allocate(byteCount: fieldBytes + bytes + Self.sentinelCount, alignment: MemoryLayout<FIXMessage.Field>.alignment)
        base.bindMemory(to: FIXMessage.Field.self, capacity: fieldCapacity)
        (base + fieldBytes).bindMemory(to: UInt8.self, capacity: bytes + Self.sentinelCount)
    }

    deinit { base.deallocate() }

    /// Whether a message of `count` bytes fits.
    func holds(_ count: Int) -> Bool { byteCapacity >= count }

    private var fieldBase: UnsafeMutablePointer<FIXMessage.Field> { base.assumingMemoryBound(to: FIXMessage.Field.self) }
    private var byteBase: UnsafeMutablePointer<UInt8> {
        (base + fieldCapacity * MemoryLayout<FIXMessage.Field>.stride).assumingMemoryBound(to: UInt8.self)
    }

    /// Valid while the storage lives.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: byteBase, count: byteCount) }
    var fields: UnsafeBufferPointer<FIXMessage.Field> { UnsafeBufferPointer(start: fieldBase, count: fieldCount) }
    /// Where the fields are written: room for as many as the bytes can hold.
    var fieldSpace: UnsafeMutableBufferPointer<FIXMessage.Field> { UnsafeMutableBufferPointer(start: fieldBase, count: fieldCapacity) }

    /// Makes `frame` the bytes, followed by the sentinel SOHs, and forgets the fields.
    func copy(_ frame: UnsafeRawBufferPointer) {
        precondition(holds(frame.count), "the bytes fit their room")
        if let source = frame.baseAddress { UnsafeMutableRawPointer(byteBase).copyMemory(from: source, byteCount: frame.count) }
        (byteBase + frame.count).initialize(repeating: Framing.soh, count: Self.sentinelCount)
        byteCount = frame.count
        fieldCount = 0
    }
}
