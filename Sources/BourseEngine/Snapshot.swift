import BourseCore

/// The engine's state in a canonical binary form: the same state always encodes to the same bytes,
/// so the encoding doubles as the input of the state hash that replay compares.
extension MatchingEngine {
    /// The version of this encoding; snapshot files carry it. 2 added the last command's time, 3 accounts,
    /// 4 account numbers, 5 order lists, 6 pending transfers, 7 business dates and settlement, 8 marks and margin calls,
    /// 9 reference quotes, 10 a settlement cycle in progress.
    public static let snapshotVersion: UInt16 = 10

    public func encodeSnapshot(into w: inout ByteWriter) {
        w.writeVarint(serial)
        w.writeVarint(lastExecution)
        w.writeSigned(now)
        w.writeBool(keepsAccounts)
        w.writeVarint(UInt64(books.count))
        for book in books {
            w.write(book.symbol)
            w.write(book.rules)
            w.write(book.state.rawValue)
            w.writeSigned(book.lastTrade)
            w.writeBool(book.easyToBorrow)
            w.writeSigned(book.makerFee)
            w.writeSigned(book.takerFee)
            w.writeSigned(book.outsideShares)
            w.writeSigned(book.markedPrice)
            w.writeSigned(book.referenceBid)
            w.writeSigned(book.referenceAsk)
        }
        encodeAccounts(into: &w)
        for book in books {
            var count = 0
            forEachOrder(in: book) { _ in count += 1 }
            w.writeVarint(UInt64(count))
            forEachOrder(in: book) { s in encode(s, into: &w) }
        }
        encodeLists(into: &w)
        encodeClearing(into: &w)
        encodeMarginCalls(into: &w)
    }

    /// Open lists in key order, so the same state encodes to the same bytes.
    private func encodeLists(into w: inout ByteWriter) {
        w.writeVarint(UInt64(lists.count))
        for key in lists.keys.sorted() {
            let record = lists[key]!
            w.writeVarint(key)
            w.write(record.list)
            for member in record.members { w.write(member.stage.rawValue) }
            w.writeBool(record.paired)
        }
    }

    private func decodeLists(_ r: inout ByteReader) throws(DecodeError) {
        let count = try r.readVarint()
        guard count <= UInt64(limits.ordersMax) else { throw DecodeError(.invalidValue("list count"), at: r.offset) }
        for _ in 0..<count {
            let at = r.offset
            let key = try r.readVarint()
            let list = try r.readOrderList()
            var record = ListRecord(list: list, entry: try r.readEnum(ListRecord.Stage.self, "list stage"),
                                    takeProfit: try r.readEnum(ListRecord.Stage.self, "list stage"),
                                    stopLoss: try r.readEnum(ListRecord.Stage.self, "list stage"))
            record.paired = try r.readBool()
            guard lists[key] == nil, !record.isDone else { throw DecodeError(.invalidValue("list \(key)"), at: at) }
            lists[key] = record
            for (id, stage) in record.members where stage == .held || stage == .working {
                guard listOf[id] == nil else { throw DecodeError(.invalidValue("list \(key) member \(id)"), at: at) }
                listOf[id] = key
                // A working member is an open order that says it belongs to a list; a waiting exit is not an order.
                let slot = index.find(id)
                guard (stage == .working) == (slot.map { orders[$0].list != .none } ?? false) else {
                    throw DecodeError(.invalidValue("list \(key) member \(id)"), at: at)
                }
            }
        }
        for book in books {
            var stray = false
            forEachOrder(in: book) { s in if orders[s].list != .none, listOf[orders[s].id] == nil { stray = true } }
            if stray { throw DecodeError(.invalidValue("an order of \(book.symbol) names a list that is not open"), at: r.offset) }
        }
    }

