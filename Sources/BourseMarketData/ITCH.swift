import BourseCore

/// NASDAQ TotalView-ITCH 5.0: every message type of the specification, decoded from big-endian bytes
/// without allocating. Prices are kept as ITCH gives them, in 1/10,000 dollar (Bourse's own unit), except
/// the circuit breaker levels, which ITCH gives in 1/100,000,000. Timestamps are nanoseconds since
/// midnight in 6 bytes.
public enum ITCH {
    /// An 8-character, space-padded stock symbol as its raw bytes (the first character in the high byte).
    public struct Stock: Hashable, Sendable, CustomStringConvertible {
        public var raw: UInt64
        public init(raw: UInt64) { self.raw = raw }

        /// From text of at most 8 ASCII characters, padded with spaces.
        public init?(_ text: String) {
            let bytes = Array(text.utf8)
            guard !bytes.isEmpty, bytes.count <= 8, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
            var raw: UInt64 = 0
            for i in 0..<8 { raw = raw << 8 | UInt64(i < bytes.count ? bytes[i] : 0x20) }
            self.raw = raw
        }

        public var description: String {
            var bytes: [UInt8] = []
            for i in (0..<8).reversed() { bytes.append(UInt8(truncatingIfNeeded: raw >> (UInt64(i) * 8))) }
            while bytes.last == 0x20 { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// Bourse's symbol for it, when it is one (1–8 of A–Z, 0–9 and '.').
        public var symbol: Symbol? { try? Symbol(validating: description) }
    }

    /// What every message begins with after its type.
    public struct Header: Hashable, Sendable {
        public var locate: UInt16
        public var tracking: UInt16
        /// Nanoseconds since midnight.
        public var timestamp: UInt64
        public init(locate: UInt16, tracking: UInt16, timestamp: UInt64) {
            self.locate = locate
            self.tracking = tracking
            self.timestamp = timestamp
        }
    }

    public struct StockDirectory: Hashable, Sendable {
        public var stock: Stock
        public var marketCategory: UInt8
        public var financialStatus: UInt8
        public var roundLotSize: UInt32
        public var roundLotsOnly: UInt8
        public var issueClassification: UInt8
        public var issueSubType: UInt16
        public var authenticity: UInt8
        public var shortSaleThreshold: UInt8
        public var ipoFlag: UInt8
        public var luldReferencePriceTier: UInt8
        public var etpFlag: UInt8
        public var etpLeverageFactor: UInt32
        public var inverse: UInt8

        public init(stock: ITCH.Stock, marketCategory: UInt8 = UInt8(ascii: "Q"), financialStatus: UInt8 = UInt8(ascii: "N"),
                    roundLotSize: UInt32 = 100, roundLotsOnly: UInt8 = UInt8(ascii: "N"), issueClassification: UInt8 = UInt8(ascii: "C"),
                    issueSubType: UInt16 = 0x5a20, authenticity: UInt8 = UInt8(ascii: "P"), shortSaleThreshold: UInt8 = UInt8(ascii: "N"),
                    ipoFlag: UInt8 = UInt8(ascii: " "), luldReferencePriceTier: UInt8 = UInt8(ascii: "1"), etpFlag: UInt8 = UInt8(ascii: "N"),
                    etpLeverageFactor: UInt32 = 0, inverse: UInt8 = UInt8(ascii: "N")) {
            self.stock = stock
            self.marketCategory = marketCategory
            self.financialStatus = financialStatus
            self.roundLotSize = roundLotSize
            self.roundLotsOnly = roundLotsOnly
            self.issueClassification = issueClassification
            self.issueSubType = issueSubType
            self.authenticity = authenticity
            self.shortSaleThreshold = shortSaleThreshold
            self.ipoFlag = ipoFlag
            self.luldReferencePriceTier = luldReferencePriceTier
            self.etpFlag = etpFlag
            self.etpLeverageFactor = etpLeverageFactor
            self.inverse = inverse
        }
    }

    public struct AddOrder: Hashable, Sendable {
        public var reference: UInt64
        public var side: Side
        public var shares: UInt32
        public var stock: Stock
        public var price: UInt32
        /// The market participant, for `F` messages.
        public var attribution: UInt32?

        public init(reference: UInt64, side: Side, shares: UInt32, stock: ITCH.Stock, price: UInt32, attribution: UInt32? = nil) {
            self.reference = reference
            self.side = side
            self.shares = shares
            self.stock = stock
            self.price = price
            self.attribution = attribution
        }
    }

    public struct Trade: Hashable, Sendable {
        public var reference: UInt64
        public var side: Side
        public var shares: UInt32
        public var stock: Stock
        public var price: UInt32
        public var match: UInt64

        public init(reference: UInt64, side: Side, shares: UInt32, stock: ITCH.Stock, price: UInt32, match: UInt64) {
            self.reference = reference
            self.side = side
            self.shares = shares
            self.stock = stock
            self.price = price
            self.match = match
        }
    }

    public struct CrossTrade: Hashable, Sendable {
        public var shares: UInt64
        public var stock: Stock
        public var price: UInt32
        public var match: UInt64
        public var crossType: UInt8

        public init(shares: UInt64, stock: ITCH.Stock, price: UInt32, match: UInt64, crossType: UInt8) {
            self.shares = shares
            self.stock = stock
            self.price = price
            self.match = match
            self.crossType = crossType
        }
    }

    public struct Imbalance: Hashable, Sendable {
        public var pairedShares: UInt64
        public var imbalanceShares: UInt64
        public var direction: UInt8
        public var stock: Stock
        public var farPrice: UInt32
        public var nearPrice: UInt32
        public var referencePrice: UInt32
        public var crossType: UInt8
        public var priceVariation: UInt8

        public init(pairedShares: UInt64, imbalanceShares: UInt64, direction: UInt8, stock: ITCH.Stock, farPrice: UInt32, nearPrice: UInt32,
                    referencePrice: UInt32, crossType: UInt8, priceVariation: UInt8) {
            self.pairedShares = pairedShares
            self.imbalanceShares = imbalanceShares
            self.direction = direction
            self.stock = stock
            self.farPrice = farPrice
            self.nearPrice = nearPrice
            self.referencePrice = referencePrice
            self.crossType = crossType
            self.priceVariation = priceVariation
        }
    }

    public struct DirectListing: Hashable, Sendable {
        public var stock: Stock
        public var openEligibility: UInt8
        public var minimumPrice: UInt32
        public var maximumPrice: UInt32
        public var nearPrice: UInt32
        public var nearTime: UInt64
        public var lowerCollar: UInt32
        public var upperCollar: UInt32

        public init(stock: ITCH.Stock, openEligibility: UInt8, minimumPrice: UInt32, maximumPrice: UInt32, nearPrice: UInt32,
                    nearTime: UInt64, lowerCollar: UInt32, upperCollar: UInt32) {
            self.stock = stock
            self.openEligibility = openEligibility
            self.minimumPrice = minimumPrice
            self.maximumPrice = maximumPrice
            self.nearPrice = nearPrice
            self.nearTime = nearTime
            self.lowerCollar = lowerCollar
            self.upperCollar = upperCollar
        }
    }

    public enum Message: Hashable, Sendable {
        case systemEvent(Header, code: UInt8)
        case stockDirectory(Header, StockDirectory)
        case tradingAction(Header, stock: Stock, state: UInt8, reserved: UInt8, reason: UInt32)
        case regSHO(Header, stock: Stock, action: UInt8)
        case marketParticipantPosition(Header, mpid: UInt32, stock: Stock, primary: UInt8, mode: UInt8, state: UInt8)
        /// The three decline levels, in 1/100,000,000 dollar.
        case mwcbDeclineLevel(Header, level1: UInt64, level2: UInt64, level3: UInt64)
        case mwcbStatus(Header, level: UInt8)
        case ipoQuotingPeriod(Header, stock: Stock, releaseTime: UInt32, qualifier: UInt8, price: UInt32)
        case luldAuctionCollar(Header, stock: Stock, reference: UInt32, upper: UInt32, lower: UInt32, extension: UInt32)
        case operationalHalt(Header, stock: Stock, marketCode: UInt8, action: UInt8)
        case addOrder(Header, AddOrder)
        case orderExecuted(Header, reference: UInt64, shares: UInt32, match: UInt64)
        case orderExecutedWithPrice(Header, reference: UInt64, shares: UInt32, match: UInt64, printable: Bool, price: UInt32)
        case orderCancel(Header, reference: UInt64, shares: UInt32)
        case orderDelete(Header, reference: UInt64)
        case orderReplace(Header, original: UInt64, new: UInt64, shares: UInt32, price: UInt32)
        case trade(Header, Trade)
        case crossTrade(Header, CrossTrade)
        case brokenTrade(Header, match: UInt64)
        case imbalance(Header, Imbalance)
        case retailInterest(Header, stock: Stock, flag: UInt8)
        case directListing(Header, DirectListing)
    }

    /// Malformed or truncated input, with the byte offset where it starts.
    public struct DecodeError: Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "ITCH: \(reason) at offset \(offset)" }
        public init(offset: Int, reason: String) {
            self.offset = offset
            self.reason = reason
        }
    }

