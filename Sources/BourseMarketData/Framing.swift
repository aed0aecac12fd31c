/// Malformed session-layer bytes: what is wrong, at which byte offset of the stream or packet.
public struct FramingError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }
    public var description: String { "\(reason) at offset \(offset)" }
}

/// SoupBinTCP 3.0, the session layer NASDAQ serves ITCH over TCP with: packets of a 2-byte big-endian
/// length, a type byte and a payload. Decoding is incremental, for bytes as a socket delivers them.
public enum SoupBinTCP {
    public enum Packet: Hashable, Sendable {
        case debug(String)
        /// The session's name (up to 10 characters) and the sequence number of the next message.
        case loginAccepted(session: String, sequence: UInt64)
        /// `A`: not authorized; `S`: the session is not available.
        case loginRejected(reason: UInt8)
        case sequencedData([UInt8])
        case serverHeartbeat
        case endOfSession
        case loginRequest(username: String, password: String, session: String, sequence: UInt64)
        case unsequencedData([UInt8])
        case clientHeartbeat
        case logoutRequest
    }


    public static func encode(_ packet: Packet) -> [UInt8] {
        var body: [UInt8]
        switch packet {
        case .debug(let text): body = [UInt8(ascii: "+")] + Array(text.utf8)
        case .loginAccepted(let session, let sequence):
            body = [UInt8(ascii: "A")] + padded(session, 10, left: true) + padded(String(sequence), 20, left: true)
        case .loginRejected(let reason): body = [UInt8(ascii: "J"), reason]
        case .sequencedData(let message): body = [UInt8(ascii: "S")] + message
        case .serverHeartbeat: body = [UInt8(ascii: "H")]
        case .endOfSession: body = [UInt8(ascii: "Z")]
        case .loginRequest(let username, let password, let session, let sequence):
            body = [UInt8(ascii: "L")] + padded(username, 6, left: false) + padded(password, 10, left: false)
                + padded(session, 10, left: true) + padded(String(sequence), 20, left: true)
        case .unsequencedData(let message): body = [UInt8(ascii: "U")] + message
        case .clientHeartbeat: body = [UInt8(ascii: "R")]
        case .logoutRequest: body = [UInt8(ascii: "O")]
        }
        precondition(body.count <= 0xffff, "a SoupBinTCP packet holds at most 65,535 bytes")
        return [UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
    }

    /// Alphanumeric fields are space-padded: numbers and session names on the left, others on the right.
    static func padded(_ text: String, _ width: Int, left: Bool) -> [UInt8] {
        let bytes = Array(text.utf8.prefix(width))
        let pad = [UInt8](repeating: 0x20, count: width - bytes.count)
        return left ? pad + bytes : bytes + pad
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed(), as: UTF8.self)
    }

    /// Whole packets out of a byte stream fed in pieces of any size.
    public struct Decoder {
        private var buffer: [UInt8] = []
        /// Stream offset of `buffer`'s first byte.
        private var consumed = 0

        public init() {}

        public mutating func feed(_ bytes: some Sequence<UInt8>) throws(FramingError) -> [Packet] {
            buffer.append(contentsOf: bytes)
            var packets: [Packet] = []
            var at = 0
            while buffer.count - at >= 2 {
                let length = Int(buffer[at]) << 8 | Int(buffer[at + 1])
                guard length >= 1 else { throw FramingError(offset: consumed + at, reason: "a packet of length 0 has no type") }
                guard buffer.count - at - 2 >= length else { break }
                packets.append(try packet(buffer[(at + 2)..<(at + 2 + length)], offset: consumed + at))
                at += 2 + length
            }
            buffer.removeFirst(at)
            consumed += at
            return packets
        }

        /// Bytes held waiting for the rest of their packet.
        public var pending: Int { buffer.count }

        private func packet(_ b: ArraySlice<UInt8>, offset: Int) throws(FramingError) -> Packet {
            let type = b.first!
            let payload = b.dropFirst()
            func exactly(_ count: Int) throws(FramingError) {
                guard payload.count == count else {
                    throw FramingError(offset: offset, reason: "packet '\(Character(Unicode.Scalar(type)))' of \(payload.count) payload bytes, where it has \(count)")
                }
            }
            func number(_ field: ArraySlice<UInt8>) throws(FramingError) -> UInt64 {
                let text = SoupBinTCP.trimmed(field)
                guard let value = UInt64(text.isEmpty ? "0" : text) else {
                    throw FramingError(offset: offset, reason: "sequence number \"\(text)\" is not a number")
                }
                return value
            }
            switch type {
            case UInt8(ascii: "+"): return .debug(String(decoding: payload, as: UTF8.self))
            case UInt8(ascii: "A"):
                try exactly(30)
                let p = Array(payload)
                return .loginAccepted(session: SoupBinTCP.trimmed(p[0..<10]), sequence: try number(p[10..<30]))
            case UInt8(ascii: "J"):
                try exactly(1)
                return .loginRejected(reason: payload.first!)
            case UInt8(ascii: "S"): return .sequencedData(Array(payload))
            case UInt8(ascii: "H"): try exactly(0); return .serverHeartbeat
            case UInt8(ascii: "Z"): try exactly(0); return .endOfSession
            case UInt8(ascii: "L"):
                try exactly(46)
                let p = Array(payload)
                return .loginRequest(username: SoupBinTCP.trimmed(p[0..<6]), password: SoupBinTCP.trimmed(p[6..<16]),
                                     session: SoupBinTCP.trimmed(p[16..<26]), sequence: try number(p[26..<46]))
            case UInt8(ascii: "U"): return .unsequencedData(Array(payload))
            case UInt8(ascii: "R"): try exactly(0); return .clientHeartbeat
            case UInt8(ascii: "O"): try exactly(0); return .logoutRequest
            default:
                throw FramingError(offset: offset, reason: "unknown packet type 0x\(String(type, radix: 16))")
            }
        }
    }
}

