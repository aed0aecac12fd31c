import BourseCore
@testable import BourseFIX
import BourseTestSupport
import Foundation
import Testing

/// The parser and the session against mutated valid messages: every input ends as a message, a named
/// fault or a named reason to drop bytes; nothing crashes, every step makes progress, and nothing grows
/// past its limit.
@Suite("the FIX parser under fuzzing")
struct ParserFuzzTests {
    static let time = Timestamp(nanos: TestClock.start)

    /// Valid messages of each kind the venue takes.
    static let corpus: [[UInt8]] = {
        func message(_ type: String, _ sequence: Int, _ fields: [(Int, String)]) -> [UInt8] {
            var body = FIXBody()
            for (tag, value) in fields { body.append(tag, value) }
            return FIXEncoder.encode(type: type, sequence: sequence, sender: "CLIENT", target: "BOURSE", sendingTime: time, body: body)
        }
        let now = FIXValue.format(time)
        return [
            message("A", 1, [(98, "0"), (108, "30"), (141, "Y"), (554, "secret")]),
            message("0", 2, [(112, "T")]),
            message("1", 3, [(112, "PING")]),
            message("2", 4, [(7, "1"), (16, "0")]),
            message("4", 5, [(123, "Y"), (36, "9")]),
            message("5", 6, [(58, "bye")]),
            message("D", 7, [(11, "A1"), (1, "1"), (55, "AAPL"), (54, "1"), (60, now), (40, "2"), (38, "100"), (44, "189.25"), (59, "6"),
                             (126, now), (111, "10"), (18, "6"), (7928, "1")]),
            message("F", 8, [(41, "A1"), (11, "A2"), (55, "AAPL"), (54, "1"), (60, now)]),
            message("G", 9, [(41, "A2"), (11, "A3"), (55, "AAPL"), (54, "1"), (60, now), (40, "2"), (38, "50"), (44, "189.3")]),
            message("H", 10, [(11, "A3"), (55, "AAPL"), (54, "1")]),
            message("q", 11, [(11, "M1"), (530, "1"), (55, "AAPL"), (60, now)]),
            message("AE", 12, [(571, "T1"), (570, "N"), (55, "AAPL"), (32, "5"), (31, "190"), (75, "20260302"), (60, now), (552, "2"),
                               (54, "1"), (37, "X"), (1, "1"), (54, "2"), (37, "Y"), (1, "STREET")]),
        ]
    }()

    /// A mutation, half the time of the body alone with BodyLength and CheckSum made right again, so that
    /// the message reaches the checks behind the framing.
    static func mutate(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        guard random.next() % 2 == 0 else { return damage(input, &random) }
        // The body: from MsgType to the SOH before CheckSum.
        let afterLength = input.indices.filter { input[$0] == 0x01 }[1] + 1
        let body = damage(Array(input[afterLength ..< input.count - 7]), &random)
        var out = Array("8=FIX.4.4\u{1}9=\(body.count)\u{1}".utf8) + body
        out += Array(String(format: "10=%03d\u{1}", out.withUnsafeBytes { Framing.checksum($0) }).utf8)
        return out
    }

    /// One of the mutations a line or a peer could make of bytes.
    static func damage(_ input: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var b = input
        let pieces: [[UInt8]] = [[0x01], Array("=".utf8), Array("8=FIX.4.4\u{1}".utf8), Array("9=99999999\u{1}".utf8),
                                 Array("10=".utf8), Array("35=A\u{1}".utf8), Array("34=0\u{1}".utf8), Array("453=3\u{1}".utf8),
                                 Array("-".utf8), Array(".".utf8), [0x00], [0xff], Array("99999999999999999999".utf8)]
        for _ in 0 ... Int(random.next() % 4) {
            guard !b.isEmpty else { b = input; continue }
            let at = Int(random.next() % UInt64(b.count))
            switch random.next() % 9 {
            case 0: b[at] = UInt8(truncatingIfNeeded: random.next())
            case 1: b.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
            case 2: b.removeSubrange(at ..< min(b.count, at + 1 + Int(random.next() % 16)))
            case 3: b.insert(contentsOf: pieces[Int(random.next() % UInt64(pieces.count))], at: at)
            case 4: b = Array(b.prefix(at))
            case 5:
                // A field repeated elsewhere.
                let start = b[..<at].lastIndex(of: 0x01).map { $0 + 1 } ?? 0
                let end = b[at...].firstIndex(of: 0x01).map { $0 + 1 } ?? b.count
                b.insert(contentsOf: b[start ..< end], at: Int(random.next() % UInt64(b.count)))
            case 6: b += input
            case 7: b = Array(b.reversed())
            default: if b[at] >= UInt8(ascii: "0"), b[at] <= UInt8(ascii: "9") { b[at] = UInt8(ascii: "0") + UInt8(random.next() % 10) }
            }
        }
        return b
    }

