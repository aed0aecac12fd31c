import BourseCore
@testable import BourseFIX
import BourseTestSupport
import BourseVenue
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Runs an acceptance script against the real gateway on a loopback port, in the form of QuickFIX's own
/// suite: each line is an action or an expectation.
///
///     # a comment
///     iCONNECT                      open connection 1 (`iCONNECT2` opens connection 2)
///     I8=FIX.4.4|35=A|34=1|…|       send; BodyLength and CheckSum are computed unless the line gives them
///     E8=FIX.4.4|9=…|35=A|…|10=…|   expect this message next (BodyLength and CheckSum are checked, not compared)
///     N                             expect nothing within a moment (a message ignored)
///     eDISCONNECT                   expect the venue to close the connection
///     iDISCONNECT                   close the connection
///     T+30                          move the venue's clock 30 seconds and run its timers
///     @2 I…                         the same, on connection 2
///     *1100 I…                      the line 1100 times; `<N>` counts 1, 2, …
///     ~E…                           with the ~E lines next to it: these messages, in any order (reports of
///                                   different orders, which the venue may send in either order)
///
/// Values: `<TIME>` is the venue's clock as UTCTimestamp, `<TIME-150>` 150 seconds before; `<SEQ>` is the
/// connection's next MsgSeqNum (counted over the I lines); `<ANY>` in an E line matches any value,
/// and within a value any text; `<ANYTIME>` any UTCTimestamp, and a last field `<REST>` any further fields; `<PASSWORD>` is the session
/// SECRET's password.
struct ScriptRunner {
    let port: Int
    let clock: TestClock
    let gateway: FIXGateway
    let password: String

    enum Failure: Error, CustomStringConvertible {
        case at(line: Int, String)
        var description: String { if case .at(let line, let text) = self { "line \(line): \(text)" } else { "" } }
    }

    func run(_ script: String) async throws {
        var connections: [Int: Client] = [:]
        defer { for c in connections.values { c.close() } }
        var unordered: [(line: Int, index: Int, expected: String)] = []
        for (offset, raw) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("~") || line.hasPrefix("@") && line.contains(" ~") {
                var index = 1
                if line.hasPrefix("@"), let space = line.firstIndex(of: " ") {
                    index = Int(line.dropFirst().prefix(upTo: space))!
                    line = String(line[line.index(after: space)...])
                }
                unordered.append((number, index, String(line.dropFirst(2))))
                continue
            }
            if !unordered.isEmpty {
                try await expectUnordered(unordered, connections)
                unordered = []
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            var times = 1
            if line.hasPrefix("*"), let space = line.firstIndex(of: " ") {
                times = Int(line.dropFirst().prefix(upTo: space))!
                line = String(line[line.index(after: space)...])
            }
            var index = 1
            if line.hasPrefix("@"), let space = line.firstIndex(of: " ") {
                index = Int(line.dropFirst().prefix(upTo: space))!
                line = String(line[line.index(after: space)...])
            }
            for n in 1 ... times {
                let step = line.replacingOccurrences(of: "<N>", with: String(n))
                do {
                    try await perform(step, index: index, &connections)
                } catch Failure.at(let line, let text) {
                    throw Failure.at(line: line == 0 ? number : line, text)
                } catch {
                    throw Failure.at(line: number, "\(error)")
                }
            }
        }
        if !unordered.isEmpty { try await expectUnordered(unordered, connections) }
        for (index, client) in connections where client.isOpen {
            if let extra = try await client.next(timeout: .milliseconds(150)) {
                throw Failure.at(line: 0, "connection \(index) received an unexpected message at the end: \(extra.text)")
            }
        }

        func perform(_ step: String, index: Int, _ connections: inout [Int: Client]) async throws {
            if step.hasPrefix("iCONNECT") {
                let index = Int(step.dropFirst(8)) ?? 1
                connections[index] = try await Client.connect(port: port)
            } else if step == "iDISCONNECT" {
                connections[index]?.close()
            } else if step.hasPrefix("T+") {
                clock.advance(seconds: Int64(step.dropFirst(2))!)
                await gateway.tickNow()
            } else if step == "N" {
                guard let client = connections[index] else { throw Failure.at(line: 0, "no connection \(index)") }
                if let message = try await client.next(timeout: .milliseconds(300)) {
                    throw Failure.at(line: 0, "expected nothing, received \(message.text)")
                }
            } else if step == "eDISCONNECT" {
                guard let client = connections[index] else { throw Failure.at(line: 0, "no connection \(index)") }
                if let message = try await client.next(timeout: .seconds(3)) {
                    throw Failure.at(line: 0, "expected a disconnect, received \(message.text)")
                }
                guard !client.isOpen else { throw Failure.at(line: 0, "expected a disconnect; the connection stays open") }
            } else if step.hasPrefix("I") {
                guard let client = connections[index] else { throw Failure.at(line: 0, "no connection \(index)") }
                try await client.send(encode(substitute(String(step.dropFirst()), client)))
                client.sent += 1
            } else if step.hasPrefix("E") {
                guard let client = connections[index] else { throw Failure.at(line: 0, "no connection \(index)") }
                guard let message = try await client.next(timeout: .seconds(3)) else {
                    throw Failure.at(line: 0, "expected \(step.dropFirst()), received nothing\(client.isOpen ? "" : " (disconnected)")")
                }
                if let mismatch = compare(expected: substitute(String(step.dropFirst()), client), message) {
                    throw Failure.at(line: 0, "\(mismatch)\n  expected \(step.dropFirst())\n  received \(message.text)")
                }
            } else {
                throw Failure.at(line: 0, "unknown step \(step)")
            }
        }
    }

