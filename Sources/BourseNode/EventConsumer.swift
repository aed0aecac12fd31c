import BourseCore
import Foundation

/// One command's events as consumers see them.
public struct Published: Sendable {
    public var command: SequencedCommand
    public var events: [Event]
    /// The note its submitter journaled with the command.
    public var note: [UInt8]

    public init(command: SequencedCommand, events: [Event], note: [UInt8] = []) {
        self.command = command
        self.events = events
        self.note = note
    }
}

/// A bounded queue between the sequencer and one downstream consumer. The sequencer never waits
/// on it: when the consumer falls `capacity` entries behind, it is cut off and marked overrun with
/// the sequence it missed, so it can read what it missed from the journal and `resume`. Nothing is
/// dropped silently.
public final class EventConsumer: @unchecked Sendable {
    public let name: String
    public let capacity: Int
    private let condition = NSCondition()
    private var buffer: [Published] = []
    private var closed = false
    private var interrupted = false
    /// The first sequence this consumer did not receive, once it has fallen too far behind.
    public private(set) var overrunAt: UInt64?
    /// The last sequence offered, taken or not: everything up to it is durable in the journal.
    private var offered: UInt64 = 0

    public init(name: String, capacity: Int = 1 << 16) {
        self.name = name
        self.capacity = capacity
    }

    package func offer(_ batch: [Published]) {
        condition.lock()
        defer { condition.unlock() }
        if let last = batch.last { offered = last.command.sequence }
        guard overrunAt == nil else { return }
        if buffer.count + batch.count > capacity {
            overrunAt = batch.first?.command.sequence
            condition.broadcast()
            return
        }
        buffer.append(contentsOf: batch)
        condition.signal()
    }

    /// The consumer follows a sequencer whose journal ends at `sequence`.
    package func begin(after sequence: UInt64) {
        condition.lock()
        offered = sequence
        condition.unlock()
    }

    /// Starts the consumer cut off at `sequence`: its owner reads from there on its own thread, as after an
    /// overrun, while batches come on (a projection taken on by a process that is already reading).
    package func fallBehind(at sequence: UInt64) {
        condition.lock()
        overrunAt = sequence
        condition.broadcast()
        condition.unlock()
    }

    package func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public enum Next {
        case events([Published])
        /// Cut off; everything from this sequence on must be read from the journal.
        case overrun(UInt64)
        /// `interrupt` was called: the consumer has something else to do first.
        case interrupted
        case closed
    }

    /// Waits for what has been published since the last call.
    public func next() -> Next {
        condition.lock()
        defer { condition.unlock() }
        while buffer.isEmpty && overrunAt == nil && !closed && !interrupted { condition.wait() }
        if interrupted {
            interrupted = false
            return .interrupted
        }
        if !buffer.isEmpty {
            let batch = buffer
            buffer.removeAll(keepingCapacity: true)
            return .events(batch)
        }
        if let at = overrunAt { return .overrun(at) }
        return .closed
    }

    /// Makes the current or next `next()` return `.interrupted`.
    public func interrupt() {
        condition.lock()
        interrupted = true
        condition.broadcast()
        condition.unlock()
    }

    /// Takes batches again after an overrun (a no-op without one). Returns the last sequence offered so
    /// far: the consumer reads the journal through it, and everything after it arrives here.
    public func resume() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        overrunAt = nil
        return offered
    }

    /// Whether the sequencer has stopped and will offer nothing more.
    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// The last sequence offered: what a consumer that fell behind or starts again reads the journal through.
    public var lastOffered: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return offered
    }
}
