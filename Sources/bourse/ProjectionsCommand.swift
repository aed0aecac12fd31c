import ArgumentParser
import BourseJournal
import BourseNode
import BourseProjections
import BourseServer
import BourseVenue
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct Projections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The projections of a data directory: their status, and a rebuild from the journal.",
        discussion: """
        With the node running, both ask it (at the address in <data dir>/serve.lock, with an admin key from \
        credentials.json): it rebuilds while it serves. With the node stopped, they work on the store \
        directly, holding the directory's lock so that no node starts meanwhile.
        """,
        subcommands: [Status.self, Rebuild.self])

    struct Options: ParsableArguments {
        @Option(help: "The data directory (env BOURSE_DATA_DIR; default ./bourse-data).")
        var dataDir: String?
        @Option(help: "The projections' store, when the node is stopped: sqlite or postgres://… (default: the configuration's).")
        var store: String?

        var directory: DataDirectory {
            DataDirectory(path: dataDir ?? ProcessInfo.processInfo.environment["BOURSE_DATA_DIR"] ?? "./bourse-data")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each projection's state, position, the journal's end and the lag.")
        @OptionGroup var options: Options

        func run() async throws {
            let directory = options.directory
            if let node = try RunningNode.find(directory) {
                let statuses: [ProjectionAdmin.Status] = try await node.request("GET", "/v1/admin/projections")
                print(Self.table(statuses.map { ($0.name, $0.state, $0.position, $0.head, $0.apply_rate, $0.failure.map { "stopped at \($0.sequence): \($0.reason)" }) },
                                 store: statuses.first?.store ?? ""))
                return
            }
            let lock = try Offline.lock(directory)
            defer { lock.release() }
            let store = try directory.openStore(options.store)
            defer { store.close() }
            let end = try Offline.journalEnd(directory)
            var rows: [(String, String, UInt64, UInt64, Int?, String?)] = []
            for projection in directory.projectionsOffline() {
                let position = try Positions.recorded(projection.name, in: store)
                rows.append((projection.name, position == nil ? "absent" : "stopped", position ?? 0, end, nil, nil))
            }
            print(Self.table(rows, store: store.location))
        }

        static func table(_ rows: [(name: String, state: String, position: UInt64, head: UInt64, rate: Int?, failure: String?)],
                          store: String) -> String {
            var lines = ["store: \(store)", "projection  state        position     journal       lag  entries/s"]
            for r in rows {
                lines.append(r.name.padding(toLength: 12, withPad: " ", startingAt: 0) + r.state.padding(toLength: 13, withPad: " ", startingAt: 0)
                             + String(r.position).leftPadded(8) + "  " + String(r.head).leftPadded(10) + "  "
                             + String(r.head > r.position ? r.head - r.position : 0).leftPadded(8) + "  " + (r.rate.map(String.init) ?? "-").leftPadded(9))
                if let failure = r.failure { lines.append("  " + failure) }
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Empty a projection's tables and apply the whole journal to them again.")
        @OptionGroup var options: Options
        @Argument(help: "The projection: orders or market.")
        var name: String

        func run() async throws {
            let directory = options.directory
            if let node = try RunningNode.find(directory) {
                let _: ProjectionAdmin.Status = try await node.request("POST", "/v1/admin/projections/\(name)/rebuild")
                // Followed until it has caught up with what the node had published when asked.
                while true {
                    try await Task.sleep(for: .milliseconds(200))
                    let statuses: [ProjectionAdmin.Status] = try await node.request("GET", "/v1/admin/projections")
                    guard let status = statuses.first(where: { $0.name == name }) else { throw ValidationError("no projection \(name)") }
                    if let failure = status.failure { throw ValidationError("the rebuild stopped at sequence \(failure.sequence): \(failure.reason)") }
                    if status.state == "live" {
                        print("rebuilt \(name) through sequence \(status.position) while the node runs")
                        return
                    }
                }
            }
            let lock = try Offline.lock(directory)
            defer { lock.release() }
            guard let projection = directory.projectionsOffline().first(where: { $0.name == name }) else {
                throw ValidationError("no projection \(name); there are \(directory.projectionsOffline().map(\.name).joined(separator: ", "))")
            }
            let store = try directory.openStore(options.store)
            defer { store.close() }
            let started = monotonicNanos()
            try Positions.reset(projection, in: store)
            let applied = try ProjectionRunner(projection, store: store, journal: directory.journalDirectory).open()
            print("rebuilt \(name): applied \(applied) journal entries to \(store.location) in \(String(format: "%.1f", Double(monotonicNanos() - started) / 1e9)) s")
        }
    }
}

/// Work on a stopped node's directory.
enum Offline {
    static func lock(_ directory: DataDirectory) throws -> NodeLock {
        do { return try NodeLock.acquire(directory.path) } catch { throw ValidationError("\(error)") }
    }

    static func journalEnd(_ directory: DataDirectory) throws -> UInt64 {
        let journal = directory.journalDirectory
        guard let last = try JournalReader.segments(in: journal).last else { return 0 }
        return try JournalReader.read(journal, after: last.firstSequence - 1) { _ in }.lastSequence
    }
}

/// A node that runs on the directory, reached at the address its lock file names, with an admin key.
struct RunningNode {
    var url: String
    var key: IssuedKey

    static func find(_ directory: DataDirectory) throws -> RunningNode? {
        guard let holder = NodeLock.holder(of: directory.path) else { return nil }
        guard let url = holder.url else {
            throw ValidationError("a node (pid \(holder.pid)) holds \(directory.path) and does not listen yet; try again")
        }
        let keys = DataDirectory.credentials(IssuedKey.self, in: directory.credentialsFile)
        guard let key = keys.first(where: { $0.role == .admin }) else {
            throw ValidationError("\(directory.credentialsFile) holds no admin key to ask the running node with")
        }
        return RunningNode(url: url, key: key)
    }

    func request<T: Decodable>(_ method: String, _ path: String) async throws -> T {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = method
        request.setValue(key.keyID, forHTTPHeaderField: "APCA-API-KEY-ID")
        request.setValue(key.secret, forHTTPHeaderField: "APCA-API-SECRET-KEY")
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status) else {
            throw ValidationError("\(method) \(url)\(path): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
