/// A framed FIX message, read into its fields: the bytes as received and, for each field in order, its tag
/// and where its value lies. Values are read on demand, so a message is one allocation (`MessageStorage`).
public struct FIXMessage: Sendable {
    public struct Field: Sendable, Equatable {
        public var tag: Int
        public var start: Int32
        public var end: Int32
    }

    /// A fault found while reading the fields: the first one, with the tag it concerns (nil when the tag
    /// itself is unreadable).
    public struct Fault: Sendable, Equatable, Error {
        public var reason: SessionRejectReason
        public var tag: Int?
        public var text: String
    }

    /// Fields above this many are not read: the message is refused whole.
    public static let fieldsMax = 512
    /// The highest tag number the specification allows.
    public static let tagMax = 99_999

    /// The bytes and the fields, in one allocation shared on copy and replaced only when shared or too
    /// small: reading message after message into one value allocates nothing.
    private var storage: MessageStorage
    public private(set) var fault: Fault?

    /// An empty message whose storage `read` reuses.
    public init() {
        storage = MessageStorage(bytes: 512)
    }

    /// Reads a message that `Framing` delimited (its length and checksum verified).
    public init(frame: UnsafeRawBufferPointer) {
        storage = MessageStorage(bytes: frame.count)
        storage.copy(frame)
        readFields()
    }

    /// As `init(frame:)` above, from an array.
    public init(frame: [UInt8]) {
        self = frame.withUnsafeBytes { FIXMessage(frame: $0) }
    }

