import BourseCore
import BourseNode

/// The market data behind `/v2/stream`: each command's trades, as one array of objects keyed by `T`, to
/// the connections that follow their symbols (or `*`).
final class MarketStream: Sendable {
    let hub = StreamHub<Set<String>>(name: "market data", queueMax: 8_192, errorMessage: MarketStream.error)

    func start() {
        hub.start { [self] published in publish(published) }
    }

    static func error(_ text: String) -> String { #"[{"T":"error","msg":\#(API.quoted(text))}]"# }

    private func publish(_ published: Published) {
        var trades: [(String, String)] = []
        let time = API.time(published.command.time)
        for case .trade(let t) in published.events {
            let symbol = t.symbol.description
            trades.append((symbol, #"{"T":"t","S":"\#(symbol)","i":\#(t.executionID.rawValue),"x":"BOURSE","p":\#(API.decimal(t.price)),"s":\#(t.quantity.shares),"t":"\#(time)","tks":"\#(t.takerSide == .buy ? "B" : "S")","z":"C"}"#))
        }
        guard !trades.isEmpty else { return }
        hub.send { symbols in
            let wanted = trades.filter { symbols.contains($0.0) || symbols.contains("*") }.map(\.1)
            return wanted.isEmpty ? nil : "[" + wanted.joined(separator: ",") + "]"
        }
    }
}
