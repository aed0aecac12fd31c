/// A framed FIX message, read into its fields: the bytes as received and, for each field in order, its tag
/// and where its value lies. Values are read on demand, so a message is one buffer and one array.
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

    public private(set) var bytes: [UInt8] = []
    public private(set) var fields: [Field] = []
    public private(set) var fault: Fault?

    /// An empty message whose storage `read` reuses.
    public init() {
        bytes.reserveCapacity(512)
        fields.reserveCapacity(32)
    }

    /// Reads a message that `Framing` delimited (its length and checksum verified), keeping the array as
    /// its bytes.
    public init(frame: [UInt8]) {
        bytes = frame
        readFields()
    }

    /// Reads a framed message into this one's storage: no allocation once it has held one as large.
    public mutating func read(_ frame: UnsafeRawBufferPointer) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: frame)
        readFields()
    }

    /// Finds the fields of `bytes`, a part at a time into a small buffer on the stack, each part then
    /// copied into `fields` at once: appending one field at a time checks the array's storage every time.
    private mutating func readFields() {
        var fault: Fault?
        fields.removeAll(keepingCapacity: true)
        var i = 0
        withUnsafeTemporaryAllocation(of: Field.self, capacity: Self.fieldsPerPart) { part in
            repeat {
                let (count, next) = bytes.withUnsafeBufferPointer {
                    Self.scan($0, from: i, into: part, before: Self.fieldsMax - fields.count, fault: &fault)
                }
                fields.append(contentsOf: UnsafeBufferPointer(rebasing: part[..<count]))
                i = next
            } while i < bytes.count
        }
        self.fault = fault
    }

    /// A part's fields: what most messages hold, small enough for the stack.
    static let fieldsPerPart = 64

    /// Writes the fields of a frame from `i` to `part`, in order, until it is full or the frame ends, and
    /// notes the first fault (fields past `room` are refused); how many it wrote and where it stopped.
    private static func scan(_ frame: UnsafeBufferPointer<UInt8>, from i: Int, into part: UnsafeMutableBufferPointer<Field>, before room: Int,
                             fault: inout Fault?) -> (count: Int, next: Int) {
        let count = frame.count
        guard let base = frame.baseAddress else { return (0, count) }
        func note(_ reason: SessionRejectReason, _ tag: Int?, _ text: @autoclosure () -> String) {
            if fault == nil { fault = Fault(reason: reason, tag: tag, text: text()) }
        }
        var n = 0
        var i = i
        while i < count, n < part.count {
            // The usual field: one to five digits, the first not zero, then '='.
            let tagStart = i
            var tag = 0
            while i < count, base[i] &- UInt8(ascii: "0") < 10, i &- tagStart < 5 {
                tag = tag &* 10 &+ Int(base[i] &- UInt8(ascii: "0"))
                i &+= 1
            }
            guard i < count, base[i] == UInt8(ascii: "="), i > tagStart, base[tagStart] != UInt8(ascii: "0") else {
                i = skipFaultyTag(base, from: tagStart, count: count, note: note)
                continue
            }
            i &+= 1
            let start = i
            i = Self.nextSOH(base, from: i, count: count)
            if start == i {
                note(.tagWithoutValue, tag, "tag \(tag) has no value")
            } else if n == room {
                note(.other, nil, "more than \(Self.fieldsMax) fields")
            } else {
                part[n] = Field(tag: tag, start: Int32(start), end: Int32(i))
                n &+= 1
            }
            i &+= 1
        }
        return (n, i)
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
        return Self.nextSOH(base, from: i &+ 1, count: count) &+ 1
    }

    /// The index of the next SOH at or after `i` (or `count`), eight bytes at a time: a byte equal to SOH
    /// is a zero byte of the word xor 0x01…01, found with the has-zero-byte trick; the lowest flagged byte
    /// is always a true one.
    @inline(__always)
    static func nextSOH(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var i = start
        while i &+ 8 <= count {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) ^ 0x0101_0101_0101_0101
            let zero = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if zero != 0 { return i &+ zero.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        while i < count, base[i] != Framing.soh { i &+= 1 }
        return i
    }

    /// The index of the first field with `tag`.
    @inline(__always)
    public func index(of tag: Int) -> Int? {
        for i in fields.indices where fields[i].tag == tag { return i }
        return nil
    }

    public func value(at index: Int) -> ArraySlice<UInt8> {
        bytes[Int(fields[index].start) ..< Int(fields[index].end)]
    }

    public func string(at index: Int) -> String { String(decoding: value(at: index), as: UTF8.self) }

    /// The first value of `tag`, as text.
    public subscript(_ tag: Int) -> String? { index(of: tag).map(string(at:)) }

    /// The first value of `tag` if it is a non-negative integer of at most 18 digits.
    public func integer(_ tag: Int) -> Int? { index(of: tag).flatMap { FIXValue.integer(value(at: $0)) } }

    public var msgType: String { self[Tag.msgType] ?? "" }

    /// MsgType's one or two bytes as a number (first byte high), without making a string; 0 for none.
    public var msgTypeCode: Int {
        guard fields.count > 2, fields[2].tag == Tag.msgType else { return 0 }
        let f = fields[2]
        guard f.end - f.start <= 2 else { return 0xFFFF }
        return Int(bytes[Int(f.start)]) << 8 | (f.end - f.start == 2 ? Int(bytes[Int(f.start) + 1]) : 0)
    }
    public var msgSeqNum: Int? { integer(Tag.msgSeqNum) }
    public var isPossDup: Bool { self[Tag.possDupFlag] == "Y" }

    /// The message as text with `|` for the field separator, for logs and errors.
    public var text: String { String(decoding: bytes.map { $0 == Framing.soh ? UInt8(ascii: "|") : $0 }, as: UTF8.self) }
}
