#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, checked wrappers over POSIX file calls: the journal needs write, fsync, ftruncate and
/// directory fsync exactly, which Foundation does not expose as plainly.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var operation: String
    public var path: String
    public var code: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// The system calls that change the journal's and the snapshots' files, behind one seam: the real ones in
/// production, and in tests ones that fail, write short or stop the process between any two of them.
/// Each behaves as its system call: a result of -1 with `errno` set on failure.
public protocol FileSystem: Sendable {
    func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int
    func fdatasync(_ fd: Int32) -> Int32
    func fsync(_ fd: Int32) -> Int32
    func close(_ fd: Int32) -> Int32
    func rename(_ from: String, _ to: String) -> Int32
    func unlink(_ path: String) -> Int32
    func truncate(_ path: String, _ length: Int) -> Int32
}

/// The operating system's calls, unchanged.
public struct SystemFileSystem: FileSystem {
    public init() {}
    public func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { Glibc.open(path, flags, mode) }
    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    public func fdatasync(_ fd: Int32) -> Int32 { Glibc.fdatasync(fd) }
    public func fsync(_ fd: Int32) -> Int32 { Glibc.fsync(fd) }
    public func close(_ fd: Int32) -> Int32 { Glibc.close(fd) }
    public func rename(_ from: String, _ to: String) -> Int32 { Glibc.rename(from, to) }
    public func unlink(_ path: String) -> Int32 { Glibc.unlink(path) }
    public func truncate(_ path: String, _ length: Int) -> Int32 { Glibc.truncate(path, off_t(length)) }
}

enum Files {
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) -> Int32 {
        let fd = fs.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(operation: "open", path: path, code: errno) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        let failure = bytes.withUnsafeBytes { write(fd, $0, fs) }
        if failure != 0 { throw FileError(operation: "write", path: path, code: failure) }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        let failure = write(fd, bytes, fs)
        if failure != 0 { throw FileError(operation: "write", path: path, code: failure) }
    }

    /// Writes everything, retrying interrupted and partial writes; returns 0 or the errno.
    private static func write(_ fd: Int32, _ b: UnsafeRawBufferPointer, _ fs: any FileSystem) -> Int32 {
        var done = 0
        while done < b.count {
            let n = fs.write(fd, UnsafeRawBufferPointer(rebasing: b[done...]))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return 0
    }

    static func syncData(_ fd: Int32, path: String, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        guard fs.fdatasync(fd) == 0 else { throw FileError(operation: "fdatasync", path: path, code: errno) }
    }

    /// Makes a created, renamed or removed file's directory entry durable.
    static func syncDirectory(_ path: String, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY, mode: 0, fs)
        defer { _ = fs.close(fd) }
        guard fs.fsync(fd) == 0 else { throw FileError(operation: "fsync", path: path, code: errno) }
    }

    /// Replaces `path` with `bytes` so that a crash leaves the old file or the new one, whole: written to
    /// `<path>.tmp` (created 0600, never readable by others), synced, renamed over `path`, the directory synced.
    static func replace(_ path: String, with bytes: UnsafeRawBufferPointer, in directory: String,
                        _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        let temporary = path + ".tmp"
        // A temporary left by a crash is written afresh, never reused with whatever mode it had.
        _ = fs.unlink(temporary)
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_EXCL, fs)
        do throws(FileError) {
            try writeAll(fd, bytes, path: temporary, fs)
            try syncData(fd, path: temporary, fs)
        } catch {
            _ = fs.close(fd)
            throw error
        }
        _ = fs.close(fd)
        try rename(temporary, path, fs)
        try syncDirectory(directory, fs)
    }

    static func readAll(_ path: String) throws(FileError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            done += n
        }
        bytes.removeSubrange(done...)
        return bytes
    }

    /// The file's bytes mapped read-only, for `body` only. Reading a segment this way costs no zeroing
    /// and no copy.
    static func withMapped<R>(_ path: String, _ body: (UnsafeRawBufferPointer) -> R) throws(FileError) -> R {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(operation: "stat", path: path, code: errno) }
        let size = Int(info.st_size)
        if size == 0 { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), address != MAP_FAILED else {
            throw FileError(operation: "mmap", path: path, code: errno)
        }
        defer { munmap(address, size) }
        madvise(address, size, MADV_SEQUENTIAL)
        return body(UnsafeRawBufferPointer(start: address, count: size))
    }

    static func truncate(_ path: String, to length: Int, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        guard fs.truncate(path, length) == 0 else { throw FileError(operation: "truncate", path: path, code: errno) }
        let fd = try open(path, O_WRONLY, fs)
        defer { _ = fs.close(fd) }
        try syncData(fd, path: path, fs)
    }

    /// Removes a file and makes its removal durable.
    static func remove(_ path: String, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        guard fs.unlink(path) == 0 else { throw FileError(operation: "unlink", path: path, code: errno) }
        let slash = path.lastIndex(of: "/")
        try syncDirectory(slash.map { String(path[..<$0]) } ?? ".", fs)
    }

    static func list(_ directory: String) throws(FileError) -> [String] {
        guard let dir = opendir(directory) else { throw FileError(operation: "opendir", path: directory, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func makeDirectory(_ path: String) throws(FileError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw FileError(operation: "mkdir", path: path, code: errno) }
    }

    static func rename(_ from: String, _ to: String, _ fs: any FileSystem = SystemFileSystem()) throws(FileError) {
        guard fs.rename(from, to) == 0 else { throw FileError(operation: "rename", path: from, code: errno) }
    }
}

/// Files other parts of the node keep as the journal keeps its own: replaced whole or not at all.
public enum DurableFile {
    /// Replaces `path` with `bytes`, owner-only and durably (see `Files.replace`).
    public static func replace(_ path: String, with bytes: [UInt8]) throws(FileError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let result = bytes.withUnsafeBytes { b in
            Result { () throws(FileError) in try Files.replace(path, with: b, in: directory.isEmpty ? "/" : directory) }
        }
        try result.get()
    }
}