    enum Outcome: Hashable {
        case message, fault(SessionRejectReason), garbled, incomplete
    }

    /// Everything a connection would do with `bytes`: frames them until it needs more, reads and checks
    /// each message; each outcome with its reason.
    static func consume(_ bytes: [UInt8]) -> [Outcome] {
        var buffer = bytes
        var outcomes: [Outcome] = []
        while true {
            let frame = buffer.withUnsafeBytes { Framing.frame($0) }
            switch frame {
            case .incomplete:
                #expect(buffer.count < Framing.frameLengthMax, "an incomplete frame waits for at most a whole message")
                outcomes.append(.incomplete)
                return outcomes
            case .garbled(let skip, let reason):
                #expect(skip > 0 && skip <= buffer.count && !reason.isEmpty)
                buffer.removeFirst(skip)
                outcomes.append(.garbled)
            case .message(let length):
                #expect(length > 0 && length <= Framing.frameLengthMax)
                let message = FIXMessage(frame: Array(buffer.prefix(length)))
                buffer.removeFirst(length)
                #expect(message.fields.count <= FIXMessage.fieldsMax)
                guard FIXDictionary.hasHeaderStart(message) else {
                    outcomes.append(.garbled)
                    continue
                }
                if let fault = FIXDictionary.fix44.validate(message) {
                    #expect(!fault.text.isEmpty)
                    outcomes.append(.fault(fault.reason))
                } else {
                    outcomes.append(.message)
                }
            }
        }
    }

