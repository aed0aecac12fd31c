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
        expectBatchesEqualSingle(commands, batch: commands.count)
    }

    /// Processes `commands` one at a time and in batches of `batch` on two engines, and expects the same
    /// events and state; returns the batched engine.
    @discardableResult
    func expectBatchesEqualSingle(_ commands: [SequencedCommand], batch: Int) -> MatchingEngine {
        let single = MatchingEngine()
        let expected = commands.map { single.process($0) }
        let batched = MatchingEngine()
        var actual: [[Event]] = []
        commands.withUnsafeBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: batch) {
                batched.process(UnsafeBufferPointer(rebasing: buffer[start..<min(start + batch, buffer.count)])) { i, events in
                    #expect(start + i == actual.count)
                    actual.append(Array(events))
                }
            }
        }
        #expect(actual == expected)
        #expect(batched.stateHash() == single.stateHash())
        return batched
    }

    @Test("on a deep book (where prefetching looks further ahead) a batch gives exactly the events of one command at a time")
    func deepBatchEqualsSingle() {
        var stream = CommandStream(seed: 77)
        var commands = stream.opening()
        // 20,000 orders resting away from the stream's price band, and then cancelled in random order among
        // the stream's own commands and new deep orders, so that the book stays deep throughout.
        var rng = SplitMix64(seed: 78)
        var resting: [UInt64] = []
        var nextID: UInt64 = 10_000_000
        func deepOrder() -> SequencedCommand {
            nextID += 1
            resting.append(nextID)
            let buy = Bool.random(using: &rng)
            let cents = Int64.random(in: 0..<100, using: &rng)
            return stream.stamp(.newOrder(NewOrder(
                orderID: OrderID(nextID), account: AccountID(1), symbol: stream.symbols[0], side: buy ? .buy : .sell, type: .limit,
                timeInForce: .gtc, quantity: Quantity(Int64.random(in: 1...9, using: &rng)),
                limitPrice: Price(units: (buy ? 50_000 : 150_000) + cents * 100))))
        }
        for _ in 0..<20_000 { commands.append(deepOrder()) }
        for _ in 0..<30_000 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<3:
                let i = Int.random(in: 0..<resting.count, using: &rng)
                resting.swapAt(i, resting.count - 1)
                commands.append(stream.stamp(.cancel(CancelOrder(orderID: OrderID(resting.removeLast()), account: AccountID(1)))))
            case 3..<7: commands.append(deepOrder())
            default: commands.append(stream.next())
            }
        }
        // In batches, as the sequencer hands them over; the book is deep from the fifth on.
        let batched = expectBatchesEqualSingle(commands, batch: 4_096)
        #expect(batched.orders.live > 1 << 14)
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
