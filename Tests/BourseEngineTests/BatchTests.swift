import BourseCore
@testable import BourseEngine
import BourseTestSupport
import Testing

@Suite("batch processing")
struct BatchTests {
    @Test("processing a batch with prefetching gives exactly the events of one command at a time")
    func batchEqualsSingle() {
        var stream = CommandStream(seed: 4242)
        var commands = stream.opening()
        // Long enough that the engine drops its accumulated events mid-batch more than once.
        for _ in 0..<40_000 { commands.append(stream.next()) }
        let single = MatchingEngine()
        let expected = commands.map { single.process($0) }
        let batched = MatchingEngine()
        var actual: [[Event]] = []
        commands.withUnsafeBufferPointer { buffer in
            batched.process(buffer) { i, events in
                #expect(i == actual.count)
                actual.append(Array(events))
            }
        }
        #expect(actual == expected)
        #expect(batched.stateHash() == single.stateHash())
    }

    @Test("market, stop and trailing stop orders, and only they, trade against a protection price")
    func marketLike() {
        for type in OrderType.allCases {
            var slot = OrderSlot()
            slot.type = type
            #expect(slot.isMarketLike == (type == .market || type == .stop || type == .trailingStop), "\(type)")
        }
    }

    @Test("an order's hot fields fill exactly one cache line")
    func slotLayout() {
        #expect(MemoryLayout<OrderSlot>.stride == 64)
    }
}
