import BourseCore
import BourseMarketData
import NIOCore
import NIOPosix
import Synchronization

/// Follows venues' ITCH feeds over SoupBinTCP: one connection each, logged in with the sequence number
/// of the next message it needs, so a reconnection resumes without a gap. Each venue's messages build its
/// books; each change to a book's top updates the NBBO across the venues. A venue whose connection drops
/// is stale (out of the NBBO) until it has logged in again and caught up, then its quotes count again.
public final class FeedHandler: Sendable {
    public struct Venue: Sendable {
        public enum Transport: Sendable, Equatable {
            /// Connect to `host`:`port` and log in.
            case soupBinTCP
            /// Receive datagrams of `session` on 127.0.0.1:`port`; re-request from the packets' source.
            case moldUDP64(session: String)
        }

        public var name: String
        public var host: String
        public var port: Int
        public var username: String
        public var password: String
        public var transport: Transport
        public init(name: String, host: String = "127.0.0.1", port: Int, username: String = "bourse", password: String = "secret",
                    transport: Transport = .soupBinTCP) {
            self.name = name
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.transport = transport
        }
    }

    private struct State {
        var nbbo: NBBO
        var books: [ITCHBooks]
        /// Feed messages applied per venue: the next one's sequence number is this plus one.
        var received: [Int]
        /// The NBBO's per-venue update counter (its own sequence, contiguous while connected).
        var updates: [UInt64]
        var live: [Bool]
        var symbols: [UInt64: Int]
        var failures: [String?]
        /// Updates of the home venue's own quotes, counted like a feed's.
        var ownUpdates: UInt64 = 0
        /// Sequence gaps seen per venue (MoldUDP64), since start.
        var gaps: [Int]
    }

    public let venues: [Venue]
    public let stocks: [ITCH.Stock]
    private let state: Mutex<State>
    /// Told of each change to a stock's NBBO, outside the handler's lock.
    private let onChange: @Sendable (ITCH.Stock, NBBO.Best) -> Void
    /// The venue number of the home venue's own quotes: the one after the feeds'.
    public var ownVenue: Int { venues.count }

    /// Follows `venues`; the home venue (Bourse's own book) quotes through `ownQuote` as one more venue.
    public init(venues: [Venue], stocks: [ITCH.Stock], onChange: @escaping @Sendable (ITCH.Stock, NBBO.Best) -> Void = { _, _ in }) {
        precondition(venues.count < NBBO.venuesMax)
        self.venues = venues
        self.stocks = stocks
        self.onChange = onChange
        state = Mutex(State(nbbo: NBBO(symbols: stocks.count), books: venues.map { _ in ITCHBooks() },
                            received: Array(repeating: 0, count: venues.count), updates: Array(repeating: 0, count: venues.count),
                            live: Array(repeating: false, count: venues.count),
                            symbols: Dictionary(uniqueKeysWithValues: stocks.enumerated().map { ($0.element.raw, $0.offset) }),
                            failures: Array(repeating: nil, count: venues.count), gaps: Array(repeating: 0, count: venues.count)))
    }

    /// The venue's name: a feed's, or `own` for the home venue.
    public func name(of venue: Int, own: String) -> String { venue < venues.count ? venues[venue].name : own }

    /// The home venue's new top of book for a stock.
    public func ownQuote(_ stock: ITCH.Stock, bid: (price: Int64, size: Int64)?, ask: (price: Int64, size: Int64)?) {
        let changed: NBBO.Best? = state.withLock { s in
            guard let symbol = s.symbols[stock.raw] else { return nil }
            s.ownUpdates += 1
            if case .changed(let best) = s.nbbo.update(venue: ownVenue, symbol: symbol, bid: bid, ask: ask, sequence: s.ownUpdates) { return best }
            return nil
        }
        if let changed { onChange(stock, changed) }
    }

    /// The NBBO of a stock now.
    public func best(_ stock: ITCH.Stock) -> NBBO.Best? {
        state.withLock { s in s.symbols[stock.raw].map { s.nbbo.best[$0] } }
    }

