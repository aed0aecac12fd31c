import BourseCore
import BourseFIX
import BourseNode
import BourseTestSupport
import Foundation
import Glibc
import Testing

/// FIX sessions under crashes: `bourse serve` killed without warning while a session places orders, again
/// and again, each time started again on the same directory. The session's numbers and sent messages live
/// in its store's files, which a kill may leave with a save cut short.
@Suite("FIX sessions under SIGKILL")
struct FIXCrashTests {
    static let kills = 6

    @Test("killed while a session places orders, it logs on again after each restart: no number is sent twice with different content, and every order the venue holds is reported")
    func killedWhileOrdersFlow() async throws {
        let directory = makeTemporaryDirectory("bourse-fix-crash")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SplitMix64(seed: 18)
        var client: CrashClient?
        for round in 0 ... Self.kills {
            let served = try await ServeProcessTests.Served.start(directory: directory)
            try #require(served.port != 0 && served.fixPort != 0, "start \(round): \(served.printed)")
            let session = try client ?? CrashClient(credentials: directory + "/credentials.json", session: "TRADER1")
            client = session
            // Between 10 and 60 orders acknowledged in this start, then the kill: all of them within one page
            // of the order list (500).
            let killAfter = round == Self.kills ? nil : 10 + Int(random.next() % 50)
            let pid = served.process.processIdentifier
            let outcome = try await blocking { () -> String? in
                try session.connect(port: served.fixPort)
                guard try session.logOn() else { return "start \(round): no Logon answer; \(session.log.suffix(5))" }
                guard let killAfter else { return nil }
                let acked = session.acked.count
                try session.placeOrders { session.acked.count - acked >= killAfter }
                kill(pid, SIGKILL)
                session.drain()
                return nil
            }
            #expect(outcome == nil, "\(outcome ?? "")")
            if killAfter != nil {
                _ = await served.ended(within: 30)
                continue
            }
            // The last start: every order the venue holds is reported to the session, which got nothing twice.
            let key = try ServeProcessTests.trader(directory)
            let (status, body) = await ServeProcessTests.request(served.port, "GET", "/v2/orders?status=all&limit=500", key: key)
            let orders = (try? JSONSerialization.jsonObject(with: body) as? [[String: Any]]) ?? []
            let held = Set(orders.compactMap { $0["client_order_id"] as? String }.filter { $0.hasPrefix("CRASH-") })
            #expect(status == 200 && held.count >= 60, "\(status): \(held.count) orders")
            #expect(orders.count < 500, "one page holds every order")
            _ = try await blocking { try session.waitForReports(of: held) }
            let unreported = held.subtracting(session.acked), unheld = session.acked.subtracting(held), conflicts = session.conflicts
            #expect(unreported.isEmpty, "no report of \(unreported.count) orders the venue holds: \(unreported.sorted().prefix(10))")
            #expect(unheld.isEmpty, "\(unheld.count) orders acknowledged and not held: \(unheld.sorted().prefix(10))")
            #expect(conflicts.isEmpty, "\(conflicts.prefix(5))")
            #expect(session.logons == Self.kills + 1)
            print("FIX under SIGKILL: \(held.count) orders held, \(session.resent) messages resent to the session, \(session.resendsAnswered) resend requests answered")
            served.process.interrupt()
            // Bounded generously: with the whole suite running on two cores, the stop takes its turn.
            let ended = await served.ended(within: 90)
            #expect(ended.status == 0, "stopped: \(ended.status.map(String.init) ?? "still running after 90 s"); \(ended.errors.suffix(2_000))")
        }
    }
}