    /// Messages that may come in any order: as many as expected, each matching a different expectation.
    private func expectUnordered(_ group: [(line: Int, index: Int, expected: String)], _ connections: [Int: Client]) async throws {
        var waiting = group
        while let first = waiting.first {
            guard let client = connections[first.index] else { throw Failure.at(line: first.line, "no connection \(first.index)") }
            guard let message = try await client.next(timeout: .seconds(3)) else {
                throw Failure.at(line: first.line, "expected one of \(waiting.filter { $0.index == first.index }.map(\.expected)), received nothing")
            }
            guard let match = waiting.firstIndex(where: { $0.index == first.index && compare(expected: substitute($0.expected, client), message) == nil }) else {
                throw Failure.at(line: first.line, "received \(message.text), which none of \(waiting.map(\.expected)) matches")
            }
            waiting.remove(at: match)
        }
    }

    private func substitute(_ text: String, _ client: Client) -> String {
        var out = text.replacingOccurrences(of: "<PASSWORD>", with: password)
            .replacingOccurrences(of: "<SEQ>", with: String(client.sent + 1))
        while let range = out.range(of: #"<TIME([+-][0-9]+)?>"#, options: .regularExpression) {
            let shift = Int64(out[range].dropFirst(5).dropLast()) ?? 0
            out.replaceSubrange(range, with: FIXValue.format(Timestamp(nanos: clock.now() + shift * 1_000_000_000)))
        }
        return out
    }

    /// The line's fields with SOH; BodyLength and CheckSum added unless given.
    private func encode(_ line: String) -> [UInt8] {
        var fields = line.split(separator: "|").map(String.init)
        if !fields.contains(where: { $0.hasPrefix("9=") }) {
            let body = fields.dropFirst().filter { !$0.hasPrefix("10=") }.map { $0 + "\u{1}" }.joined()
            fields.insert("9=\(body.utf8.count)", at: 1)
        }
        var bytes = Array(fields.filter { !$0.hasPrefix("10=") }.map { $0 + "\u{1}" }.joined().utf8)
        if let given = fields.first(where: { $0.hasPrefix("10=") }) {
            bytes += Array((given + "\u{1}").utf8)
        } else {
            bytes += Array(String(format: "10=%03d\u{1}", bytes.withUnsafeBytes { Framing.checksum($0) }).utf8)
        }
        return bytes
    }

