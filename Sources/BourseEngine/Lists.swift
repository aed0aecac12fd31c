import BourseCore

/// What an order of a list is to the engine, kept on its slot so that ordinary orders pay one byte's test.
enum ListRole: UInt8 {
    case none = 0
    case member = 1
    /// A stop-loss paired with a working take-profit: the take-profit holds the shares both would sell, the
    /// stop-loss holds nothing (pre-trade risk counts the pair once). Triggered, it takes the hold over.
    case rider = 2
}

/// A list's state, under the id of the order it was accepted as (members' ids change with replaces).
struct ListRecord {
    enum Stage: UInt8 {
        /// The list has no such member.
        case absent = 0
        /// An exit waiting for its entry to fill: not an order yet, holding nothing.
        case held = 1
        case working = 2
        case ended = 3
    }
    /// Terms as accepted, members under their current ids.
    var list: OrderList
    var entry: Stage
    var takeProfit: Stage
    var stopLoss: Stage
    /// The two exits work as a one-cancels-other pair.
    var paired = false

    /// Each member's current id (0 where absent) and stage, entry first.
    var members: [(id: UInt64, stage: Stage)] {
        [(list.entryID, entry), (list.takeProfitID, takeProfit), (list.stopLossID, stopLoss)]
    }

    var isDone: Bool { members.allSatisfy { $0.stage == .absent || $0.stage == .ended } }
}

/// How a member of a list ended.
enum MemberEnd {
    case filled
    case cancelled(CancelReason)
    case expired
}

extension MatchingEngine {
    // MARK: - Acceptance

    /// Accepts a list whole or rejects it whole (under the id it is known by), with the first rule broken.
    func newOrderList(_ list: OrderList) {
        guard let bookIndex = symbolIndex.find(list.symbol.packed) else {
            out.append(.orderRejected(list.orderID, list.account, .unknownSymbol(list.symbol)))
            return
        }
        let book = books[Int(bookIndex)]
        if let reason = validateList(list, book) {
            out.append(.orderRejected(list.orderID, list.account, reason))
            return
        }
        let entry = list.entryOrder
        let working = entry.map { [$0] } ?? [list.takeProfitOrder(quantity: list.quantity)!,
                                              list.stopLossOrder(quantity: list.quantity)!]
        var reservations: [Reservation] = []
        var account: Int32 = -1
        if keepsAccounts {
            guard let a = accountIndex.find(UInt64(list.account.rawValue)) else {
                out.append(.orderRejected(list.orderID, list.account, .unknownAccount(list.account)))
                return
            }
            account = a
            switch assessAll(working, exits: entry == nil, account: a, book, bookIndex) {
            case .success(let r): reservations = r
            case .failure(let reason):
                out.append(.orderRejected(list.orderID, list.account, reason))
                return
            }
        }
        var record = ListRecord(list: list, entry: entry == nil ? .absent : .working,
                                takeProfit: list.takeProfit == nil ? .absent : .held,
                                stopLoss: list.stopLoss == nil ? .absent : .held)
        if entry == nil {
            (record.takeProfit, record.stopLoss, record.paired) = (.working, .working, true)
        }
        let key = list.orderID.rawValue
        lists[key] = record
        for id in list.orderIDs { listOf[id.rawValue] = key }
        let slots = admit(working, reservations, account: account, book, bookIndex)
        out.append(.orderListAccepted(list))
        place(slots, book)
    }

    /// Takes slots for a list's orders that work now, the exits of a pair as holder and rider.
    private func admit(_ members: [NewOrder], _ reservations: [Reservation], account a: Int32, _ book: Book,
                       _ bookIndex: Int32) -> [Int32] {
        var slots: [Int32] = []
        for (i, order) in members.enumerated() {
            let s = accept(order, book, index: bookIndex)
            let rides = i == 1
            orders[s].list = rides ? .rider : .member
            if keepsAccounts {
                if rides { ride(s, reservations[i], account: a) } else { reserve(s, reservations[i], account: a) }
            }
            out.append(.orderAccepted(order))
            slots.append(s)
        }
        return slots
    }

