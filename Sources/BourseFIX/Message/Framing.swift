/// Where one FIX message ends in a stream of bytes: `8=…␁9=LEN␁`, LEN bytes of body, `10=NNN␁`. The
/// declared length is bounded before anything waits for it, so a peer cannot make a connection buffer grow.
public enum Framing {
    public static let soh: UInt8 = 0x01
    /// The longest body accepted; the largest message Bourse takes (a trade capture report) is far smaller.
    public static let bodyLengthMax = 16_384
    /// BeginString and BodyLength with their tags: `8=FIX.4.4␁9=16384␁` and some slack.
    static let prefixLengthMax = 32
    public static let frameLengthMax = prefixLengthMax + bodyLengthMax + 7

    public enum Frame: Equatable, Sendable {
        /// More bytes are needed.
        case incomplete
        /// A whole message of this many bytes, its length and checksum verified.
        case message(length: Int)
        /// Not a message: drop `skip` bytes (to where the next message may begin) and report why.
        case garbled(skip: Int, reason: String)
    }

    /// The first message in `bytes`, or what to do instead.
    public static func frame(_ bytes: UnsafeRawBufferPointer) -> Frame {
        let b = bytes
        guard b.count >= 2 else { return .incomplete }
        guard b[0] == UInt8(ascii: "8"), b[1] == UInt8(ascii: "=") else {
            return .garbled(skip: nextStart(b), reason: "bytes before BeginString(8)")
        }
        // BeginString's value.
        var i = 2
        while i < b.count, b[i] != soh {
            i += 1
            if i > prefixLengthMax { return .garbled(skip: nextStart(b), reason: "BeginString(8) has no end") }
        }
        guard i + 3 < b.count else { return .incomplete }
        i += 1
        guard b[i] == UInt8(ascii: "9"), b[i + 1] == UInt8(ascii: "=") else {
            return .garbled(skip: nextStart(b), reason: "BodyLength(9) is not the second field")
        }
        i += 2
        var length = 0
        var digits = 0
        while true {
            guard i < b.count else { return .incomplete }
            let c = b[i]
            if c == soh { break }
            // Nine digits are read, so that a length past the limit is named as such.
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < 9 else {
                return .garbled(skip: nextStart(b), reason: "BodyLength(9) is not a number")
            }
            length = length * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
            i += 1
        }
        guard digits > 0 else { return .garbled(skip: nextStart(b), reason: "BodyLength(9) is empty") }
        guard length <= bodyLengthMax else {
            return .garbled(skip: nextStart(b), reason: "BodyLength(9) \(length) is above the limit of \(bodyLengthMax)")
        }
        let bodyStart = i + 1
        let total = bodyStart + length + 7
        guard b.count >= total else { return .incomplete }
        let trailer = total - 7
        guard b[trailer - 1] == soh, b[trailer] == UInt8(ascii: "1"), b[trailer + 1] == UInt8(ascii: "0"),
              b[trailer + 2] == UInt8(ascii: "="), b[total - 1] == soh else {
            return .garbled(skip: nextStart(b), reason: "BodyLength(9) \(length) does not end where CheckSum(10) begins")
        }
        var declared = 0
        for j in trailer + 3 ..< trailer + 6 {
            let c = b[j]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                return .garbled(skip: total, reason: "CheckSum(10) is not three digits")
            }
            declared = declared * 10 + Int(c - UInt8(ascii: "0"))
        }
        let computed = checksum(UnsafeRawBufferPointer(rebasing: b[0 ..< trailer]))
        guard declared == computed else {
            return .garbled(skip: total, reason: "CheckSum(10) is \(declared), the message sums to \(computed)")
        }
        return .message(length: total)
    }

    /// The sum of the bytes modulo 256, as CheckSum(10) states it.
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> Int {
        // Summed in bytes that wrap, which is the sum modulo 256 and lets the compiler add 16 at a time.
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return Int(sum)
    }

    /// Where the next message may begin after the first byte: the next `8=FIX`, or the last bytes that
    /// could be the start of one.
    static func nextStart(_ b: UnsafeRawBufferPointer) -> Int {
        let pattern: [UInt8] = Array("8=FIX".utf8)
        var i = 1
        while i < b.count {
            var j = 0
            while j < pattern.count, i + j < b.count, b[i + j] == pattern[j] { j += 1 }
            if j == pattern.count || i + j == b.count { return i }
            i += 1
        }
        return b.count
    }

    /// Takes the whole messages at the front of `buffer`, in order, and leaves what is incomplete; a
    /// client's loop. Stops at bytes that are not a message and returns why.
    public static func take(from buffer: inout [UInt8], _ each: (FIXMessage) -> Void) -> String? {
        var offset = 0
        defer { buffer.removeFirst(offset) }
        while true {
            switch buffer.withUnsafeBytes({ frame(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
            case .incomplete: return nil
            case .garbled(_, let reason): return reason
            case .message(let length):
                let message = buffer.withUnsafeBytes { FIXMessage(frame: UnsafeRawBufferPointer(rebasing: $0[offset ..< offset + length])) }
                offset += length
                each(message)
            }
        }
    }
}
