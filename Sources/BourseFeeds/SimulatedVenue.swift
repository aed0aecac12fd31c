import BourseCore
import BourseMarketData
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A synthetic venue that serves its ITCH 5.0 feed over SoupBinTCP on loopback: a seeded flow of adds,
/// executions, cancels, deletes and replaces over a few stocks around each stock's price, kept as a log
/// so that a client logging in with a sequence number gets everything from it, then the live feed. It lets
/// the whole path (framing, decoding, books, NBBO, staleness and recovery) run and be tested here.
public final class SimulatedVenue: Sendable {
    public let name: String
    public let session: String
    public let stocks: [ITCH.Stock]
    private let password: String
    private struct State {
        var log: [[UInt8]] = []
        var flow: VenueFlow
        /// Bumped to close every connection (to test a client's recovery).
        var generation = 0
        var paused = false
        /// MoldUDP64 packets still to leave out, and re-requests still to ignore (to test a receiver's recovery).
        var droppingPackets = 0
        var ignoringRequests = 0
    }
    private let state: Mutex<State>
    /// The log's bound; past it the venue stops generating (a session's day has ended).
    public static let logMax = 10_000_000

    public init(name: String, stocks: [(String, Int64)], seed: UInt64, password: String = "secret") {
        self.name = name
        session = String(name.prefix(10))
        self.stocks = stocks.map { ITCH.Stock($0.0)! }
        self.password = password
        state = Mutex(State(flow: VenueFlow(stocks: stocks.map { (ITCH.Stock($0.0)!, $0.1) }, seed: seed)))
        let directory = self.stocks.enumerated().map { i, stock in
            ITCH.encode(.stockDirectory(ITCH.Header(locate: UInt16(i + 1), tracking: 0, timestamp: 0), ITCH.StockDirectory(stock: stock)))
        }
        state.withLock { $0.log = [ITCH.encode(.systemEvent(ITCH.Header(locate: 0, tracking: 0, timestamp: 0), code: UInt8(ascii: "O")))] + directory }
    }

    /// Messages in the log so far; the next one's sequence number is this plus one.
    public var logCount: Int { state.withLock { $0.log.count } }

    /// The log's messages, for computing independently what a client should have built.
    public var log: [[UInt8]] { state.withLock { $0.log } }

    /// Appends `count` generated messages to the feed, unless paused.
    public func generate(_ count: Int) {
        state.withLock { s in
            guard !s.paused else { return }
            for _ in 0..<count where s.log.count < Self.logMax { s.log.append(ITCH.encode(s.flow.next())) }
        }
    }

    public func pause(_ paused: Bool) { state.withLock { $0.paused = paused } }

    /// Closes every client connection; clients are expected to log in again where they left off.
    public func dropConnections() { state.withLock { $0.generation += 1 } }

    /// Leaves the next `count` MoldUDP64 packets unsent, as a network that loses datagrams would.
    public func dropNextPackets(_ count: Int) { state.withLock { $0.droppingPackets = count } }

    /// Leaves the next `count` re-requests unanswered, as if they were lost on the way.
    public func ignoreNextRequests(_ count: Int) { state.withLock { $0.ignoringRequests = count } }

    /// Messages in one MoldUDP64 packet at most.
    static let packetMessagesMax = 50

    /// The log from sequence number `sequence` on, at most `count` messages.
    private func messages(from sequence: Int, count: Int) -> [[UInt8]] {
        state.withLock { s in
            guard sequence >= 1, sequence <= s.log.count else { return [] }
            return Array(s.log[(sequence - 1)..<min(s.log.count, sequence - 1 + count)])
        }
    }