    public func received(_ venue: Int) -> Int { state.withLock { $0.received[venue] } }
    public func isStale(_ venue: Int) -> Bool { state.withLock { $0.nbbo.stale[venue] } }
    public func isLive(_ venue: Int) -> Bool { state.withLock { $0.live[venue] } }
    /// Sequence gaps a venue's MoldUDP64 feed has had since start.
    public func gaps(_ venue: Int) -> Int { state.withLock { $0.gaps[venue] } }
    /// Why the last connection to the venue ended, if it did.
    public func failure(_ venue: Int) -> String? { state.withLock { $0.failures[venue] } }

    /// Follows every venue until cancelled, reconnecting a dropped one after `retry`.
    public func run(retry: Duration = .milliseconds(100)) async {
        await withDiscardingTaskGroup { group in
            for venue in venues.indices {
                group.addTask { await self.follow(venue, retry: retry) }
            }
        }
    }

    private func follow(_ venue: Int, retry: Duration) async {
        while !Task.isCancelled {
            do {
                switch venues[venue].transport {
                case .soupBinTCP: try await connect(venue)
                case .moldUDP64(let session): try await followMoldUDP64(venue, port: venues[venue].port, session: session)
                }
                state.withLock { $0.failures[venue] = "the venue ended its session" }
            } catch {
                state.withLock { $0.failures[venue] = "\(error)" }
            }
            let changed: [Int] = state.withLock { s in
                guard s.live[venue] else { return [] }
                s.live[venue] = false
                return s.nbbo.markStale(venue)
            }
            publish(changed)
            try? await Task.sleep(for: retry)
        }
    }

