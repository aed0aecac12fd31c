/// The binary form of reject reasons: a tag byte per case (stable: journals hold them), then the figures
/// the reason names. Written and read here, beside each other, so the two stay one layout.
extension ByteWriter {
    public mutating func write(_ reason: RejectReason) {
        switch reason {
        case .unknownSymbol(let s): write(1); write(s)
        case .symbolHalted(let s): write(2); write(s)
        case .symbolClosed(let s): write(3); write(s)
        case .duplicateOrderID(let id): write(4); write(id)
        case .quantityNotPositive: write(5)
        case .quantityBelowMinimum(let q, let m): write(6); write(q); write(m)
        case .quantityAboveMaximum(let q, let m): write(7); write(q); write(m)
        case .quantityNotMultipleOfLot(let q, let lot): write(8); write(q); write(lot)
        case .limitPriceRequired: write(9)
        case .limitPriceNotAllowed: write(10)
        case .stopPriceRequired: write(11)
        case .stopPriceNotAllowed: write(12)
        case .priceNotPositive(let p): write(13); write(p)
        case .priceAboveMaximum(let p): write(14); write(p)
        case .priceOffTick(let p, let tick): write(15); write(p); write(tick)
        case .trailingOffsetRequired: write(16)
        case .trailingOffsetNotAllowed: write(17)
        case .trailingOffsetInvalid: write(18)
        case .displayQuantityInvalid(let q): write(19); write(q)
        case .timeInForceNotAllowed(let tif, let type): write(20); write(tif.rawValue); write(type.rawValue)
        case .icebergMustRest: write(21)
        case .postOnlyMustBeLimit: write(22)
        case .expireTimeRequired: write(23)
        case .expireTimeNotAllowed: write(24)
        case .expireTimeInPast(let t): write(25); writeSigned(t.nanos)
        case .wouldTakeLiquidity: write(26)
        case .noReferencePrice: write(27)
        case .orderNotOpen(let id): write(28); write(id)
        case .replaceQuantityNotAboveFilled(let q, let filled): write(29); write(q); write(filled)
        case .replaceChangesNothing: write(30)
        case .replaceNotAllowed(let type): write(31); write(type.rawValue)
        case .bookFull(let s): write(32); write(s)
        case .unknownAccount(let a): write(33); write(a)
        case .accountBlocked(let a): write(34); write(a)
        case .accountClosed(let a): write(35); write(a)
        case .reduceOnly(let a): write(36); write(a)
        case .insufficientBuyingPower(let needs, let available): write(37); write(needs); write(available)
        case .insufficientPosition(let s, let side, let needs, let available):
            write(38); write(s); write(side.rawValue); write(needs); write(available)
        case .notEasyToBorrow(let s): write(39); write(s)
        case .oppositeOrderOpen(let s, let side): write(40); write(s); write(side.rawValue)
        case .maintenanceDeficit(let equity, let requirement): write(41); write(equity); write(requirement)
        case .accountQuantityLimit(let q, let limit): write(42); write(q); write(limit)
        case .notionalAboveLimit(let n, let limit): write(43); write(n); write(limit)
        case .notionalOverflow: write(44)
        case .openOrdersPerSymbolLimit(let s, let limit): write(45); write(s); writeSigned(limit)
        case .openOrdersLimit(let limit): write(46); writeSigned(limit)
        case .positionLimit(let s, let would, let limit): write(47); write(s); write(would); write(limit)
        case .priceOutsideCollar(let p, let limit): write(48); write(p); write(limit)
        case .noMarkPrice(let s): write(49); write(s)
        case .orderListIncomplete(let c): write(50); write(c.rawValue)
        case .orderListTimeInForce(let c, let tif): write(51); write(c.rawValue); write(tif.rawValue)
        case .orderListEntryType(let c, let type): write(52); write(c.rawValue); write(type.rawValue)
        case .exitPriceOutOfOrder(let leg, let p, let bound, let above):
            write(53); write(leg.rawValue); write(p); write(bound); writeBool(above)
        case .exitWouldOpen(let s): write(54); write(s)
        case .legQuantityFixed(let id): write(55); write(id)
        case .legHeld(let id): write(56); write(id)
        }
    }

