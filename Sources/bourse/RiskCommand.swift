import ArgumentParser
import BourseCore
import BourseRisk
import BourseVenue
import Foundation

struct Risk: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The risk platform's figures at a point of the journal: the firm, each client and each account, as JSON.",
        discussion: """
        The same computation the running venue streams, over the journal's entries from the first through \
        --until: a sequence number, or a business date (through its last entry, after its close mark). \
        Without --until, through the journal's end. Clients are the data directory's configuration's \
        (risk.clients). Read-only; it may run beside a running venue.
        """)

    @Argument(help: "The data directory, or its journal directory.")
    var directory: String

    @Option(help: "A sequence number, or a business date as YYYY-MM-DD.")
    var until: String?

    func run() throws {
        let journal = try JournalLocation.resolve(directory)
        let configurationFile = (journal.hasSuffix("/journal") ? String(journal.dropLast("/journal".count)) : directory) + "/" + VenueConfiguration.fileName
        let rules = FileManager.default.fileExists(atPath: configurationFile) ? try VenueConfiguration.read(configurationFile).riskRules() : nil
        var through: UInt64?
        if let until {
            if let sequence = UInt64(until) {
                through = sequence
            } else if let date = CivilDate(until) {
                guard let last = try RiskReplay.lastSequence(of: date, in: journal) else {
                    throw ValidationError("the journal in \(journal) never opened business date \(date)")
                }
                through = last
            } else {
                throw ValidationError("--until \(until) is neither a sequence number nor a date as YYYY-MM-DD")
            }
        }
        print(RiskJSON.report(try RiskReplay.run(journal: journal, through: through, clients: rules?.clients ?? [:], house: rules?.houseMargin ?? .none,
                                                    partitions: rules?.partitions ?? 1)))
    }
}
