import BourseCore
import Foundation
import Synchronization

/// What the sessions keep across connections and restarts, in `fix/` in the data directory: each
/// session's next sequence numbers, the last order report it delivered, its password's digest, and the
/// messages it sent (for resends), at least the newest `messagesKeptMax` per session. A message is
/// written here before it is written to the socket, so a number is never sent twice with different content.
///
/// Each session appends its saves to segment files of its own (`StoreFormat` is their layout), as
/// QuickFIX's file store does: a save is one `write` on the caller's thread, with no transaction and no
/// thread to hand it to. Nothing is synced per save: a process crash loses nothing (a save cut short is
/// cut off at the next open, and was never written to the socket); a power cut may lose the last
/// messages, after which the counterparty's Logon with ResetSeqNumFlag starts the session over.
public final class SessionStore: Sendable {
    public static let messagesKeptMax = 2_000_000
    /// A resend reads the store in chunks of this many messages, so memory stays bounded however far back
    /// it goes.
    public static let resendChunkMax = 1_000
    /// A session's segment past this size is closed and the next save starts one; whole segments of
    /// messages older than the kept ones are removed.
    public static let segmentBytesMax = 8 * 1_024 * 1_024

    public struct State: Sendable, Equatable {
        public var nextSender = 1
        public var nextTarget = 1
        /// The last order report delivered: its entry and number (0, -1 before any).
        public var deliveredSequence: UInt64 = 0
        public var deliveredNumber = -1
        /// Order reports sent ahead of the delivered one, at the venue's acknowledgement of the session's
        /// own order: skipped when the reports reach them in order.
        public var early: Set<ReportPosition> = []
        /// The day of the schedule window the numbers belong to (days since 1970), for a scheduled session.
        public var window: Int?
        public var passwordSHA256: String?

        public init(nextSender: Int = 1, nextTarget: Int = 1, deliveredSequence: UInt64 = 0, deliveredNumber: Int = -1) {
            self.nextSender = nextSender
            self.nextTarget = nextTarget
            self.deliveredSequence = deliveredSequence
            self.deliveredNumber = deliveredNumber
        }
    }

    /// An order report's place: its entry and number.
    public struct ReportPosition: Hashable, Sendable {
        public var sequence: UInt64
        public var number: Int
    }

    public struct Message: Sendable, Equatable {
        public var sequence: Int
        public var type: String
        public var sent: Timestamp
        public var body: [UInt8]

        public init(sequence: Int, type: String, sent: Timestamp, body: [UInt8]) {
            (self.sequence, self.type, self.sent, self.body) = (sequence, type, sent, body)
        }
    }

    /// The early reports sent and reached since a session's last save: what a save writes in their
    /// place when it is smaller than the whole set, which a session at full speed holds by the thousand.
    public struct EarlyChange: Sendable, Equatable {
        public var added: [ReportPosition] = []
        public var removed: [ReportPosition] = []
        public init(added: [ReportPosition] = [], removed: [ReportPosition] = []) { (self.added, self.removed) = (added, removed) }
    }

    /// A session's state and the messages it is about to send; with the change of its early reports since
    /// its last save, when known.
    public struct Save: Sendable {
        public var session: String
        public var state: State
        public var messages: [Message]
        public var earlyChange: EarlyChange? = nil
    }

    /// The store could not be read or written: the file, and where and why.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The store's directory.
    public let path: String
    private let keptMax: Int
    private let segmentMax: Int
    /// Each session's log behind a lock of its own: the gateway's event loops save different sessions at
    /// once, and a resend's read of one session does not hold up the others' saves.
    private let logs = Mutex<[String: LockedLog]>([:])

    private final class LockedLog: Sendable {
        let log: Mutex<SessionLog>
        init(_ log: sending SessionLog) { self.log = Mutex(log) }
    }

    /// Opens (or creates) the store in the directory `path`. The limits are parameters for tests.
    public init(path: String, messagesKeptMax: Int = SessionStore.messagesKeptMax, segmentBytesMax: Int = SessionStore.segmentBytesMax) throws {
        self.path = path
        keptMax = messagesKeptMax
        segmentMax = segmentBytesMax
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A session's state; nil for a session never seen.
    public func state(_ session: String) throws -> State? {
        try log(session).log.withLock { $0.state }
    }

    /// Records the session's state and the messages it is about to send.
    public func save(_ session: String, _ state: State, sending messages: [Message]) throws {
        try save([Save(session: session, state: state, messages: messages)])
    }

    /// Records several sessions' saves, each appended to its session's file, in order.
    public func save(_ saves: [Save]) throws {
        for save in saves { try log(save.session).log.withLock { try $0.append(save.state, save.messages, earlyChange: save.earlyChange) } }
    }

    /// Starts the session's numbers over (ResetSeqNumFlag, a new schedule window): its sent messages go.
    public func reset(_ session: String, _ state: State) throws {
        try log(session).log.withLock { try $0.reset(state) }
    }

    /// The messages sent from `first` through `last`, oldest first, at most `resendChunkMax`.
    public func messages(_ session: String, from first: Int, through last: Int) throws -> [Message] {
        try log(session).log.withLock { try $0.messages(from: first, through: last, max: Self.resendChunkMax) }
    }

    public func close() {
        logs.withLock { logs in
            for locked in logs.values { locked.log.withLock { $0.close() } }
            logs.removeAll()
        }
    }

    private func log(_ session: String) throws -> LockedLog {
        try logs.withLock { logs in
            if let locked = logs[session] { return locked }
            let locked = LockedLog(try SessionLog(directory: path + "/" + Self.directoryName(session), session: session,
                                                  keptMax: keptMax, segmentMax: segmentMax))
            logs[session] = locked
            return locked
        }
    }

    /// A CompID as a directory name: letters, digits, '-' and '_' as they are, every other byte as %XX.
    static func directoryName(_ session: String) -> String {
        var name = ""
        for byte in session.utf8 {
            switch byte {
            case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "0") ... UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                name += String(format: "%%%02X", byte)
            }
        }
        return name
    }
}
