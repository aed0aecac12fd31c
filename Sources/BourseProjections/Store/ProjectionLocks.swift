#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Which process applies which projection when several share one store (`bourse project`): a lock per
/// projection, held for as long as the process lives and let go by the store's server or the kernel when it
/// dies, however it dies. The locks share the work out; they are not what keeps it exactly once: that is the
/// position each transaction sets only from the value it read (`Positions.record`), so that a process that
/// lost its lock without knowing it can commit nothing.
public protocol ProjectionLocks: AnyObject {
    /// Takes the lock of projection `name` if no one holds it; true when this process holds it now.
    func tryLock(_ name: String) throws -> Bool
    /// Whether this process still holds it (a broken connection loses a server's locks).
    func holds(_ name: String) throws -> Bool
    func unlock(_ name: String)
    func close()
}

extension StoreLocation {
    /// The locks of projections kept here: PostgreSQL's advisory locks, on a connection of their own; for
    /// a SQLite file, a `flock` per projection beside it.
    public func openLocks() throws -> any ProjectionLocks {
        switch self {
        case .sqlite(let path): FileLocks(beside: path)
        case .postgres(let address): try AdvisoryLocks(address)
        }
    }
}

/// Session advisory locks, keyed by a hash of the projection's name, on one connection: if it breaks, the
/// server lets them go, and `holds` says so.
final class AdvisoryLocks: ProjectionLocks {
    private let connection: PostgresStore

    init(_ address: PostgresStore.Address) throws {
        connection = try PostgresStore(address)
    }

    /// 62 bits, so that the two halves PostgreSQL shows in `pg_locks` read back as the same number.
    static func key(_ name: String) -> Int64 {
        var hash = FNV1a()
        hash.add(Array("bourse.projection.\(name)".utf8))
        return Int64(bitPattern: hash.value & 0x3FFF_FFFF_FFFF_FFFF)
    }

    func tryLock(_ name: String) throws -> Bool {
        let rows = try connection.querySynchronously("SELECT pg_try_advisory_lock(?) AS held", [.int(Self.key(name))])
        return rows.first?.int("held") == 1
    }

    func holds(_ name: String) throws -> Bool {
        let rows = try connection.querySynchronously("""
            SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                AND (classid::bigint << 32 | objid::bigint) = ?
            """, [.int(Self.key(name))])
        return rows.first?.int("n") == 1
    }

    func unlock(_ name: String) {
        _ = try? connection.querySynchronously("SELECT pg_advisory_unlock(?) AS released", [.int(Self.key(name))])
    }

    func close() { connection.close() }
}

/// `flock` on `<database>.lock-<projection>`: the processes sharing a SQLite file share a machine.
final class FileLocks: ProjectionLocks {
    private let base: String
    private var held: [String: Int32] = [:]

    init(beside path: String) { base = path }

    func tryLock(_ name: String) throws -> Bool {
        if held[name] != nil { return true }
        let path = "\(base).lock-\(name)"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LockError(description: "\(path): open failed (errno \(errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(fd)
            if code == EWOULDBLOCK { return false }
            throw LockError(description: "\(path): flock failed (errno \(code))")
        }
        held[name] = fd
        return true
    }

    func holds(_ name: String) throws -> Bool { held[name] != nil }

    func unlock(_ name: String) {
        if let fd = held.removeValue(forKey: name) { Glibc.close(fd) }
    }

    func close() {
        for fd in held.values { Glibc.close(fd) }
        held.removeAll()
    }

    struct LockError: Error, CustomStringConvertible { var description: String }
}
