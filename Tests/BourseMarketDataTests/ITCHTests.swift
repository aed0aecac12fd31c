import BourseCore
import BourseMarketData
import Testing

/// Bytes from hex text; spaces are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func decode(_ bytes: [UInt8]) throws -> ITCH.Message {
    try bytes.withUnsafeBytes { b throws(ITCH.DecodeError) in try ITCH.decode(b) }
}

@Suite("ITCH 5.0 decoding")
struct ITCHTests {
    static let h = ITCH.Header(locate: 0x0102, tracking: 0x0304, timestamp: 0x0506_0708_090A)
    /// locate 0x0102, tracking 0x0304, timestamp 0x05060708090a.
    static let header = "0102 0304 05060708090a"
    static let aapl = ITCH.Stock("AAPL")!
    static let aaplBytes = "4141504c20202020"

    @Test("every message type decodes from its bytes, field for field, and encodes back to the same bytes")
    func everyType() throws {
        let h = Self.h, stock = Self.aapl
        let cases: [(String, ITCH.Message)] = [
            ("53 \(Self.header) 4f", .systemEvent(h, code: UInt8(ascii: "O"))),
            ("52 \(Self.header) \(Self.aaplBytes) 51 4e 00000064 4e 43 5a20 50 4e 20 31 4e 00000002 4e",
             .stockDirectory(h, ITCH.StockDirectory(stock: stock, marketCategory: 0x51, financialStatus: 0x4e, roundLotSize: 100,
                                                   roundLotsOnly: 0x4e, issueClassification: 0x43, issueSubType: 0x5a20, authenticity: 0x50,
                                                   shortSaleThreshold: 0x4e, ipoFlag: 0x20, luldReferencePriceTier: 0x31, etpFlag: 0x4e,
                                                   etpLeverageFactor: 2, inverse: 0x4e))),
            ("48 \(Self.header) \(Self.aaplBytes) 48 20 49504f31", .tradingAction(h, stock: stock, state: 0x48, reserved: 0x20, reason: 0x4950_4f31)),
            ("59 \(Self.header) \(Self.aaplBytes) 31", .regSHO(h, stock: stock, action: 0x31)),
            ("4c \(Self.header) 47534353 \(Self.aaplBytes) 59 4e 41",
             .marketParticipantPosition(h, mpid: 0x4753_4353, stock: stock, primary: 0x59, mode: 0x4e, state: 0x41)),
            ("56 \(Self.header) 0000001f4add2400 0000001d3ecd0a00 0000001a2dc05000",
             .mwcbDeclineLevel(h, level1: 0x1f_4add_2400, level2: 0x1d_3ecd_0a00, level3: 0x1a_2dc0_5000)),
            ("57 \(Self.header) 32", .mwcbStatus(h, level: 0x32)),
            ("4b \(Self.header) \(Self.aaplBytes) 00008ca0 41 0001d4c0", .ipoQuotingPeriod(h, stock: stock, releaseTime: 36_000, qualifier: 0x41, price: 120_000)),
            ("4a \(Self.header) \(Self.aaplBytes) 001cfde0 001e8480 001b7740 00000001",
             .luldAuctionCollar(h, stock: stock, reference: 1_900_000, upper: 2_000_000, lower: 1_800_000, extension: 1)),
            ("68 \(Self.header) \(Self.aaplBytes) 51 48", .operationalHalt(h, stock: stock, marketCode: 0x51, action: 0x48)),
            ("41 \(Self.header) 0000000000000007 42 00000064 \(Self.aaplBytes) 001cfde0",
             .addOrder(h, ITCH.AddOrder(reference: 7, side: .buy, shares: 100, stock: stock, price: 1_900_000))),
            ("46 \(Self.header) 0000000000000008 53 000000c8 \(Self.aaplBytes) 001d0d80 4e534454",
             .addOrder(h, ITCH.AddOrder(reference: 8, side: .sell, shares: 200, stock: stock, price: 1_904_000, attribution: 0x4e53_4454))),
            ("45 \(Self.header) 0000000000000007 0000000a 00000000000003e8", .orderExecuted(h, reference: 7, shares: 10, match: 1_000)),
            ("43 \(Self.header) 0000000000000007 0000000a 00000000000003e9 59 001cfe44",
             .orderExecutedWithPrice(h, reference: 7, shares: 10, match: 1_001, printable: true, price: 1_900_100)),
            ("58 \(Self.header) 0000000000000007 00000005", .orderCancel(h, reference: 7, shares: 5)),
            ("44 \(Self.header) 0000000000000007", .orderDelete(h, reference: 7)),
            ("55 \(Self.header) 0000000000000008 0000000000000009 00000032 001d0d81",
             .orderReplace(h, original: 8, new: 9, shares: 50, price: 1_904_001)),
            ("50 \(Self.header) 0000000000000000 42 00000064 \(Self.aaplBytes) 001cfde0 00000000000003ea",
             .trade(h, ITCH.Trade(reference: 0, side: .buy, shares: 100, stock: stock, price: 1_900_000, match: 1_002))),
            ("51 \(Self.header) 00000000000186a0 \(Self.aaplBytes) 001cfde0 00000000000003eb 4f",
             .crossTrade(h, ITCH.CrossTrade(shares: 100_000, stock: stock, price: 1_900_000, match: 1_003, crossType: 0x4f))),
            ("42 \(Self.header) 00000000000003ea", .brokenTrade(h, match: 1_002)),
            ("49 \(Self.header) 0000000000002710 00000000000001f4 42 \(Self.aaplBytes) 001cfde0 001cfe44 001cfd7c 4f 20",
             .imbalance(h, ITCH.Imbalance(pairedShares: 10_000, imbalanceShares: 500, direction: 0x42, stock: stock, farPrice: 1_900_000,
                                          nearPrice: 1_900_100, referencePrice: 1_899_900, crossType: 0x4f, priceVariation: 0x20))),
            ("4e \(Self.header) \(Self.aaplBytes) 41", .retailInterest(h, stock: stock, flag: 0x41)),
            ("4f \(Self.header) \(Self.aaplBytes) 59 000f4240 002dc6c0 001cfde0 0000000000000064 000e7ef0 0030d400",
             .directListing(h, ITCH.DirectListing(stock: stock, openEligibility: 0x59, minimumPrice: 1_000_000, maximumPrice: 3_000_000,
                                                  nearPrice: 1_900_000, nearTime: 100, lowerCollar: 950_000, upperCollar: 3_200_000))),
        ]
        #expect(Set(cases.map { hex($0.0)[0] }).count == 23, "one vector for each of the 23 types")
        for (text, expected) in cases {
            let bytes = hex(text)
            #expect(bytes.count == ITCH.lengths[Int(bytes[0])], "\(text)")
            #expect(try decode(bytes) == expected, "\(text)")
            #expect(ITCH.encode(expected) == bytes, "\(text)")
        }
    }

