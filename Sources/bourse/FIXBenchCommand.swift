import ArgumentParser
import BourseCore
import BourseVenue
import BourseFIX
import BourseNode
import Foundation

struct FIXBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fix-bench",
        abstract: "Measure the FIX gateway: parsing and checking messages, orders over sessions, a long resend.",
        discussion: """
        parse: frames, reads and checks --messages NewOrderSingle messages on one core, --runs times; prints the \
        median rate. orders: logs on --sessions sessions (FIXLOAD001 …, as `scripts/bench-fix` configures them) to a \
        running `bourse serve --fix-port`, sends --orders limit orders that cross between accounts 1 and 2, at \
        most --window unanswered per session (and with --rate no more than that many a second in all), and prints \
        orders/s and the time from sending an order to its execution report. resend: a gateway in a new data \
        directory whose session has sent --messages execution reports answers a ResendRequest for all of them over \
        loopback; prints the time and the process's peak resident memory above where it started. Prints one JSON \
        line.
        """)

    enum Mode: String, ExpressibleByArgument { case parse, orders, resend }

    @Argument(help: "parse or orders.")
    var mode: Mode
    @Option(help: "parse: messages a run.")
    var messages = 2_000_000
    @Option(help: "parse: timed runs; the median is reported.")
    var runs = 5
    @Option(help: "orders: the gateway's port.")
    var port = 9878
    @Option(help: "orders: sessions, each on its own connection.")
    var sessions = 1
    @Option(help: "orders: orders in all.")
    var orders = 100_000
    @Option(help: "orders: orders a session may have unanswered.")
    var window = 32
    @Option(help: "orders: orders a second in all, at most (0: as fast as the sessions go).")
    var rate = 0

    func run() async throws {
        switch mode {
        case .parse: parse()
        case .orders: try await FIXLoad(port: port, sessions: sessions, orders: orders, window: window, rate: rate).run()
        case .resend: try await FIXResend(messages: messages).run()
        }
    }

    /// Framing, reading and the dictionary's checks, as a connection does them, over a stream of messages.
    private func parse() {
        var body = FIXBody()
        let time = Timestamp(nanos: 1_772_461_800_000_000_000)
        for (tag, value) in [(11, "ORDER-000001"), (1, "1"), (55, "AAPL"), (54, "1"), (60, FIXValue.format(time)), (40, "2"), (38, "100"),
                             (44, "189.25"), (59, "0")] {
            body.append(tag, value)
        }
        let one = FIXEncoder.encode(type: "D", sequence: 123_456, sender: "FIXLOAD001", target: "BOURSE", sendingTime: time, body: body)
        // A buffer of many, framed one after another as they would arrive.
        let batch = Array([[UInt8]](repeating: one, count: 1_000).joined())
        let dictionary = FIXDictionary.fix44
        var rates: [Double] = []
        var checked = 0
        var message = FIXMessage()
        for _ in 0 ..< runs {
            let start = monotonicNanos()
            var done = 0
            while done < messages {
                var offset = 0
                while offset < batch.count {
                    batch.withUnsafeBytes { all in
                        let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
                        guard case .message(let length) = Framing.frame(rest) else { fatalError("the benchmark's messages frame") }
                        message.read(UnsafeRawBufferPointer(rebasing: rest[..<length]))
                    }
                    let length = message.count
                    if dictionary.validate(message) == nil { checked += 1 }
                    offset += length
                    done += 1
                }
            }
            rates.append(Double(done) / (Double(monotonicNanos() - start) / 1e9))
        }
        precondition(checked == runs * ((messages + 999) / 1_000) * 1_000, "every message passes the checks")
        print(#"{"mode":"fix-parse","message_bytes":\#(one.count),"messages_per_run":\#(messages),"runs":\#(runs),"messages_per_sec":\#(Int(median(rates))),"runs_per_sec":[\#(rates.map { String(Int($0)) }.joined(separator: ","))]}"#)
    }
}
