import BourseJournal

/// Reads the event topic from its start in the journal's order (`EventLogFeed`), handing on each entry as
/// the journal holds it, undecoded. Used by a replay from Kafka.
public final class EventLogReader {
    public let location: KafkaLocation
    private let feed: EventLogFeed

    public init(location: KafkaLocation) throws(KafkaError) {
        self.location = location
        feed = try EventLogFeed(location: location)
    }

    public struct Summary: Sendable {
        public var lastSequence: UInt64 = 0
        public var records = 0
        /// Records of a sequence read before (the same entry again).
        public var repeated = 0
        /// Whether the engine that wrote the log keeps accounts, from the records' format header.
        public var keepsAccounts: Bool?
    }

    /// Reads the topic from its start to its end as it is when called, handing `body` each entry once, in
    /// order, with whether the engine that wrote it keeps accounts (its record's format header).
    @discardableResult
    public func read(_ body: (JournalEntry, _ keepsAccounts: Bool) throws -> Void) throws -> Summary {
        var summary = Summary()
        summary.lastSequence = try feed.readRecords(after: 0, through: nil) { record, sequence in
            let keepsAccounts = feed.keepsAccounts!
            if summary.keepsAccounts == nil { summary.keepsAccounts = keepsAccounts }
            try EventTopic.withEntry(record, sequence: sequence, topic: feed.topic) { try body($0, keepsAccounts) }
        }
        summary.records = feed.recordsRead
        summary.repeated = feed.repeated
        if feed.heldBack > 0 {
            throw KafkaError(message: "\(feed.topic) lacks sequence \(summary.lastSequence + 1): \(feed.heldBack) records after it were read")
        }
        return summary
    }
}
