import BourseCore
import BourseJournal
import BourseProjections

/// The risk platform over a bounded range of the journal: the same book the streaming projection keeps,
/// applied to the entries from the first through a sequence, so that it gives the figures the stream
/// published at that point. What `bourse risk --until` runs.
public enum RiskReplay {
    public static func run(journal: String, through: UInt64?, clients: [String: [AccountID]], house: HouseMargin = .none,
                           partitions: Int = 1) throws -> RiskBook {
        var book = RiskBook(clients: clients, house: house, partitions: partitions)
        try JournalFeed.read(journal, after: 0, through: through, chunk: 4_096) { batch in try book.apply(batch) }
        return book
    }

    /// The last entry of a business date: the one before the next date's first, or the journal's last while
    /// the date is open; nil when the journal never opened the date.
    public static func lastSequence(of date: CivilDate, in journal: String) throws -> UInt64? {
        let partitions = try JournalReader.businessDates(in: journal)
        guard let i = partitions.firstIndex(where: { $0.date == date }) else { return nil }
        return i + 1 < partitions.count ? partitions[i + 1].firstSequence - 1 : .max
    }
}