    /// Orders of a list enter the book: in pre-open they wait; otherwise a pair's stop-loss goes to the stop
    /// book before its take-profit may trade (a fill of the take-profit then finds it there to cancel).
    private func place(_ slots: [Int32], _ book: Book) {
        if book.state == .preOpen {
            for s in slots.reversed() { appendPending(s, book) }
            return
        }
        for s in slots.reversed() where orders[s].place == .working { arrive(s, book) }
        runStops(book)
    }

    /// Pre-trade risk for orders that work together: each assessed against the account as it is, an exit
    /// required to close. Nothing is reserved here.
    private func assessAll(_ members: [NewOrder], exits: Bool, account a: Int32, _ book: Book,
                           _ bookIndex: Int32) -> Result<[Reservation], RejectReason> {
        var reservations: [Reservation] = []
        for o in members {
            if exits, !closes(account: a, bookIndex, side: o.side) { return .failure(.exitWouldOpen(book.symbol)) }
            switch assess(account: a, book, bookIndex: bookIndex, side: o.side, type: o.type, quantity: o.quantity.shares,
                          leaves: o.quantity.shares, limit: o.limitPrice?.units ?? 0, stop: o.stopPrice?.units ?? 0,
                          trail: nil, isNew: true) {
            case .reject(let reason): return .failure(reason)
            case .accept(let r): reservations.append(r)
            }
        }
        return .success(reservations)
    }

    /// Whether the account holds a position that an order on `side` reduces.
    private func closes(account a: Int32, _ bookIndex: Int32, side: Side) -> Bool {
        guard let p = positionIndex.find(positionKey(a, bookIndex)) else { return false }
        return side == .sell ? positions[p].quantity > 0 : positions[p].quantity < 0
    }

    /// A rider counts as an open order of its position but holds nothing.
    private func ride(_ s: Int32, _ r: Reservation, account a: Int32) {
        let p = r.position >= 0 ? r.position : makePosition(a, orders[s].book)
        orders[s].position = p
        orders[s].closing = true
        reservations[s] = OrderReservation(holdPerShare: 0, reserve: r.reserve)
        positions[p].openOrders += 1
        accounts[a].openOrders += 1
    }

    /// The first rule a list breaks: its shape, its time in force, each member as an order, then its prices.
    func validateList(_ list: OrderList, _ book: Book) -> RejectReason? {
        let hasEntry = list.entry != nil
        let exits = (list.takeProfit != nil ? 1 : 0) + (list.stopLoss != nil ? 1 : 0)
        let complete = switch list.orderClass {
        case .bracket: hasEntry && exits == 2
        case .oto: hasEntry && exits == 1
        case .oco: !hasEntry && exits == 2
        }
        guard complete else { return .orderListIncomplete(list.orderClass) }
        guard list.timeInForce == .day || list.timeInForce == .gtc else {
            return .orderListTimeInForce(list.orderClass, list.timeInForce)
        }
        if hasEntry, list.type == .trailingStop { return .orderListEntryType(list.orderClass, list.type) }
        let ids = list.orderIDs
        for (i, id) in ids.enumerated() where ids[..<i].contains(id) || listOf[id.rawValue] != nil {
            return .duplicateOrderID(id)
        }
        let members = [list.entryOrder, list.takeProfitOrder(quantity: list.quantity),
                       list.stopLossOrder(quantity: list.quantity)].compactMap { $0 }
        for o in members {
            if let reason = validate(o, book) { return reason }
        }
        if members.count + orders.live > limits.ordersMax { return .bookFull(book.symbol) }
        return checkExitPrices(list)
    }

    /// A sell exit takes profit above the entry and stops the loss below it (a buy exit the other way), and
    /// its take-profit is beyond its stop-loss. The entry's price is its limit, else its stop; a market
    /// entry has none to compare with.
    private func checkExitPrices(_ list: OrderList) -> RejectReason? {
        let sells = list.exitSide == .sell
        let entryPrice = list.entry.flatMap { $0.limitPrice ?? $0.stopPrice }
        if let tp = list.takeProfit?.limitPrice, let bound = entryPrice, sells ? tp <= bound : tp >= bound {
            return .exitPriceOutOfOrder(.takeProfit, tp, bound: bound, mustBeAbove: sells)
        }
        if let sl = list.stopLoss?.stopPrice, let bound = entryPrice, sells ? sl >= bound : sl <= bound {
            return .exitPriceOutOfOrder(.stopLoss, sl, bound: bound, mustBeAbove: !sells)
        }
        if let tp = list.takeProfit?.limitPrice, let sl = list.stopLoss?.stopPrice, sells ? tp <= sl : tp >= sl {
            return .exitPriceOutOfOrder(.takeProfit, tp, bound: sl, mustBeAbove: sells)
        }
        return nil
    }

