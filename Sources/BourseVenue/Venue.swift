import BourseCore
import BourseEngine
import BourseNode
import Foundation
import Synchronization

/// The running venue as the gateways see it: commands go through the sequencer and come back with their
/// events once durable; reads of the engine's state run on the sequencer's thread between batches.
public final class Venue: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        /// The sequencer's queue is full: the caller should retry later.
        case overloaded
        case stopped(String)

        public var description: String {
            switch self {
            case .overloaded: "the venue is overloaded; retry shortly"
            case .stopped(let reason): "the venue is not running: \(reason)"
            }
        }
    }

    public let sequencer: Sequencer
    private let nextOrderID: Mutex<UInt64>

    /// Order ids start from the wall clock in nanoseconds, above any id this venue handed out before a
    /// restart unless it handed out more than one a nanosecond; the engine rejects an id still open.
    init(sequencer: Sequencer, firstOrderID: UInt64) {
        self.sequencer = sequencer
        nextOrderID = Mutex(firstOrderID)
    }

    /// See `Sequencer.onFailure`.
    public func onFailure(_ body: @escaping @Sendable (String) -> Void) {
        sequencer.onFailure { body($0.reason) }
    }

    public func newOrderID() -> OrderID {
        OrderID(nextOrderID.withLock { id in
            defer { id += 1 }
            return id
        })
    }

    /// Applies a command and returns what it produced, once durable. The note is journaled with it.
    public func execute(_ command: Command, note: [UInt8] = []) async throws(Failure) -> Sequencer.Acknowledgement {
        let result: Result<Sequencer.Acknowledgement, Failure> = await withCheckedContinuation { continuation in
            submit(command, note: note) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Submits a command; `completion` runs on the sequencer's thread with what it produced once durable,
    /// or at once on the caller's with why the venue could not take it.
    public func submit(_ command: Command, note: [UInt8] = [], completion: @escaping @Sendable (Result<Sequencer.Acknowledgement, Failure>) -> Void) {
        do throws(Sequencer.SubmitError) {
            try sequencer.submit(command, note: note) { [self] result in
                // A settlement cycle that goes on: its next part goes at once, whoever sent the part before.
                if case .success(let ack) = result, case .settlementContinues(let date, _)? = ack.events.last { settleNext(date) }
                completion(result.mapError { .stopped($0.reason) })
            }
        } catch {
            completion(.failure(Self.failure(error)))
        }
    }

    /// Sends the next part of the settlement cycle of `date`, and so on to its end (`submit` chains them);
    /// a full queue is tried again shortly. Also called when a node opens on a journal that stopped partway.
    public func settleNext(_ date: CivilDate) {
        submit(.settleNext(date)) { [self] result in
            guard case .failure(.overloaded) = result else { return }
            Task {
                try? await Task.sleep(for: .milliseconds(10))
                settleNext(date)
            }
        }
    }

    /// Reads the engine's state on the sequencer thread.
    public func read<T: Sendable>(_ body: @escaping @Sendable (MatchingEngine) -> T) async throws(Failure) -> T {
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            do throws(Sequencer.SubmitError) {
                try sequencer.read { engine in
                    continuation.resume(returning: engine.map { .success(body($0)) } ?? .failure(.stopped("it stopped")))
                }
            } catch {
                continuation.resume(returning: .failure(Self.failure(error)))
            }
        }
        return try result.get()
    }

    /// An account's balances and margin figures; nil for an account the venue does not have.
    public func account(_ id: AccountID) async throws(Failure) -> AccountSummary? {
        try await read { $0.accountSummary(id) }
    }

    /// The account a number names; nil when none has it.
    public func account(number: AccountNumber) async throws(Failure) -> AccountID? {
        try await read { $0.account(number: number) }
    }

    public func positions(of id: AccountID) async throws(Failure) -> [PositionSummary] {
        try await read { $0.positions(of: id) }
    }

    /// The account's open orders, as the engine holds them.
    public func openOrders(of id: AccountID) async throws(Failure) -> [OpenOrder] {
        try await read { $0.openOrders(of: id) }
    }

    /// Every listed symbol's book summary.
    public func symbols() async throws(Failure) -> [BookSummary] {
        try await read { engine in engine.listedSymbols.compactMap { engine.summary(of: $0) } }
    }

    /// The orders open and the accounts held, venue-wide.
    public func counts() async throws(Failure) -> (openOrders: Int, accounts: Int) {
        try await read { ($0.openOrderCount, $0.accountIDs.count) }
    }

    /// The last command applied, read between batches: everything up to it has been offered to consumers.
    public func lastSequence() async throws(Failure) -> UInt64 {
        try await read { [sequencer] _ in sequencer.lastSequence }
    }

    private static func failure(_ error: Sequencer.SubmitError) -> Failure {
        error == .overloaded ? .overloaded : .stopped("\(error)")
    }

    /// Stops taking commands, applies what is queued and writes the shutdown snapshot.
    public func stop() {
        sequencer.stop()
    }
}
