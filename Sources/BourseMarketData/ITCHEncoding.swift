import BourseCore

extension ITCH {
    /// The message's bytes, exactly as the specification lays them out: for files and feeds that Bourse
    /// writes itself (a venue simulator, tests, benchmarks).
    public static func encode(_ message: Message) -> [UInt8] {
        var w = Writer()
        func header(_ type: Character, _ h: Header) {
            w.u8(type.asciiValue!)
            w.u16(h.locate)
            w.u16(h.tracking)
            w.u16(UInt16(truncatingIfNeeded: h.timestamp >> 32))
            w.u32(UInt32(truncatingIfNeeded: h.timestamp))
        }
        func side(_ s: Side) { w.u8(s == .buy ? UInt8(ascii: "B") : UInt8(ascii: "S")) }
        switch message {
        case .systemEvent(let h, let code): header("S", h); w.u8(code)
        case .stockDirectory(let h, let d):
            header("R", h); w.u64(d.stock.raw); w.u8(d.marketCategory); w.u8(d.financialStatus); w.u32(d.roundLotSize)
            w.u8(d.roundLotsOnly); w.u8(d.issueClassification); w.u16(d.issueSubType); w.u8(d.authenticity); w.u8(d.shortSaleThreshold)
            w.u8(d.ipoFlag); w.u8(d.luldReferencePriceTier); w.u8(d.etpFlag); w.u32(d.etpLeverageFactor); w.u8(d.inverse)
        case .tradingAction(let h, let stock, let state, let reserved, let reason):
            header("H", h); w.u64(stock.raw); w.u8(state); w.u8(reserved); w.u32(reason)
        case .regSHO(let h, let stock, let action): header("Y", h); w.u64(stock.raw); w.u8(action)
        case .marketParticipantPosition(let h, let mpid, let stock, let primary, let mode, let state):
            header("L", h); w.u32(mpid); w.u64(stock.raw); w.u8(primary); w.u8(mode); w.u8(state)
        case .mwcbDeclineLevel(let h, let l1, let l2, let l3): header("V", h); w.u64(l1); w.u64(l2); w.u64(l3)
        case .mwcbStatus(let h, let level): header("W", h); w.u8(level)
        case .ipoQuotingPeriod(let h, let stock, let time, let qualifier, let price):
            header("K", h); w.u64(stock.raw); w.u32(time); w.u8(qualifier); w.u32(price)
        case .luldAuctionCollar(let h, let stock, let reference, let upper, let lower, let ext):
            header("J", h); w.u64(stock.raw); w.u32(reference); w.u32(upper); w.u32(lower); w.u32(ext)
        case .operationalHalt(let h, let stock, let market, let action): header("h", h); w.u64(stock.raw); w.u8(market); w.u8(action)
        case .addOrder(let h, let a):
            header(a.attribution == nil ? "A" : "F", h); w.u64(a.reference); side(a.side); w.u32(a.shares); w.u64(a.stock.raw); w.u32(a.price)
            if let attribution = a.attribution { w.u32(attribution) }
        case .orderExecuted(let h, let reference, let shares, let match): header("E", h); w.u64(reference); w.u32(shares); w.u64(match)
        case .orderExecutedWithPrice(let h, let reference, let shares, let match, let printable, let price):
            header("C", h); w.u64(reference); w.u32(shares); w.u64(match); w.u8(printable ? UInt8(ascii: "Y") : UInt8(ascii: "N")); w.u32(price)
        case .orderCancel(let h, let reference, let shares): header("X", h); w.u64(reference); w.u32(shares)
        case .orderDelete(let h, let reference): header("D", h); w.u64(reference)
        case .orderReplace(let h, let original, let new, let shares, let price):
            header("U", h); w.u64(original); w.u64(new); w.u32(shares); w.u32(price)
        case .trade(let h, let t):
            header("P", h); w.u64(t.reference); side(t.side); w.u32(t.shares); w.u64(t.stock.raw); w.u32(t.price); w.u64(t.match)
        case .crossTrade(let h, let c): header("Q", h); w.u64(c.shares); w.u64(c.stock.raw); w.u32(c.price); w.u64(c.match); w.u8(c.crossType)
        case .brokenTrade(let h, let match): header("B", h); w.u64(match)
        case .imbalance(let h, let i):
            header("I", h); w.u64(i.pairedShares); w.u64(i.imbalanceShares); w.u8(i.direction); w.u64(i.stock.raw); w.u32(i.farPrice)
            w.u32(i.nearPrice); w.u32(i.referencePrice); w.u8(i.crossType); w.u8(i.priceVariation)
        case .retailInterest(let h, let stock, let flag): header("N", h); w.u64(stock.raw); w.u8(flag)
        case .directListing(let h, let d):
            header("O", h); w.u64(d.stock.raw); w.u8(d.openEligibility); w.u32(d.minimumPrice); w.u32(d.maximumPrice); w.u32(d.nearPrice)
            w.u64(d.nearTime); w.u32(d.lowerCollar); w.u32(d.upperCollar)
        }
        return w.bytes
    }

    /// Appends a message to a file of length-prefixed messages.
    public static func append(_ message: Message, to file: inout [UInt8]) {
        let bytes = encode(message)
        file.append(UInt8(bytes.count >> 8))
        file.append(UInt8(bytes.count & 0xff))
        file.append(contentsOf: bytes)
    }

    private struct Writer {
        var bytes: [UInt8] = []
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
        mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
        mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    }
}
