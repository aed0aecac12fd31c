import BourseCore

/// What a session sends: each message recorded under the next number, saved with the session's state in
/// the session store before it is written; the order reports it has told (in turn, or early); and resends read
/// back from the store a chunk at a time.
extension FIXSession {
    /// Records a message for sending with the next number.
    func send(_ type: String, _ body: FIXBody, now: Int64) {
        let sequence = state.nextSender
        state.nextSender += 1
        let time = Timestamp(nanos: now)
        recorded.append(SessionStore.Message(sequence: sequence, type: type, sent: time, body: body.bytes))
        outgoing.append(FIXEncoder.encode(type: type, sequence: sequence, sender: settings.venueCompID, target: settings.name,
                                          sendingTime: time, body: body))
        counters.sent += 1
        lastSent = now
    }

    /// Marks an order report delivered (with the message that told it, in the same save).
    func delivered(sequence: UInt64, number: Int) {
        state.deliveredSequence = sequence
        state.deliveredNumber = number
    }

    /// Early reports held at most: past it, reports wait for their turn.
    static let earlyReportsMax = 65_536

    /// Whether a report is still to be told: after the delivered one and not sent early.
    func isUntold(_ sequence: UInt64, _ number: Int) -> Bool {
        (sequence, number) > (state.deliveredSequence, state.deliveredNumber)
            && !state.early.contains(SessionStore.ReportPosition(sequence: sequence, number: number))
    }

    /// A report sent ahead of its turn, at the venue's acknowledgement.
    func sentEarly(_ sequence: UInt64, _ number: Int) -> Bool {
        guard state.early.count < Self.earlyReportsMax else { return false }
        let position = SessionStore.ReportPosition(sequence: sequence, number: number)
        state.early.insert(position)
        changeEarly { $0.added.append(position) }
        return true
    }

    /// A report reached in turn: true when it was sent early (and is now forgotten).
    func reachedEarly(_ sequence: UInt64, _ number: Int) -> Bool {
        guard let position = state.early.remove(SessionStore.ReportPosition(sequence: sequence, number: number)) else { return false }
        changeEarly { $0.removed.append(position) }
        return true
    }

    private func changeEarly(_ change: (inout SessionStore.EarlyChange) -> Void) {
        guard earlyChange != nil else { return }
        change(&earlyChange!)
        if earlyChange!.added.count + earlyChange!.removed.count > Self.earlyReportsMax { earlyChange = nil }
    }

    /// Saves what was recorded and the numbers, then hands over the bytes to write. A step that sent
    /// nothing (the expected number moved, or the delivered report passed reports sent early) is saved
    /// with the next that sends, or when `everything`: the connection does so within `lazySaveNanos`, so
    /// that a session does not write a record for each message in. A crash in between leaves a state
    /// that is still whole: the delivered report and the early ones move together, and the counterparty
    /// sends the messages after the saved expected number again as possible duplicates (a NewOrderSingle
    /// among them names its ClOrdID again and is refused as a duplicate, never placed twice).
    func commit(everything: Bool = true) throws -> [[UInt8]] {
        guard let save = pendingSave(everything: everything) else { return [] }
        try store.save([save])
        return saved()
    }

    static let lazySaveNanos: Int64 = 50_000_000

    /// Whether only the numbers are unsaved.
    var hasUnsavedState: Bool { recorded.isEmpty && state != savedState }

    /// What `commit` would save, for a caller that saves several sessions at once; nil when
    /// nothing (or, unless `everything`, only the expected number) changed.
    func pendingSave(everything: Bool = true) -> SessionStore.Save? {
        guard !recorded.isEmpty || state != savedState, everything || !recorded.isEmpty else { return nil }
        return SessionStore.Save(session: name, state: state, messages: recorded, earlyChange: earlyChange)
    }

    /// After `pendingSave`'s save: the bytes to write.
    func saved() -> [[UInt8]] {
        savedState = state
        if earlyChange == nil { earlyChange = SessionStore.EarlyChange() }
        earlyChange!.added.removeAll(keepingCapacity: true)
        earlyChange!.removed.removeAll(keepingCapacity: true)
        recorded.removeAll(keepingCapacity: true)
        defer { outgoing.removeAll(keepingCapacity: true) }
        return outgoing
    }

    /// After a save that failed: the messages stay recorded, to be saved with the next save and sent on a
    /// ResendRequest; their bytes are never written, so no number goes out unsaved.
    func unsaved() {
        outgoing.removeAll(keepingCapacity: true)
    }

    /// Where a resend stands: the range asked for, the next number to read, and a run of numbers to fill
    /// with one gap fill (administrative messages, or ones no longer kept) that a chunk left open.
    struct ResendCursor {
        var range: ClosedRange<Int>
        var next: Int
        var gapStart: Int?

        init(_ range: ClosedRange<Int>) {
            self.range = range
            next = range.lowerBound
        }

        var isDone: Bool { next > range.upperBound }
    }

    /// The next part of a resend: stored application messages again with PossDupFlag and their original
    /// SendingTime, a SequenceReset-GapFill for each run of administrative or no longer kept ones.
    func resendChunk(_ cursor: inout ResendCursor, now: Int64) throws -> [[UInt8]] {
        let stored = try store.messages(name, from: cursor.next, through: cursor.range.upperBound)
        var out: [[UInt8]] = []
        let time = Timestamp(nanos: now)
        func fill(to next: Int) {
            guard let start = cursor.gapStart else { return }
            var body = FIXBody()
            body.append(Tag.gapFillFlag, true)
            body.append(Tag.newSeqNo, next)
            out.append(FIXEncoder.encode(type: MsgType.sequenceReset, sequence: start, sender: settings.venueCompID, target: settings.name,
                                         sendingTime: time, origSendingTime: time, body: body))
            cursor.gapStart = nil
        }
        for message in stored {
            if message.sequence > cursor.next, cursor.gapStart == nil { cursor.gapStart = cursor.next }
            if MsgType.isAdministrative(message.type) {
                if cursor.gapStart == nil { cursor.gapStart = message.sequence }
            } else {
                fill(to: message.sequence)
                out.append(FIXEncoder.encode(type: message.type, sequence: message.sequence, sender: settings.venueCompID, target: settings.name,
                                             sendingTime: time, origSendingTime: message.sent, body: FIXBody(bytes: message.body)))
                counters.resent += 1
            }
            cursor.next = message.sequence + 1
        }
        if stored.count < SessionStore.resendChunkMax {
            if cursor.next <= cursor.range.upperBound, cursor.gapStart == nil { cursor.gapStart = cursor.next }
            fill(to: cursor.range.upperBound + 1)
            cursor.next = cursor.range.upperBound + 1
        }
        lastSent = now
        return out
    }
}
