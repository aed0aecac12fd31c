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
        for _ in 0..<5_000 { commands.append(stream.next()) }
        let single = MatchingEngine()
        let expected = commands.map { single.process($0) }
        let batched = MatchingEngine()
        var actual: [[Event]] = []
        var events: [Event] = []
        commands.withUnsafeBufferPointer { buffer in
            batched.process(buffer, events: &events) { i, events in
                #expect(i == actual.count)
                actual.append(events)
            }
        }
        #expect(actual == expected)
        #expect(batched.stateHash() == single.stateHash())
    }

    @Test("an order's hot fields fill exactly one cache line")
    func slotLayout() {
        #expect(MemoryLayout<OrderSlot>.stride == 64)
    }
}
