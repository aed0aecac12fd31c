import BourseCore
import BourseMarketData
import Testing

@Suite("SoupBinTCP and MoldUDP64")
struct FramingTests {
    @Test("SoupBinTCP packets have the specification's bytes, with space-padded fields, and decode back")
    func soupVectors() throws {
        let cases: [(SoupBinTCP.Packet, String)] = [
            (.loginAccepted(session: "SESSION1", sequence: 42),
             "001f 41 2020 53455353494f4e31 202020202020202020202020202020202020 3432"),
            (.loginRejected(reason: UInt8(ascii: "A")), "0002 4a 41"),
            (.sequencedData([1, 2, 3]), "0004 53 010203"),
            (.serverHeartbeat, "0001 48"),
            (.endOfSession, "0001 5a"),
            (.loginRequest(username: "ME", password: "SECRET", session: "", sequence: 1),
             "002f 4c 4d4520202020 53454352455420202020 20202020202020202020 2020202020202020202020202020202020202031"),
            (.unsequencedData([9]), "0002 55 09"),
            (.clientHeartbeat, "0001 52"),
            (.logoutRequest, "0001 4f"),
            (.debug("hi"), "0003 2b 6869"),
        ]
        for (packet, text) in cases {
            #expect(SoupBinTCP.encode(packet) == hex(text), "\(packet)")
            var decoder = SoupBinTCP.Decoder()
            #expect(try decoder.feed(hex(text)) == [packet], "\(packet)")
        }
    }

    @Test("a stream of ITCH over SoupBinTCP decodes the same however the bytes are split")
    func soupSplits() throws {
        let h = ITCH.Header(locate: 1, tracking: 0, timestamp: 1)
        let stock = ITCH.Stock("AAPL")!
        let messages: [ITCH.Message] = [
            .systemEvent(h, code: UInt8(ascii: "O")),
            .addOrder(h, ITCH.AddOrder(reference: 1, side: .buy, shares: 100, stock: stock, price: 1_900_000)),
            .orderExecuted(h, reference: 1, shares: 40, match: 1),
            .orderDelete(h, reference: 1),
        ]
        let packets: [SoupBinTCP.Packet] = [.loginAccepted(session: "S1", sequence: 1)] + messages.map { .sequencedData(ITCH.encode($0)) }
            + [.serverHeartbeat, .endOfSession]
        let stream = packets.flatMap(SoupBinTCP.encode)
        for split in 1...stream.count {
            var decoder = SoupBinTCP.Decoder()
            var decoded: [SoupBinTCP.Packet] = []
            var at = 0
            while at < stream.count {
                decoded += try decoder.feed(stream[at..<min(at + split, stream.count)])
                at += split
            }
            #expect(decoded == packets, "pieces of \(split)")
            #expect(decoder.pending == 0)
        }
        let itch = try packets.compactMap { packet -> ITCH.Message? in
            guard case .sequencedData(let bytes) = packet else { return nil }
            return try bytes.withUnsafeBytes { b throws(ITCH.DecodeError) in try ITCH.decode(b) }
        }
        #expect(itch == messages)
    }

    @Test("malformed SoupBinTCP is an error naming the stream offset")
    func soupMalformed() throws {
        var decoder = SoupBinTCP.Decoder()
        _ = try decoder.feed(hex("0001 48"))
        #expect(throws: FramingError(offset: 3, reason: "unknown packet type 0x3f")) { try decoder.feed(hex("0001 3f")) }
        var other = SoupBinTCP.Decoder()
        #expect(throws: FramingError(offset: 0, reason: "packet 'H' of 1 payload bytes, where it has 0")) { try other.feed(hex("0002 48 00")) }
        var empty = SoupBinTCP.Decoder()
        #expect(throws: FramingError(offset: 0, reason: "a packet of length 0 has no type")) { try empty.feed(hex("0000")) }
    }

    @Test("MoldUDP64 packets carry a session, the first message's sequence number and counted messages; heartbeats and the end too")
    func mold() throws {
        let packet = MoldUDP64.Packet(session: "SESSION1", sequence: 1_000, messages: [[0x53, 1], [0x41, 2, 3]])
        let bytes = MoldUDP64.encode(packet)
        #expect(bytes == hex("53455353494f4e312020 00000000000003e8 0002 0002 5301 0003 410203"))
        #expect(try MoldUDP64.decode(bytes) == packet)
        #expect(packet.nextSequence == 1_002)
        let heartbeat = MoldUDP64.Packet(session: "SESSION1", sequence: 1_002, messages: [])
        #expect(try MoldUDP64.decode(MoldUDP64.encode(heartbeat)) == heartbeat)
        let end = MoldUDP64.Packet(session: "SESSION1", sequence: 1_002, messages: [], endOfSession: true)
        #expect(MoldUDP64.encode(end).suffix(2) == [0xff, 0xff])
        #expect(try MoldUDP64.decode(MoldUDP64.encode(end)) == end)
        #expect(throws: FramingError(offset: 0, reason: "a MoldUDP64 header is 20 bytes, not 3")) { try MoldUDP64.decode([1, 2, 3]) }
        #expect(throws: FramingError(offset: 24, reason: "truncated message: length 3 but 2 bytes remain")) {
            try MoldUDP64.decode(Array(bytes.dropLast()))
        }
        #expect(throws: FramingError(offset: 29, reason: "1 bytes after the 2 messages the header counts")) {
            try MoldUDP64.decode(bytes + [0])
        }
    }
}
