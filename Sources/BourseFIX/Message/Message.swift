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
    public struct Fault: Sendable, Equatable {
        public var reason: SessionRejectReason
        public var tag: Int?
        public var text: String
    }

    /// Fields above this many are not read: the message is refused whole.
    public static let fieldsMax = 512
    /// The highest tag number the specification allows.
    public static let tagMax = 99_999

    public private(set) var bytes: [UInt8]
    public private(set) var fields: [Field] = []
    public private(set) var fault: Fault?

    /// Reads a message that `Framing` delimited (its length and checksum verified).
    public init(frame: [UInt8]) {
        bytes = frame
        fields.reserveCapacity(32)
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                var tag = 0
                var tagDigits = 0
                var tagValid = true
                let tagStart = i
                while i < b.count, b[i] != UInt8(ascii: "="), b[i] != Framing.soh {
                    let c = b[i]
                    if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), tagDigits < 6 {
                        tag = tag * 10 + Int(c - UInt8(ascii: "0"))
                        tagDigits += 1
                    } else {
                        tagValid = false
                    }
                    i += 1
                }
                if tagDigits == 0 || b[tagStart] == UInt8(ascii: "0") || tag > Self.tagMax { tagValid = false }
                guard i < b.count, b[i] == UInt8(ascii: "=") else {
                    note(.invalidTagNumber, nil, "a field has no '='")
                    while i < b.count, b[i] != Framing.soh { i += 1 }
                    i += 1
                    continue
                }
                i += 1
                let start = i
                while i < b.count, b[i] != Framing.soh { i += 1 }
                if !tagValid {
                    note(.invalidTagNumber, nil, "\(String(decoding: UnsafeBufferPointer(rebasing: b[tagStart ..< start - 1]), as: UTF8.self)) is not a tag number")
                } else if start == i {
                    note(.tagWithoutValue, tag, "tag \(tag) has no value")
                } else if fields.count == Self.fieldsMax {
                    note(.other, nil, "more than \(Self.fieldsMax) fields")
                } else {
                    fields.append(Field(tag: tag, start: Int32(start), end: Int32(i)))
                }
                i += 1
            }
        }
    }

    private mutating func note(_ reason: SessionRejectReason, _ tag: Int?, _ text: String) {
        if fault == nil { fault = Fault(reason: reason, tag: tag, text: text) }
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
    public var msgSeqNum: Int? { integer(Tag.msgSeqNum) }
    public var isPossDup: Bool { self[Tag.possDupFlag] == "Y" }

    /// The message as text with `|` for the field separator, for logs and errors.
    public var text: String { String(decoding: bytes.map { $0 == Framing.soh ? UInt8(ascii: "|") : $0 }, as: UTF8.self) }
}