    // MARK: - Members' lives

    /// A member traded: the first trade of either exit of a pair cancels the other.
    @inline(never) func memberTraded(_ s: Int32) {
        guard let key = listOf[orders[s].id], var record = lists[key], record.paired else { return }
        record.paired = false
        let other = orders[s].id == record.list.takeProfitID ? record.list.stopLossID : record.list.takeProfitID
        lists[key] = record
        endOther(other, .cancelled(.otherLegFilled))
    }

    /// A member ended. Called before its slot is released, once (the role is cleared here). An entry that
    /// filled places its exits for what it filled, after the command's matching; one that was cancelled by the
    /// account or expired, or filled nothing, takes its waiting exits with it. An exit of a pair ends the other.
    @inline(never) func memberEnded(_ s: Int32, _ end: MemberEnd) {
        let o = orders.pointer(s)
        if o.pointee.list == .rider, o.pointee.position >= 0 {
            // It holds nothing: only its counts are given back, and `unreserve` passes over it.
            let pp = positions.pointer(o.pointee.position)
            pp.pointee.openOrders -= 1
            accounts[pp.pointee.account].openOrders -= 1
            o.pointee.position = -1
        }
        o.pointee.list = .none
        let id = o.pointee.id
        guard let key = listOf.removeValue(forKey: id), var record = lists[key] else {
            preconditionFailure("order \(id) has a list role but no list")
        }
        var other: UInt64 = 0
        if id == record.list.entryID {
            record.entry = .ended
            let filled = details[s].quantity - o.pointee.leaves
            let kept: Bool
            switch end {
            case .filled: kept = true
            case .cancelled(let reason): kept = filled > 0 && reason != .requested && reason != .killSwitch
            case .expired: kept = false
            }
            if kept {
                listsToPlace.append((key, filled))
            } else {
                var reason = CancelReason.entryEnded
                if case .cancelled(.killSwitch) = end { reason = .killSwitch }
                cancelHeldExits(&record, reason)
            }
        } else {
            if id == record.list.takeProfitID { record.takeProfit = .ended } else { record.stopLoss = .ended }
            if record.paired {
                record.paired = false
                other = id == record.list.takeProfitID ? record.list.stopLossID : record.list.takeProfitID
            }
        }
        if record.isDone { lists[key] = nil } else { lists[key] = record }
        guard other != 0 else { return }
        switch end {
        case .filled: endOther(other, .cancelled(.otherLegFilled))
        case .cancelled(let reason): endOther(other, .cancelled(reason == .killSwitch ? .killSwitch : .otherLegCancelled))
        case .expired: endOther(other, .expired)
        }
    }

    /// Ends the other order of a pair that has just been split.
    private func endOther(_ id: UInt64, _ end: MemberEnd) {
        guard let s = index.find(id) else { preconditionFailure("the other order of a pair, \(id), is not open") }
        switch end {
        case .expired: expire(s)
        case .cancelled(let reason):
            unplace(s)
            finish(s, cancelling: reason)
        case .filled: preconditionFailure("an order is not ended as filled by another")
        }
    }

    /// Exits that never became orders are cancelled for their full size, so every id the list named ends.
    private func cancelHeldExits(_ record: inout ListRecord, _ reason: CancelReason) {
        let list = record.list
        if record.takeProfit == .held {
            record.takeProfit = .ended
            listOf[list.takeProfitID] = nil
            out.append(.orderCancelled(OrderID(list.takeProfitID), list.account, leaves: list.quantity, reason))
        }
        if record.stopLoss == .held {
            record.stopLoss = .ended
            listOf[list.stopLossID] = nil
            out.append(.orderCancelled(OrderID(list.stopLossID), list.account, leaves: list.quantity, reason))
        }
    }

