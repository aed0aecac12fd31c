import BourseCore
import Foundation
import Synchronization

/// Synchronous replication: holds each acknowledgement until what it acknowledges is replicated as well as
/// durable (`serve --kafka … --replication sync`: committed to the event topic, by all in-sync replicas).
///
/// The sequencer hands it a batch's acknowledgements after the journal commit, in sequence order; the
/// publisher says how far the topic holds the journal after each Kafka commit, and the acknowledgements up to
/// there are sent then, in order, off the gate's lock. Once the publisher is fenced (another node took over
/// the log) the gate closes: everything held and everything after is answered with the failure, so that a
/// former primary never acknowledges again. Bounded: a full gate makes the sequencer refuse commands as
/// overloaded, rather than hold answers without end while the log is unreachable.
public final class AcknowledgementGate: Sendable {
    public static let heldMax = 1 << 18

    struct Held {
        var sequence: UInt64
        var answer: @Sendable () -> Void
        var refuse: @Sendable (Sequencer.SequencerFailure) -> Void
    }

    struct State {
        var held: [Held] = []
        var head = 0
        var replicated: UInt64 = 0
        var closed: Sequencer.SequencerFailure?
    }

    private let state = Mutex(State())

    public init() {}

    public var isFull: Bool { state.withLock { $0.held.count - $0.head >= Self.heldMax } }

    func hold(_ acks: [(SequencedCommand, [Event], Sequencer.Completion?)]) {
        let (ready, refused, failure) = state.withLock { s -> ([Held], [Held], Sequencer.SequencerFailure?) in
            for (command, events, completion) in acks {
                guard let completion else { continue }
                let ack = Sequencer.Acknowledgement(command: command, events: events)
                s.held.append(Held(sequence: command.sequence, answer: { completion(.success(ack)) }, refuse: { completion(.failure($0)) }))
            }
            guard let closed = s.closed else { return (Self.take(&s), [], nil) }
            defer { s.held.removeAll(); s.head = 0 }
            return ([], Array(s.held[s.head...]), closed)
        }
        for held in ready { held.answer() }
        if let failure { for held in refused { held.refuse(failure) } }
    }

    /// The topic holds the journal through `sequence`: answers what waited for it.
    public func advance(to sequence: UInt64) {
        let ready = state.withLock { s -> [Held] in
            guard s.closed == nil else { return [] }
            s.replicated = max(s.replicated, sequence)
            return Self.take(&s)
        }
        for held in ready { held.answer() }
    }

    /// Another node took over the log: nothing held, nor anything after, is ever acknowledged.
    public func close(_ reason: String) {
        let failure = Sequencer.SequencerFailure(reason: reason)
        let refused = state.withLock { s -> [Held] in
            if s.closed == nil { s.closed = failure }
            defer { s.held.removeAll(); s.head = 0 }
            return Array(s.held[s.head...])
        }
        for held in refused { held.refuse(failure) }
    }

    private static func take(_ s: inout State) -> [Held] {
        var ready: [Held] = []
        while s.head < s.held.count, s.held[s.head].sequence <= s.replicated {
            ready.append(s.held[s.head])
            s.head += 1
        }
        if s.head > 4_096, s.head * 2 > s.held.count {
            s.held.removeFirst(s.head)
            s.head = 0
        }
        return ready
    }
}