    /// Each message type's length, by its type byte; 0 for bytes that are not a type.
    public static let lengths: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for (type, length) in [("S", 12), ("R", 39), ("H", 25), ("Y", 20), ("L", 26), ("V", 35), ("W", 12), ("K", 28), ("J", 35),
                               ("h", 21), ("A", 36), ("F", 40), ("E", 31), ("C", 36), ("X", 23), ("D", 19), ("U", 35), ("P", 44),
                               ("Q", 40), ("B", 19), ("I", 50), ("N", 20), ("O", 48)] {
            table[Int(Character(type).asciiValue!)] = length
        }
        return table
    }()

    /// Decodes the one message that `bytes` holds exactly; `offset` is where it lies in its file, for errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) throws(DecodeError) -> Message {
        guard let type = bytes.first else { throw DecodeError(offset: offset, reason: "empty message") }
        let expected = lengths[Int(type)]
        guard expected > 0 else {
            throw DecodeError(offset: offset, reason: "unknown message type 0x\(String(type, radix: 16)) ('\(Character(Unicode.Scalar(type)))')")
        }
        guard bytes.count == expected else {
            throw DecodeError(offset: offset, reason: "message '\(Character(Unicode.Scalar(type)))' of \(bytes.count) bytes, where the type has \(expected)")
        }
        let r = Reader(bytes)
        let h = Header(locate: r.u16(1), tracking: r.u16(3), timestamp: r.u48(5))
        switch type {
        case UInt8(ascii: "S"): return .systemEvent(h, code: r.u8(11))
        case UInt8(ascii: "R"):
            return .stockDirectory(h, StockDirectory(
                stock: r.stock(11), marketCategory: r.u8(19), financialStatus: r.u8(20), roundLotSize: r.u32(21), roundLotsOnly: r.u8(25),
                issueClassification: r.u8(26), issueSubType: r.u16(27), authenticity: r.u8(29), shortSaleThreshold: r.u8(30),
                ipoFlag: r.u8(31), luldReferencePriceTier: r.u8(32), etpFlag: r.u8(33), etpLeverageFactor: r.u32(34), inverse: r.u8(38)))
        case UInt8(ascii: "H"): return .tradingAction(h, stock: r.stock(11), state: r.u8(19), reserved: r.u8(20), reason: r.u32(21))
        case UInt8(ascii: "Y"): return .regSHO(h, stock: r.stock(11), action: r.u8(19))
        case UInt8(ascii: "L"):
            return .marketParticipantPosition(h, mpid: r.u32(11), stock: r.stock(15), primary: r.u8(23), mode: r.u8(24), state: r.u8(25))
        case UInt8(ascii: "V"): return .mwcbDeclineLevel(h, level1: r.u64(11), level2: r.u64(19), level3: r.u64(27))
        case UInt8(ascii: "W"): return .mwcbStatus(h, level: r.u8(11))
        case UInt8(ascii: "K"): return .ipoQuotingPeriod(h, stock: r.stock(11), releaseTime: r.u32(19), qualifier: r.u8(23), price: r.u32(24))
        case UInt8(ascii: "J"):
            return .luldAuctionCollar(h, stock: r.stock(11), reference: r.u32(19), upper: r.u32(23), lower: r.u32(27), extension: r.u32(31))
        case UInt8(ascii: "h"): return .operationalHalt(h, stock: r.stock(11), marketCode: r.u8(19), action: r.u8(20))
        case UInt8(ascii: "A"), UInt8(ascii: "F"):
            return .addOrder(h, AddOrder(reference: r.u64(11), side: try r.side(19, offset), shares: r.u32(20), stock: r.stock(24),
                                         price: r.u32(32), attribution: type == UInt8(ascii: "F") ? r.u32(36) : nil))
        case UInt8(ascii: "E"): return .orderExecuted(h, reference: r.u64(11), shares: r.u32(19), match: r.u64(23))
        case UInt8(ascii: "C"):
            return .orderExecutedWithPrice(h, reference: r.u64(11), shares: r.u32(19), match: r.u64(23), printable: r.u8(31) == UInt8(ascii: "Y"),
                                           price: r.u32(32))
        case UInt8(ascii: "X"): return .orderCancel(h, reference: r.u64(11), shares: r.u32(19))
        case UInt8(ascii: "D"): return .orderDelete(h, reference: r.u64(11))
        case UInt8(ascii: "U"): return .orderReplace(h, original: r.u64(11), new: r.u64(19), shares: r.u32(27), price: r.u32(31))
        case UInt8(ascii: "P"):
            return .trade(h, Trade(reference: r.u64(11), side: try r.side(19, offset), shares: r.u32(20), stock: r.stock(24),
                                   price: r.u32(32), match: r.u64(36)))
        case UInt8(ascii: "Q"):
            return .crossTrade(h, CrossTrade(shares: r.u64(11), stock: r.stock(19), price: r.u32(27), match: r.u64(31), crossType: r.u8(39)))
        case UInt8(ascii: "B"): return .brokenTrade(h, match: r.u64(11))
        case UInt8(ascii: "I"):
            return .imbalance(h, Imbalance(pairedShares: r.u64(11), imbalanceShares: r.u64(19), direction: r.u8(27), stock: r.stock(28),
                                           farPrice: r.u32(36), nearPrice: r.u32(40), referencePrice: r.u32(44), crossType: r.u8(48),
                                           priceVariation: r.u8(49)))
        case UInt8(ascii: "N"): return .retailInterest(h, stock: r.stock(11), flag: r.u8(19))
        default:
            return .directListing(h, DirectListing(stock: r.stock(11), openEligibility: r.u8(19), minimumPrice: r.u32(20),
                                                   maximumPrice: r.u32(24), nearPrice: r.u32(28), nearTime: r.u64(32),
                                                   lowerCollar: r.u32(40), upperCollar: r.u32(44)))
        }
    }

    /// Big-endian fields at fixed offsets of a message whose length has been checked.
    struct Reader {
        let b: UnsafeRawBufferPointer
        init(_ b: UnsafeRawBufferPointer) { self.b = b }
        func u8(_ o: Int) -> UInt8 { b[o] }
        func u16(_ o: Int) -> UInt16 { UInt16(bigEndian: b.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(bigEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(bigEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        /// Six bytes: the timestamp.
        func u48(_ o: Int) -> UInt64 { UInt64(u16(o)) << 32 | UInt64(u32(o + 2)) }
        func stock(_ o: Int) -> Stock { Stock(raw: u64(o)) }
        func side(_ o: Int, _ offset: Int) throws(DecodeError) -> Side {
            switch b[o] {
            case UInt8(ascii: "B"): return .buy
            case UInt8(ascii: "S"): return .sell
            case let other: throw DecodeError(offset: offset + o, reason: "buy/sell indicator 0x\(String(other, radix: 16)) is neither B nor S")
            }
        }
    }

    /// Visits each message of a file of length-prefixed messages (a 2-byte big-endian length before each,
    /// as NASDAQ's files have them). A truncated last message, a length that does not fit its type, or an
    /// unknown type is an error naming its offset; what came before it has been visited.
    public static func forEachMessage(in file: UnsafeRawBufferPointer, _ visit: (Message) throws -> Void) throws {
        var offset = 0
        while offset < file.count {
            guard offset + 2 <= file.count else {
                throw DecodeError(offset: offset, reason: "truncated length prefix: 1 byte where 2 are needed")
            }
            let length = Int(UInt16(file[offset]) << 8 | UInt16(file[offset + 1]))
            guard offset + 2 + length <= file.count else {
                throw DecodeError(offset: offset, reason: "truncated message: length \(length) but \(file.count - offset - 2) bytes remain")
            }
            let message = try decode(UnsafeRawBufferPointer(rebasing: file[(offset + 2)..<(offset + 2 + length)]), offset: offset + 2)
            try visit(message)
            offset += 2 + length
        }
    }
}
