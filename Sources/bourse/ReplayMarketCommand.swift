import ArgumentParser
import BourseCore
import BourseServer
import BourseVenue
import Foundation

/// Streams a stored day, or an ITCH 5.0 file, through the market data WebSocket interface for backtesting.
struct ReplayMarket: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-market",
        abstract: "Stream a stored day of trades and quotes (or an ITCH 5.0 file) through /v2/stream at 1x to 100x speed or as fast as possible.",
        discussion: """
            Clients connect to ws://HOST:PORT/v2/stream and use it as the live stream (any key and secret
            authenticate; trades and quotes channels; JSON or MessagePack). The replay starts when the first
            client subscribes (or at once with --start-now) and ends with {"T":"success","msg":"replay finished"}.
            """)

    @Option(help: "The venue's data directory, whose market-history.sqlite holds the day.")
    var dataDir = "./bourse-data"
    @Option(help: "The New York date to replay, YYYY-MM-DD (for an ITCH file: the day its timestamps are on).")
    var date: String
    @Option(help: "Replay this ITCH 5.0 file of length-prefixed messages instead of a stored day.")
    var itch: String?
    @Option(help: "1 to 100 (times real time), or max.")
    var speed = "1"
    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).")
    var port = 8090
    @Flag(help: "Start at once rather than when the first client subscribes.")
    var startNow = false
    @Flag(help: "Exit when the replay has finished rather than keep serving.")
    var exitAtEnd = false

    func run() async throws {
        guard let day = CivilDate(date) else { throw ValidationError("--date must be \(CivilDate.supportedDescription), not \(date)") }
        let pace: Double?
        if speed == "max" {
            pace = nil
        } else if let value = Double(speed), (1...100).contains(value) {
            pace = value
        } else {
            throw ValidationError("--speed must be from 1 to 100, or max; not \(speed)")
        }
        let events: [MarketReplay.Event]
        if let itch {
            events = try MarketReplay.itch(Array(try Data(contentsOf: URL(fileURLWithPath: itch))), date: day)
        } else {
            events = try MarketReplay.day(history: DataDirectory(path: dataDir).marketHistoryFile, date: day)
        }
        let replay = MarketReplay(events: events, speed: pace)
        let app = replay.application(host: host, port: port) { [host] port in
            say("replaying \(events.count) trades and quotes at \(pace.map { "\($0)x" } ?? "max speed") on ws://\(host):\(port)/v2/stream")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            group.addTask {
                if !startNow {
                    while replay.subscribers == 0 { try await Task.sleep(for: .milliseconds(20)) }
                }
                await replay.run()
                say("replay finished")
                if exitAtEnd {
                    // A moment for the last frames to leave.
                    try await Task.sleep(for: .milliseconds(500))
                    throw CancellationError()
                }
            }
            do {
                try await group.next()
            } catch is CancellationError {}
            group.cancelAll()
        }
    }
}