    /// A paired stop-loss was triggered: its take-profit is cancelled and its hold passes to the stop-loss,
    /// which now works alone.
    @inline(never) func riderTriggered(_ s: Int32) {
        let id = orders[s].id
        guard let key = listOf[id], var record = lists[key], record.paired else {
            preconditionFailure("a rider \(id) outside a pair")
        }
        record.paired = false
        lists[key] = record
        endOther(record.list.takeProfitID, .cancelled(.otherLegTriggered))
        orders[s].list = .member
        if orders[s].position >= 0 { adjustHold(s, by: orders[s].leaves) }
    }

    /// A cancel naming an exit that waits for its entry: both waiting exits go (one cancels the other), and
    /// the entry works on alone. False when the id names no waiting exit of the account.
    func cancelHeldExit(_ c: CancelOrder) -> Bool {
        guard let key = listOf[c.orderID.rawValue], var record = lists[key], record.list.account == c.account,
              c.orderID.rawValue != record.list.entryID else { return false }
        let held = c.orderID.rawValue == record.list.takeProfitID ? record.takeProfit : record.stopLoss
        guard held == .held else { return false }
        let list = record.list
        for (exitID, stage) in [(list.takeProfitID, record.takeProfit), (list.stopLossID, record.stopLoss)] where stage == .held {
            listOf[exitID] = nil
            out.append(.orderCancelled(OrderID(exitID), list.account, leaves: list.quantity,
                                       exitID == c.orderID.rawValue ? .requested : .otherLegCancelled))
        }
        if record.takeProfit == .held { record.takeProfit = .ended }
        if record.stopLoss == .held { record.stopLoss = .ended }
        lists[key] = record
        return true
    }

    /// Why a replace of a list's order is refused: an exit's quantity follows its entry, and a waiting exit is
    /// not an order yet.
    func listReplaceCheck(_ r: ReplaceOrder, slot s: Int32?) -> RejectReason? {
        guard let key = listOf[r.orderID.rawValue], let record = lists[key] else { return nil }
        guard let s else { return record.list.account == r.account ? .legHeld(r.orderID) : nil }
        if r.orderID.rawValue != record.list.entryID, r.quantity.shares != details[s].quantity {
            return .legQuantityFixed(r.orderID)
        }
        return nil
    }

    /// A replaced member keeps its place in the list under its new id; a replaced entry's quantity is the
    /// most its exits can be placed for, and what waiting exits are cancelled for.
    func memberReplaced(_ old: UInt64, by new: UInt64, quantity: Quantity) {
        guard let key = listOf.removeValue(forKey: old) else { preconditionFailure("order \(old) has a list role but no list") }
        listOf[new] = key
        lists[key]!.list.rename(OrderID(old), to: OrderID(new))
        if lists[key]!.list.entryID == new { lists[key]!.list.quantity = quantity }
    }

    // MARK: - Placing exits

    /// Places the exits of entries that filled in this command, in the order they filled. Each is assessed
    /// as a new order that must close; a rejection rejects both exits. Exits that trade may fill further
    /// entries, whose exits follow.
    func placeExits() {
        var next = 0
        while next < listsToPlace.count {
            let (key, filled) = listsToPlace[next]
            next += 1
            guard var record = lists[key] else { continue }
            let list = record.list
            let quantity = Quantity(filled)
            let exits = [list.takeProfitOrder(quantity: quantity), list.stopLossOrder(quantity: quantity)].compactMap { $0 }
            let bookIndex = symbolIndex.find(list.symbol.packed)!
            let book = books[Int(bookIndex)]
            var reservations: [Reservation] = []
            var account: Int32 = -1
            if keepsAccounts {
                account = accountIndex.find(UInt64(list.account.rawValue))!
                switch assessAll(exits, exits: true, account: account, book, bookIndex) {
                case .success(let r): reservations = r
                case .failure(let reason):
                    for exit in exits {
                        listOf[exit.orderID.rawValue] = nil
                        out.append(.orderRejected(exit.orderID, list.account, reason))
                    }
                    lists[key] = nil
                    continue
                }
            }
            if record.takeProfit == .held { record.takeProfit = .working }
            if record.stopLoss == .held { record.stopLoss = .working }
            record.paired = exits.count == 2
            lists[key] = record
            place(admit(exits, reservations, account: account, book, bookIndex), book)
        }
        listsToPlace.removeAll(keepingCapacity: true)
    }
}
