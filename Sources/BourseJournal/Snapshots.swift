#if canImport(Glibc)
import Glibc
#endif
import BourseCore
import BourseEngine

/// Snapshot files `snapshot-<sequence, 20 digits>.snap`:
///   "BRSS" | codec version u16 | engine state version u16 | sequence u64 | state hash u64 | payload length u64
///   | CRC-32C(payload) u32 | CRC-32C(the 36 bytes before) u32 | payload (the engine's canonical encoding)
/// Written by `Files.replace` (a temporary name, synced, renamed, the directory synced), so a crash leaves
/// either the old set of snapshots or the new one.
public enum Snapshots {
    static let magic: [UInt8] = Array("BRSS".utf8)
    static let headerBytes = 40
    /// Older snapshots beyond this many are removed after a new one is written.
    public static let keepMax = 3

    public struct Info: Sendable, Equatable {
        public var path: String
        public var sequence: UInt64
        /// nil when the header cannot be read; `problem` says why.
        public var stateHash: UInt64?
        public var problem: String?
    }

    static func name(_ sequence: UInt64) -> String {
        "snapshot-" + JournalFormat.paddedSequence(sequence) + ".snap"
    }

    /// Writes a snapshot of `engine` as of `sequence` and returns its state hash.
    @discardableResult
    public static func write(_ engine: MatchingEngine, sequence: UInt64, directory: String,
                             fileSystem fs: any FileSystem = SystemFileSystem()) throws(FileError) -> UInt64 {
        var payload = ByteWriter(capacity: 1 << 20)
        engine.encodeSnapshot(into: &payload)
        let hash = payload.withUnsafeBytes { fnv1a($0) }
        var w = ByteWriter(capacity: headerBytes + payload.count)
        w.append(contentsOf: magic)
        let state = MatchingEngine.snapshotVersion
        w.append(contentsOf: [UInt8(Codec.version & 0xff), UInt8(Codec.version >> 8), UInt8(state & 0xff), UInt8(state >> 8)])
        w.writeFixed64(sequence)
        w.writeFixed64(hash)
        w.writeFixed64(UInt64(payload.count))
        w.writeFixed32(payload.withUnsafeBytes { CRC32C.checksum($0) })
        w.writeFixed32(w.withUnsafeBytes { CRC32C.checksum($0) })
        payload.withUnsafeBytes { w.append($0) }

        try Files.makeDirectory(directory)
        let final = directory + "/" + name(sequence)
        try w.withUnsafeBytes { (b) throws(FileError) in try Files.replace(final, with: b, in: directory, fs) }
        for old in try list(directory).dropFirst(keepMax) { _ = fs.unlink(old.path) }
        return hash
    }

    /// Snapshots a crash interrupted before their rename: `<name>.tmp` files, never read.
    public static func unfinished(_ directory: String) throws(FileError) -> [String] {
        try Files.list(directory).filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".snap.tmp") }.map { directory + "/" + $0 }
    }

    /// Snapshot files in `directory`, newest first, from their names and headers.
    public static func list(_ directory: String) throws(FileError) -> [Info] {
        try Files.list(directory).compactMap { name -> Info? in
            guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap"), UInt64(name.dropFirst(9).dropLast(5)) != nil else { return nil }
            let path = directory + "/" + name
            do throws(JournalError) {
                return try readHeader(path)
            } catch {
                return Info(path: path, sequence: UInt64(name.dropFirst(9).dropLast(5))!, stateHash: nil, problem: "\(error)")
            }
        }.sorted { $0.sequence > $1.sequence }
    }

    static func readHeader(_ path: String) throws(JournalError) -> Info {
        let fd: Int32
        do { fd = try Files.open(path, O_RDONLY) } catch { throw .file(error) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: headerBytes)
        let n = header.withUnsafeMutableBytes { read(fd, $0.baseAddress!, headerBytes) }
        guard n == headerBytes else { throw .snapshotInvalid(file: path, reason: "short header") }
        return try parseHeader(header, path: path).info
    }

    static func parseHeader(_ bytes: [UInt8], path: String) throws(JournalError) -> (info: Info, length: Int, crc: UInt32) {
        guard bytes.count >= headerBytes, Array(bytes[0..<4]) == magic else { throw .snapshotInvalid(file: path, reason: "not a snapshot") }
        let version = UInt16(bytes[4]) | UInt16(bytes[5]) << 8
        guard (Codec.oldestReadable...Codec.version).contains(version) else { throw .snapshotInvalid(file: path, reason: "codec version \(version)") }
        let state = UInt16(bytes[6]) | UInt16(bytes[7]) << 8
        guard state == MatchingEngine.snapshotVersion else {
            throw .snapshotInvalid(file: path, reason: "engine state version \(state), this build reads \(MatchingEngine.snapshotVersion)")
        }
        let fields: (UInt64, UInt64, UInt64, UInt32, UInt32)? = bytes.withUnsafeBytes { b in
            var r = ByteReader(b, offset: 8)
            guard let seq = try? r.readFixed64(), let hash = try? r.readFixed64(), let length = try? r.readFixed64(),
                  let crc = try? r.readFixed32(), let headerCRC = try? r.readFixed32() else { return nil }
            return (seq, hash, length, crc, headerCRC)
        }
        guard let (sequence, hash, length, crc, headerCRC) = fields,
              headerCRC == CRC32C.checksum(Array(bytes[0..<36])) else { throw .snapshotInvalid(file: path, reason: "header checksum mismatch") }
        return (Info(path: path, sequence: sequence, stateHash: hash, problem: nil), Int(clamping: length), crc)
    }

    /// Loads a snapshot, checking its checksum and that the restored engine hashes as it did when written.
    public static func load(_ path: String, limits: MatchingEngine.Limits) throws(JournalError) -> (MatchingEngine, Info) {
        let bytes: [UInt8]
        do { bytes = try Files.readAll(path) } catch { throw .file(error) }
        let (info, length, crc) = try parseHeader(bytes, path: path)
        guard bytes.count == headerBytes + length else { throw .snapshotInvalid(file: path, reason: "length \(bytes.count - headerBytes), header says \(length)") }
        let result: Result<MatchingEngine, JournalError> = bytes.withUnsafeBytes { b in
            let payload = UnsafeRawBufferPointer(rebasing: b[headerBytes...])
            guard CRC32C.checksum(payload) == crc else { return .failure(.snapshotInvalid(file: path, reason: "payload checksum mismatch")) }
            var r = ByteReader(payload)
            do throws(DecodeError) {
                let engine = try MatchingEngine(snapshot: &r, limits: limits)
                guard r.remaining == 0 else { return .failure(.snapshotInvalid(file: path, reason: "\(r.remaining) trailing bytes")) }
                return .success(engine)
            } catch {
                return .failure(.snapshotInvalid(file: path, reason: "\(error)"))
            }
        }
        let engine = try result.get()
        guard engine.stateHash() == info.stateHash else {
            throw .snapshotInvalid(file: path, reason: "restored state hashes differently than when written")
        }
        return (engine, info)
    }
}
