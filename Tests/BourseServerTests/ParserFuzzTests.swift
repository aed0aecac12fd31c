@testable import BourseServer
@testable import BourseVenue
import BourseCore
import BourseEngine
import BourseMarketData
import BourseTestSupport
import Foundation
import Testing

/// Random and mutated inputs for the parsers that read outside data, seeded and bounded in count: none
/// may trap (a trap ends the test run), and each either reads the input or refuses it with a named error.
/// Valid inputs are mutated a byte at a time (flipped, inserted, removed, repeated), so most cases sit
/// close to what the parser accepts, where the edge cases are.
@Suite("parsers under random and mutated input")
struct ParserFuzzTests {
    static let casesPerParser = 20_000

    /// `seeds` mutated `count` times in all, one to four edits each.
    static func mutations(of seeds: [[UInt8]], count: Int = casesPerParser, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        let interesting: [UInt8] = Array(#"0123456789.-+eE:TZz"{}[],\ "#.utf8) + [0, 0x7F, 0x80, 0xFF]
        return (0..<count).map { _ in
            var bytes = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
                let byte = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !bytes.isEmpty: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                case 2 where !bytes.isEmpty: bytes.remove(at: at)
                default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 8)], at: at)
                }
            }
            return bytes
        }
    }

    @Test("times and dates: every answer is a valid instant in range, or nil")
    func times() {
        let seeds = ["2026-11-20T14:30:00Z", "2026-11-20T14:30:00.123456789-05:00", "2261-12-31", "1678-01-01T00:00:00+23:59"].map { Array($0.utf8) }
        var read = 0
        for bytes in Self.mutations(of: seeds, seed: 1) {
            let text = String(decoding: bytes, as: UTF8.self)
            if let nanos = API.parseTime(text) {
                read += 1
                // What was read writes back as a time of the same instant.
                #expect(API.parseTime(API.time(Timestamp(nanos: nanos))) == nanos, "\(text)")
            }
            if let date = CivilDate(text) { #expect(CivilDate.supported.contains(date) && date.description == text, "\(text)") }
        }
        #expect(read > 100)
    }

    @Test("prices and quantities: a parsed price formats back to the same units; nothing else is read")
    func numbers() {
        let seeds = ["190.25", "0.0001", "10000000", "1", "99999999999999.9999"].map { Array($0.utf8) }
        for bytes in Self.mutations(of: seeds, seed: 2) {
            let text = String(decoding: bytes, as: UTF8.self)
            if let price = Price(dollars: text) {
                #expect(Price(dollars: formatFixedPoint(price.units, decimals: 4)) == price, "\(text)")
                #expect(text.utf8.allSatisfy { (0x30...0x39).contains($0) || $0 == UInt8(ascii: ".") }, "\(text)")
                // The text is the price's own form, but for trailing zeros of the fraction.
                #expect(formatFixedPoint(price.units, decimals: 4).hasPrefix(text.split(separator: ".").first.map(String.init) ?? ""), "\(text)")
            }
            if let quantity = OrderRequest.WholeNumber.parse(text) {
                // Digits, and a fraction of zeros or none (`100.0`, as Python writes a float).
                let parts = text.split(separator: ".", omittingEmptySubsequences: false)
                #expect(String(quantity) == parts[0] && parts.dropFirst().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0 == "0" } }, "\(text)")
            }
        }
    }

    @Test("order bodies: the plain reader and the router's decoder agree on what they both read, and a repeated key is always refused")
    func orderBodies() {
        let seeds = [
            #"{"symbol":"AAPL","qty":"10","side":"buy","type":"limit","time_in_force":"gtc","limit_price":"189.50"}"#,
            #"{"symbol":"AAPL","qty":5,"side":"sell","type":"stop_limit","time_in_force":"gtd","limit_price":"1.00","stop_price":"1.10","expire_at":"2026-11-20T21:00:00Z","client_order_id":"a\u0062c","extended_hours":false,"display_qty":null}"#,
        ].map { Array($0.utf8) }
        var plain = 0
        for bytes in Self.mutations(of: seeds, seed: 3) {
            let strict = StrictJSON.problem(bytes)
            let decoded = OrderJSONTests.decoded(bytes)
            if let fast = bytes.withUnsafeBytes({ OrderRequest.plain($0) }) {
                plain += 1
                #expect(strict == nil, "\(String(decoding: bytes, as: UTF8.self))")
                #expect(decoded == fast, "\(String(decoding: bytes, as: UTF8.self))")
            }
            if let request = decoded, strict == nil {
                _ = request.order(id: OrderID(1), account: AccountID(1))
            }
        }
        #expect(plain > 100)
    }

    @Test("nesting and repeated keys are found at any depth, however the key is spelled")
    func strictJSON() {
        #expect(StrictJSON.problem(Array(String(repeating: "[", count: 10_000).utf8)) != nil)
        #expect(StrictJSON.problem(Array(#"{"a":{"b":[{"c":1,"\u0063":2}]}}"#.utf8)) == #"the key "c" is given more than once"#)
        #expect(StrictJSON.problem(Array(#"{"a":1,"b":{"a":2}}"#.utf8)) == nil)
        let seeds = [#"{"action":"subscribe","trades":["AAPL"],"quotes":["*"]}"#, #"[{"a":[1,2,{"b":"\"x\\"}]}]"#].map { Array($0.utf8) }
        for bytes in Self.mutations(of: seeds, seed: 4) {
            _ = StrictJSON.problem(bytes)
            _ = MessagePack.decode(bytes)
        }
    }

    @Test("ITCH messages and SoupBinTCP and MoldUDP64 packets: each decodes or throws a framing or decode error")
    func marketData() {
        let header = ITCH.Header(locate: 1, tracking: 0, timestamp: 34_200_000_000_000)
        let messages = [
            ITCH.Message.systemEvent(header, code: UInt8(ascii: "O")),
            ITCH.Message.regSHO(header, stock: ITCH.Stock("AAPL")!, action: UInt8(ascii: "0")),
        ].map(ITCH.encode)
        let packets = [SoupBinTCP.encode(.sequencedData(messages[0])), SoupBinTCP.encode(.loginAccepted(session: "S1", sequence: 1))]
        let datagrams = [MoldUDP64.encode(.init(session: "SESSION", sequence: 1, messages: messages))]
        for bytes in Self.mutations(of: messages, seed: 5) {
            _ = try? bytes.withUnsafeBytes { (b) throws(ITCH.DecodeError) in try ITCH.decode(b) }
        }
        var stream = SoupBinTCP.Decoder()
        for bytes in Self.mutations(of: packets, seed: 6) {
            if (try? stream.feed(bytes)) == nil { stream = SoupBinTCP.Decoder() }
        }
        for bytes in Self.mutations(of: datagrams, seed: 7) {
            _ = try? MoldUDP64.decode(bytes)
            _ = try? MoldUDP64.Request.decode(bytes)
        }
    }

    @Test("configuration files: each reads or is refused with a sentence naming the file")
    func configuration() throws {
        let directory = makeTemporaryDirectory("bourse-fuzz")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bourse.json"
        try VenueConfiguration.demo.write(to: path)
        let seed = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        for bytes in Self.mutations(of: [seed], count: 2_000, seed: 8) {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do { _ = try VenueConfiguration.read(path) } catch {
                #expect("\(error)".contains(path) || "\(error)".hasPrefix("cannot read"), "\(error)")
            }
        }
    }
}
