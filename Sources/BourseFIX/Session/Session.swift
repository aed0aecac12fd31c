import BourseCore
import Crypto

/// One FIX session's protocol, as FIX 4.4's session layer and QuickFIX define it: Logon, heartbeats and
/// test requests, sequence numbers (too high asks for a resend, too low ends the session unless it is a
/// possible duplicate), resends with gap fills for administrative messages, SequenceReset, Reject and
/// Logout. It sees framed messages and the clock, and decides what to send and whether to hang up; the
/// connection does the I/O. Everything it sends is recorded and saved (`commit`) before it is written
/// (`Outgoing.swift`: recording, saving, early reports, resends).
///
/// Confined to the gateway's event loop (hence unchecked): one connection at a time drives it, and every
/// other access hops to that loop.
final class FIXSession: @unchecked Sendable {
    enum Phase: Equatable {
        case disconnected
        case awaitingLogon
        case active
        /// The venue sent Logout and waits for the reply until the deadline.
        case loggingOut(deadline: Int64)
    }

    /// What a step asks of the connection besides writing what was recorded.
    struct Effects {
        /// An application message that passed the session's checks, for the order handler.
        var application: FIXMessage?
        /// Messages to send again, from and through these numbers.
        var resend: ClosedRange<Int>?
        /// Close the connection (after writing), for this reason.
        var disconnect: String?
        /// The session just logged on: deliver what waits for it.
        var loggedOn = false
    }

    struct Counters: Sendable {
        var received = 0
        var sent = 0
        var resent = 0
        var rejected = 0
        var garbled = 0
    }

    let settings: SessionSettings
    let store: SessionStore
    let dictionary = FIXDictionary.fix44
    // The state, the counts and what is recorded for sending are written here and in Outgoing.swift.
    var state: SessionStore.State
    private(set) var phase = Phase.disconnected
    private(set) var heartbeatNanos: Int64 = 30_000_000_000
    var counters = Counters()
    /// The last thing that went wrong, for the session list.
    private(set) var lastProblem: String?
    private var connectedAt: Int64 = 0
    private var lastReceived: Int64 = 0
    var lastSent: Int64 = 0
    private var testRequest: (id: String, sent: Int64)?
    /// While a gap is being filled: the number up to which the counterparty was asked to resend.
    private var resendRequested: Int?
    var recorded: [SessionStore.Message] = []
    /// The state as last saved: a step that changed only the numbers is saved too.
    var savedState: SessionStore.State
    var outgoing: [[UInt8]] = []
    /// The early reports sent and reached since `savedState` (`Outgoing.swift`); nil past a whole set's
    /// worth, and the next save writes them whole.
    var earlyChange: SessionStore.EarlyChange? = SessionStore.EarlyChange()
    private var throttle: Throttle
    private var throttledSince: Int64?

    /// A session never seen before starts at 1 and 1, with the order reports after the journal's entry
    /// `head` (what happened before the session existed is not its to be told).
    init(settings: SessionSettings, store: SessionStore, head: UInt64) throws {
        self.settings = settings
        self.store = store
        throttle = Throttle(perSecond: settings.messagesPerSecondMax)
        if let known = try store.state(settings.name) {
            state = known
        } else {
            state = SessionStore.State(deliveredSequence: head, deliveredNumber: Int.max)
            try store.save(settings.name, state, sending: [])
        }
        savedState = state
    }

    var isLoggedOn: Bool { phase == .active }
    var name: String { settings.name }

    // MARK: Connection

    func connected(now: Int64) {
        phase = .awaitingLogon
        (connectedAt, lastReceived, lastSent) = (now, now, now)
        (testRequest, resendRequested) = (nil, nil)
    }

    func disconnected() {
        phase = .disconnected
        (testRequest, resendRequested) = (nil, nil)
    }

    /// Sets the password's digest (a password issued by the gateway).
    func setPassword(sha256: String) throws {
        state.passwordSHA256 = sha256
        _ = try commit()
    }

    // MARK: Receiving

    /// A message that failed framing: not processed, its number not taken; the next message's number
    /// shows the gap and a resend brings it again.
    func garbled(_ reason: String) {
        counters.garbled += 1
        lastProblem = "garbled message ignored: \(reason)"
    }

