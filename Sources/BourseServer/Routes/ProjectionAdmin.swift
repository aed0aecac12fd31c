import BourseProjections
import BourseVenue
import Foundation
import Hummingbird

/// The projections' operator endpoints, under `/v1/admin/projections`: their status (risk and admin keys),
/// a rebuild from the journal and a retry of a failed entry (admin keys). `bourse projections` uses them
/// when the node runs.
public struct ProjectionAdmin: Sendable {
    let projections: Projections
    let fixSessions: SessionBoard

    /// A projection's status as the API writes it (and `bourse projections` reads it).
    public struct Status: Codable, Sendable, Equatable {
        public struct Failure: Codable, Sendable, Equatable {
            public var sequence: UInt64
            public var reason: String
        }

        public var name: String
        public var store: String
        public var state: String
        public var position: UInt64
        public var head: UInt64
        public var lag: UInt64
        public var entries_applied: Int
        /// Entries applied a second, over the last second or more.
        public var apply_rate: Int
        public var transactions: Int
        public var failure: Failure?

        init(_ s: ProjectionRunner.Status) {
            name = s.name
            store = s.store
            state = s.state.rawValue
            position = s.position
            head = s.head
            lag = s.lag
            entries_applied = s.entriesApplied
            apply_rate = s.applyRate.perSecond
            transactions = s.transactions
            failure = s.failure.map { Failure(sequence: $0.sequence, reason: $0.reason) }
        }
    }

    func add(to table: RouteTable, handle: @escaping Admin.Handle) {
        table.add(.get, "/v1/admin/projections", "Each projection's state, position, lag and failure (risk, admin)", answer: .ok(.array(.anyObject))) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the projections' status")
                return Routes.json(projections.statuses.map(Status.init))
            }
        }
        table.add(.get, "/v1/admin/fix/sessions", "Each FIX session's state, sequence numbers and counts (risk, admin)",
                  answer: .ok(.array(.anyObject))) { request, _ in
            try await handle(request) { key in
                try Admin.require(key, [.risk, .admin], to: "read the FIX sessions")
                return Routes.json(fixSessions.rows)
            }
        }
        table.add(.post, "/v1/admin/projections/:name/rebuild", "Empty a projection's tables and apply the whole journal again (admin)", answer: Answer(status: 202, schema: .anyObject)) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.admin], to: "rebuild projections")
                let runner = try runner(context)
                runner.rebuild()
                return Routes.json(Status(runner.currentStatus), status: .accepted)
            }
        }
        table.add(.post, "/v1/admin/projections/:name/retry", "Try a failed projection's entry again now (admin)", answer: Answer(status: 202, schema: .anyObject)) { request, context in
            try await handle(request) { key in
                try Admin.require(key, [.admin], to: "retry projections")
                let runner = try runner(context)
                runner.retry()
                return Routes.json(Status(runner.currentStatus), status: .accepted)
            }
        }
    }

    private func runner(_ context: BasicRequestContext) throws -> ProjectionRunner {
        let name = context.parameters.get("name") ?? ""
        guard let runner = projections[name] else {
            throw Routes.Failure.notFound("no projection \(name); there are \(projections.runners.map(\.name).joined(separator: ", "))")
        }
        return runner
    }
}