    @Test("timestamps use all six bytes; prices have four implied decimals to the last unit; symbols are space-padded")
    func fields() throws {
        // 23:59:59.999999999 and the largest six-byte value.
        for (bytes, nanos) in [("4e94914effff", UInt64(86_399_999_999_999)), ("ffffffffffff", UInt64(0xFFFF_FFFF_FFFF)),
                               ("000000000000", UInt64(0)), ("000100000000", UInt64(1) << 32)] {
            guard case .systemEvent(let h, _) = try decode(hex("53 0000 0000 \(bytes) 4f")) else { Issue.record("not a system event"); continue }
            #expect(h.timestamp == nanos)
        }
        for (bytes, units) in [("00000001", Int64(1)), ("ffffffff", Int64(UInt32.max)), ("000f4240", Int64(1_000_000))] {
            guard case .addOrder(_, let a) = try decode(hex("41 0000 0000 000000000000 0000000000000001 53 00000001 \(Self.aaplBytes) \(bytes)")) else {
                Issue.record("not an add")
                continue
            }
            #expect(Int64(a.price) == units)
            #expect(Price(units: Int64(a.price)).units == units)
        }
        #expect(Price(units: Int64(UInt32.max)).description == "429496.7295")
        #expect(Self.aapl.description == "AAPL" && Self.aapl.symbol == (try? Symbol(validating: "AAPL")))
        #expect(ITCH.Stock("BRK.B")?.description == "BRK.B" && ITCH.Stock("TOOLONGSYM") == nil)
    }