    public mutating func write(_ reason: CommandRejectReason) {
        switch reason {
        case .symbolAlreadyListed(let s): write(1); write(s)
        case .unknownSymbol(let s): write(2); write(s)
        case .invalidRules(let s): write(3); write(s)
        case .tooManySymbols: write(4)
        case .accountsNotKept: write(5)
        case .unknownAccount(let a): write(6); write(a)
        case .accountExists(let a): write(7); write(a)
        case .accountNumberTaken(let n): write(23); write(n)
        case .accountClosed(let a): write(8); write(a)
        case .tooManyAccounts: write(9)
        case .invalidAccountTerms: write(10)
        case .amountNotPositive(let m): write(11); write(m)
        case .insufficientCash(let needs, let available): write(12); write(needs); write(available)
        case .insufficientPosition(let s, let needs, let available): write(13); write(s); write(needs); write(available)
        case .balanceLimit(let m): write(14); write(m)
        case .quantityInvalid(let q): write(15); write(q)
        case .costInvalid(let p): write(16); write(p)
        case .positionLimit(let s, let would, let limit): write(17); write(s); write(would); write(limit)
        case .accountNotEmpty(let a): write(18); write(a)
        case .feesInvalid(let s): write(19); write(s)
        case .shortSaleOpen(let s): write(20); write(s)
        case .positionShort(let s): write(21); write(s)
        case .insufficientEquity(let needs, let available): write(22); write(needs); write(available)
        case .journalToSelf(let a): write(24); write(a)
        case .unknownTransfer(let id): write(25); writeVarint(id)
        case .transferStatus(let id, let from, let to): write(26); writeVarint(id); write(from.rawValue); write(to.rawValue)
        case .tooManyTransfers(let a): write(27); write(a)
        case .transfersPending(let a): write(28); write(a)
        case .businessDateMismatch(let current, let closing): write(29); write(current); write(closing)
        case .businessDateNotAfter(let date, let current): write(30); write(date); write(current)
        case .settlementBeforeTrade(let settles, let traded): write(31); write(settles); write(traded)
        case .noBusinessDate: write(32)
        case .tradeDateAhead(let date, let current): write(33); write(date); write(current)
        case .tradeReferenceEmpty: write(34)
        case .tradeTermsInvalid(let s, let p, let q): write(35); write(s); write(p); write(q)
        case .tradeAlreadyCaptured(let id): write(36); writeVarint(id)
        case .tradeReferenceReused: write(37)
        case .tooManyCaptures: write(38)
        case .accountIDReserved(let a): write(39); write(a)
        case .unknownTrade(let t): write(40); write(t)
        case .tradeAlreadyCancelled(let t): write(41); write(t)
        case .tradeTermsMismatch(let t): write(42); write(t)
        case .tradeTooOldToCancel(let t): write(43); write(t)
        case .dividendInvalid(let s): write(44); write(s)
        case .splitInvalid(let s): write(45); write(s)
        case .tooManyCorporateActions: write(46)
        case .tradeAlreadyCleared(let t): write(47); write(t)
        case .notMarginAccount(let a): write(48); write(a)
        case .marginCallOpen(let a): write(49); write(a)
        case .noMarginCall(let a): write(50); write(a)
        case .referenceQuoteInvalid(let s, let bid, let ask): write(51); write(s); write(bid); write(ask)
        case .settlementInProgress(let date, let left): write(52); write(date); writeVarint(UInt64(left))
        case .noSettlementInProgress(let date): write(53); write(date)
        }
    }
}

