import BourseCore
import BourseFeeds
import BourseMarketData
import BourseTestSupport
import Synchronization
import Testing

@Suite("feeds over loopback")
struct FeedTests {
    static let stocks: [(String, Int64)] = [("AAPL", 1_900_000), ("MSFT", 4_200_000), ("SPY", 5_600_000)]

    /// The NBBO computed on its own from the venues' logs: each venue's books rebuilt from its whole log,
    /// the best price across the venues given, ties to the larger size, then the lower venue.
    static func expected(_ venues: [SimulatedVenue], among included: [Int]) throws -> [NBBO.Best] {
        var tops: [[(bid: (Int64, Int64)?, ask: (Int64, Int64)?)]] = []
        for venue in venues {
            var books = ITCHBooks()
            for message in venue.log { books.apply(try message.withUnsafeBytes { b throws(ITCH.DecodeError) in try ITCH.decode(b) }) }
            tops.append(stocks.map { name, _ in
                let book = books.book(ITCH.Stock(name)!)
                return (book?.bestBid.map { (Int64($0.price), $0.shares) }, book?.bestAsk.map { (Int64($0.price), $0.shares) })
            })
        }
        return stocks.indices.map { s in
            var best = NBBO.Best()
            for v in included {
                if let (price, size) = tops[v][s].bid, best.bid.map({ price > $0.price || price == $0.price && size > $0.size }) ?? true {
                    best.bid = .init(price: price, size: size, venue: v)
                }
                if let (price, size) = tops[v][s].ask, best.ask.map({ price < $0.price || price == $0.price && size > $0.size }) ?? true {
                    best.ask = .init(price: price, size: size, venue: v)
                }
            }
            return best
        }
    }

    /// Waits up to twenty seconds for `condition`.
    static func eventually(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<2_000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test("three simulated venues serve ITCH over SoupBinTCP; the feed handler's NBBO matches an independent computation, drops a venue that disconnects and takes it back once it has caught up")
    func nbboFromVenues() async throws {
        let venues = (0..<3).map { SimulatedVenue(name: "VENUE\($0)", stocks: Self.stocks, seed: UInt64(10 + $0)) }
        for venue in venues { venue.generate(2_000) }
        let ports = Shared([Int](repeating: 0, count: 3))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, venue) in venues.enumerated() {
                group.addTask { try await venue.serve { port in ports.withLock { $0[i] = port } } }
            }
            try await Self.eventually("the venues to listen") { ports.withLock { !$0.contains(0) } }
            let handler = FeedHandler(venues: ports.withLock { $0 }.enumerated().map { FeedHandler.Venue(name: "VENUE\($0.offset)", port: $0.element) },
                                      stocks: Self.stocks.map { ITCH.Stock($0.0)! })
            // A long retry, so that a dropped venue stays out long enough to be seen out.
            group.addTask { await handler.run(retry: .seconds(2)) }
            // More of the day while connected.
            for venue in venues { venue.generate(1_000) }
            func caughtUp() -> Bool { venues.indices.allSatisfy { handler.received($0) == venues[$0].logCount && handler.isLive($0) } }
            try await Self.eventually("the handler to catch up") { caughtUp() }
            let all = try Self.expected(venues, among: [0, 1, 2])
            #expect(Self.stocks.indices.map { handler.best(ITCH.Stock(Self.stocks[$0].0)!) } == all)
            #expect(all.allSatisfy { $0.bid != nil && $0.ask != nil })

            // Venue 1 drops its connections: it is stale and out of the NBBO, which the other two make.
            venues[1].dropConnections()
            try await Self.eventually("venue 1 to be stale") { handler.isStale(1) }
            #expect(Self.stocks.indices.map { handler.best(ITCH.Stock(Self.stocks[$0].0)!) } == (try Self.expected(venues, among: [0, 2])))
            // Meanwhile it goes on trading; reconnected, it resumes where it stopped, catches up and counts again.
            venues[1].generate(500)
            try await Self.eventually("venue 1 to recover") { caughtUp() && !handler.isStale(1) }
            #expect(Self.stocks.indices.map { handler.best(ITCH.Stock(Self.stocks[$0].0)!) } == (try Self.expected(venues, among: [0, 1, 2])))
            group.cancelAll()
        }
    }

    @Test("a wrong password is refused at login and the handler says so")
    func loginRejected() async throws {
        let venue = SimulatedVenue(name: "LOCKED", stocks: Self.stocks, seed: 1, password: "right")
        let port = Shared(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await venue.serve { p in port.withLock { $0 = p } } }
            try await Self.eventually("the venue to listen") { port.withLock { $0 } != 0 }
            let handler = FeedHandler(venues: [FeedHandler.Venue(name: "LOCKED", port: port.withLock { $0 }, password: "wrong")],
                                      stocks: Self.stocks.map { ITCH.Stock($0.0)! })
            group.addTask { await handler.run() }
            try await Self.eventually("the refusal") { handler.failure(0)?.contains("login rejected (A)") == true }
            #expect(handler.received(0) == 0 && !handler.isLive(0))
            group.cancelAll()
        }
    }
}