    @Test("malformed or truncated input is an error naming the offset, and what came before it is visited")
    func malformed() throws {
        var file: [UInt8] = []
        ITCH.append(.systemEvent(Self.h, code: UInt8(ascii: "O")), to: &file)
        let good = file.count
        func errorOf(_ bytes: [UInt8]) -> ITCH.DecodeError? {
            var visited = 0
            do {
                try bytes.withUnsafeBytes { b in try ITCH.forEachMessage(in: b) { _ in visited += 1 } }
                return nil
            } catch let error as ITCH.DecodeError {
                #expect(visited == 1)
                return error
            } catch {
                return nil
            }
        }
        #expect(errorOf(file + [0x00]) == ITCH.DecodeError(offset: good, reason: "truncated length prefix: 1 byte where 2 are needed"))
        #expect(errorOf(file + [0x00, 0x0c, 0x53]) == ITCH.DecodeError(offset: good, reason: "truncated message: length 12 but 1 bytes remain"))
        #expect(errorOf(file + [0x00, 0x01, 0x5a]) == ITCH.DecodeError(offset: good + 2, reason: "unknown message type 0x5a ('Z')"))
        #expect(errorOf(file + [0x00, 0x02, 0x53, 0x00]) == ITCH.DecodeError(offset: good + 2, reason: "message 'S' of 2 bytes, where the type has 12"))
        var badSide = hex("41 0000 0000 000000000000 0000000000000001 58 00000001 \(Self.aaplBytes) 00000001")
        badSide = [0, UInt8(badSide.count)] + badSide
        #expect(errorOf(file + badSide) == ITCH.DecodeError(offset: good + 2 + 19, reason: "buy/sell indicator 0x58 is neither B nor S"))
        #expect(throws: ITCH.DecodeError(offset: 0, reason: "empty message")) { try decode([]) }
    }