extension ByteReader {
    public mutating func readRejectReason() throws(DecodeError) -> RejectReason {
        let at = offset
        switch try readByte() {
        case 1: return .unknownSymbol(try readSymbol())
        case 2: return .symbolHalted(try readSymbol())
        case 3: return .symbolClosed(try readSymbol())
        case 4: return .duplicateOrderID(try readOrderID())
        case 5: return .quantityNotPositive
        case 6: return .quantityBelowMinimum(try readQuantity(), minimum: try readQuantity())
        case 7: return .quantityAboveMaximum(try readQuantity(), maximum: try readQuantity())
        case 8: return .quantityNotMultipleOfLot(try readQuantity(), lot: try readQuantity())
        case 9: return .limitPriceRequired
        case 10: return .limitPriceNotAllowed
        case 11: return .stopPriceRequired
        case 12: return .stopPriceNotAllowed
        case 13: return .priceNotPositive(try readPrice())
        case 14: return .priceAboveMaximum(try readPrice())
        case 15: return .priceOffTick(try readPrice(), tick: try readPrice())
        case 16: return .trailingOffsetRequired
        case 17: return .trailingOffsetNotAllowed
        case 18: return .trailingOffsetInvalid
        case 19: return .displayQuantityInvalid(try readQuantity())
        case 20:
            return .timeInForceNotAllowed(try readEnum(TimeInForce.self, "time in force"),
                                          try readEnum(OrderType.self, "order type"))
        case 21: return .icebergMustRest
        case 22: return .postOnlyMustBeLimit
        case 23: return .expireTimeRequired
        case 24: return .expireTimeNotAllowed
        case 25: return .expireTimeInPast(Timestamp(nanos: try readSigned()))
        case 26: return .wouldTakeLiquidity
        case 27: return .noReferencePrice
        case 28: return .orderNotOpen(try readOrderID())
        case 29: return .replaceQuantityNotAboveFilled(try readQuantity(), filled: try readQuantity())
        case 30: return .replaceChangesNothing
        case 31: return .replaceNotAllowed(try readEnum(OrderType.self, "order type"))
        case 32: return .bookFull(try readSymbol())
        case 33: return .unknownAccount(try readAccountID())
        case 34: return .accountBlocked(try readAccountID())
        case 35: return .accountClosed(try readAccountID())
        case 36: return .reduceOnly(try readAccountID())
        case 37: return .insufficientBuyingPower(needs: try readMoney(), available: try readMoney())
        case 38:
            return .insufficientPosition(try readSymbol(), try readEnum(Side.self, "side"), needs: try readQuantity(),
                                         available: try readQuantity())
        case 39: return .notEasyToBorrow(try readSymbol())
        case 40: return .oppositeOrderOpen(try readSymbol(), try readEnum(Side.self, "side"))
        case 41: return .maintenanceDeficit(equity: try readMoney(), requirement: try readMoney())
        case 42: return .accountQuantityLimit(try readQuantity(), limit: try readQuantity())
        case 43: return .notionalAboveLimit(try readMoney(), limit: try readMoney())
        case 44: return .notionalOverflow
        case 45: return .openOrdersPerSymbolLimit(try readSymbol(), limit: try readSigned())
        case 46: return .openOrdersLimit(limit: try readSigned())
        case 47: return .positionLimit(try readSymbol(), would: try readQuantity(), limit: try readQuantity())
        case 48: return .priceOutsideCollar(try readPrice(), limit: try readPrice())
        case 49: return .noMarkPrice(try readSymbol())
        case 50: return .orderListIncomplete(try readEnum(OrderClass.self, "order class"))
        case 51: return .orderListTimeInForce(try readEnum(OrderClass.self, "order class"), try readEnum(TimeInForce.self, "time in force"))
        case 52: return .orderListEntryType(try readEnum(OrderClass.self, "order class"), try readEnum(OrderType.self, "order type"))
        case 53:
            return .exitPriceOutOfOrder(try readEnum(ExitLeg.self, "exit leg"), try readPrice(), bound: try readPrice(),
                                        mustBeAbove: try readBool())
        case 54: return .exitWouldOpen(try readSymbol())
        case 55: return .legQuantityFixed(try readOrderID())
        case 56: return .legHeld(try readOrderID())
        case let tag: throw DecodeError(.invalidTag("reject reason", UInt64(tag)), at: at)
        }
    }

