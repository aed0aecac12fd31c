import BourseCore
import BourseEngine
import BourseTestSupport
import Testing

@Suite("binary codec")
struct CodecTests {
    @Test("every command and event of a long random stream round-trips exactly")
    func roundTrip() throws {
        var stream = CommandStream(seed: 99)
        var commands = stream.opening()
        for _ in 0..<5_000 { commands.append(stream.next()) }
        let kinds = try Self.roundTrip(commands, through: MatchingEngine())
        #expect(kinds.count >= 10)
    }

    @Test("account commands and their events round-trip through the codec")
    func accountRoundTrip() throws {
        var stream = AccountStream(seed: 7)
        var commands = stream.opening()
        for _ in 0..<3_000 { commands.append(stream.next()) }
        let kinds = try Self.roundTrip(commands, through: MatchingEngine(keepsAccounts: true))
        #expect(kinds.isSuperset(of: ["accountOpened", "cashDeposited", "securitiesTransferredIn", "feesChanged", "trade"]))
    }

    /// Encodes and decodes every command and every event the engine produces for it, expecting each
    /// back exactly; returns the kinds of events seen.
    static func roundTrip(_ commands: [SequencedCommand], through engine: MatchingEngine) throws -> Set<String> {
        var kinds = Set<String>()
        for command in commands {
            var w = ByteWriter()
            w.write(command)
            let decoded = try w.bytes.withUnsafeBytes { b in
                var r = ByteReader(b)
                let c = try r.readSequencedCommand()
                #expect(r.remaining == 0)
                return c
            }
            #expect(decoded == command)
            for event in engine.process(command) {
                kinds.insert(String(String(describing: event).prefix { $0 != "(" }))
                var ew = ByteWriter()
                ew.write(event)
                let back = try ew.bytes.withUnsafeBytes { b in
                    var r = ByteReader(b)
                    return try r.readEvent()
                }
                #expect(back == event)
            }
        }
        return kinds
    }

    @Test("truncated input is an error at an offset, never a crash")
    func truncated() {
        var w = ByteWriter()
        w.write(Command.newOrder(NewOrder(orderID: OrderID(1), account: AccountID(2), symbol: try! Symbol(validating: "A"),
                                          side: .buy, type: .limit, timeInForce: .gtd, quantity: Quantity(3),
                                          limitPrice: Price(units: 10_000), expireTime: Timestamp(nanos: 99))))
        for cut in 0..<w.bytes.count {
            let prefix = Array(w.bytes[0..<cut])
            prefix.withUnsafeBytes { b in
                var r = ByteReader(b)
                #expect(throws: DecodeError.self) { _ = try r.readCommand() }
            }
        }
    }

    @Test("unknown tags and invalid values are errors naming what and where")
    func invalid() {
        [UInt8]([99]).withUnsafeBytes { b in
            var r = ByteReader(b)
            #expect(throws: DecodeError(.invalidTag("command", 99), at: 0)) { _ = try r.readCommand() }
        }
        [UInt8](repeating: 0xff, count: 11).withUnsafeBytes { b in
            var r = ByteReader(b)
            #expect(throws: DecodeError(.varintTooLong, at: 0)) { _ = try r.readVarint() }
        }
    }
}