/// A FIX initiator of the test's own on a blocking socket: it numbers what it sends and keeps its orders to
/// send again when asked (other numbers are gap-filled), checks the numbers it gets and asks for what it
/// missed, and keeps every application message by its number, to find a number sent twice with different
/// content. Every wait ends after 60 s without what it waits for.
final class CrashClient: @unchecked Sendable {
    let session: String
    let password: String
    private var socket: RawSocket?
    private var nextOut = 1
    private var expectedIn = 1
    /// Application messages by number, without the header fields a resend changes.
    private var seen: [Int: [String]] = [:]
    private(set) var conflicts: [String] = []
    /// Orders the venue acknowledged (ExecType new), and every order answered (new or rejected).
    private(set) var acked: Set<String> = []
    private var answered: Set<String> = []
    /// What this side numbered and may be asked to send again: its orders.
    private var sentOrders: [Int: [(Int, String)]] = [:]
    private(set) var logons = 0
    /// Messages the venue sent again (PossDupFlag), and resend requests this side answered.
    private(set) var resent = 0
    private(set) var resendsAnswered = 0
    private(set) var log: [String] = []
    private var resendAsked = false
    private var highestSeen = 0
    /// Each execution report's number: a report told again under a new number is told twice.
    private var reports: [String: Int] = [:]
    private var loggedOn = false
    private var placed = 0