    /// Reads a framed message into this one's storage: no allocation once it has held one as large.
    public mutating func read(_ frame: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&storage) || !storage.holds(frame.count) {
            storage = MessageStorage(bytes: Swift.max(frame.count, 512))
        }
        storage.copy(frame)
        readFields()
    }

    /// The message's bytes, as received.
    public var bytes: [UInt8] { Array(storage.bytes) }
    /// The message's length in bytes.
    public var count: Int { storage.bytes.count }
    /// Its fields in order, fields past `fieldsMax` left out.
    public var fields: Fields { Fields(storage: storage) }

    /// The fields of a message, read where the message keeps them.
    public struct Fields: RandomAccessCollection, Sendable {
        let storage: MessageStorage
        public var startIndex: Int { 0 }
        public var endIndex: Int { storage.fieldCount }
        public subscript(index: Int) -> Field {
            precondition(index >= 0 && index < storage.fieldCount, "a field's index is within the message")
            return storage.fields[index]
        }
    }

    /// The bytes and fields for as long as `body` runs, without copying either.
    func withUnsafeParts<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Field>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(storage.bytes, storage.fields) }
    }

    /// Finds the fields of `bytes` and writes them to the storage, which has room for as many as the
    /// bytes can hold up to `fieldsMax`.
    private mutating func readFields() {
        var fault: Fault?
        storage.fieldCount = Self.scan(storage.bytes, into: storage.fieldSpace, fault: &fault)
        self.fault = fault
    }

    /// Writes the fields of a frame to `space`, in order, and notes the first fault (fields past
    /// `fieldsMax` are refused); how many it wrote. The storage follows the frame with SOHs
    /// (`MessageStorage.sentinelCount`), so that no search for a field's end looks at the count.
    private static func scan(_ frame: UnsafeBufferPointer<UInt8>, into space: UnsafeMutableBufferPointer<Field>, fault: inout Fault?) -> Int {
        let count = frame.count
        guard let base = frame.baseAddress else { return 0 }
        func note(_ reason: SessionRejectReason, _ tag: Int?, _ text: @autoclosure () -> String) {
            if fault == nil { fault = Fault(reason: reason, tag: tag, text: text()) }
        }
        var n = 0
        var i = 0
        while i < count {
            // The usual field: one to five digits, the first not zero, then '='.
            let tagStart = i
            var tag = 0
            while base[i] &- UInt8(ascii: "0") < 10, i &- tagStart < 5 {
                tag = tag &* 10 &+ Int(base[i] &- UInt8(ascii: "0"))
                i &+= 1
            }
            guard base[i] == UInt8(ascii: "="), i > tagStart, base[tagStart] != UInt8(ascii: "0") else {
                i = skipFaultyTag(base, from: tagStart, count: count, note: note)
                continue
            }
            i &+= 1
            let start = i
            i = Self.nextSOH(base, from: i)
            if start == i {
                note(.tagWithoutValue, tag, "tag \(tag) has no value")
            } else if n == space.count {
                // A field takes four bytes at least, so only the limit fills the space.
                precondition(n == Self.fieldsMax, "a message's storage has room for its fields")
                note(.other, nil, "more than \(Self.fieldsMax) fields")
            } else {
                space[n] = Field(tag: tag, start: Int32(truncatingIfNeeded: start), end: Int32(truncatingIfNeeded: i))
                n &+= 1
            }
            i &+= 1
        }
        return n
    }

    /// Notes a field whose tag is not a tag number and returns where the next field begins.
    private static func skipFaultyTag(_ base: UnsafePointer<UInt8>, from tagStart: Int, count: Int,
                                      note: (SessionRejectReason, Int?, @autoclosure () -> String) -> Void) -> Int {
        var i = tagStart
        while i < count, base[i] != UInt8(ascii: "="), base[i] != Framing.soh { i &+= 1 }
        guard i < count, base[i] == UInt8(ascii: "=") else {
            note(.invalidTagNumber, nil, "a field has no '='")
            return i &+ 1
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + tagStart, count: i - tagStart), as: UTF8.self)
        note(.invalidTagNumber, nil, "\(text) is not a tag number")
        return Self.nextSOH(base, from: i &+ 1) &+ 1
    }

    /// The index of the next SOH at or after `i`, eight bytes at a time, the storage's SOHs after the
    /// frame ending the search: a byte equal to SOH is a zero byte of the word xor 0x01…01, found with the
    /// has-zero-byte trick; the lowest flagged byte is always a true one.
    @inline(__always)
    static func nextSOH(_ base: UnsafePointer<UInt8>, from start: Int) -> Int {
        var i = start
        while true {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) ^ 0x0101_0101_0101_0101
            let zero = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zero != 0 { return i &+ zero.trailingZeroBitCount &>> 3 }
            i &+= 8
        }
    }

    /// The index of the first field with `tag`.
    @inline(__always)
    public func index(of tag: Int) -> Int? {
        for i in fields.indices where fields[i].tag == tag { return i }
        return nil
    }

    /// The value of the field at `index`, for as long as the message lives.
    func value(at index: Int) -> UnsafeBufferPointer<UInt8> {
        let field = storage.fields[index]
        return UnsafeBufferPointer(rebasing: storage.bytes[Int(field.start) ..< Int(field.end)])
    }

    public func string(at index: Int) -> String { withExtendedLifetime(storage) { String(decoding: value(at: index), as: UTF8.self) } }

    /// The first value of `tag`, as text.
    public subscript(_ tag: Int) -> String? { index(of: tag).map(string(at:)) }

    /// The first value of `tag` if it is a non-negative integer of at most 18 digits.
    public func integer(_ tag: Int) -> Int? {
        withExtendedLifetime(storage) { index(of: tag).flatMap { FIXValue.integer(value(at: $0)) } }
    }

    public var msgType: String { self[Tag.msgType] ?? "" }

    /// MsgType's one or two bytes as a number (first byte high), without making a string; 0 for none.
    public var msgTypeCode: Int {
        guard fields.count > 2, fields[2].tag == Tag.msgType else { return 0 }
        let f = fields[2], bytes = storage.bytes
        guard f.end - f.start <= 2 else { return 0xFFFF }
        return Int(bytes[Int(f.start)]) << 8 | (f.end - f.start == 2 ? Int(bytes[Int(f.start) + 1]) : 0)
    }
    public var msgSeqNum: Int? { integer(Tag.msgSeqNum) }
    public var isPossDup: Bool { self[Tag.possDupFlag] == "Y" }

    /// The message as text with `|` for the field separator, for logs and errors.
    public var text: String { String(decoding: bytes.map { $0 == Framing.soh ? UInt8(ascii: "|") : $0 }, as: UTF8.self) }
}
