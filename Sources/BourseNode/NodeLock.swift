#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// One node a data directory: `serve.lock`, held with `flock` for as long as the node runs, names the
/// process and, once it listens, where (`bourse projections` asks a running node there rather than touching
/// its stores behind its back). The kernel lets the lock go when the process ends, however it ends.
public final class NodeLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32

    /// What the lock file says of the node holding it.
    public struct Holder: Codable, Sendable, Equatable {
        public var pid: Int32
        public var url: String?
    }

    public enum Failure: Error, CustomStringConvertible {
        case held(path: String, by: Holder?)
        case system(path: String, call: String, errno: Int32)

        public var description: String {
            switch self {
            case .held(let path, let holder):
                "another node holds \(path)" + (holder.map { " (pid \($0.pid)\($0.url.map { ", listening on \($0)" } ?? ""))" } ?? "")
            case .system(let path, let call, let code): "\(call) \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the lock of the directory at `directory`, or fails naming who holds it.
    public static func acquire(_ directory: String) throws(Failure) -> NodeLock {
        let path = directory + "/serve.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(path: path, call: "open", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw .held(path: path, by: holder(of: directory)) }
            throw .system(path: path, call: "flock", errno: code)
        }
        let lock = NodeLock(path: path, descriptor: fd)
        lock.record(Holder(pid: getpid(), url: nil))
        return lock
    }

    /// Says where the node listens, for tools that find it by its directory.
    public func record(url: String) { record(Holder(pid: getpid(), url: url)) }

    private func record(_ holder: Holder) {
        guard descriptor >= 0, let bytes = try? JSONEncoder().encode(holder) else { return }
        // Written in place (the lock is on this file): truncated, then the few bytes at once.
        _ = ftruncate(descriptor, 0)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Lets the lock go (a clean stop); a crash lets it go as well.
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    /// Who holds the lock of `directory` now, if anyone: nil when it is free.
    public static func holder(of directory: String) -> Holder? {
        let path = directory + "/serve.lock"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path), let holder = try? JSONDecoder().decode(Holder.self, from: data) else {
            return Holder(pid: 0, url: nil)
        }
        return holder
    }

    deinit { release() }
}
