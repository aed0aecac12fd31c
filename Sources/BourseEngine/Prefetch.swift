import BourseCore
import CBourseSupport

/// Memory-latency hiding for callers that hold several commands (the sequencer's batch, replay,
/// benchmarks). Two commands ahead, the engine starts loading the order id's place in the id map; one
/// command ahead, it finds the order there and starts loading it. On a deep book these loads miss every cache, and overlapping them with
/// the current command's work is most of the throughput. Prefetching changes no state, so determinism
/// is untouched.
extension MatchingEngine {
    /// Processes commands in order, handing each command's events to `body` before the next runs.
    public func process(_ commands: UnsafeBufferPointer<SequencedCommand>, events: inout [Event],
                        _ body: (Int, inout [Event]) -> Void) {
        let n = commands.count
        for i in 0..<n {
            if i + 2 < n, let id = commands[i + 2].command.orderID { index.prefetch(id.rawValue) }
            if i + 1 < n, let id = commands[i + 1].command.orderID { prefetchOrder(id) }
            events.removeAll(keepingCapacity: true)
            process(commands[i], into: &events)
            body(i, &events)
        }
    }

    /// Commands naming an open order load it; a new order's level tail would need a book and level
    /// lookup that costs more than the miss it hides.
    @inline(__always) func prefetchOrder(_ id: OrderID) {
        guard let slot = index.find(id.rawValue) else { return }
        bourse_prefetch(orders.pointer(slot))
    }
}
