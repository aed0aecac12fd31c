import BourseNode

/// The node's projections, each with its runner: what `/readyz`, `/metrics` and `bourse projections` ask
/// about, and where a read that must see an acknowledged command waits.
public final class Projections: Sendable {
    public let runners: [ProjectionRunner]
    /// The store they share.
    public let store: any ProjectionStore

    public init(_ runners: [ProjectionRunner], store: any ProjectionStore) {
        precondition(Set(runners.map(\.name)).count == runners.count, "projection names are unique")
        self.runners = runners
        self.store = store
    }

    public subscript(_ name: String) -> ProjectionRunner? { runners.first { $0.name == name } }

    public var statuses: [ProjectionRunner.Status] { runners.map(\.currentStatus) }

    /// Why each projection that does not follow the journal does not, one line each.
    public var problems: [String] {
        statuses.compactMap { s in
            switch s.state {
            case .failed: "projection \(s.name) \(s.failure.map { "\($0)" } ?? "failed")"
            case .rebuilding: "projection \(s.name) is rebuilding (at sequence \(s.position) of \(s.head))"
            case .finished: "projection \(s.name) has stopped"
            default: nil
            }
        }
    }

    /// Waits until `name` has committed `sequence`. Nil when it has; otherwise why not.
    public func wait(_ name: String, for sequence: UInt64) async -> String? {
        guard let runner = self[name] else { return "no projection \(name)" }
        if await runner.watermark.wait(for: sequence) { return nil }
        let status = runner.currentStatus
        if let failure = status.failure { return "projection \(name) \(failure)" }
        return "projection \(name) is behind the venue (at sequence \(status.position) of \(sequence)); try again"
    }

    /// Waits until `name` has committed `sequence` for as long as it moves: for a reader that may wait
    /// seconds (a FIX Logon after a burst of orders), not for an HTTP answer. Nil when it has; otherwise
    /// why not, once it failed, stopped, or did not move within one wait.
    public func waitWhileMoving(_ name: String, for sequence: UInt64) async -> String? {
        var position = self[name]?.currentStatus.position
        while true {
            guard let problem = await wait(name, for: sequence) else { return nil }
            let now = self[name]?.currentStatus
            guard let now, now.failure == nil, now.state != .finished, now.position != position else { return problem }
            position = now.position
        }
    }

    public func start() { for runner in runners { runner.start() } }

    public func waitUntilFinished() { for runner in runners { runner.waitUntilFinished() } }
}
