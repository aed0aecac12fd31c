import BourseCore
import BourseJournal
import BourseNode
import BourseProjections

/// A node's journal against the venue's log: how far they agree. A former primary may have journaled
/// entries that never reached the log before it died or was fenced; with synchronous replication none of
/// them was acknowledged, and the new leader has since written other entries under the same sequences.
/// Those are its unreplicated tail, which it must set aside before it follows the log as a standby.
///
/// The journal and the log agree on a prefix: every entry this node journaled as a standby came from the
/// log, and every one it journaled as primary that reached the log reached it byte for byte. So whether
/// an entry agrees rises to a point and then fails: the point is found by comparing the last entry both
/// hold, and when that differs, by bisection over a bounded distance before it, one entry at a time.
public enum UnreplicatedTail {
    /// How far back from the journal's end a tail may begin: more than a publisher can fall behind.
    public static let entriesComparedMax: UInt64 = 1 << 20

    public struct Found: Sendable, Equatable {
        /// The last sequence on which the journal and the log agree.
        public var agreedThrough: UInt64
        public var journalLast: UInt64
        /// Whether the log holds entries after `agreedThrough` that differ from the journal's: another
        /// node led since. When it only ends there, the tail is entries not published yet.
        public var logHoldsOthers: Bool
        public init(agreedThrough: UInt64, journalLast: UInt64, logHoldsOthers: Bool) {
            self.agreedThrough = agreedThrough
            self.journalLast = journalLast
            self.logHoldsOthers = logHoldsOthers
        }

        /// The journal's entries the log does not hold as they are here.
        public var tail: ClosedRange<UInt64>? { journalLast > agreedThrough ? (agreedThrough + 1)...journalLast : nil }
    }

    public struct NotATail: Error, CustomStringConvertible {
        public var description: String
    }

    /// Compares the journal in `journal` with the event topic `location` names, changing neither.
    public static func find(journal: String, location: KafkaLocation, comparedMax: UInt64 = entriesComparedMax) throws -> Found {
        let journalLast = try lastSequence(journal)
        let topic = EventTopic(prefix: location.prefix, partitions: location.partitions)
        // A venue's first start: the topic is made as the publisher would make it (without fencing it).
        try TransactionalProducer(brokers: location.brokers, transactionalID: JournalPublisher.transactionalID(location))
            .ensureTopic(topic, location: location)
        let reader = try KafkaReader(brokers: location.brokers, topic: topic.name, headers: EventTopic.headerNames)
        let logLast = try Held.read(reader, partitions: topic.partitions, window: 64).last
        let probe = min(journalLast, logLast)
        guard probe > 0 else { return Found(agreedThrough: 0, journalLast: journalLast, logHoldsOthers: false) }
        let feed = try EventLogFeed(location: location)
        func agrees(_ sequence: UInt64) throws -> Bool {
            var logged: Published?, local: Published?
            _ = try feed.read(after: sequence - 1, through: sequence, chunk: 1) { logged = $0.first }
            try JournalFeed.read(journal, after: sequence - 1, through: sequence, chunk: 1) { local = $0.first }
            guard let logged, let local else { return false }
            return same(logged, local)
        }
        if try agrees(probe) {
            return Found(agreedThrough: probe, journalLast: journalLast, logHoldsOthers: false)
        }
        // The last agreeing entry is in [low, high): low agrees (0 always), high does not.
        var low = probe > comparedMax ? probe - comparedMax : 0
        var high = probe
        if low > 0, try !agrees(low) {
            throw NotATail(description: "the journal and \(feed.source) differ at sequence \(low) already, \(comparedMax) entries before the last both hold (\(probe)): this is not a tail a former primary left; compare them with bourse replay --log")
        }
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if try agrees(middle) { low = middle } else { high = middle }
        }
        return Found(agreedThrough: low, journalLast: journalLast, logHoldsOthers: true)
    }

    static func same(_ a: Published, _ b: Published) -> Bool {
        a.command == b.command && a.events == b.events && a.note == b.note
    }

    /// The journal's last whole entry, reading only its last segment.
    static func lastSequence(_ journal: String) throws -> UInt64 {
        guard let last = try JournalReader.segments(in: journal).last else { return 0 }
        let read = try JournalReader.read(journal, after: last.firstSequence > 0 ? last.firstSequence - 1 : 0) { _ in }
        return max(read.lastSequence, last.firstSequence > 0 ? last.firstSequence - 1 : 0)
    }
}
