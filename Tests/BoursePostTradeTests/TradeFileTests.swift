import BourseCore
import BoursePostTrade
import Testing

@Suite("trade files: the form check of a dropped CSV file")
struct TradeFileTests {
    let header = "trade_id,account,symbol,side,quantity,price,trade_date,settlement_date,counterparty,venue\n"

    func read(_ text: String, name: String = "trades.csv") throws(TradeFile.FileError) -> [TradeFile.Row] {
        try TradeFile.read(Array(text.utf8), name: name)
    }

    /// The reason of the one row of a file with `row` under the full header.
    func reason(_ row: String) throws -> String? {
        let rows = try read(header + row + "\n")
        guard rows.count == 1, case .failure(let error) = rows[0].trade else { return nil }
        return error.reason
    }

    @Test("given a file with every column, quoted fields and CRLF lines, when it is read, then each row is its trade")
    func wellFormed() throws {
        let text = "venue,trade_id,account,symbol,side,quantity,price,trade_date,settlement_date,counterparty\r\n"
            + "XNAS,T-1,ACC-1,AAPL,buy,100,189.25,2026-10-09,,\"Smith, Jones & Co\"\r\n"
            + "\"\",T-2,2,MSFT,SELL,5,0.0001,2026-10-09,2026-10-14,\"say \"\"hi\"\"\"\r\n"
        let rows = try read(text, name: "day.csv")
        #expect(rows.map(\.line) == [2, 3])
        let first = try rows[0].trade.get()
        #expect(first == CapturedTrade(tradeID: "T-1", account: AccountNumber("ACC-1")!, symbol: try Symbol(validating: "AAPL"), side: .buy,
                                       quantity: Quantity(100), price: Price(units: 1_892_500), tradeDate: CivilDate("2026-10-09")!,
                                       counterparty: "Smith, Jones & Co", venue: "XNAS", source: .file(name: "day.csv", row: 2)))
        let second = try rows[1].trade.get()
        #expect(second.side == .sell && second.price == Price(units: 1) && second.settlementDate == CivilDate("2026-10-14"))
        #expect(second.counterparty == "say \"hi\"" && second.venue == nil)
    }

    /// Why a file is refused whole; nil when it is read.
    func refusal(_ text: String) -> String? {
        do throws(TradeFile.FileError) {
            _ = try TradeFile.read(Array(text.utf8), name: "trades.csv")
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("a header with a column the format does not have, one named twice, or one missing refuses the file by name")
    func headers() {
        #expect(refusal("trade_id,account,symbol,side,quantity,price,trade_date,fee\n")
                == "the header names a column \"fee\" the format does not have; the columns are trade_id, account, symbol, side, "
                + "quantity, price, trade_date, settlement_date, counterparty, venue")
        #expect(refusal("trade_id,account,symbol,side,quantity,price\n") == "the header has no column trade_date")
        #expect(refusal("trade_id,account,symbol,side,quantity,price,trade_date,side\n") == "the header names the column side twice")
        #expect(refusal("")?.hasPrefix("trades.csv has no header row") == true)
        #expect(refusal(header + "T-1,1,AAPL,buy,1,1,2026-10-09,,\"open\n") == "line 2: a quoted field is not closed before the end of the file")
        #expect(refusal(header) == nil)
    }

    @Test("each wrong field gets its own reason and leaves the other rows alone", arguments: [
        ("T-1,1,AAPL,hold,1,1,2026-10-09,,,", "side \"hold\" is neither buy nor sell"),
        ("T-1,1,AAPL,buy,10.5,1,2026-10-09,,,", "quantity \"10.5\" is not a whole number of shares from 1 to 1000000000"),
        ("T-1,1,AAPL,buy,0,1,2026-10-09,,,", "quantity \"0\" is not a whole number of shares from 1 to 1000000000"),
        ("T-1,1,AAPL,buy,1,1.00001,2026-10-09,,,", "price \"1.00001\" is not a price above 0 and at most \(Price.max) with at most four decimals"),
        ("T-1,1,AAPL,buy,1,-1,2026-10-09,,,", "price \"-1\" is not a price above 0 and at most \(Price.max) with at most four decimals"),
        ("T-1,1,AAPL,buy,1,1,2026-02-30,,,", "trade_date \"2026-02-30\" is not a date as YYYY-MM-DD from 1678-01-01 to 2261-12-31"),
        ("T-1,1,AAPL,buy,1,1,2026-10-09,2026-10-08,,", "settlement_date 2026-10-08 is before trade_date 2026-10-09"),
        ("T-1,1,aapl!,buy,1,1,2026-10-09,,,", "symbol: a symbol holds only A-Z, 0-9 and '.', not 'a'"),
        (",1,AAPL,buy,1,1,2026-10-09,,,", "trade_id is empty"),
        ("T-1,1,AAPL,buy,1,1,2026-10-09,,", "it has 9 fields, the header 10"),
        ("T-1,1,AA\"PL,buy,1,1,2026-10-09,,,", "field 3 has a quote but does not begin with one"),
        ("T-1,1,AAPL,buy,1,1,2026-10-09,,\"x\"y,", "field 9 has characters after its closing quote"),
        ("T-\(String(repeating: "9", count: 70)),1,AAPL,buy,1,1,2026-10-09,,,", "field 1 is longer than 64 bytes"),
    ])
    func rowReasons(row: String, expected: String) throws {
        #expect(try reason(row) == expected)
    }

    @Test("a field that is not UTF-8 is refused, not replaced")
    func notUTF8() throws {
        let rows = try TradeFile.read(Array(header.utf8) + Array("T-1,1,AAPL,buy,1,1,2026-10-09,,,".utf8) + [0xFF, 0x0A], name: "f.csv")
        guard rows.count == 1, case .failure(let error) = rows[0].trade else { Issue.record("the row was taken"); return }
        #expect(error.reason == "field 10 is not UTF-8")
    }

    @Test("an empty line in the middle is a row of its own that is refused; the rows around it are taken")
    func emptyLine() throws {
        let rows = try read(header + "T-1,1,AAPL,buy,1,1,2026-10-09,,,\n\nT-2,1,AAPL,sell,1,1,2026-10-09,,,\n")
        #expect(rows.map(\.line) == [2, 3, 4])
        #expect((try? rows[0].trade.get()) != nil && (try? rows[2].trade.get()) != nil)
        guard case .failure(let error) = rows[1].trade else { Issue.record("the empty line was taken"); return }
        #expect(error.description == "line 3: the line is empty")
    }

    @Test("a quoted field across lines keeps the line numbers of the rows after it right")
    func multilineField() throws {
        let rows = try read(header + "T-1,1,AAPL,buy,1,1,2026-10-09,,\"two\nlines\",\nT-2,1,AAPL,buy,1,1,2026-10-09,,,x\n")
        #expect(rows.map(\.line) == [2, 4])
        guard case .failure(let error) = rows[0].trade else { Issue.record("a control character was taken"); return }
        #expect(error.reason == "counterparty holds a control character")
    }

    @Test("more rows than the limit refuse the file")
    func rowLimit() {
        let text = header + String(repeating: "T-1,1,AAPL,buy,1,1,2026-10-09,,,\n", count: 4)
        #expect(refusal(text) == nil)
        do throws(TradeFile.FileError) {
            _ = try TradeFile.read(Array(text.utf8), name: "trades.csv", rowsMax: 3)
            Issue.record("four rows were read under a limit of three")
        } catch {
            #expect(error.reason == "trades.csv has more than 3 rows")
        }
    }

    @Test("""
    read a part at a time, a file gives the rows it gives read whole; what refuses the whole file (a quote never \
    closed, too many rows) refuses it before the first part, however late in the file it is
    """)
    func parts() throws {
        let rows = (0..<10).map { "T-\($0),1,AAPL,\($0 % 3 == 0 ? "hold" : "buy"),1,1,2026-10-09,,\"a,\"\"b\"\"\",\n" }.joined()
        var reader = try TradeFile.Reader(Array((header + rows).utf8), name: "trades.csv")
        var parts: [[TradeFile.Row]] = []
        while let part = try reader.next(4) { parts.append(part) }
        #expect(parts.map(\.count) == [4, 4, 2])
        #expect(parts.flatMap { $0 } == (try read(header + rows)))

        for (text, rowsMax, reason) in [(header + rows + "T-x,1,AAPL,buy,1,1,2026-10-09,,\"open", 100, "line 12: a quoted field is not closed before the end of the file"),
                                        (header + rows, 9, "trades.csv has more than 9 rows")] {
            do throws(TradeFile.FileError) {
                _ = try TradeFile.Reader(Array(text.utf8), name: "trades.csv", rowsMax: rowsMax)
                Issue.record("a reader was made for a file refused whole")
            } catch {
                #expect(error.reason == reason)
            }
        }
    }

    @Test("5,000 randomly mutated files: no crash, each row a trade or a reason, or the file refused with one")
    func fuzz() {
        let valid = Array((header + "T-1,ACC-1,AAPL,buy,100,189.25,2026-10-09,2026-10-13,\"A, B\",XNAS\nT-2,2,MSFT,sell,5,1,2026-10-09,,,\n").utf8)
        var random = SplitMix64(seed: 4_321)
        let alphabet = Array(",\"\n\r0123456789.-ABCbuysel \u{1}".utf8)
        for _ in 0..<5_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random)!
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            do {
                let rows = try TradeFile.read(bytes, name: "f.csv")
                for row in rows {
                    if case .failure(let error) = row.trade { #expect(!error.reason.isEmpty) }
                }
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
    }
}