    /// The venue's balances, then every account in opening order with its positions in the order
    /// they were first used. Accounts are never freed, so handle order is opening order.
    private func encodeAccounts(into w: inout ByteWriter) {
        w.writeSigned(venueFees)
        w.writeSigned(outsideCash)
        w.writeVarint(ledgerTransactions)
        w.writeVarint(UInt64(accounts.live))
        for a in 0..<Int32(accounts.live) {
            let account = accounts[a]
            w.write(AccountID(account.id))
            w.write(accountNumbers[Int(a)])
            w.write(AccountTerms(kind: account.kind, limits: account.limits, margin: account.margin))
            w.write(account.state.rawValue)
            for value in [account.cash, account.cashHold, account.openOrders] { w.writeSigned(value) }
            var count = 0
            var p = account.firstPosition
            while p >= 0 { count += 1; p = positions[p].next }
            w.writeVarint(UInt64(count))
            p = account.firstPosition
            while p >= 0 {
                let position = positions[p]
                w.write(books[Int(position.book)].symbol)
                let base = clearing.base[p] ?? .zero
                for value in [position.quantity, position.cost, position.realized, position.unsettled, position.held,
                              position.openingBuys, position.openingSells, Int64(position.openOrders), base.shares, base.money] {
                    w.writeSigned(value)
                }
                p = position.next
            }
        }
        encodeTransfers(into: &w)
    }

    /// Pending transfers in id order, after the accounts they name.
    private func encodeTransfers(into w: inout ByteWriter) {
        w.writeVarint(lastTransfer)
        w.writeSigned(transitCash)
        w.writeVarint(UInt64(transfers.count))
        for (id, transfer) in transfers.sorted(by: { $0.key < $1.key }) {
            w.writeVarint(id)
            w.write(transfer.request)
            w.write(transfer.status.rawValue)
            w.writeSigned(transfer.due)
        }
    }

    private func decodeTransfers(_ r: inout ByteReader) throws(DecodeError) {
        lastTransfer = try r.readVarint()
        transitCash = try r.readSigned()
        let count = try r.readVarint()
        var inTransit: Int64 = 0
        for _ in 0..<count {
            let at = r.offset
            let id = try r.readVarint()
            let request = try r.readTransferRequest()
            let status = try r.readEnum(TransferStatus.self, "transfer status")
            let due: Int64 = try r.readSigned()
            guard transfers[id] == nil, id <= lastTransfer, !status.isFinal, request.amount.units > 0,
                  let a = accountIndex.find(UInt64(request.account.rawValue)),
                  transfersPerAccount[a, default: 0] < TransferRequest.pendingPerAccountMax else {
                throw DecodeError(.invalidValue("transfer \(id)"), at: at)
            }
            transfers[id] = PendingTransfer(request: request, account: a, status: status, due: due)
            transfersPerAccount[a, default: 0] += 1
            if request.direction == .outgoing { inTransit += request.amount.units }
        }
        guard inTransit == transitCash else { throw DecodeError(.invalidValue("cash in transit"), at: r.offset) }
    }

    /// FNV-1a over the canonical snapshot bytes.
    public func stateHash() -> UInt64 {
        var w = ByteWriter(capacity: 1 << 16)
        encodeSnapshot(into: &w)
        return w.withUnsafeBytes { fnv1a($0) }
    }

    public convenience init(snapshot r: inout ByteReader, limits: Limits = Limits()) throws(DecodeError) {
        let serial = try r.readVarint()
        let lastExecution = try r.readVarint()
        let now: Int64 = try r.readSigned()
        self.init(limits: limits, keepsAccounts: try r.readBool())
        self.serial = serial
        self.lastExecution = lastExecution
        self.now = now
        let bookCount = try r.readVarint()
        guard bookCount <= UInt64(limits.symbolsMax) else { throw DecodeError(.invalidValue("book count"), at: r.offset) }
        for _ in 0..<bookCount {
            let at = r.offset
            let symbol = try r.readSymbol()
            let rules = try r.readRules()
            guard symbolIndex.find(symbol.packed) == nil else { throw DecodeError(.invalidValue("duplicate symbol"), at: at) }
            let book = Book(symbol: symbol, rules: rules)
            book.state = try r.readEnum(TradingState.self, "trading state")
            book.lastTrade = try r.readSigned()
            book.easyToBorrow = try r.readBool()
            book.makerFee = try r.readSigned()
            book.takerFee = try r.readSigned()
            book.outsideShares = try r.readSigned()
            book.markedPrice = try r.readSigned()
            let reference = ReferenceQuote(symbol: symbol, bid: Price(units: try r.readSigned()), ask: Price(units: try r.readSigned()))
            guard reference.isValid else { throw DecodeError(.invalidValue("reference quote"), at: r.offset) }
            book.referenceBid = reference.bid.units
            book.referenceAsk = reference.ask.units
            symbolIndex.insert(symbol.packed, Int32(books.count))
            books.append(book)
        }
        try decodeAccounts(&r)
        for book in books {
            let orderCount = try r.readVarint()
            for _ in 0..<orderCount { try decodeOrder(&r, into: book) }
        }
        try decodeLists(&r)
        try decodeClearing(&r)
        try decodeMarginCalls(&r)
    }