    /// The delay before the next message may be taken, when the session sends faster than its limit;
    /// a Logout when messages have waited for longer than `throttledNanosMax` without the backlog clearing.
    func admit(now: Int64) -> (waitNanos: Int64, effects: Effects?) {
        if let since = throttledSince, now - since >= settings.throttledNanosMax {
            let reason = "message rate above \(settings.messagesPerSecondMax) per second for \(settings.throttledNanosMax / 1_000_000_000) seconds"
            return (0, logout(reason, now: now, hangUp: true))
        }
        let wait = throttle.take(now: now)
        if wait > 0, throttledSince == nil { throttledSince = now }
        return (wait, nil)
    }

    /// The connection has taken every whole message it received: the counterparty is within its rate.
    func caughtUp() { throttledSince = nil }

    func receive(_ m: FIXMessage, now: Int64) -> Effects {
        counters.received += 1
        lastReceived = now
        guard FIXDictionary.hasHeaderStart(m) else {
            garbled("BeginString(8), BodyLength(9) and MsgType(35) must be the first three fields")
            return Effects()
        }
        guard m[Tag.beginString] == FIXEncoder.beginString else {
            return logout("BeginString(8) must be \(FIXEncoder.beginString), not \(m[Tag.beginString] ?? "")", now: now, hangUp: true)
        }
        guard let sequence = m.msgSeqNum else {
            return logout("MsgSeqNum(34) is missing or not a number", now: now, hangUp: true)
        }
        let type = m.msgType
        if phase == .awaitingLogon, type != MsgType.logon {
            return Effects(disconnect: "the first message must be a Logon, not MsgType(35) \(type)")
        }
        if let fault = dictionary.validate(m) {
            if type == MsgType.logon { return logout("Logon refused: \(fault.text)", now: now, hangUp: true) }
            reject(m, fault.reason, tag: fault.tag, fault.text, now: now)
            if sequence == state.nextTarget, type != MsgType.sequenceReset { state.nextTarget += 1 }
            return Effects()
        }
        if let sent = m[Tag.sendingTime].flatMap(FIXValue.timestamp), abs(sent.nanos - now) > settings.sendingTimeToleranceNanos {
            reject(m, .sendingTimeAccuracyProblem, tag: Tag.sendingTime, "SendingTime(52) is more than \(settings.sendingTimeToleranceNanos / 1_000_000_000) seconds from the venue's clock", now: now)
            return logout("SendingTime accuracy problem", now: now, hangUp: true)
        }
        guard m[Tag.senderCompID] == settings.name, m[Tag.targetCompID] == settings.venueCompID else {
            reject(m, .compIDProblem, tag: m[Tag.senderCompID] == settings.name ? Tag.targetCompID : Tag.senderCompID,
                   "CompIDs must be SenderCompID(49) \(settings.name) and TargetCompID(56) \(settings.venueCompID)", now: now)
            return logout("CompID problem", now: now, hangUp: true)
        }
        if m.isPossDup, type != MsgType.sequenceReset {
            guard let original = m[Tag.origSendingTime].flatMap(FIXValue.timestamp) else {
                reject(m, .requiredTagMissing, tag: Tag.origSendingTime, "OrigSendingTime(122) is required with PossDupFlag(43)=Y", now: now)
                if sequence == state.nextTarget { state.nextTarget += 1 }
                return Effects()
            }
            if let sent = m[Tag.sendingTime].flatMap(FIXValue.timestamp), original > sent {
                reject(m, .sendingTimeAccuracyProblem, tag: Tag.origSendingTime, "OrigSendingTime(122) is later than SendingTime(52)", now: now)
                if sequence == state.nextTarget { state.nextTarget += 1 }
                return logout("SendingTime accuracy problem", now: now, hangUp: true)
            }
        }
        if type == MsgType.logon { return logon(m, sequence, now: now) }
        if type == MsgType.sequenceReset, m[Tag.gapFillFlag] != "Y" { return sequenceReset(m, now: now) }

        var effects = Effects()
        if sequence > state.nextTarget {
            // A resend request is answered even when it comes early, so that both sides can fill their gaps.
            if type == MsgType.resendRequest { effects = resendRequest(m, now: now) }
            if type == MsgType.logout { return logout(nil, now: now, hangUp: true) }
            // One request at a time: it asks through infinity, so a later message is in its range (as
            // QuickFIX does without SendRedundantResendRequests). A new one goes once it has been filled.
            if resendRequested == nil {
                requestResend(from: state.nextTarget, now: now)
                resendRequested = sequence
            }
            return effects
        }
        if sequence < state.nextTarget {
            if m.isPossDup { return effects }
            return logout("MsgSeqNum too low, expecting \(state.nextTarget) but received \(sequence)", now: now, hangUp: true)
        }
        state.nextTarget += 1
        if let through = resendRequested, state.nextTarget > through { resendRequested = nil }
        switch type {
        case MsgType.heartbeat:
            if let id = m[Tag.testReqID], id == testRequest?.id { testRequest = nil }
        case MsgType.testRequest:
            var body = FIXBody()
            body.append(Tag.testReqID, m[Tag.testReqID]!)
            send(MsgType.heartbeat, body, now: now)
        case MsgType.resendRequest:
            effects = resendRequest(m, now: now)
        case MsgType.reject:
            lastProblem = "the counterparty rejected message \(m[Tag.refSeqNum] ?? "?"): \(m[Tag.text] ?? "no text")"
        case MsgType.sequenceReset:
            return gapFill(m, sequence, now: now)
        case MsgType.logout:
            if case .loggingOut = phase { return Effects(disconnect: "logged out") }
            return logout(nil, now: now, hangUp: true)
        default:
            effects.application = m
        }
        return effects
    }