    @Test("200,000 mutated messages: no crash, each input ends in messages, named faults and named drops")
    func mutations() {
        var random = SplitMix64(seed: 0xF1F0_2026)
        var seen: [Outcome: Int] = [:]
        for i in 0 ..< 200_000 {
            let input = Self.mutate(Self.corpus[i % Self.corpus.count], &random)
            for outcome in Self.consume(input) { seen[outcome, default: 0] += 1 }
        }
        // The mutations reach every stage: framing, reading and checking, and valid messages still pass.
        #expect(seen[.garbled, default: 0] > 1_000 && seen[.message, default: 0] > 1_000 && seen[.incomplete, default: 0] > 1_000)
        #expect(Set(seen.keys.compactMap { if case .fault(let r) = $0 { r } else { nil } }).count >= 8, "\(seen)")
        print("fuzz: \(seen.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
    }

    @Test("a session fed 20,000 mutated messages after Logon answers each within its rules and never crashes")
    func session() throws {
        let store = try SessionStore(path: makeTemporaryDirectory("bourse-fuzz") + "/fix")
        let settings = SessionSettings(name: "CLIENT", venueCompID: "BOURSE", role: .orderEntry, accounts: [1])
        let session = try FIXSession(settings: settings, store: store, head: 0)
        var random = SplitMix64(seed: 42)
        var connected = false
        for i in 0 ..< 20_000 {
            if !connected {
                session.connected(now: Self.time.nanos)
                _ = session.receive(FIXMessage(frame: Self.corpus[0]), now: Self.time.nanos)
                connected = session.isLoggedOn
            }
            let input = Self.mutate(Self.corpus[1 + i % (Self.corpus.count - 1)], &random)
            var buffer = input
            while case .message(let length) = buffer.withUnsafeBytes({ Framing.frame($0) }) {
                let effects = session.receive(FIXMessage(frame: Array(buffer.prefix(length))), now: Self.time.nanos)
                buffer.removeFirst(length)
                _ = try session.commit()
                if effects.disconnect != nil {
                    session.disconnected()
                    connected = false
                    try store.reset("CLIENT", SessionStore.State())
                    break
                }
            }
        }
        #expect(session.counters.received > 5_000, "the mutations reach the session")
    }

    @Test("the reader finds the fields a plain split at SOH and '=' finds, for messages of 0 to 600 fields, read afresh or into reused storage")
    func fieldsAgainstASplit() {
        var random = SplitMix64(seed: 77)
        var reused = FIXMessage()
        for count in Array(0...140) + [255, 256, 257, 511, 512, 513, 600] {
            var body = FIXBody()
            for _ in 0 ..< count {
                let value = String(repeating: "v", count: Int(random.next() % 12) + 1)
                body.append(Int(random.next() % 9_999) + 1, value)
            }
            let frame = FIXEncoder.encode(type: "0", sequence: count + 1, sender: "CLIENT", target: "BOURSE", sendingTime: Self.time, body: body)
            // The model: every piece between SOHs is a tag, '=' and a value; its value's place in the frame.
            var expected: [FIXMessage.Field] = []
            var start = 0
            for (i, byte) in frame.enumerated() where byte == Framing.soh {
                let piece = frame[start ..< i]
                let equals = piece.firstIndex(of: UInt8(ascii: "="))!
                let tag = Int(String(decoding: piece[..<equals], as: UTF8.self))!
                expected.append(.init(tag: tag, start: Int32(equals + 1), end: Int32(i)))
                start = i + 1
            }
            let message = FIXMessage(frame: frame)
            // A copy kept from before keeps its message: the reused storage is not written while shared.
            let before = reused, beforeBytes = reused.bytes, beforeFields = Array(reused.fields)
            frame.withUnsafeBytes { reused.read($0) }
            #expect(before.bytes == beforeBytes && Array(before.fields) == beforeFields)
            for read in [message, reused] {
                #expect(Array(read.fields) == Array(expected.prefix(FIXMessage.fieldsMax)), "\(count) fields")
                #expect(read.fault == (expected.count > FIXMessage.fieldsMax ? .init(reason: .other, tag: nil, text: "more than 512 fields") : nil))
                #expect(read.bytes == frame)
            }
        }
    }

    @Test("the UTCTimestamp check, read in words, agrees with one read byte by byte, on 200,000 mutated timestamps")
    func timestampsAgainstBytes() {
        // The model: each part read digit by digit, the day checked by the calendar.
        func reference(_ b: [UInt8]) -> Bool {
            guard b.count == 17 || ((19...27).contains(b.count) && b[17] == UInt8(ascii: ".")) else { return false }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for i in range {
                    guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                    value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
                }
                return value
            }
            guard b[8] == UInt8(ascii: "-"), b[11] == UInt8(ascii: ":"), b[14] == UInt8(ascii: ":"),
                  let year = number(0 ..< 4), let month = number(4 ..< 6), let day = number(6 ..< 8),
                  let hour = number(9 ..< 11), let minute = number(12 ..< 14), let second = number(15 ..< 17),
                  b.count == 17 || number(18 ..< b.count) != nil else { return false }
            return (1678...2261).contains(year) && CivilDate(validYear: year, month: month, day: day) != nil
                && hour < 24 && minute < 60 && second < 61
        }
        var random = SplitMix64(seed: 2026)
        func pick(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
        let replacements = Array("0123456789:-./aZ".utf8) + [0x01, 0x00, 0xff, 0x3a, 0x2f]
        var valid = 0
        for _ in 0 ..< 200_000 {
            let fraction = [0, 0, 3, 6, 9, 1, 10][pick(7)]
            var text = String(format: "%04d%02d%02d-%02d:%02d:%02d", 1670 + pick(600), pick(14), pick(33), pick(26), pick(62), pick(63))
            if fraction > 0 { text += "." + String(repeating: "7", count: fraction) }
            var b = Array(text.utf8)
            for _ in 0 ..< [0, 0, 1, 2][pick(4)] {
                switch pick(3) {
                case 0: b[pick(b.count)] = replacements[pick(replacements.count)]
                case 1: b.insert(replacements[pick(replacements.count)], at: pick(b.count + 1))
                default: if b.count > 1 { b.remove(at: pick(b.count)) }
                }
            }
            let expected = reference(b)
            valid += expected ? 1 : 0
            #expect(b.withUnsafeBufferPointer { FIXValue.isTimestamp($0) } == expected, "\(String(decoding: b, as: UTF8.self))")
        }
        #expect(valid > 20_000, "both answers are reached often")
    }

    @Test("a BodyLength past the limit is dropped at once; more than 512 fields are refused whole")
    func limits() {
        let huge = Array("8=FIX.4.4\u{1}9=99999999\u{1}35=0\u{1}".utf8)
        #expect(huge.withUnsafeBytes { Framing.frame($0) } == .garbled(skip: huge.count, reason: "BodyLength(9) 99999999 is above the limit of 16384"))
        var body = FIXBody()
        for i in 0 ..< 600 { body.append(58, "x\(i)") }
        let many = FIXEncoder.encode(type: "0", sequence: 2, sender: "CLIENT", target: "BOURSE", sendingTime: Self.time, body: body)
        let message = FIXMessage(frame: many)
        #expect(message.fields.count == FIXMessage.fieldsMax)
        #expect(message.fault?.reason == .other && message.fault?.text == "more than 512 fields")
    }
}
