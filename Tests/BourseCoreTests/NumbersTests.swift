import BourseCore
import Testing

@Suite("fixed-point numbers and symbols")
struct NumbersTests {
    @Test("dollar strings parse to exact units and format back", arguments: [
        ("101.25", 1_012_500), ("0.0001", 1), ("7", 70_000), ("0.5", 5_000), ("10000000", 100_000_000_000),
    ])
    func parseAndFormat(text: String, units: Int64) {
        #expect(Price(dollars: text)?.units == units)
        #expect(Price(dollars: Price(units: units).description)?.units == units)
    }

    @Test("malformed or over-precise prices are refused", arguments: ["", ".", "1.00001", "-1", "1e3", "1.2.3", "abc", "99999999999999999999"])
    func malformedPrices(text: String) {
        #expect(Price(dollars: text) == nil)
    }

    @Test("notional that would overflow is reported, not wrapped")
    func notionalOverflow() {
        #expect(Money.notional(Price(units: 1_012_500), Quantity(100)) == Money(units: 101_250_000))
        #expect(Money.notional(Price(units: Int64.max / 2), Quantity(3)) == nil)
    }

    @Test("symbols take 1 to 8 of A-Z, 0-9 and '.'")
    func symbols() throws {
        #expect(try Symbol(validating: "BRK.B").description == "BRK.B")
        #expect(try Symbol(validating: "A") < Symbol(validating: "AA"))
        #expect(throws: Symbol.ParseError.empty) { try Symbol(validating: "") }
        #expect(throws: Symbol.ParseError.tooLong(length: 9)) { try Symbol(validating: "ABCDEFGHI") }
        #expect(throws: Symbol.ParseError.invalidCharacter("a")) { try Symbol(validating: "aapl") }
        #expect(Symbol(packed: 0) == nil)
        let s = try Symbol(validating: "XYZ9")
        #expect(Symbol(packed: s.packed) == s)
    }

    @Test("the standard tick table is a cent from $1.00 and a hundredth of a cent below")
    func standardTicks() {
        let t = TickTable.standard
        #expect(t.isOnTick(Price(units: 10_100)))
        #expect(!t.isOnTick(Price(units: 10_150)))
        #expect(t.isOnTick(Price(units: 9_999)))
        #expect(t.roundDown(Price(units: 10_199)) == Price(units: 10_100))
        #expect(t.roundUp(Price(units: 10_101)) == Price(units: 10_200))
        #expect(TickTable.halfPenny.isOnTick(Price(units: 10_150)))
        #expect(!TickTable.halfPenny.isOnTick(Price(units: 10_125)))
    }

    @Test("tick tables refuse bands that do not line up")
    func invalidTables() {
        #expect(throws: TickTable.Invalid.firstBandNotAtZero) {
            try TickTable(bands: [.init(from: Price(units: 1), tick: Price(units: 1))])
        }
        #expect(throws: TickTable.Invalid.bandStartOffTick(Price(units: 150))) {
            try TickTable(bands: [.init(from: .zero, tick: Price(units: 100)), .init(from: Price(units: 150), tick: Price(units: 50))])
        }
    }

    @Test("CRC-32C matches the standard check value")
    func crc() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let whole = CRC32C.checksum(bytes)
        let split = bytes.withUnsafeBytes { b in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[500...]),
                            continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[..<500])))
        }
        #expect(whole == split)
    }
}
