import BourseCore
import CBourseSupport

/// The batch entry point, for callers that hold several commands (the sequencer's batch, replay,
/// benchmarks). Some commands ahead (two on a shallow book, seven on a deep one), the engine starts
/// loading the order id's place in the id map; fewer ahead (one, five), it finds the order there and
/// starts loading it; on a deep book, one ahead, it also starts loading the order's neighbours in its
/// queue, which a cancel writes. On a deep book these loads miss every cache, and overlapping them with
/// the work of the commands in between is most of the throughput. Prefetching changes no state, so
/// determinism is untouched.
extension MatchingEngine {
    /// Events accumulate in the engine's buffer across a batch and are dropped only past this count,
    /// so most commands pay nothing to clear it.
    static let batchEventsMax = 1 << 14

    /// Processes commands in order, handing each command's events to `body` before the next runs.
    /// The events are valid only during the call, and `body` must not call back into the engine.
    public func process(_ commands: UnsafeBufferPointer<SequencedCommand>,
                        _ body: (Int, UnsafeBufferPointer<Event>) -> Void) {
        precondition(out.isEmpty, "the engine's event buffer is in use")
        if keepsAccounts { return processWithAccounts(commands, body) }
        // How far ahead to look depends on where the lines come from. A deep book's come from memory and
        // need several commands' time to arrive, and a cancel's queue neighbours miss too; a shallow
        // book's are in cache, where looking further or loading more only costs (and more of the orders
        // to be cancelled are not yet placed). The bound is about where the open orders' lines outgrow
        // a core's second-level cache.
        if orders.live >= 1 << 14 {
            processDeep(commands, body)
            out.removeAll()
            return
        }
        let n = commands.count
        // The id two ahead now is the id one ahead next time: each is read once.
        var oneAhead = n > 1 ? Self.orderID(commands, 1) : nil
        for i in 0..<n {
            let twoAhead = i + 2 < n ? Self.orderID(commands, i + 2) : nil
            if let id = twoAhead { index.prefetch(id.value) }
            // Whether the command names an open order is as good as random, so rather than branch on it
            // (or on the lookup's outcome) this loads whatever order the id's home entry names, or the
            // first slot: a wrong guess costs a load of a line that is likely in cache anyway.
            if let id = oneAhead {
                let slot = index.hint(id.value)
                bourse_prefetch(orders.pointer(slot & ~(slot >> 31)))
            }
            oneAhead = twoAhead
            if out.count > Self.batchEventsMax { out.removeAll() }
            let start = out.count
            apply(at: commands.baseAddress.unsafelyUnwrapped + i)
            body(i, out.events(from: start))
        }
        out.removeAll()
    }

    /// The deep book's three stages: the id's map entry `mapAhead` commands ahead, the order
    /// `orderAhead` ahead, its queue neighbours one ahead (the distances measured, `BENCHMARKS.md`).
    private func processDeep(_ commands: UnsafeBufferPointer<SequencedCommand>,
                             _ body: (Int, UnsafeBufferPointer<Event>) -> Void) {
        let n = commands.count
        let mapAhead = 7, orderAhead = 5
        // Ids and slots wait in rings (of 8, more than any stage spans) until their next stage comes.
        var ids = InlineArray<8, (value: UInt64, isOpen: Bool)?>(repeating: nil)
        var slots = InlineArray<8, Int32>(repeating: -1)
        for j in 0..<min(mapAhead, n) {
            ids[j & 7] = Self.orderID(commands, j)
            if j >= orderAhead, let id = ids[j & 7] { index.prefetch(id.value) }
        }
        for j in 1..<max(1, min(orderAhead, n)) {
            if let id = ids[j & 7], id.isOpen, let slot = index.find(id.value) {
                bourse_prefetch(orders.pointer(slot))
                slots[j & 7] = slot
            }
        }
        for i in 0..<n {
            if i + mapAhead < n {
                let id = Self.orderID(commands, i + mapAhead)
                ids[(i + mapAhead) & 7] = id
                if let id { index.prefetch(id.value) }
            }
            slots[(i + orderAhead) & 7] = -1
            if i + orderAhead < n, let id = ids[(i + orderAhead) & 7], id.isOpen, let slot = index.find(id.value) {
                bourse_prefetch(orders.pointer(slot))
                slots[(i + orderAhead) & 7] = slot
            }
            // One ahead: the neighbours of the order found (and loaded) four commands ago.
            if i + 1 < n, slots[(i + 1) & 7] >= 0 { prefetchNeighbours(slots[(i + 1) & 7]) }
            if out.count > Self.batchEventsMax { out.removeAll() }
            let start = out.count
            apply(at: commands.baseAddress.unsafelyUnwrapped + i)
            body(i, out.events(from: start))
        }
    }

