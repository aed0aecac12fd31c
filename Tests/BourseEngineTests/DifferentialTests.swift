import BourseCore
import BourseEngine
import BourseTestSupport
import Testing

@Suite("engine against the reference venue")
struct DifferentialTests {
    /// Seeds 1 to 2,000 in 8 batches of 250, so the batches run in parallel.
    static let seedBatches: [ClosedRange<UInt64>] = (0..<8).map { (batch: UInt64) -> ClosedRange<UInt64> in
        let first: UInt64 = batch * 250 + 1
        return first...(first + 249)
    }

    @Test("random streams give identical events, and every invariant holds after every command",
          arguments: seedBatches)
    func randomStreams(seeds: ClosedRange<UInt64>) {
        for seed in seeds {
            guard let failure = Self.run(seed: seed, commands: 300) else { continue }
            Issue.record("seed \(seed): \(failure)")
            return
        }
    }

    @Test("a long stream stays identical and consistent, and reaches every kind of outcome")
    func longStream() {
        var seen = Set<String>()
        #expect(Self.run(seed: 0xB0_0125, commands: 20_000, observe: { seen.insert(Self.kind($0)) }) == nil)
        let wanted = ["trade", "orderRested", "stopTriggered", "selfTradeDecremented", "orderExpired", "replaced-kept", "replaced-moved",
                      "replaceRejected", "cancelRejected", "orderRejected", "tradingStateChanged"]
            // The kill switch and splits need accounts, which the reference venue does not keep, and it has no order
            // lists: the account streams and `ClearingSpecs` cover those.
            + CancelReason.allCases.filter { ![.killSwitch, .otherLegFilled, .otherLegTriggered, .otherLegCancelled, .entryEnded, .corporateAction].contains($0) }
                .map { "cancelled-\($0.code)" }
        #expect(Set(wanted).subtracting(seen).isEmpty, "never produced: \(Set(wanted).subtracting(seen).sorted())")
    }

    static func kind(_ event: Event) -> String {
        switch event {
        case .orderCancelled(_, _, _, let reason): "cancelled-\(reason.code)"
        case .orderReplaced(let r): r.keptPriority ? "replaced-kept" : "replaced-moved"
        default: String(String(describing: event).prefix { $0 != "(" })
        }
    }

    /// Runs one seeded stream; returns the first difference or broken invariant.
    static func run(seed: UInt64, commands: Int, observe: (Event) -> Void = { _ in }) -> String? {
        var stream = CommandStream(seed: seed)
        let engine = MatchingEngine()
        let reference = ReferenceVenue()
        var ledger = QuantityLedger()
        let opening = stream.opening()
        var step = 0
        while step < opening.count + commands {
            let command = step < opening.count ? opening[step] : stream.next()
            step += 1
            let actual = engine.process(command)
            let expected = reference.process(command)
            if actual != expected {
                return "command \(command.sequence) \(command.command)\n  engine:    \(actual)\n  reference: \(expected)"
            }
            for event in actual {
                observe(event)
                if let problem = ledger.apply(event) { return "command \(command.sequence): \(problem)" }
            }
            let broken = engine.invariantViolations()
            if !broken.isEmpty { return "command \(command.sequence): \(broken)" }
            if ledger.open.count != engine.openOrderCount {
                return "command \(command.sequence): ledger has \(ledger.open.count) open orders, engine \(engine.openOrderCount)"
            }
            for symbol in stream.symbols {
                for side in Side.allCases {
                    let books = engine.restingOrders(symbol, side: side)
                    if books != reference.restingOrders(symbol, side: side) {
                        return "command \(command.sequence): \(symbol) \(side) book differs"
                    }
                    for order in books.joined() where ledger.open[order.orderID.rawValue]?.leaves != order.leaves.shares {
                        return "command \(command.sequence): resting \(order.orderID) leaves differ from the ledger"
                    }
                }
            }
        }
        return nil
    }
}
