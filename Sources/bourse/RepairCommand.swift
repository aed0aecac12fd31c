import ArgumentParser
import BourseJournal

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find where a journal stops being readable, and cut it there only when asked.",
        discussion: """
        `serve` refuses to start on damage (a whole entry whose checksum fails, a gap, a bad segment header) and \
        changes nothing. This command names the damage and what a cut would set aside, and exits 1. With \
        --truncate it cuts the journal there: the bytes cut are kept in <segment>.cut-<offset>, later segments and \
        snapshots past the cut are renamed *.removed, and it prints each. Acknowledged entries after the damage \
        are lost to the venue; keep the set-aside files for an investigation.
        """)

    @Argument(help: "The data directory, or its journal directory.")
    var directory: String
    @Flag(help: "Cut the journal at the damage.")
    var truncate = false

    func run() throws {
        let journal = try JournalLocation.resolve(directory)
        let plan: JournalRepair.Plan
        do { plan = try JournalRepair.plan(journal) } catch { throw ReplayFailure(message: "\(error)") }
        print(plan)
        guard plan.damage != nil || plan.tornTail != nil else { return }
        guard truncate else {
            print("nothing changed; run again with --truncate to cut the journal there")
            throw ExitCode(1)
        }
        do { try JournalRepair.apply(plan, directory: journal) } catch { throw ReplayFailure(message: "\(error)") }
        print("cut: the journal now ends at sequence \(plan.lastSequence)")
    }
}
