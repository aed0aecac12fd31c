import ArgumentParser
import BourseServer
import Foundation
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the venue: REST API on one port, journal and snapshots in the data directory.",
        discussion: """
        The first start in an empty data directory sets up a demo venue (symbols, funded accounts) and \
        prints its API keys once; they are also written to <data dir>/credentials.json (mode 0600). \
        Ctrl-C stops it gracefully: queued commands are applied and a snapshot is written.
        """)

    @Option(help: "The data directory: journal, snapshots and keys.")
    var dataDir = "./bourse-data"
    @Option(help: "The port for HTTP.")
    var port = 8080
    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "Requests a second allowed for each API key (more get 429 with Retry-After).")
    var rateLimit = 2_000
    @Option(help: "How many requests a key may send at once before the rate limit applies.")
    var rateBurst = 4_000
    @Option(help: "Log level: trace, debug (every request with its id), info, notice, warning, error, critical.")
    var logLevel = "info"
    @Flag(help: "Run built-in market participants (a market maker, takers, noise traders) so the book and tape live.")
    var simulate = false
    @Option(help: "The simulation's seed.")
    var seed: UInt64 = 1

    func run() async throws {
        let opened = try await DataDirectory(path: dataDir).open()
        if let snapshot = opened.recovery.snapshot {
            say("recovered from the snapshot at \(snapshot.sequence), then \(opened.recovery.entriesReplayed) journal entries")
        } else if opened.recovery.lastSequence > 0 {
            say("recovered \(opened.recovery.entriesReplayed) journal entries")
        }
        if !opened.issued.isEmpty {
            say("a new demo venue; its API keys (also in \(DataDirectory(path: dataDir).credentialsFile)):")
            for key in opened.issued {
                say("  \(key.role.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) account \(key.account)  APCA-API-KEY-ID \(key.keyID)  APCA-API-SECRET-KEY \(key.secret)")
            }
        }
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        let server = Server(opened: opened, host: host, port: port, rateLimit: rateLimit, rateBurst: rateBurst, logLevel: level)
        let app = server.application { port in say("listening on http://\(host):\(port)") }
        let participants = simulate ? Task { await Simulation(seed: seed).run(opened.venue) } : nil
        defer { opened.venue.stop() }
        do {
            try await app.runService()
        } catch {
            participants?.cancel()
            await participants?.value
            throw error
        }
        participants?.cancel()
        await participants?.value
        say("stopped; the venue's state is in \(dataDir)")
    }
}

/// Writes a line to standard output at once, unbuffered, so that it shows when the output is a pipe.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