    @Test("a generated day replayed into books ends where an independent computation of its orders ends")
    func booksFromAGeneratedFile() throws {
        var rng = SplitMix64(seed: 5)
        let stocks = ["AAPL", "MSFT", "SPY", "TSLA", "BRK.B"].map { ITCH.Stock($0)! }
        var file: [UInt8] = []
        var time: UInt64 = 34_200_000_000_000
        func header(_ locate: Int) -> ITCH.Header {
            time += 1 + rng.next() % 1_000
            return ITCH.Header(locate: UInt16(locate + 1), tracking: 0, timestamp: time)
        }
        for (i, stock) in stocks.enumerated() { ITCH.append(.stockDirectory(header(i), ITCH.StockDirectory(stock: stock)), to: &file) }
        // The independent model: each open order's stock, side, price and shares.
        var open: [UInt64: (stock: Int, side: Side, price: UInt32, shares: UInt32)] = [:]
        // The open references in an array too, to pick one at random in constant time.
        var references: [UInt64] = []
        var listed: [UInt64: Int] = [:]
        func opened(_ reference: UInt64, _ order: (stock: Int, side: Side, price: UInt32, shares: UInt32)) {
            open[reference] = order
            listed[reference] = references.count
            references.append(reference)
        }
        func closed(_ reference: UInt64) {
            open[reference] = nil
            let i = listed.removeValue(forKey: reference)!
            references.swapAt(i, references.count - 1)
            references.removeLast()
            if i < references.count { listed[references[i]] = i }
        }
        var nextReference: UInt64 = 1
        var match: UInt64 = 1
        for _ in 0..<40_000 {
            let roll = rng.next() % 100
            let existing = references.isEmpty ? nil : references[Int(rng.next() % UInt64(references.count))]
            if roll < 40 || existing == nil {
                let s = Int(rng.next() % 5)
                let side: Side = rng.next() % 2 == 0 ? .buy : .sell
                let price = UInt32(1_000_000 + (rng.next() % 200) * 100 + (side == .sell ? 20_000 : 0))
                let shares = UInt32(1 + rng.next() % 500)
                ITCH.append(.addOrder(header(s), ITCH.AddOrder(reference: nextReference, side: side, shares: shares, stock: stocks[s], price: price,
                                                              attribution: rng.next() % 4 == 0 ? 0x4e53_4454 : nil)), to: &file)
                opened(nextReference, (s, side, price, shares))
                nextReference += 1
            } else if let reference = existing, var order = open[reference] {
                let part = UInt32(1 + rng.next() % UInt64(order.shares))
                switch roll {
                case 40..<55:
                    ITCH.append(.orderExecuted(header(order.stock), reference: reference, shares: part, match: match), to: &file)
                    match += 1
                case 55..<62:
                    ITCH.append(.orderExecutedWithPrice(header(order.stock), reference: reference, shares: part, match: match, printable: true,
                                                        price: order.price + 1), to: &file)
                    match += 1
                case 62..<72:
                    ITCH.append(.orderCancel(header(order.stock), reference: reference, shares: part), to: &file)
                case 72..<85:
                    ITCH.append(.orderDelete(header(order.stock), reference: reference), to: &file)
                    closed(reference)
                    continue
                case 85..<95:
                    let price = UInt32(Int64(order.price) + Int64(rng.next() % 11) * 100 - 500)
                    let shares = UInt32(1 + rng.next() % 500)
                    ITCH.append(.orderReplace(header(order.stock), original: reference, new: nextReference, shares: shares, price: price), to: &file)
                    closed(reference)
                    opened(nextReference, (order.stock, order.side, price, shares))
                    nextReference += 1
                    continue
                default:
                    // Trades of non-displayed orders and broken trades leave the books alone.
                    ITCH.append(.trade(header(order.stock), ITCH.Trade(reference: 0, side: order.side, shares: part, stock: stocks[order.stock],
                                                                      price: order.price, match: match)), to: &file)
                    ITCH.append(.brokenTrade(header(order.stock), match: match), to: &file)
                    match += 1
                    continue
                }
                order.shares -= part
                if order.shares == 0 { closed(reference) } else { open[reference] = order }
            }
        }
        var books = ITCHBooks()
        var messages = 0
        try file.withUnsafeBytes { b in
            try ITCH.forEachMessage(in: b) { message in
                books.apply(message)
                messages += 1
            }
        }
        #expect(messages > 40_000)
        #expect(books.anomalies == 0)
        #expect(books.orderCount == open.count)
        for (i, stock) in stocks.enumerated() {
            for side in [Side.buy, .sell] {
                var expected: [UInt32: Int64] = [:]
                for order in open.values where order.stock == i && order.side == side { expected[order.price, default: 0] += Int64(order.shares) }
                let levels = books.book(stock)?.levels(side) ?? []
                let built: [UInt32: Int64] = Dictionary(uniqueKeysWithValues: levels.map { ($0.price, $0.shares) })
                #expect(built == expected, "\(stock) \(side)")
                let prices: [UInt32] = levels.map(\.price)
                let bestFirst: [UInt32] = side == .buy ? prices.sorted(by: >) : prices.sorted()
                #expect(prices == bestFirst)
            }
        }
    }

    @Test("an order the books do not hold, or an execution larger than the order, is counted and skipped")
    func anomalies() {
        var books = ITCHBooks()
        books.apply(.orderDelete(Self.h, reference: 99))
        books.apply(.addOrder(Self.h, ITCH.AddOrder(reference: 1, side: .buy, shares: 10, stock: Self.aapl, price: 100)))
        books.apply(.addOrder(Self.h, ITCH.AddOrder(reference: 1, side: .buy, shares: 10, stock: Self.aapl, price: 100)))
        books.apply(.orderExecuted(Self.h, reference: 1, shares: 15, match: 1))
        #expect(books.anomalies == 3)
        #expect(books.orderCount == 0 && books.book(Self.aapl)?.levels(.buy).isEmpty == true)
    }
}
