import BourseCore
import BourseJournal
import BourseNode

/// Where a projection reads the entries it missed (after a restart, an overrun, a rebuild): the journal's
/// files on the node, or the event topic on Kafka in another process.
public protocol EntryFeed: AnyObject {
    /// Where the entries come from, for messages.
    var source: String { get }

    /// Hands `body` the entries after `after` through `through` (the end as it is when called, when nil),
    /// at most `chunk` at a time, in order. Returns the last sequence read (`after` when there was none).
    func read(after: UInt64, through: UInt64?, chunk: Int, _ body: ([Published]) throws -> Void) throws -> UInt64
}

/// The journal's files as a feed.
public final class JournalEntries: EntryFeed {
    public let journal: String
    public var source: String { journal }

    public init(journal: String) { self.journal = journal }

    public func read(after: UInt64, through: UInt64?, chunk: Int, _ body: ([Published]) throws -> Void) throws -> UInt64 {
        try JournalFeed.read(journal, after: after, through: through, chunk: chunk, body)
    }
}

/// Reads the journal's entries as the sequencer published them, in chunks: how a projection catches up
/// after a restart, an overrun or a rebuild.
public enum JournalFeed {
    /// Hands `body` the entries after `after` through `through` (the journal's end when nil), at most
    /// `chunk` at a time, in order. Returns the last sequence read.
    @discardableResult
    public static func read(_ journal: String, after: UInt64, through: UInt64?, chunk: Int,
                     _ body: ([Published]) throws -> Void) throws -> UInt64 {
        var batch: [Published] = []
        batch.reserveCapacity(chunk)
        var decoded: [Event] = []
        var failure: (any Error)?
        let result: Result<UInt64, JournalError> = Result { () throws(JournalError) in
            try JournalReader.read(journal, after: after, through: through ?? .max) { (entry) throws(JournalError) in
                guard failure == nil else { return }
                var reader = ByteReader(entry.eventBytes)
                decoded.removeAll(keepingCapacity: true)
                do throws(DecodeError) {
                    while reader.remaining > 0 { decoded.append(try reader.readEvent()) }
                } catch {
                    throw .undecodable(file: journal, offset: reader.offset, error)
                }
                batch.append(Published(command: entry.command, events: decoded, note: Array(entry.note)))
                if batch.count == chunk {
                    do { try body(batch) } catch { failure = error }
                    batch.removeAll(keepingCapacity: true)
                }
            }.lastSequence
        }
        let last = try result.get()
        if let failure { throw failure }
        if !batch.isEmpty { try body(batch) }
        return last
    }
}