    private func logon(_ m: FIXMessage, _ sequence: Int, now: Int64) -> Effects {
        if phase != .awaitingLogon { return logout("Logon received while logged on", now: now, hangUp: true) }
        let window = settings.windowDay(at: now)
        guard window.inside else { return logout("Logon refused: outside the session's schedule", now: now, hangUp: true) }
        if settings.requiresPassword {
            let given = m[Tag.password].map { SHA256.hash(data: Array($0.utf8)).map { String(format: "%02x", $0) }.joined() }
            guard let expected = state.passwordSHA256, given == expected else {
                return logout("Logon refused: the password (554) is missing or wrong", now: now, hangUp: true)
            }
        }
        let interval = m.integer(Tag.heartBtInt) ?? 0
        guard settings.heartbeatSeconds.contains(interval) else {
            return logout("Logon refused: HeartBtInt(108) must be from \(settings.heartbeatSeconds.lowerBound) to \(settings.heartbeatSeconds.upperBound) seconds",
                          now: now, hangUp: true)
        }
        let reset = m[Tag.resetSeqNumFlag] == "Y"
        if reset || (window.day != nil && window.day != state.window) {
            if reset, sequence != 1 { return logout("Logon with ResetSeqNumFlag(141)=Y must have MsgSeqNum(34) 1", now: now, hangUp: true) }
            state.nextSender = 1
            state.nextTarget = 1
            state.window = window.day
            do {
                try store.reset(name, state)
                savedState = state
                earlyChange = SessionStore.EarlyChange()
            } catch {
                return Effects(disconnect: "the session store failed: \(error)")
            }
        }
        if sequence < state.nextTarget {
            return logout("MsgSeqNum too low, expecting \(state.nextTarget) but received \(sequence)", now: now, hangUp: true)
        }
        heartbeatNanos = Int64(interval) * 1_000_000_000
        phase = .active
        var body = FIXBody()
        body.append(Tag.encryptMethod, 0)
        body.append(Tag.heartBtInt, interval)
        if reset { body.append(Tag.resetSeqNumFlag, true) }
        send(MsgType.logon, body, now: now)
        if sequence > state.nextTarget {
            requestResend(from: state.nextTarget, now: now)
            resendRequested = sequence
        } else {
            state.nextTarget += 1
        }
        lastProblem = nil
        return Effects(loggedOn: true)
    }

    /// SequenceReset in reset mode: the number is set, whatever MsgSeqNum says; never lowered.
    private func sequenceReset(_ m: FIXMessage, now: Int64) -> Effects {
        let newSequence = m.integer(Tag.newSeqNo) ?? 0
        if newSequence < state.nextTarget {
            reject(m, .valueIncorrect, tag: Tag.newSeqNo, "NewSeqNo(36) \(newSequence) is below the expected \(state.nextTarget)", now: now)
        } else {
            state.nextTarget = newSequence
            if let through = resendRequested, state.nextTarget > through { resendRequested = nil }
        }
        return Effects()
    }