@Suite("MoldUDP64 over loopback")
struct MoldUDP64Tests {
    static func packet(_ sequence: UInt64, _ count: Int) -> MoldUDP64.Packet {
        MoldUDP64.Packet(session: "S", sequence: sequence, messages: (0..<count).map { [UInt8(truncatingIfNeeded: Int(sequence) + $0)] })
    }

    @Test("the follower hands each message on once and in order through loss, duplicates and reordering, and says what to ask for")
    func follower() {
        var follower = MoldUDP64.Follower()
        #expect(follower.receive(Self.packet(1, 3)).count == 3)
        #expect(follower.receive(Self.packet(1, 3)).isEmpty)            // a duplicate
        #expect(follower.receive(Self.packet(7, 2)).isEmpty)            // 4...6 lost
        #expect(follower.inGap && follower.missing! == (4, 3))
        #expect(follower.receive(Self.packet(9, 1)).isEmpty)
        #expect(follower.receive(Self.packet(3, 4)).map { $0[0] } == [4, 5, 6, 7, 8, 9])  // an overlapping retransmission
        #expect(!follower.inGap && follower.next == 10)
        // Random loss, duplication and reordering of 2,000 packets: the same messages, once, in order.
        var rng = SplitMix64(seed: 0x40_1D)
        var wire: [MoldUDP64.Packet] = []
        var sequence: UInt64 = 10
        for _ in 0..<2_000 {
            let count = Int(1 + rng.next() % 5)
            wire.append(MoldUDP64.Packet(session: "S", sequence: sequence, messages: (0..<count).map { [UInt8(truncatingIfNeeded: sequence + UInt64($0))] }))
            sequence += UInt64(count)
        }
        var delivered: [UInt8] = []
        var pending = wire
        while !pending.isEmpty {
            let i = Int(rng.next() % UInt64(min(pending.count, 8)))
            let p = pending[i]
            if rng.next() % 4 == 0 { pending.remove(at: i); pending.append(p); continue }  // lost now, sent again later
            if rng.next() % 10 != 0 { pending.remove(at: i) }                               // else duplicated
            delivered += follower.receive(p).map { $0[0] }
        }
        #expect(delivered == (10..<sequence).map { UInt8(truncatingIfNeeded: $0) })
        #expect(!follower.inGap)
        let request = MoldUDP64.Request(session: "VENUE1", sequence: 1_234_567, count: 42)
        #expect(request.encoded.count == 20 && (try? MoldUDP64.Request.decode(request.encoded)) == request)
    }

    @Test("a venue's feed over MoldUDP64: packets lost on the way open a gap, the venue is stale until re-requested messages fill it, and the books match the venue's log")
    func lossAndRecovery() async throws {
        let venue = SimulatedVenue(name: "UDPVENUE", stocks: FeedTests.stocks, seed: 77)
        venue.generate(1_000)
        let handler = FeedHandler(venues: [FeedHandler.Venue(name: "UDPVENUE", port: 0)], stocks: FeedTests.stocks.map { ITCH.Stock($0.0)! })
        let receiver = Shared(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await handler.followMoldUDP64(0, session: venue.session) { port in receiver.withLock { $0 = port } } }
            try await FeedTests.eventually("the receiver to bind") { receiver.withLock { $0 } != 0 }
            group.addTask { try await venue.serveMoldUDP64(to: receiver.withLock { $0 }) { _ in } }
            func caughtUp() -> Bool { handler.received(0) == venue.logCount && handler.isLive(0) && !handler.isStale(0) }
            try await FeedTests.eventually("the handler to follow the feed") { caughtUp() }
            #expect(handler.gaps(0) == 0)

            // Three packets lost: the next one shows the gap, the handler asks for what it missed and catches up.
            venue.dropNextPackets(3)
            venue.generate(1_000)
            try await FeedTests.eventually("the gap to be noticed and filled") { handler.gaps(0) == 1 && caughtUp() }

            // Packets lost, then the re-request the next packet prompts lost too, and the feed quiet: the timer
            // asks again, without any further traffic, and fills the gap.
            venue.dropNextPackets(2)
            venue.ignoreNextRequests(1)
            venue.generate(60)
            try await Task.sleep(for: .milliseconds(100))
            venue.generate(1)
            try await FeedTests.eventually("the quiet gap to be filled") { handler.gaps(0) == 2 && caughtUp() }
            let expected = try FeedTests.expected([venue], among: [0])
            #expect(FeedTests.stocks.indices.map { handler.best(ITCH.Stock(FeedTests.stocks[$0].0)!) } == expected)
            group.cancelAll()
        }
    }
}
