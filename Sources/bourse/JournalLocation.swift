import ArgumentParser
import BourseJournal
import Foundation

/// The journal a command was pointed at: a data directory's `journal/`, or a journal directory itself.
/// A directory with neither is refused rather than read as an empty journal.
enum JournalLocation {
    static func resolve(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(path) is not a directory")
        }
        let nested = path + "/journal"
        if FileManager.default.fileExists(atPath: nested, isDirectory: &isDirectory), isDirectory.boolValue { return nested }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard names.contains(where: { ($0.hasPrefix("journal-") && $0.hasSuffix(".log")) || ($0.hasPrefix("snapshot-") && $0.hasSuffix(".snap")) }) else {
            throw ValidationError("\(path) holds no journal: no journal segments or snapshots, and no journal/ directory")
        }
        return path
    }
}