    public mutating func readCommandRejectReason() throws(DecodeError) -> CommandRejectReason {
        let at = offset
        switch try readByte() {
        case 1: return .symbolAlreadyListed(try readSymbol())
        case 2: return .unknownSymbol(try readSymbol())
        case 3: return .invalidRules(try readSymbol())
        case 4: return .tooManySymbols
        case 5: return .accountsNotKept
        case 6: return .unknownAccount(try readAccountID())
        case 7: return .accountExists(try readAccountID())
        case 23: return .accountNumberTaken(try readAccountNumber())
        case 8: return .accountClosed(try readAccountID())
        case 9: return .tooManyAccounts
        case 10: return .invalidAccountTerms
        case 11: return .amountNotPositive(try readMoney())
        case 12: return .insufficientCash(needs: try readMoney(), available: try readMoney())
        case 13: return .insufficientPosition(try readSymbol(), needs: try readQuantity(), available: try readQuantity())
        case 14: return .balanceLimit(try readMoney())
        case 15: return .quantityInvalid(try readQuantity())
        case 16: return .costInvalid(try readPrice())
        case 17: return .positionLimit(try readSymbol(), would: try readQuantity(), limit: try readQuantity())
        case 18: return .accountNotEmpty(try readAccountID())
        case 19: return .feesInvalid(try readSymbol())
        case 20: return .shortSaleOpen(try readSymbol())
        case 21: return .positionShort(try readSymbol())
        case 22: return .insufficientEquity(needs: try readMoney(), available: try readMoney())
        case 24: return .journalToSelf(try readAccountID())
        case 25: return .unknownTransfer(try readVarint())
        case 26:
            return .transferStatus(try readVarint(), from: try readEnum(TransferStatus.self, "transfer status"),
                                   to: try readEnum(TransferStatus.self, "transfer status"))
        case 27: return .tooManyTransfers(try readAccountID())
        case 28: return .transfersPending(try readAccountID())
        case 29: return .businessDateMismatch(current: try readOptionalDate(), closing: try readOptionalDate())
        case 30: return .businessDateNotAfter(try readDate(), current: try readDate())
        case 31: return .settlementBeforeTrade(settles: try readDate(), traded: try readDate())
        case 32: return .noBusinessDate
        case 33: return .tradeDateAhead(try readDate(), current: try readDate())
        case 34: return .tradeReferenceEmpty
        case 35: return .tradeTermsInvalid(try readSymbol(), try readPrice(), try readQuantity())
        case 36: return .tradeAlreadyCaptured(try readVarint())
        case 37: return .tradeReferenceReused
        case 38: return .tooManyCaptures
        case 39: return .accountIDReserved(try readAccountID())
        case 40: return .unknownTrade(try readTradeRef())
        case 41: return .tradeAlreadyCancelled(try readTradeRef())
        case 42: return .tradeTermsMismatch(try readTradeRef())
        case 43: return .tradeTooOldToCancel(try readTradeRef())
        case 44: return .dividendInvalid(try readSymbol())
        case 45: return .splitInvalid(try readSymbol())
        case 46: return .tooManyCorporateActions
        case 47: return .tradeAlreadyCleared(try readTradeRef())
        case 48: return .notMarginAccount(try readAccountID())
        case 49: return .marginCallOpen(try readAccountID())
        case 50: return .noMarginCall(try readAccountID())
        case 51: return .referenceQuoteInvalid(try readSymbol(), bid: try readPrice(), ask: try readPrice())
        case 52:
            let date = try readDate(), at = offset
            guard let left = UInt32(exactly: try readVarint()) else { throw DecodeError(.invalidValue("obligations left"), at: at) }
            return .settlementInProgress(date, left: left)
        case 53: return .noSettlementInProgress(try readDate())
        case let tag: throw DecodeError(.invalidTag("command reject reason", UInt64(tag)), at: at)
        }
    }
}