    /// The first difference between an E line and a message: every field of the line, in its order, and
    /// no other, besides BodyLength and CheckSum.
    private func compare(expected: String, _ message: FIXMessage) -> String? {
        var want = expected.split(separator: "|").map(String.init).filter { !$0.hasPrefix("9=") && !$0.hasPrefix("10=") }
        var have = message.fields.indices.map { "\(message.fields[$0].tag)=\(message.string(at: $0))" }
            .filter { !$0.hasPrefix("9=") && !$0.hasPrefix("10=") }
        if want.last == "<REST>" {
            want.removeLast()
            have = Array(have.prefix(want.count))
        }
        guard want.count == have.count else { return "expected \(want.count) fields besides 9 and 10, received \(have.count)" }
        for (w, h) in zip(want, have) {
            let wTag = w.prefix(while: { $0 != "=" }), hTag = h.prefix(while: { $0 != "=" })
            guard wTag == hTag else { return "expected tag \(wTag), received tag \(hTag)" }
            let wValue = w.dropFirst(wTag.count + 1), hValue = h.dropFirst(hTag.count + 1)
            if wValue == "<ANY>" { continue }
            if wValue.contains("<ANY>") {
                let pattern = "^" + wValue.components(separatedBy: "<ANY>").map(NSRegularExpression.escapedPattern).joined(separator: ".*") + "$"
                if String(hValue).range(of: pattern, options: .regularExpression) != nil { continue }
            }
            if wValue == "<ANYTIME>", FIXValue.timestamp(String(hValue)) != nil { continue }
            guard wValue == hValue else { return "tag \(wTag): expected \(wValue), received \(hValue)" }
        }
        return nil
    }
}

/// The venue's clock in a test: moves only when told.
final class TestClock: Sendable {
    private let nanos: Mutex<Int64>
    /// Monday 2 March 2026, 14:30 UTC.
    static let start: Int64 = 1_772_461_800_000_000_000

    init(_ start: Int64 = TestClock.start) { nanos = Mutex(start) }

    @Sendable func now() -> Int64 { nanos.withLock { $0 } }

    func advance(seconds: Int64) { nanos.withLock { $0 += seconds * 1_000_000_000 } }
}

/// A raw FIX connection for scripts: bytes out as given, messages in as framed.
final class Client: @unchecked Sendable {
    private let channel: Channel
    private let inbox: Inbox
    var sent = 0

    final class Inbox: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let state = Mutex<(buffer: [UInt8], open: Bool, waiter: CheckedContinuation<Void, Never>?)>(([], true, nil))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            let new = bytes.readBytes(length: bytes.readableBytes) ?? []
            state.withLock { $0.buffer += new; $0.waiter?.resume(); $0.waiter = nil }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLock { $0.open = false; $0.waiter?.resume(); $0.waiter = nil }
        }
    }

    private init(channel: Channel, inbox: Inbox) {
        self.channel = channel
        self.inbox = inbox
    }

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func connect(port: Int) async throws -> Client {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(inbox) } }
            .connect(host: "127.0.0.1", port: port).get()
        return Client(channel: channel, inbox: inbox)
    }

    var isOpen: Bool { inbox.state.withLock { $0.open } }

    func send(_ bytes: [UInt8]) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try await channel.writeAndFlush(buffer).get()
    }

    /// The next whole message, or nil when none came in time or the connection closed.
    func next(timeout: Duration) async throws -> FIXMessage? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let frame: FIXMessage? = try inbox.state.withLock { s in
                let framed = s.buffer.withUnsafeBytes { Framing.frame($0) }
                switch framed {
                case .message(let length):
                    defer { s.buffer.removeFirst(length) }
                    return FIXMessage(frame: Array(s.buffer[0 ..< length]))
                case .garbled(_, let reason): throw ScriptRunner.Failure.at(line: 0, "the venue sent a garbled message: \(reason)")
                case .incomplete: return nil
                }
            }
            if let frame { return frame }
            if !isOpen || ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    func close() { channel.close(promise: nil) }
}