    private func connect(_ venue: Int) async throws {
        let v = venues[venue]
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: v.host, port: v.port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                let next = UInt64(state.withLock { $0.received[venue] } + 1)
                try await outbound.write(ByteBuffer(bytes: SoupBinTCP.encode(.loginRequest(username: v.username, password: v.password, session: "",
                                                                                           sequence: next))))
                var decoder = SoupBinTCP.Decoder()
                for try await bytes in inbound {
                    for packet in try decoder.feed(bytes.readableBytesView) {
                        switch packet {
                        case .loginAccepted(_, let sequence):
                            guard sequence == next else { throw FramingError(offset: 0, reason: "the venue resumed at \(sequence), not \(next)") }
                            recover(venue)
                        case .loginRejected(let reason):
                            throw FramingError(offset: 0, reason: "login rejected (\(Character(Unicode.Scalar(reason))))")
                        case .sequencedData(let bytes):
                            let message = try bytes.withUnsafeBytes { b throws(ITCH.DecodeError) in try ITCH.decode(b) }
                            apply(message, venue: venue)
                        case .endOfSession:
                            return
                        default:
                            break
                        }
                    }
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    /// Follows venue `venue` over MoldUDP64 instead of SoupBinTCP: its datagrams arrive on 127.0.0.1:`port`
    /// (0: any free port, told to `onListening`), and what a gap leaves out is asked again from the venue's
    /// re-request server: `requestServer`, else the address the datagrams come from. While messages are
    /// missing the venue is stale; once they have come and been applied in order, its tops count again.
    /// Runs until the task is cancelled.
    public func followMoldUDP64(_ venue: Int, port: Int = 0, session: String, requestServer: SocketAddress? = nil,
                                onListening: @Sendable (Int) -> Void = { _ in }) async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                }
            }
        onListening(channel.channel.localAddress?.port ?? 0)
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                let sequencing = MoldSequencing(next: UInt64(state.withLock { $0.received[venue] } + 1), server: requestServer)
                /// The missing range, if a gap is open and the last request is older than 20 ms (so that a
                /// burst of packets after a gap is not a burst of requests).
                func due() -> (MoldUDP64.Request, SocketAddress)? {
                    sequencing.state.withLock { s in
                        guard let (sequence, count) = s.follower.missing, let server = s.server,
                              ContinuousClock.now - s.lastRequest > .milliseconds(20) else { return nil }
                        s.lastRequest = .now
                        return (MoldUDP64.Request(session: session, sequence: sequence, count: count), server)
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Asked again on a timer too, for a gap the feed leaves open by going quiet.
                    group.addTask {
                        while true {
                            try await Task.sleep(for: .milliseconds(50))
                            if let (request, server) = due() {
                                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: request.encoded)))
                            }
                        }
                    }
                    for try await envelope in inbound {
                        guard let packet = try? MoldUDP64.decode(Array(envelope.data.readableBytesView)), packet.session == session else { continue }
                        let (wasInGap, ready, inGap) = sequencing.state.withLock { s in
                            if s.server == nil { s.server = envelope.remoteAddress }
                            let was = s.follower.inGap
                            let ready = s.follower.receive(packet)
                            return (was, ready, s.follower.inGap)
                        }
                        for bytes in ready {
                            let message = try bytes.withUnsafeBytes { b throws(ITCH.DecodeError) in try ITCH.decode(b) }
                            apply(message, venue: venue)
                        }
                        if inGap {
                            if !wasInGap {
                                let changed: [Int] = state.withLock { s in
                                    s.gaps[venue] += 1
                                    s.live[venue] = false
                                    return s.nbbo.markStale(venue)
                                }
                                publish(changed)
                            }
                            if let (request, server) = due() {
                                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: request.encoded)))
                            }
                        } else if !state.withLock({ $0.live[venue] }) {
                            recover(venue)
                        }
                    }
                    group.cancelAll()
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    /// Logged in and resuming with nothing missed: the venue's books are whole again, so its tops count.
    private func recover(_ venue: Int) {
        let changed: [Int] = state.withLock { s in
            var quotes: [(symbol: Int, bid: (price: Int64, size: Int64)?, ask: (price: Int64, size: Int64)?)] = []
            for case let book? in s.books[venue].books {
                guard let symbol = s.symbols[book.stock.raw] else { continue }
                quotes.append((symbol, book.bestBid.map { (Int64($0.price), $0.shares) }, book.bestAsk.map { (Int64($0.price), $0.shares) }))
            }
            s.live[venue] = true
            return s.nbbo.recovered(venue, quotes: quotes, sequence: s.updates[venue])
        }
        publish(changed)
    }

    private func apply(_ message: ITCH.Message, venue: Int) {
        let changed: (ITCH.Stock, NBBO.Best)? = state.withLock { s in
            s.received[venue] += 1
            guard let locate = s.books[venue].apply(message), let book = s.books[venue].books[Int(locate)],
                  let symbol = s.symbols[book.stock.raw] else { return nil }
            s.updates[venue] += 1
            let outcome = s.nbbo.update(venue: venue, symbol: symbol, bid: book.bestBid.map { (Int64($0.price), $0.shares) },
                                        ask: book.bestAsk.map { (Int64($0.price), $0.shares) }, sequence: s.updates[venue])
            if case .changed(let best) = outcome { return (book.stock, best) }
            return nil
        }
        if let (stock, best) = changed { onChange(stock, best) }
    }

    /// Publishes the NBBOs a venue's staleness or recovery changed.
    private func publish(_ symbols: [Int]) {
        let changes = state.withLock { s in symbols.map { (stocks[$0], s.nbbo.best[$0]) } }
        for (stock, best) in changes { onChange(stock, best) }
    }
}

/// A MoldUDP64 receiver's sequencing, shared by its packet loop and its re-request timer.
private final class MoldSequencing: Sendable {
    struct State {
        var follower: MoldUDP64.Follower
        var lastRequest = ContinuousClock.now - .seconds(1)
        /// Where re-requests go: the configured server, else where the packets come from.
        var server: SocketAddress?
    }

    let state: Mutex<State>

    init(next: UInt64, server: SocketAddress?) {
        state = Mutex(State(follower: MoldUDP64.Follower(next: next), server: server))
    }
}
