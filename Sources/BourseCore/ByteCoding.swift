/// Little helpers for the compact binary formats: LEB128 varints (zigzag for signed values) and
/// fixed-width little-endian integers for framing.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func write(_ byte: UInt8) { bytes.append(byte) }

    @inlinable public mutating func writeVarint(_ value: UInt64) {
        if value < 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value))
            return
        }
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inlinable public mutating func writeSigned(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inlinable public mutating func writeFixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func writeFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }
}

public struct DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: Equatable, Sendable {
        case truncated
        case varintTooLong
        case invalidTag(String, UInt64)
        case invalidValue(String)
        case trailingBytes(Int)
    }
    public var kind: Kind
    /// Offset in the buffer being read where the problem was found.
    public var offset: Int

    @inlinable public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        switch kind {
        case .truncated: "truncated at offset \(offset)"
        case .varintTooLong: "varint longer than 10 bytes at offset \(offset)"
        case .invalidTag(let what, let tag): "invalid \(what) tag \(tag) at offset \(offset)"
        case .invalidValue(let what): "invalid \(what) at offset \(offset)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the record at offset \(offset)"
        }
    }
}

public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    /// Where the next read starts.
    public var offset: Int

    @inlinable public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable public var remaining: Int { bytes.count - offset }

    @inlinable public mutating func readByte() throws(DecodeError) -> UInt8 {
        guard offset < bytes.count else { throw DecodeError(.truncated, at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inlinable public mutating func readVarint() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < bytes.count else { throw DecodeError(.truncated, at: offset) }
            let byte = bytes[offset]
            offset += 1
            // The tenth byte may carry only the top bit of a 64-bit value.
            if shift == 63, byte > 1 { throw DecodeError(.varintTooLong, at: start) }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw DecodeError(.varintTooLong, at: start) }
        }
    }

    @inlinable public mutating func readSigned() throws(DecodeError) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    public mutating func readFixed32() throws(DecodeError) -> UInt32 {
        guard remaining >= 4 else { throw DecodeError(.truncated, at: offset) }
        defer { offset += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    public mutating func readFixed64() throws(DecodeError) -> UInt64 {
        guard remaining >= 8 else { throw DecodeError(.truncated, at: offset) }
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    public mutating func readBool() throws(DecodeError) -> Bool {
        let at = offset
        switch try readByte() {
        case 0: return false
        case 1: return true
        default: throw DecodeError(.invalidValue("boolean"), at: at)
        }
    }

    public mutating func readBytes(_ count: Int) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw DecodeError(.truncated, at: offset) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    public mutating func skip(_ count: Int) throws(DecodeError) { _ = try readBytes(count) }
}