    /// Serves the feed as MoldUDP64 datagrams to a receiver on 127.0.0.1:`port` (standing in for a
    /// multicast group), from the first message on, checking for new messages every `interval`; and answers
    /// re-requests on the port it binds, told to `onListening`. Runs until the task is cancelled.
    public func serveMoldUDP64(to port: Int, every interval: Duration = .milliseconds(5), onListening: @Sendable (Int) -> Void) async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        onListening(channel.channel.localAddress?.port ?? 0)
        let receiver = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { [self] group in
                    group.addTask { [self] in
                        var sent = 0
                        while !Task.isCancelled {
                            let batch = messages(from: sent + 1, count: Self.packetMessagesMax)
                            if batch.isEmpty {
                                try await Task.sleep(for: interval)
                                continue
                            }
                            let dropped = state.withLock { s in
                                guard s.droppingPackets > 0 else { return false }
                                s.droppingPackets -= 1
                                return true
                            }
                            if !dropped {
                                let packet = MoldUDP64.encode(.init(session: session, sequence: UInt64(sent + 1), messages: batch))
                                try await outbound.write(AddressedEnvelope(remoteAddress: receiver, data: ByteBuffer(bytes: packet)))
                            }
                            sent += batch.count
                        }
                    }
                    group.addTask { [self] in
                        for try await envelope in inbound {
                            guard let request = try? MoldUDP64.Request.decode(Array(envelope.data.readableBytesView)), request.session == session else { continue }
                            let ignored = state.withLock { s in
                                guard s.ignoringRequests > 0 else { return false }
                                s.ignoringRequests -= 1
                                return true
                            }
                            if ignored { continue }
                            var sequence = Int(request.sequence)
                            let end = sequence + Int(request.count)
                            while sequence < end {
                                let batch = messages(from: sequence, count: min(Self.packetMessagesMax, end - sequence))
                                if batch.isEmpty { break }
                                let packet = MoldUDP64.encode(.init(session: session, sequence: UInt64(sequence), messages: batch))
                                try await outbound.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: packet)))
                                sequence += batch.count
                            }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    /// Listens on 127.0.0.1 (port 0: any free port) and serves until the task is cancelled. `onListening`
    /// is told the port.
    public func serve(port: Int = 0, onListening: @Sendable (Int) -> Void) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        onListening(server.channel.localAddress?.port ?? 0)
        try await withTaskCancellationHandler {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { try? await self.session(connection) }
                    }
                }
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
    }

    /// One client: its login, then the log from the sequence it asked for, then the live feed, with a
    /// heartbeat each second it is idle.
    private func session(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var decoder = SoupBinTCP.Decoder()
            var login: (sequence: UInt64, password: String)?
            for try await bytes in inbound {
                for packet in try decoder.feed(bytes.readableBytesView) {
                    if case .loginRequest(_, let password, _, let sequence) = packet { login = (sequence, password) }
                }
                if login != nil { break }
            }
            guard let login else { return }
            guard login.password == password else {
                try await outbound.write(ByteBuffer(bytes: SoupBinTCP.encode(.loginRejected(reason: UInt8(ascii: "A")))))
                return
            }
            let (generation, count) = state.withLock { ($0.generation, $0.log.count) }
            // Sequence 0 asks for the live feed only; n asks for everything from message n.
            var next = login.sequence == 0 ? count + 1 : Int(login.sequence)
            try await outbound.write(ByteBuffer(bytes: SoupBinTCP.encode(.loginAccepted(session: session, sequence: UInt64(next)))))
            var idleSince = ContinuousClock.now
            while !Task.isCancelled {
                let (batch, current): ([[UInt8]], Int) = state.withLock { s in
                    guard next - 1 < s.log.count else { return ([], s.generation) }
                    return (Array(s.log[(next - 1)..<min(s.log.count, next - 1 + 4_096)]), s.generation)
                }
                if current != generation { return }
                if batch.isEmpty {
                    if ContinuousClock.now - idleSince > .seconds(1) {
                        try await outbound.write(ByteBuffer(bytes: SoupBinTCP.encode(.serverHeartbeat)))
                        idleSince = ContinuousClock.now
                    }
                    try await Task.sleep(for: .milliseconds(5))
                    continue
                }
                var buffer = ByteBuffer()
                for message in batch { buffer.writeBytes(SoupBinTCP.encode(.sequencedData(message))) }
                try await outbound.write(buffer)
                next += batch.count
                idleSince = ContinuousClock.now
            }
        }
    }
}

/// The venue's order flow: around each stock's price, adds on both sides in round lots, and executions,
/// cancels, deletes and replaces of its open orders, keeping a few hundred open.
struct VenueFlow {
    var stocks: [(stock: ITCH.Stock, price: Int64)]
    var rng: SplitMix64
    var open: [(reference: UInt64, locate: UInt16, side: Side, price: UInt32, shares: UInt32)] = []
    var nextReference: UInt64 = 1
    var match: UInt64 = 1
    var time: UInt64 = 34_200_000_000_000

    init(stocks: [(ITCH.Stock, Int64)], seed: UInt64) {
        self.stocks = stocks.map { ($0.0, $0.1) }
        rng = SplitMix64(seed: seed)
    }

    mutating func next() -> ITCH.Message {
        time += 1_000 + rng.next() % 100_000
        let roll = rng.next() % 100
        if open.count < 50 || roll < 45 && open.count < 500 {
            let i = Int(rng.next() % UInt64(stocks.count))
            let side: Side = rng.next() & 1 == 0 ? .buy : .sell
            // Bids below the price, offers above, a cent to twenty cents away.
            let away = Int64(1 + rng.next() % 20) * 100
            let price = UInt32(stocks[i].price + (side == .buy ? -away : away))
            let shares = UInt32(100 * (1 + rng.next() % 5))
            let h = ITCH.Header(locate: UInt16(i + 1), tracking: 0, timestamp: time)
            open.append((nextReference, UInt16(i + 1), side, price, shares))
            defer { nextReference += 1 }
            return .addOrder(h, ITCH.AddOrder(reference: nextReference, side: side, shares: shares, stock: stocks[i].stock, price: price))
        }
        let k = Int(rng.next() % UInt64(open.count))
        let order = open[k]
        let h = ITCH.Header(locate: order.locate, tracking: 0, timestamp: time)
        switch roll % 4 {
        case 0:
            let part = 100 * UInt32(1 + rng.next() % UInt64(order.shares / 100))
            if part == order.shares { open.swapAt(k, open.count - 1); open.removeLast() } else { open[k].shares -= part }
            defer { match += 1 }
            return .orderExecuted(h, reference: order.reference, shares: part, match: match)
        case 1:
            let price = order.price + 100
            open[k] = (nextReference, order.locate, order.side, price, order.shares)
            defer { nextReference += 1 }
            return .orderReplace(h, original: order.reference, new: nextReference, shares: order.shares, price: price)
        default:
            open.swapAt(k, open.count - 1)
            open.removeLast()
            return .orderDelete(h, reference: order.reference)
        }
    }
}
