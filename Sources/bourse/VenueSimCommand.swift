import ArgumentParser
import BourseCore
import BourseFeeds
import Foundation

/// Runs simulated venues that serve ITCH 5.0 over SoupBinTCP on this machine, for `bourse serve` to follow
/// as feeds (the `feeds` of its configuration) into the NBBO.
struct VenueSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venue-sim",
        abstract: "Serve simulated venues' ITCH feeds over SoupBinTCP on 127.0.0.1, one port each.")

    @Option(help: "How many venues (1 to 15).")
    var venues = 3
    @Option(help: "The first venue's port; the others follow it.")
    var port = 19_000
    @Option(help: "Messages a second each venue generates.")
    var rate = 200
    @Option(help: "Symbols and prices, as SYMBOL:PRICE separated by commas.")
    var symbols = "AAPL:190.00,MSFT:420.00,SPY:560.00,TSLA:250.00,BRK.B:470.00"
    @Option(help: "The password clients log in with.")
    var password = "secret"
    @Option(help: "Seed of the first venue's flow; the others add one each.")
    var seed: UInt64 = 1
    @Option(help: "Send MoldUDP64 datagrams to 127.0.0.1 from this port on (one a venue) instead of serving SoupBinTCP; re-requests are answered from the sending port.")
    var moldudp64To: Int?

    func run() async throws {
        guard (1...15).contains(venues), (1...65_535 - venues).contains(port), (1...100_000).contains(rate) else {
            throw ValidationError("venues 1–15, a port that leaves room for them, rate 1–100,000 messages a second")
        }
        var stocks: [(String, Int64)] = []
        for item in symbols.split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let price = Price(dollars: String(parts[1])), price.units > 20 * 100, price.units < 400_000 * 10_000 else {
                throw ValidationError("symbols are SYMBOL:PRICE with a price from $0.21 to $400,000, not \(item)")
            }
            stocks.append((String(parts[0]), price.units))
        }
        let simulated = (0..<venues).map { SimulatedVenue(name: "SIM\($0 + 1)", stocks: stocks, seed: seed + UInt64($0), password: password) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, venue) in simulated.enumerated() {
                group.addTask {
                    if let base = moldudp64To {
                        try await venue.serveMoldUDP64(to: base + i) { bound in
                            say("\(venue.name) sending ITCH over MoldUDP64 (session \(venue.session)) to 127.0.0.1:\(base + i), re-requests on \(bound)")
                        }
                    } else {
                        try await venue.serve(port: port + i) { bound in say("\(venue.name) serving ITCH over SoupBinTCP on 127.0.0.1:\(bound)") }
                    }
                }
            }
            group.addTask {
                // A tenth of a second's messages ten times a second.
                while !Task.isCancelled {
                    for venue in simulated { venue.generate(max(1, rate / 10)) }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            try await group.next()
        }
    }
}