    /// What the prefetching stages need of a command, read from it once, and what an earlier stage found.
    private struct Ahead {
        var order: UInt64 = 0
        var account: UInt64 = 0
        var book: Int32 = -1
        /// The account's handle (a new order) or the order's slot (a cancel or replace), once found.
        var found: Int32 = -1
        var kind: CommandTarget.Kind = .none
    }

    /// With accounts, a new order also reads its account, the account's position in the symbol and the
    /// two maps that lead there; a cancel reads its order's position. Those lie anywhere among thousands
    /// of accounts, so they are loaded in stages: three commands ahead the map entries (the order id's
    /// and the account's), two ahead the order or the account (and the position's map entry), one ahead
    /// the position. Each stage passes what it found to the next through a ring, so nothing is looked up
    /// twice.
    private func processWithAccounts(_ commands: UnsafeBufferPointer<SequencedCommand>,
                                     _ body: (Int, UnsafeBufferPointer<Event>) -> Void) {
        let n = commands.count
        var ring = InlineArray<4, Ahead>(repeating: Ahead())
        for j in 0..<min(3, n) { ring[j] = ahead(commands, j) }
        for i in 0..<n {
            if i + 3 < n {
                let a = ahead(commands, i + 3)
                ring[(i + 3) & 3] = a
                if a.kind == .newOrder { accountIndex.prefetch(a.account) } else if a.kind == .openOrder { index.prefetch(a.order) }
            }
            if i + 2 < n {
                let j = (i + 2) & 3
                if ring[j].kind == .newOrder, let h = accountIndex.find(ring[j].account) {
                    ring[j].found = h
                    bourse_prefetch(accounts.pointer(h))
                    if ring[j].book >= 0 { positionIndex.prefetch(positionKey(h, ring[j].book)) }
                } else if ring[j].kind == .openOrder, let slot = index.find(ring[j].order) {
                    ring[j].found = slot
                    bourse_prefetch(orders.pointer(slot))
                }
            }
            if i + 1 < n {
                let a = ring[(i + 1) & 3]
                if a.found >= 0 {
                    if a.kind == .newOrder {
                        if a.book >= 0, let p = positionIndex.find(positionKey(a.found, a.book)) {
                            bourse_prefetch(positions.pointer(p))
                        }
                    } else {
                        // Only a hint: the slot may have been freed or reused since; a wrong guess costs a load.
                        let p = orders[a.found].position
                        if p >= 0 { bourse_prefetch(positions.pointer(p)) }
                        prefetchNeighbours(a.found)
                    }
                }
            }
            if out.count > Self.batchEventsMax { out.removeAll() }
            let start = out.count
            apply(at: commands.baseAddress.unsafelyUnwrapped + i)
            body(i, out.events(from: start))
        }
        out.removeAll()
    }

    /// A cancel unlinks its order from its queue, writing both neighbours: with the order loaded (a
    /// stage earlier), it says which they are. Commands in between may have moved them or freed the
    /// slot; a wasted load is all that costs.
    @inline(__always) private func prefetchNeighbours(_ slot: Int32) {
        let o = orders.pointer(slot)
        guard o.pointee.place == .book else { return }
        let high = orders.high
        if o.pointee.prev >= 0, o.pointee.prev < high { bourse_prefetch(orders.pointer(o.pointee.prev)) }
        if o.pointee.next >= 0, o.pointee.next < high { bourse_prefetch(orders.pointer(o.pointee.next)) }
    }

    @inline(__always) private func ahead(_ commands: UnsafeBufferPointer<SequencedCommand>, _ i: Int) -> Ahead {
        let t = (commands.baseAddress.unsafelyUnwrapped + i).pointee.target
        switch t.kind {
        case .newOrder:
            let book = t.symbol == lastSymbol && lastBookIndex >= 0 ? lastBookIndex : symbolIndex.find(t.symbol) ?? -1
            return Ahead(order: t.order, account: UInt64(t.account), book: book, kind: .newOrder)
        case .openOrder: return Ahead(order: t.order, kind: .openOrder)
        case .none: return Ahead()
        }
    }

    /// The order id command `i` names, and whether it names an order that should be open (a new
    /// order's id is not in the map yet).
    @inline(__always)
    static func orderID(_ commands: UnsafeBufferPointer<SequencedCommand>, _ i: Int) -> (value: UInt64, isOpen: Bool)? {
        let t = (commands.baseAddress.unsafelyUnwrapped + i).pointee.target
        return t.kind == .none ? nil : (t.order, t.kind == .openOrder)
    }
}