    /// SequenceReset in gap fill mode, already in sequence: moves the number forward.
    private func gapFill(_ m: FIXMessage, _ sequence: Int, now: Int64) -> Effects {
        let newSequence = m.integer(Tag.newSeqNo) ?? 0
        guard newSequence > sequence else {
            reject(m, .valueIncorrect, tag: Tag.newSeqNo, "NewSeqNo(36) \(newSequence) would not move past MsgSeqNum(34) \(sequence)", now: now)
            return Effects()
        }
        state.nextTarget = newSequence
        if let through = resendRequested, state.nextTarget > through { resendRequested = nil }
        return Effects()
    }

    private func resendRequest(_ m: FIXMessage, now: Int64) -> Effects {
        let first = m.integer(Tag.beginSeqNo) ?? 0
        let requested = m.integer(Tag.endSeqNo) ?? 0
        let last = state.nextSender - 1
        guard first >= 1, requested == 0 || requested >= first else {
            reject(m, .valueIncorrect, tag: Tag.beginSeqNo, "BeginSeqNo(7) \(first) must be at least 1 and at most EndSeqNo(16) \(requested)", now: now)
            return Effects()
        }
        let through = requested == 0 ? last : min(requested, last)
        guard first <= through else { return Effects() }
        return Effects(resend: first...through)
    }

    private func requestResend(from first: Int, now: Int64) {
        var body = FIXBody()
        body.append(Tag.beginSeqNo, first)
        body.append(Tag.endSeqNo, 0)
        send(MsgType.resendRequest, body, now: now)
    }

    /// A session-level Reject of `m`.
    func reject(_ m: FIXMessage, _ reason: SessionRejectReason, tag: Int?, _ text: String, now: Int64) {
        counters.rejected += 1
        lastProblem = "rejected message \(m.msgSeqNum.map(String.init) ?? "?"): \(text)"
        var body = FIXBody()
        body.append(Tag.refSeqNum, m.msgSeqNum ?? 0)
        if let tag { body.append(Tag.refTagID, tag) }
        if !m.msgType.isEmpty { body.append(Tag.refMsgType, m.msgType) }
        body.append(Tag.sessionRejectReason, reason.rawValue)
        body.append(Tag.text, text)
        send(MsgType.reject, body, now: now)
    }

    /// Sends Logout (with a reason, if any); hangs up at once, or waits a moment for the reply.
    func logout(_ reason: String?, now: Int64, hangUp: Bool) -> Effects {
        if let reason { lastProblem = reason }
        if phase != .disconnected, phase != .awaitingLogon || reason != nil {
            var body = FIXBody()
            if let reason { body.append(Tag.text, reason) }
            send(MsgType.logout, body, now: now)
        }
        if hangUp { return Effects(disconnect: reason ?? "logged out") }
        phase = .loggingOut(deadline: now + 2_000_000_000)
        return Effects()
    }

    // MARK: Time

    /// Heartbeats when the line is quiet, a TestRequest when the counterparty is, a hang-up when it does
    /// not answer; the end of a Logon wait, a Logout wait or the schedule.
    func tick(now: Int64) -> Effects {
        switch phase {
        case .disconnected:
            return Effects()
        case .awaitingLogon:
            return now - connectedAt > settings.logonTimeoutNanos ? Effects(disconnect: "no Logon within \(settings.logonTimeoutNanos / 1_000_000_000) seconds") : Effects()
        case .loggingOut(let deadline):
            return now >= deadline ? Effects(disconnect: "no Logout reply") : Effects()
        case .active:
            if !settings.windowDay(at: now).inside { return logout("the session's schedule ended", now: now, hangUp: false) }
            if let request = testRequest {
                if now - request.sent >= heartbeatNanos { return logout("no answer to TestRequest \(request.id)", now: now, hangUp: true) }
            } else if now - lastReceived >= heartbeatNanos + heartbeatNanos / 5 {
                let id = "TEST-\(state.nextSender)"
                var body = FIXBody()
                body.append(Tag.testReqID, id)
                send(MsgType.testRequest, body, now: now)
                testRequest = (id, now)
            }
            if now - lastSent >= heartbeatNanos { send(MsgType.heartbeat, FIXBody(), now: now) }
            return Effects()
        }
    }
}
