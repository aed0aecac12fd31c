@testable import bourse
import BourseCore
import BourseMarketData
import Testing

@Suite("bench order files")
struct BenchInputTests {
    @Test("an order file lists and opens each symbol, reads every order type and time in force, and names accounts by number")
    func parses() throws {
        let file = try OrderFile(text: """
            new,1,ACC1,ABC,B,LMT,DAY,10.25,100
            new,2,8,ABC,S,MKT,IOC,0,50
            new,3,ACC1,XYZ,S,STP,GTC,0,10,9.50
            new,4,ACC1,XYZ,B,STPLMT,FOK,10.10,10,10.00
            cancel,1
            """)
        let abc = try Symbol(validating: "ABC"), xyz = try Symbol(validating: "XYZ")
        #expect(file.setup == [.listSymbol(abc, .standard), .setTradingState(abc, .open),
                               .listSymbol(xyz, .standard), .setTradingState(xyz, .open)])
        #expect(file.commands.count == 5)
        // Account numbers get engine ids in the order they first appear: ACC1 is 1, 8 is 2.
        #expect(file.commands[0] == .newOrder(NewOrder(orderID: OrderID(1), account: AccountID(1), symbol: abc, side: .buy,
                                                       type: .limit, timeInForce: .day, quantity: Quantity(100),
                                                       limitPrice: Price(dollars: "10.25"))))
        if case .newOrder(let market) = file.commands[1] {
            #expect(market.limitPrice == nil && market.type == .market && market.account == AccountID(2))
        }
        if case .newOrder(let stop) = file.commands[2] { #expect(stop.stopPrice == Price(dollars: "9.50") && stop.limitPrice == nil) }
        if case .newOrder(let stopLimit) = file.commands[3] {
            #expect(stopLimit.limitPrice == Price(dollars: "10.10") && stopLimit.stopPrice == Price(dollars: "10.00"))
        }
        #expect(file.commands[4] == .cancel(CancelOrder(orderID: OrderID(1), account: AccountID(1))))
    }

    @Test("a malformed line is an error naming the line and what is wrong", arguments: [
        ("new,1,7,ABC,B,LMT,DAY,10.25", "line 1: expected 9 or 10 fields for new, found 8"),
        ("new,1,7,ABC,X,LMT,DAY,10.25,100", "line 1: side 'X' is not B or S"),
        ("new,1,7,ABC,B,LMT,DAY,10.123456,100", "line 1: price '10.123456' is not a dollar amount with at most 4 decimals"),
        ("new,1,7,abc,B,LMT,DAY,10.25,100", "line 1: symbol: a symbol holds only A-Z, 0-9 and '.', not 'a'"),
        ("new,1,ACC_1,ABC,B,LMT,DAY,10.25,100", "line 1: account: an account number holds only A-Z, a-z, 0-9 and '-', not \"ACC_1\""),
        ("cancel,5", "line 1: cancel of order 5, which no earlier line entered"),
        ("amend,1", "line 1: unknown command 'amend': expected new or cancel"),
        ("new,1,7,ABC,B,STPLMT,DAY,10.25,100", "line 1: STPLMT needs a stop price in the tenth field"),
    ])
    func malformed(line: String, message: String) {
        #expect(throws: OrderFile.ParseError.self) { try OrderFile(text: line) }
        do { _ = try OrderFile(text: line) } catch { #expect(error.description == message) }
    }

    @Test("the benchmark's generated ITCH day decodes whole and builds books without an anomaly")
    func itchDay() throws {
        let file = ITCHDay.generate(messages: 50_000, seed: 3)
        var books = ITCHBooks()
        var count = 0
        try file.withUnsafeBytes { b in
            try ITCH.forEachMessage(in: b) { message in
                books.apply(message)
                count += 1
            }
        }
        #expect(count == 50_000)
        #expect(books.anomalies == 0 && books.orderCount > 1_000)
        #expect(ITCHDay.generate(messages: 50_000, seed: 3) == file)
    }
}

@Suite("the order-stream file under mutated input")
struct OrderFileFuzzTests {
    @Test("20,000 mutated files each read or are refused naming a line; none traps")
    func mutated() {
        let seed = Array("""
        new,1,7,ABC,B,LMT,DAY,10.25,100
        new,2,8,ABC,S,STPLMT,GTC,10.00,50,10.10
        cancel,1
        new,3,7,XYZ,S,MKT,IOC,0,5

        """.utf8)
        var rng = SplitMix64(seed: 11)
        let interesting: [UInt8] = Array("0123456789.,-+\nBSLMTKPGDICOXZnewcancel".utf8) + [0, 0xFF]
        var read = 0
        for _ in 0..<20_000 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                let byte = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            do {
                _ = try OrderFile(text: String(decoding: bytes, as: UTF8.self))
                read += 1
            } catch {
                #expect(error.description.hasPrefix("line "), "\(error)")
            }
        }
        #expect(read > 100)
    }
}