    private func decodeAccounts(_ r: inout ByteReader) throws(DecodeError) {
        venueFees = try r.readSigned()
        outsideCash = try r.readSigned()
        ledgerTransactions = try r.readVarint()
        let count = try r.readVarint()
        guard count <= UInt64(limits.accountsMax), keepsAccounts || count == 0 else {
            throw DecodeError(.invalidValue("account count"), at: r.offset)
        }
        for _ in 0..<count {
            let at = r.offset
            let id = try r.readAccountID()
            let number = try r.readAccountNumber()
            let terms = try r.readAccountTerms()
            guard accountIndex.find(UInt64(id.rawValue)) == nil, accountsByNumber[number] == nil, terms.limits.isValid(),
                  terms.margin.isValid() else {
                throw DecodeError(.invalidValue("account \(id)"), at: at)
            }
            var record = AccountRecord(id: id, terms: terms)
            record.state = try r.readEnum(AccountState.self, "account state")
            record.cash = try r.readSigned()
            record.cashHold = try r.readSigned()
            let openOrders: Int64 = try r.readSigned()
            guard (0...Int64(Int32.max)).contains(openOrders) else { throw DecodeError(.invalidValue("account \(id) open orders"), at: at) }
            record.openOrders = openOrders
            let a = accounts.allocate(record)
            register(id, number, a)
            let positionCount = try r.readVarint()
            for _ in 0..<positionCount {
                let at = r.offset
                let symbol = try r.readSymbol()
                guard let bookIndex = symbolIndex.find(symbol.packed), positionIndex.find(positionKey(a, bookIndex)) == nil else {
                    throw DecodeError(.invalidValue("position in \(symbol)"), at: at)
                }
                let handle = makePosition(a, bookIndex)
                let pp = positions.pointer(handle)
                pp.pointee.quantity = try r.readSigned()
                pp.pointee.cost = try r.readSigned()
                pp.pointee.realized = try r.readSigned()
                pp.pointee.unsettled = try r.readSigned()
                let counts: (Int64, Int64, Int64) = (try r.readSigned(), try r.readSigned(), try r.readSigned())
                guard [counts.0, counts.1, counts.2].allSatisfy({ (0...Quantity.max.shares).contains($0) }) else {
                    throw DecodeError(.invalidValue("position in \(symbol)"), at: at)
                }
                (pp.pointee.held, pp.pointee.openingBuys, pp.pointee.openingSells) = counts
                let openOrders: Int64 = try r.readSigned()
                guard let count = Int32(exactly: openOrders), count >= 0 else {
                    throw DecodeError(.invalidValue("open orders in \(symbol)"), at: at)
                }
                pp.pointee.openOrders = count
                let base = Clearing.Amount(shares: try r.readSigned(), money: try r.readSigned())
                if !base.isZero { clearing.base[handle] = base }
            }
        }
        try decodeTransfers(&r)
    }

