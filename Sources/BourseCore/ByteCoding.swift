/// Writes the compact binary formats: LEB128 varints (zigzag for signed values) and fixed-width
/// little-endian integers for framing. It owns a raw, growing buffer rather than an array, so a write is
/// a capacity check and a store, not an array append with its uniqueness check per byte; being
/// non-copyable, it needs no copy-on-write.
public struct ByteWriter: ~Copyable {
    @usableFromInline var storage: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    @usableFromInline var used = 0

    public init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        storage = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// Bytes written so far.
    @inlinable public var count: Int { used }

    /// A copy of what was written.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    @inlinable public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: used))
    }

    @inlinable public mutating func removeAll() { used = 0 }

    @inlinable @inline(__always) mutating func reserve(_ more: Int) {
        if used + more > capacity { grow(to: used + more) }
    }

    @usableFromInline mutating func grow(to needed: Int) {
        var bigger = capacity * 2
        while bigger < needed { bigger *= 2 }
        let moved = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 8)
        moved.copyMemory(from: storage, byteCount: used)
        storage.deallocate()
        storage = moved
        capacity = bigger
    }

    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        reserve(raw.count)
        (storage + used).copyMemory(from: base, byteCount: raw.count)
        used += raw.count
    }

    public mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends `count` zero bytes, to be filled in later with `storeFixed32(_:at:)`.
    public mutating func appendZeros(_ count: Int) {
        reserve(count)
        (storage + used).initializeMemory(as: UInt8.self, repeating: 0, count: count)
        used += count
    }

    /// Overwrites four bytes already written, little-endian.
    public mutating func storeFixed32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= used)
        storage.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable public mutating func write(_ byte: UInt8) {
        reserve(1)
        storage.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        used += 1
    }

    @inlinable public mutating func writeVarint(_ value: UInt64) {
        reserve(10)
        var v = value
        while v >= 0x80 {
            storage.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: used, as: UInt8.self)
            used += 1
            v >>= 7
        }
        storage.storeBytes(of: UInt8(v), toByteOffset: used, as: UInt8.self)
        used += 1
    }

    @inlinable public mutating func writeSigned(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inlinable public mutating func writeFixed32(_ value: UInt32) {
        reserve(4)
        storage.storeBytes(of: value.littleEndian, toByteOffset: used, as: UInt32.self)
        used += 4
    }

    @inlinable public mutating func writeFixed64(_ value: UInt64) {
        reserve(8)
        storage.storeBytes(of: value.littleEndian, toByteOffset: used, as: UInt64.self)
        used += 8
    }

    public mutating func writeBool(_ value: Bool) { write(value ? 1 : 0) }
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
