import BourseCore
import CBourseSupport

/// The batch entry point, for callers that hold several commands (the sequencer's batch, replay,
/// benchmarks). Two commands ahead, the engine starts loading the order id's place in the id map; one
/// command ahead, it finds the order there and starts loading it. On a deep book these loads miss every
/// cache, and overlapping them with the current command's work is most of the throughput. Prefetching
/// changes no state, so determinism is untouched.
extension MatchingEngine {
    /// Events accumulate in the engine's buffer across a batch and are dropped only past this count,
    /// so most commands pay nothing to clear it.
    static let batchEventsMax = 1 << 14

    /// Processes commands in order, handing each command's events to `body` before the next runs.
    /// The events are valid only during the call, and `body` must not call back into the engine.
    public func process(_ commands: UnsafeBufferPointer<SequencedCommand>,
                        _ body: (Int, UnsafeBufferPointer<Event>) -> Void) {
        precondition(out.isEmpty, "the engine's event buffer is in use")
        let n = commands.count
        // The id two ahead now is the id one ahead next time: each is read once.
        var oneAhead = n > 1 ? Self.orderID(commands, 1) : nil
        for i in 0..<n {
            let twoAhead = i + 2 < n ? Self.orderID(commands, i + 2) : nil
            if let id = twoAhead { index.prefetch(id.value) }
            if let id = oneAhead, id.isOpen, let slot = index.find(id.value) { bourse_prefetch(orders.pointer(slot)) }
            oneAhead = twoAhead
            if out.count > Self.batchEventsMax { out.removeAll() }
            let start = out.count
            apply(commands[i])
            body(i, out.events(from: start))
        }
        out.removeAll()
    }

    /// The order id command `i` names, read in place rather than by copying the command, and whether
    /// it names an order that should be open (a new order's id is not in the map yet).
    @inline(__always)
    static func orderID(_ commands: UnsafeBufferPointer<SequencedCommand>, _ i: Int) -> (value: UInt64, isOpen: Bool)? {
        switch commands[i].command {
        case .newOrder(let o): (o.orderID.rawValue, false)
        case .cancel(let c): (c.orderID.rawValue, true)
        case .replace(let r): (r.orderID.rawValue, true)
        default: nil
        }
    }
}