    private func encode(_ s: Int32, into w: inout ByteWriter) {
        let o = orders[s]
        let d = details[s]
        w.write(o.place.rawValue)
        w.writeVarint(o.id)
        w.writeVarint(d.accepted)
        w.writeVarint(d.priority)
        w.writeSigned(d.expire)
        w.writeSigned(o.price)
        w.writeSigned(d.stopPrice)
        w.writeSigned(d.quantity)
        w.writeSigned(o.leaves)
        w.writeSigned(o.visible)
        w.writeSigned(d.display)
        w.writeSigned(d.trailMagnitude)
        w.writeSigned(d.watermark)
        w.writeVarint(UInt64(o.account))
        w.write(o.side.rawValue)
        w.write(o.type.rawValue)
        w.write(o.tif.rawValue)
        w.write(o.stp.rawValue)
        w.write((o.postOnly ? 1 : 0) | (d.trailInBasisPoints ? 2 : 0) | (o.closing ? 4 : 0) | o.list.rawValue << 3)
        if keepsAccounts {
            w.writeSigned(reservations[s].holdPerShare)
            w.writeSigned(reservations[s].reserve)
        }
    }

    private func decodeOrder(_ r: inout ByteReader, into book: Book) throws(DecodeError) {
        let at = r.offset
        guard let place = Place(rawValue: try r.readByte()), place == .book || place == .stop || place == .pending else {
            throw DecodeError(.invalidValue("order place"), at: at)
        }
        var o = OrderSlot()
        var d = OrderDetail()
        o.id = try r.readVarint()
        d.accepted = try r.readVarint()
        d.priority = try r.readVarint()
        d.expire = try r.readSigned()
        o.price = try r.readSigned()
        d.stopPrice = try r.readSigned()
        d.quantity = try r.readSigned()
        o.leaves = try r.readSigned()
        o.visible = try r.readSigned()
        d.display = try r.readSigned()
        d.trail = try r.readSigned()
        d.watermark = try r.readSigned()
        let account = try r.readVarint()
        guard account <= UInt64(UInt32.max) else { throw DecodeError(.invalidValue("account"), at: at) }
        o.account = UInt32(account)
        o.side = try r.readEnum(Side.self, "side")
        o.type = try r.readEnum(OrderType.self, "order type")
        o.tif = try r.readEnum(TimeInForce.self, "time in force")
        o.stp = try r.readEnum(SelfTradePrevention.self, "self-trade prevention")
        let flags = try r.readByte()
        o.postOnly = flags & 1 != 0
        o.closing = flags & 4 != 0
        guard let role = ListRole(rawValue: flags >> 3 & 3) else { throw DecodeError(.invalidValue("order list role"), at: at) }
        o.list = role
        if flags & 2 != 0 { d.trail = -d.trail }
        o.book = symbolIndex.find(book.symbol.packed)!
        var reservation = OrderReservation()
        if keepsAccounts {
            reservation.holdPerShare = try r.readSigned()
            reservation.reserve = try r.readSigned()
            // The holds and counts this order accounts for were restored with its account.
            guard let a = accountIndex.find(UInt64(o.account)), let p = positionIndex.find(positionKey(a, o.book)) else {
                throw DecodeError(.invalidValue("order \(o.id) has no position"), at: at)
            }
            o.position = p
        }
        guard o.leaves > 0, o.leaves <= d.quantity, d.trail >= 0 || flags & 2 != 0, index.find(o.id) == nil else {
            throw DecodeError(.invalidValue("order \(o.id)"), at: at)
        }
        o.place = .working
        let s = orders.allocate(o)
        _ = details.allocate(d)
        if keepsAccounts { _ = reservations.allocate(reservation) }
        index.insert(o.id, s)
        if o.tif == .gtd { gtd.push(.init(expire: d.expire, accepted: d.accepted, slot: s)) }
        switch place {
        case .pending: appendPending(s, book)
        case .stop: insertStop(s, book)
        case .book:
            guard o.visible > 0, o.visible <= o.leaves else { throw DecodeError(.invalidValue("order \(o.id) visible"), at: at) }
            // `rest` would recompute the shown slice; a restored iceberg keeps the one it had.
            rest(s, book)
            let lp = levels.pointer(orders[s].level)
            lp.pointee.visible += o.visible - orders[s].visible
            orders[s].visible = o.visible
        case .free, .working: break
        }
    }
}
