import Synchronization

/// Which node of the venue leads, as this node knows it: what `/v1/leader` answers, on the leader and on a
/// standby alike, so that a client that reached either finds the leader.
public final class Leadership: Sendable {
    public enum Role: String, Sendable, Codable {
        /// One node with no standby: it always leads.
        case single
        /// The leader of a primary and standby pair, under a term of the lease.
        case primary
        /// A node following the leader's log, ready to take over.
        case standby
    }

    public struct State: Sendable, Codable, Equatable {
        public var role: Role
        /// The term the leader leads under; nil for a single node, and before a standby has seen a lease.
        public var term: UInt64?
        /// Where the leader serves.
        public var leader: String?
        /// This node's name in the lease.
        public var node: String?
        /// The last sequence this node holds in its journal (a standby's: how far it has followed).
        public var sequence: UInt64?
        public init(role: Role, term: UInt64? = nil, leader: String? = nil, node: String? = nil, sequence: UInt64? = nil) {
            self.role = role
            self.term = term
            self.leader = leader
            self.node = node
            self.sequence = sequence
        }
    }

    private let state: Mutex<State>

    public init(_ initial: State = State(role: .single)) { state = Mutex(initial) }

    public var current: State { state.withLock { $0 } }

    public func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
}