    init(credentials: String, session: String) throws {
        let list = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: credentials))) as? [[String: Any]] ?? []
        let entry = try #require(list.first { $0["fix_session"] as? String == session })
        self.session = session
        password = try #require(entry["password"] as? String)
    }

    func connect(port: Int) throws {
        socket = try RawSocket(port: port, receiveTimeoutSeconds: 30)
        (loggedOn, resendAsked) = (false, false)
    }

    private func send(_ type: String, _ fields: [(Int, String)], sequence: Int? = nil, possDup: Bool = false) throws {
        var body = FIXBody()
        for (tag, value) in fields { body.append(tag, value) }
        let now = Timestamp(nanos: wallClockNanos())
        let number = sequence ?? nextOut
        if sequence == nil { nextOut += 1 }
        if type == MsgType.newOrderSingle { sentOrders[number] = fields }
        try socket?.write(FIXEncoder.encode(type: type, sequence: number, sender: session, target: "BOURSE", sendingTime: now,
                                            origSendingTime: possDup ? now : nil, body: body))
    }

    /// Logs on with the next number, and reads until the answer and any resend it leads to are in.
    func logOn() throws -> Bool {
        try send(MsgType.logon, [(Tag.encryptMethod, "0"), (Tag.heartBtInt, "30"), (554, password)])
        guard try read(until: { self.loggedOn }) else { return false }
        logons += 1
        return try read(until: { !self.resendAsked })
    }

    /// Places orders, at most 16 unanswered, until `done`.
    func placeOrders(until done: () -> Bool) throws {
        var sent: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(60)
        while !done() {
            guard ContinuousClock.now < deadline else { throw Stalled(what: "orders unanswered: \(sent.subtracting(answered).count); \(log.suffix(5))") }
            while sent.subtracting(answered).count < 16 {
                placed += 1
                let id = "CRASH-\(logons)-\(placed)"
                sent.insert(id)
                try send(MsgType.newOrderSingle, [(Tag.clOrdID, id), (Tag.account, "1"), (Tag.symbol, "AAPL"), (Tag.side, "1"),
                                                  (Tag.transactTime, FIXValue.format(Timestamp(nanos: wallClockNanos()))),
                                                  (Tag.ordType, "2"), (Tag.orderQty, "1"), (Tag.price, "150"), (Tag.timeInForce, "0")])
            }
            guard try readOne() else { throw POSIXError(.ECONNRESET) }
        }
    }

    /// Reads what the killed venue wrote before its end.
    func drain() {
        while (try? readOne()) == true {}
        socket = nil
    }

    /// Reads until `held` are all acknowledged (at most 30 s of silence).
    func waitForReports(of held: Set<String>) throws -> Bool {
        try read(until: { held.isSubset(of: self.acked) })
    }

    struct Stalled: Error { var what: String }

    private func read(until condition: () -> Bool) throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            guard try readOne() else { return false }
        }
        return true
    }

    /// Handles one message; false at the end of the stream.
    private func readOne() throws -> Bool {
        guard let socket else { return false }
        while true {
            switch socket.buffer.withUnsafeBytes({ Framing.frame($0) }) {
            case .message(let length):
                let frame = Array(socket.buffer[0 ..< length])
                socket.buffer.removeFirst(length)
                try handle(FIXMessage(frame: frame), frame)
                return true
            case .garbled(_, let reason):
                conflicts.append("garbled: \(reason)")
                return false
            case .incomplete:
                guard try socket.fill() else { return false }
            }
        }
    }

    private func handle(_ m: FIXMessage, _ frame: [UInt8]) throws {
        let sequence = Int(m[Tag.msgSeqNum] ?? "") ?? 0
        let possDup = m[Tag.possDupFlag] == "Y"
        if possDup { resent += 1 }
        log.append("\(m.msgType) \(sequence)\(possDup ? " dup" : "")")
        if log.count > 50 { log.removeFirst() }
        if !MsgType.isAdministrative(m.msgType) {
            // The fields that say what was sent; a resend changes only the header's.
            let fields = frame.split(separator: 1).map { String(decoding: $0, as: UTF8.self) }
                .filter { f in !["8=", "9=", "10=", "34=", "43=", "52=", "97=", "122="].contains { f.hasPrefix($0) } }
            if let earlier = seen[sequence], earlier != fields {
                conflicts.append("number \(sequence): \(earlier.joined(separator: "|")) then \(fields.joined(separator: "|"))")
            }
            seen[sequence] = fields
            if let exec = m[Tag.execID] {
                if let first = reports[exec], first != sequence { conflicts.append("report \(exec) told as \(first) and again as \(sequence)") }
                reports[exec] = sequence
            }
        }
        if sequence < expectedIn, !possDup, m.msgType != MsgType.sequenceReset {
            conflicts.append("number \(sequence) sent again without PossDupFlag (expected \(expectedIn))")
        }
        switch m.msgType {
        case MsgType.logon: loggedOn = true
        case MsgType.executionReport where m[Tag.execType] == "0" || m[Tag.execType] == "8":
            if let id = m[Tag.clOrdID] {
                answered.insert(id)
                if m[Tag.execType] == "0" { acked.insert(id) }
            }
        case MsgType.testRequest: try send(MsgType.heartbeat, [(Tag.testReqID, m[Tag.testReqID] ?? "")])
        case MsgType.resendRequest:
            // Orders again with PossDupFlag (one the venue has placed is refused as a duplicate, never placed
            // twice); a gap fill for each run of other numbers.
            resendsAnswered += 1
            let begin = Int(m[Tag.beginSeqNo] ?? "") ?? nextOut, end = Int(m[Tag.endSeqNo] ?? "") ?? 0
            let last = end == 0 ? nextOut - 1 : min(end, nextOut - 1)
            var gap: Int?
            for number in begin ... max(begin, last) where number <= last {
                if let order = sentOrders[number] {
                    if let start = gap { try send(MsgType.sequenceReset, [(Tag.gapFillFlag, "Y"), (Tag.newSeqNo, String(number))], sequence: start, possDup: true) }
                    gap = nil
                    try send(MsgType.newOrderSingle, order, sequence: number, possDup: true)
                } else if gap == nil {
                    gap = number
                }
            }
            if let start = gap { try send(MsgType.sequenceReset, [(Tag.gapFillFlag, "Y"), (Tag.newSeqNo, String(last + 1))], sequence: start, possDup: true) }
        case MsgType.logout: conflicts.append("logged out: \(m[Tag.text] ?? "")")
        default: break
        }
        // The numbers: in turn, a gap that asks for a resend, or a gap fill that moves past one.
        highestSeen = max(highestSeen, sequence)
        if m.msgType == MsgType.sequenceReset, let new = Int(m[Tag.newSeqNo] ?? "") {
            if m[Tag.gapFillFlag] != "Y" || sequence <= expectedIn { expectedIn = max(expectedIn, new) }
        } else if sequence == expectedIn {
            expectedIn += 1
        } else if sequence > expectedIn, !resendAsked {
            resendAsked = true
            try send(MsgType.resendRequest, [(Tag.beginSeqNo, String(expectedIn)), (Tag.endSeqNo, "0")])
        }
        if resendAsked, expectedIn > highestSeen { resendAsked = false }
    }
}