/// MoldUDP64, the session layer NASDAQ multicasts ITCH with: a header of the session (10 bytes), the
/// sequence number of the packet's first message (8) and the message count (2), then each message with a
/// 2-byte length. A count of 0 is a heartbeat; 0xFFFF ends the session.
public enum MoldUDP64 {
    public struct Packet: Hashable, Sendable {
        public var session: String
        public var sequence: UInt64
        public var messages: [[UInt8]]
        public var endOfSession: Bool

        public init(session: String, sequence: UInt64, messages: [[UInt8]], endOfSession: Bool = false) {
            self.session = session
            self.sequence = sequence
            self.messages = messages
            self.endOfSession = endOfSession
        }

        /// The sequence number the packet after this one starts with when none is missed.
        public var nextSequence: UInt64 { sequence + UInt64(messages.count) }
    }

    public static func encode(_ packet: Packet) -> [UInt8] {
        var out = SoupBinTCP.padded(packet.session, 10, left: false)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: packet.sequence >> UInt64(shift))) }
        let count = packet.endOfSession ? 0xffff : packet.messages.count
        out += [UInt8(count >> 8), UInt8(count & 0xff)]
        for message in packet.messages { out += [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(FramingError) -> Packet {
        guard bytes.count >= 20 else { throw .init(offset: 0, reason: "a MoldUDP64 header is 20 bytes, not \(bytes.count)") }
        let session = SoupBinTCP.trimmed(bytes[0..<10])
        let sequence = bytes[10..<18].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let count = Int(bytes[18]) << 8 | Int(bytes[19])
        if count == 0xffff { return Packet(session: session, sequence: sequence, messages: [], endOfSession: true) }
        var messages: [[UInt8]] = []
        var at = 20
        for _ in 0..<count {
            guard at + 2 <= bytes.count else { throw .init(offset: at, reason: "truncated message length") }
            let length = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            guard at + 2 + length <= bytes.count else { throw .init(offset: at, reason: "truncated message: length \(length) but \(bytes.count - at - 2) bytes remain") }
            messages.append(Array(bytes[(at + 2)..<(at + 2 + length)]))
            at += 2 + length
        }
        guard at == bytes.count else { throw .init(offset: at, reason: "\(bytes.count - at) bytes after the \(count) messages the header counts") }
        return Packet(session: session, sequence: sequence, messages: messages)
    }
}

extension MoldUDP64 {
    /// A request for messages missed: the session, the first sequence number wanted, and how many (the
    /// same 20 bytes as a packet header), sent to the venue's re-request server.
    public struct Request: Hashable, Sendable {
        public var session: String
        public var sequence: UInt64
        public var count: UInt16

        public init(session: String, sequence: UInt64, count: UInt16) {
            self.session = session
            self.sequence = sequence
            self.count = count
        }

        public var encoded: [UInt8] { MoldUDP64.encode(Packet(session: session, sequence: sequence, messages: [])).prefix(18) + [UInt8(count >> 8), UInt8(count & 0xff)] }

        public static func decode(_ bytes: [UInt8]) throws(FramingError) -> Request {
            guard bytes.count == 20 else { throw .init(offset: 0, reason: "a MoldUDP64 request is 20 bytes, not \(bytes.count)") }
            return Request(session: SoupBinTCP.trimmed(bytes[0..<10]), sequence: bytes[10..<18].reduce(UInt64(0)) { $0 << 8 | UInt64($1) },
                           count: UInt16(bytes[18]) << 8 | UInt16(bytes[19]))
        }
    }

    /// A receiver's sequencing: hands on each message once and in order, holds packets that came after a
    /// gap (at most `heldMax` messages), and says what to ask the venue for again. Datagrams may be lost,
    /// duplicated or reordered; none of that reaches the books.
    public struct Follower: Sendable {
        /// The sequence number of the next message to hand on.
        public private(set) var next: UInt64
        /// Packets past a gap, by their first sequence number.
        private var held: [UInt64: [[UInt8]]] = [:]
        private var heldMessages = 0
        public static let heldMax = 1_000_000

        public init(next: UInt64 = 1) { self.next = next }

        /// Whether messages are missing (the venue is stale until they arrive).
        public var inGap: Bool { !held.isEmpty }

        /// The missing range to ask for, if any: from `next` up to the first held packet (at most 65,534).
        public var missing: (sequence: UInt64, count: UInt16)? {
            guard let first = held.keys.min() else { return nil }
            return (next, UInt16(min(first - next, 65_534)))
        }

        /// Takes a packet; returns the messages now in order to apply.
        public mutating func receive(_ packet: Packet) -> [[UInt8]] {
            guard !packet.messages.isEmpty else { return [] }
            let end = packet.nextSequence
            guard end > next else { return [] }
            if packet.sequence > next {
                if held[packet.sequence] == nil, heldMessages + packet.messages.count <= Self.heldMax {
                    held[packet.sequence] = packet.messages
                    heldMessages += packet.messages.count
                }
                return []
            }
            // Overlaps or continues what was handed on: the part not yet seen, then whatever held now fits.
            var ready = Array(packet.messages.dropFirst(Int(next - packet.sequence)))
            next = end
            while let start = held.keys.filter({ $0 <= next }).min() {
                let messages = held.removeValue(forKey: start)!
                heldMessages -= messages.count
                let last = start + UInt64(messages.count)
                if last > next {
                    ready += messages.dropFirst(Int(next - start))
                    next = last
                }
            }
            return ready
        }
    }
}
