#if canImport(Glibc)
import Glibc
#endif
import BourseCore

/// Appends entries to the current segment in batches: `append` encodes into memory, `commit`
/// writes the batch with one write and, under `.fsync`, one fdatasync. Segments rotate at a batch
/// boundary once they pass `segmentBytesMax`, and before every business-date rollover the engine
/// accepted, so that each business date's entries are files of their own (`JournalReader.businessDates`).
/// Owned by the sequencer thread.
public final class JournalWriter {
    public let directory: String
    public let durability: Durability
    public let segmentBytesMax: Int
    /// Recorded in every segment header: whether the engine writing the journal keeps accounts.
    public let keepsAccounts: Bool
    private let fileSystem: any FileSystem
    private var fd: Int32 = -1
    private var path = ""
    private var segmentBytes = 0
    private var batch = ByteWriter(capacity: 1 << 20)
    private var scratch = ByteWriter(capacity: 1 << 12)
    private var batchFirstSequence: UInt64?
    /// Where in the batch a business date begins: the offset of its rollover's entry and its sequence.
    private var dateCuts: [(offset: Int, sequence: UInt64)] = []
    /// The last sequence number made durable (as far as the durability mode goes).
    public private(set) var committedSequence: UInt64

    /// Opens the journal to continue after `lastSequence`, in a new segment.
    public init(directory: String, durability: Durability, lastSequence: UInt64,
                segmentBytesMax: Int = 64 << 20, keepsAccounts: Bool = false,
                fileSystem: any FileSystem = SystemFileSystem()) throws(FileError) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.durability = durability
        self.segmentBytesMax = segmentBytesMax
        self.keepsAccounts = keepsAccounts
        committedSequence = lastSequence
        if durability != .none { try Files.makeDirectory(directory) }
    }

    deinit { if fd >= 0 { _ = fileSystem.close(fd) } }

    public func append(_ command: SequencedCommand, _ events: UnsafeBufferPointer<Event>, note: [UInt8] = []) {
        withUnsafePointer(to: command) { append(at: $0, events, note: note) }
    }

    /// `append` of the command the pointer holds, read in place: the sequencer's, which never copies a command.
    public func append(at command: UnsafePointer<SequencedCommand>, _ events: UnsafeBufferPointer<Event>, note: [UInt8]) {
        guard durability != .none else { return }
        if batchFirstSequence == nil { batchFirstSequence = command.pointee.sequence }
        if case .rollBusinessDate = command.pointee.command, case .businessDateRolled? = events.first { dateCuts.append((batch.count, command.pointee.sequence)) }
        JournalFormat.appendEntry(command.pointee, events, note: note, to: &batch, scratch: &scratch)
    }

    public func append(_ command: SequencedCommand, _ events: [Event], note: [UInt8] = []) {
        events.withUnsafeBufferPointer { append(command, $0, note: note) }
    }

    /// Makes the batch durable. On error nothing in the batch may be acknowledged.
    public func commit(through sequence: UInt64) throws(FileError) {
        defer {
            batch.removeAll()
            batchFirstSequence = nil
            dateCuts.removeAll()
        }
        guard durability != .none, let first = batchFirstSequence else {
            committedSequence = sequence
            return
        }
        // The batch in parts, one per business date it touches; each part after a cut opens a segment
        // (whose opening makes the part before it durable).
        var (start, partFirst) = (0, first)
        var opens = fd < 0 || segmentBytes >= segmentBytesMax
        for end in dateCuts.map(\.offset) + [batch.count] {
            if end > start {
                if opens { try startSegment(firstSequence: partFirst) }
                try write(start..<end)
            }
            guard let cut = dateCuts.first(where: { $0.offset == end }) else { continue }
            (start, partFirst, opens) = (end, cut.sequence, true)
        }
        if durability == .fsync { try Files.syncData(fd, path: path, fileSystem) }
        committedSequence = sequence
    }

    private func write(_ range: Range<Int>) throws(FileError) {
        let (fd, path, fs) = (self.fd, self.path, fileSystem)
        try batch.withUnsafeBytes { (b) throws(FileError) in
            try Files.writeAll(fd, UnsafeRawBufferPointer(rebasing: b[range]), path: path, fs)
        }
        segmentBytes += range.count
    }

    private func startSegment(firstSequence: UInt64) throws(FileError) {
        if fd >= 0 {
            if durability == .fsync { try Files.syncData(fd, path: path, fileSystem) }
            _ = fileSystem.close(fd)
            // Closed now: should the next open fail, deinit must not close the number again (by then
            // it may be another file's or a connection's).
            fd = -1
        }
        path = directory + "/" + JournalFormat.segmentName(firstSequence)
        fd = try Files.open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, fileSystem)
        let header = JournalFormat.segmentHeader(firstSequence: firstSequence, keepsAccounts: keepsAccounts)
        try Files.writeAll(fd, header, path: path, fileSystem)
        segmentBytes = header.count
        if durability == .fsync {
            try Files.syncData(fd, path: path, fileSystem)
            try Files.syncDirectory(directory, fileSystem)
        }
    }
}
