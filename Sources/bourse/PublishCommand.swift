import ArgumentParser
import BourseJournal
import BourseKafka
import BourseNode
import Foundation

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish a stopped venue's journal to Kafka, from what the topic holds to the journal's end, and print the rate.",
        discussion: """
        The same publisher as serve --kafka, with the same transactional id: a running serve --kafka on the same \
        topic is fenced by it. Publishes nothing that the topic holds already.
        """)

    @Argument(help: "The data directory, or its journal directory.")
    var directory: String

    @Option(help: "kafka://HOST:PORT[,HOST:PORT…][/PREFIX][?partitions=N&replication=N&retention_ms=N]")
    var log: String

    @Option(help: "Entries a Kafka transaction carries at most (1 to 100000).")
    var transactionEntries = 4_096

    func run() throws {
        let journal = try JournalLocation.resolve(directory)
        let location: KafkaLocation
        switch KafkaLocation.parse(log) {
        case .success(let l): location = l
        case .failure(let invalid): throw ValidationError("--log: \(invalid)")
        }
        guard (1...100_000).contains(transactionEntries) else { throw ValidationError("--transaction-entries must be from 1 to 100000") }
        var limits = JournalPublisher.Limits()
        limits.entriesPerTransactionMax = transactionEntries
        let keepsAccounts = try JournalReader.keepsAccounts(in: journal) ?? false
        let publisher = JournalPublisher(location: location, journal: journal, keepsAccounts: keepsAccounts, limits: limits,
                                         log: { say($0) })
        let start = monotonicNanos()
        let sent: Int
        do { sent = try publisher.open() } catch { throw ReplayFailure(message: "\(location): \(error)") }
        let seconds = Double(monotonicNanos() - start) / 1e9
        let status = publisher.currentStatus
        print("log            \(location)")
        print("published      through sequence \(status.published)")
        print("sent           \(sent) entries in \(status.transactions) transactions, \(String(format: "%.3f", seconds)) s, \(Int(Double(sent) / max(seconds, 1e-9))) entries/s")
        if status.entriesFoundSent > 0 { print("found          \(status.entriesFoundSent) entries of an uncommitted transaction, kept") }
    }
}
