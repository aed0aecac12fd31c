import BourseCore
import BourseEngine
import BourseJournal
import BourseTestSupport
import Foundation
import Glibc
import Testing

/// Passes every call to the real file system until its plan says otherwise: the planned call fails with an
/// errno, writes half and then runs out of space, or is where the process dies (it and every later call
/// fail, so what is on disk is what the calls before it left).
final class FaultyFileSystem: FileSystem, @unchecked Sendable {
    enum Fault: Sendable, CustomStringConvertible {
        case fail(Int32)
        case shortWrite
        case crash
        var description: String {
            switch self {
            case .fail(let code): String(cString: strerror(code))
            case .shortWrite: "a short write, then no space"
            case .crash: "a crash"
            }
        }
    }

    private let real = SystemFileSystem()
    private let faultAt: Int
    private let fault: Fault
    private(set) var calls = 0
    private(set) var crashed = false
    private var spaceLeft = true

    init(faultAt: Int = 0, _ fault: Fault = .crash) {
        self.faultAt = faultAt
        self.fault = fault
    }

    /// The errno the next call fails with, or nil to let it run.
    private func next(isWrite: Bool = false) -> Int32? {
        calls += 1
        if crashed { return EIO }
        if !spaceLeft { return ENOSPC }
        guard calls == faultAt else { return nil }
        switch fault {
        case .fail(let code): return code
        case .crash:
            crashed = true
            return EIO
        case .shortWrite: return isWrite ? nil : EIO
        }
    }

    private func failing(_ code: Int32?) -> Bool {
        guard let code else { return false }
        errno = code
        return true
    }

    func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { failing(next()) ? -1 : real.open(path, flags, mode) }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        if failing(next(isWrite: true)) { return -1 }
        if calls == faultAt, case .shortWrite = fault, bytes.count > 1 {
            spaceLeft = false
            return real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count / 2)]))
        }
        return real.write(fd, bytes)
    }
    func fdatasync(_ fd: Int32) -> Int32 { failing(next()) ? -1 : real.fdatasync(fd) }
    func fsync(_ fd: Int32) -> Int32 { failing(next()) ? -1 : real.fsync(fd) }
    // A close always closes: only its result is the fault's.
    func close(_ fd: Int32) -> Int32 {
        let result = real.close(fd)
        return failing(next()) ? -1 : result
    }
    func rename(_ from: String, _ to: String) -> Int32 { failing(next()) ? -1 : real.rename(from, to) }
    func unlink(_ path: String) -> Int32 { failing(next()) ? -1 : real.unlink(path) }
    func truncate(_ path: String, _ length: Int) -> Int32 { failing(next()) ? -1 : real.truncate(path, length) }
}

/// The journal and snapshots written through a faulty file system, then recovered through the real one:
/// whatever failed, and wherever the process died, recovery finds every acknowledged command, possibly
/// some whole commands of the batch in flight, and nothing else.
@Suite("journal: faults and crashes")
struct FaultTests {
    static let commands = 160

    struct Outcome {
        var acknowledged: UInt64 = 0
        var inFlight: UInt64 = 0
        var hashes: [UInt64] = []
        var callsMade = 0
        var stoppedBy: String?
        var snapshotFailures = 0
    }

    /// A small venue's write loop, as the sequencer runs it: batches of 1 to 8 commands applied, appended and
    /// committed (fdatasync), segments rotating every 4 KiB, a snapshot every 40 commands. A failed commit
    /// stops it, as it stops the node; a failed snapshot does not.
    static func write(_ directory: String, seed: UInt64, _ fs: FaultyFileSystem) -> Outcome {
        var outcome = Outcome()
        var stream = CommandStream(seed: seed)
        let engine = MatchingEngine()
        outcome.hashes.append(engine.stateHash())
        guard let writer = try? JournalWriter(directory: directory, durability: .fsync, lastSequence: 0,
                                              segmentBytesMax: 4 << 10, fileSystem: fs) else { return outcome }
        var rng = SplitMix64(seed: seed)
        var pending = stream.opening()
        var sequence: UInt64 = 0
        var lastSnapshot: UInt64 = 0
        while sequence < UInt64(commands) {
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                var command = pending.isEmpty ? stream.next() : pending.removeFirst()
                sequence += 1
                command.sequence = sequence
                writer.append(command, engine.process(command))
                outcome.hashes.append(engine.stateHash())
            }
            outcome.inFlight = sequence
            do {
                try writer.commit(through: sequence)
            } catch {
                outcome.stoppedBy = "\(error)"
                break
            }
            outcome.acknowledged = sequence
            if sequence - lastSnapshot >= 40 {
                lastSnapshot = sequence
                do { try Snapshots.write(engine, sequence: sequence, directory: directory, fileSystem: fs) } catch {
                    outcome.snapshotFailures += 1
                }
            }
            if fs.crashed { break }
        }
        outcome.callsMade = fs.calls
        return outcome
    }

    /// A directory in memory where the machine has one: thousands of fsyncs cost nothing there.
    static func scratch() -> String {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/bourse-faults-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func check(seed: UInt64, faultAt: Int, _ fault: FaultyFileSystem.Fault) throws {
        let directory = scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = write(directory, seed: seed, FaultyFileSystem(faultAt: faultAt, fault))
        let context = "seed \(seed), \(fault) at call \(faultAt): \(outcome.stoppedBy ?? "went on")"
        let (engine, report) = try Recovery.recover(directory: directory, repair: true)
        let last = report.lastSequence
        #expect(last >= outcome.acknowledged && last <= outcome.inFlight, "\(context): recovered to \(last)")
        #expect(engine.stateHash() == outcome.hashes[Int(last)], "\(context)")
        // Repaired once, the journal reads clean from its first entry, every snapshot verified.
        let (_, again) = try Recovery.recover(directory: directory, repair: false, fromGenesis: true)
        #expect(again.tornTail == nil && again.lastSequence == last && again.snapshotsSkipped.isEmpty, "\(context): \(again.snapshotsSkipped)")
    }

    @Test("every system call of writing, rotating and snapshotting may fail or be the crash: a restart recovers every acknowledged command and nothing else")
    func everyCall() throws {
        for seed: UInt64 in [3, 5] {
            let directory = Self.scratch()
            let clean = Self.write(directory, seed: seed, FaultyFileSystem())
            try? FileManager.default.removeItem(atPath: directory)
            #expect(clean.stoppedBy == nil && clean.acknowledged >= UInt64(Self.commands) && clean.snapshotFailures == 0,
                    "\(clean.stoppedBy ?? "") \(clean.acknowledged)")
            // Commits, rotations and snapshots: every kind of call is in the plan.
            #expect(clean.callsMade > 100, "\(clean.callsMade) calls")
            for call in 1...clean.callsMade {
                for fault: FaultyFileSystem.Fault in [.crash, .fail(EIO), .fail(ENOSPC), .fail(EMFILE), .shortWrite] {
                    try Self.check(seed: seed, faultAt: call, fault)
                }
            }
        }
    }
}
