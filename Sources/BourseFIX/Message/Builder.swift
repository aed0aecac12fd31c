import BourseCore

/// The fields of an outgoing message after its standard header, in the order they are appended.
public struct FIXBody: Sendable, Equatable {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(256) }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public mutating func append(_ tag: Int, _ value: String) {
        precondition(!value.isEmpty && !value.utf8.contains(Framing.soh), "a FIX value is neither empty nor holds SOH")
        appendTag(tag)
        bytes.append(contentsOf: value.utf8)
        bytes.append(Framing.soh)
    }

    public mutating func append(_ tag: Int, _ value: Int) {
        appendTag(tag)
        bytes.append(contentsOf: String(value).utf8)
        bytes.append(Framing.soh)
    }

    public mutating func append(_ tag: Int, _ value: Int64) { append(tag, Int(value)) }

    public mutating func append(_ tag: Int, _ price: Price) { append(tag, FIXValue.format(price)) }

    public mutating func append(_ tag: Int, _ time: Timestamp) { append(tag, FIXValue.format(time)) }

    public mutating func append(_ tag: Int, _ flag: Bool) { append(tag, flag ? "Y" : "N") }

    private mutating func appendTag(_ tag: Int) {
        bytes.append(contentsOf: String(tag).utf8)
        bytes.append(UInt8(ascii: "="))
    }
}

/// Writes whole messages: the standard header in the specification's order, the body, BodyLength and
/// CheckSum. One writer for first sends and resends, which differ only in PossDupFlag and OrigSendingTime.
public enum FIXEncoder {
    public static let beginString = "FIX.4.4"

    public static func encode(type: String, sequence: Int, sender: String, target: String, sendingTime: Timestamp,
                              origSendingTime: Timestamp? = nil, body: FIXBody) -> [UInt8] {
        var header = FIXBody()
        header.append(Tag.msgType, type)
        header.append(Tag.senderCompID, sender)
        header.append(Tag.targetCompID, target)
        header.append(Tag.msgSeqNum, sequence)
        if origSendingTime != nil { header.append(Tag.possDupFlag, true) }
        header.append(Tag.sendingTime, sendingTime)
        if let origSendingTime { header.append(Tag.origSendingTime, origSendingTime) }
        let length = header.bytes.count + body.bytes.count
        var out: [UInt8] = []
        out.reserveCapacity(length + 32)
        out.append(contentsOf: "8=\(beginString)\u{1}9=\(length)\u{1}".utf8)
        out.append(contentsOf: header.bytes)
        out.append(contentsOf: body.bytes)
        let sum = out.withUnsafeBytes { Framing.checksum($0) }
        out.append(contentsOf: "10=".utf8)
        out.append(UInt8(ascii: "0") + UInt8(sum / 100))
        out.append(UInt8(ascii: "0") + UInt8(sum / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(sum % 10))
        out.append(Framing.soh)
        return out
    }
}
