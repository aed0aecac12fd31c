import Synchronization

/// The last sequence a projection has committed, and the reads waiting for it to reach theirs: "has
/// projection P applied sequence N?". Waiters are woken when the position passes them, or told no when the
/// projection stops or their time is up; nothing polls.
public final class Watermark: Sendable {
    private struct Waiter {
        var sequence: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var position: UInt64
        var stopped = false
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    /// Waiters allowed at once; a read past it is told no at once rather than queued without end.
    public static let waitersMax = 4_096

    /// Called when a read starts waiting, so that the projection commits what it holds without pausing.
    let onWait = Mutex<(@Sendable () -> Void)?>(nil)

    public init(position: UInt64 = 0) { state = Mutex(State(position: position)) }

    public var position: UInt64 { state.withLock { $0.position } }

    /// Whether anyone waits: a projection then commits without pausing to gather a larger transaction.
    public var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// Moves the position (forward, or back to 0 on a rebuild) and wakes the waiters it passed.
    public func advance(to position: UInt64) {
        let woken = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.position = position
            s.stopped = false
            let passed = s.waiters.filter { $0.value.sequence <= position }
            for id in passed.keys { s.waiters[id] = nil }
            return passed.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume(returning: true) }
    }

    /// The projection stopped (an error, a rebuild): everyone waiting is told no.
    public func stop() {
        let woken = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.stopped = true
            defer { s.waiters.removeAll() }
            return s.waiters.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume(returning: false) }
    }

    /// Waits until the position reaches `sequence`: true when it has, false when the projection stopped
    /// or `timeout` passed first.
    public func wait(for sequence: UInt64, timeout: Duration = .seconds(2)) async -> Bool {
        let id: UInt64? = state.withLock { s in
            guard s.position < sequence, !s.stopped, s.waiters.count < Self.waitersMax else { return nil }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return state.withLock { $0.position >= sequence } }
        onWait.withLock { $0 }?()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let settled = state.withLock { s -> Bool? in
                    // The position may have moved between taking the id and now.
                    if s.position >= sequence { return true }
                    if s.stopped { return false }
                    s.waiters[id] = Waiter(sequence: sequence, continuation: continuation)
                    return nil
                }
                if let settled { return continuation.resume(returning: settled) }
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    expire(id)
                }
            }
        } onCancel: {
            expire(id)
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume(returning: false)
    }
}
