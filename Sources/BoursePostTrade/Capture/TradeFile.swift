import BourseCore
import Crypto

/// A file of trades as a back office or a clearing firm drops it: CSV (RFC 4180: comma-separated, fields
/// in double quotes may hold commas and doubled quotes, lines end in LF or CRLF), a header row naming the
/// columns in any order, one trade a row. Columns: `trade_id`, `account`, `symbol`, `side` (buy or sell),
/// `quantity` (whole shares), `price` (dollars, at most four decimals), `trade_date` (YYYY-MM-DD), and
/// optionally `settlement_date`, `counterparty` and `venue`. A column the format does not know refuses the
/// whole file, by name; a row that is wrong gets its own reason and leaves the others alone.
///
/// This is the form check every file passes before post-trade checks the trades against the venue.
public enum TradeFile {
    /// The largest file read, the most rows, the longest field.
    public static let bytesMax = 256 << 20
    public static let rowsMax = 1_000_000
    public static let fieldBytesMax = 64

    public static let requiredColumns = ["trade_id", "account", "symbol", "side", "quantity", "price", "trade_date"]
    public static let optionalColumns = ["settlement_date", "counterparty", "venue"]

    /// One row's outcome: its line in the file (the header is line 1) and the trade or why not.
    public struct Row: Sendable, Equatable {
        public var line: Int
        public var trade: Result<CapturedTrade, RowError>
    }

    public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Why a whole file is refused: nothing in it is taken.
    public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// A file's identity: the SHA-256 of its bytes, in hexadecimal. The same name with other bytes is another file.
    public static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The records of a CSV text this format writes (a result file), each as its fields, header included;
    /// a record the reader finds faulty is left out.
    public static func records(_ bytes: [UInt8]) throws(FileError) -> [[String]] {
        var records = Records(bytes)
        var out: [[String]] = []
        while let record = try records.next() {
            if case .fields(let fields, _) = record { out.append(fields) }
        }
        return out
    }

    /// Reads every row of a file named `name`, in order.
    public static func read(_ bytes: [UInt8], name: String, rowsMax: Int = rowsMax) throws(FileError) -> [Row] {
        guard bytes.count <= bytesMax else { throw FileError(reason: "\(name) has \(bytes.count) bytes, more than the \(bytesMax) a file may have") }
        var records = Records(bytes)
        let header: [String]
        switch try records.next() {
        case .fields(let fields, _)?: header = fields
        case .faulty(let reason, _)?: throw FileError(reason: "the header of \(name) is not readable: \(reason)")
        case nil: throw FileError(reason: "\(name) has no header row; it needs the columns \(requiredColumns.joined(separator: ", "))")
        }
        let columns = try Columns(header)
        var rows: [Row] = []
        while let record = try records.next() {
            guard rows.count < rowsMax else { throw FileError(reason: "\(name) has more than \(rowsMax) rows") }
            switch record {
            case .fields(let fields, let line):
                rows.append(Row(line: line, trade: columns.trade(fields, line: line, file: name)))
            case .faulty(let reason, let line):
                rows.append(Row(line: line, trade: .failure(RowError(line: line, reason: reason))))
            }
        }
        return rows
    }

    /// Where each column is, from the header.
    struct Columns {
        let count: Int
        let index: [String: Int]

        init(_ header: [String]) throws(FileError) {
            var index: [String: Int] = [:]
            for (i, name) in header.enumerated() {
                guard TradeFile.requiredColumns.contains(name) || TradeFile.optionalColumns.contains(name) else {
                    throw FileError(reason: "the header names a column \"\(name)\" the format does not have; the columns are "
                                    + (TradeFile.requiredColumns + TradeFile.optionalColumns).joined(separator: ", "))
                }
                guard index[name] == nil else { throw FileError(reason: "the header names the column \(name) twice") }
                index[name] = i
            }
            for name in TradeFile.requiredColumns where index[name] == nil {
                throw FileError(reason: "the header has no column \(name)")
            }
            (count, self.index) = (header.count, index)
        }

        func trade(_ fields: [String], line: Int, file: String) -> Result<CapturedTrade, RowError> {
            func refuse(_ reason: String) -> Result<CapturedTrade, RowError> { .failure(RowError(line: line, reason: reason)) }
            guard fields.count == count else { return refuse("it has \(fields.count) fields, the header \(count)") }
            func value(_ column: String) -> String? { index[column].map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 } }
            guard let tradeID = value("trade_id") else { return refuse("trade_id is empty") }
            if let problem = TradeFile.textProblem(tradeID) { return refuse("trade_id \(problem)") }
            guard let accountText = value("account"), let account = AccountNumber(accountText) else {
                return refuse("account: " + (AccountNumber.problem(value("account") ?? "") ?? "not an account number"))
            }
            let symbol: Symbol
            do { symbol = try Symbol(validating: value("symbol") ?? "") } catch { return refuse("symbol: \(error)") }
            let side: Side
            switch value("side")?.lowercased() {
            case "buy": side = .buy
            case "sell": side = .sell
            default: return refuse("side \"\(value("side") ?? "")\" is neither buy nor sell")
            }
            guard let quantityText = value("quantity"), let shares = TradeFile.wholeShares(quantityText) else {
                return refuse("quantity \"\(value("quantity") ?? "")\" is not a whole number of shares from 1 to \(Quantity.max)")
            }
            guard let priceText = value("price"), let price = Price(dollars: priceText), price.units > 0, price <= Price.max else {
                return refuse("price \"\(value("price") ?? "")\" is not a price above 0 and at most \(Price.max) with at most four decimals")
            }
            guard let tradeDate = value("trade_date").flatMap(CivilDate.init) else {
                return refuse("trade_date \"\(value("trade_date") ?? "")\" is not \(CivilDate.supportedDescription)")
            }
            var settlementDate: CivilDate?
            if let text = value("settlement_date") {
                guard let date = CivilDate(text) else { return refuse("settlement_date \"\(text)\" is not \(CivilDate.supportedDescription)") }
                guard date >= tradeDate else { return refuse("settlement_date \(date) is before trade_date \(tradeDate)") }
                settlementDate = date
            }
            for column in ["counterparty", "venue"] {
                if let text = value(column), let problem = TradeFile.textProblem(text) { return refuse("\(column) \(problem)") }
            }
            return .success(CapturedTrade(tradeID: tradeID, account: account, symbol: symbol, side: side, quantity: Quantity(shares),
                                          price: price, tradeDate: tradeDate, settlementDate: settlementDate,
                                          counterparty: value("counterparty"), venue: value("venue"), source: .file(name: file, row: line)))
        }
    }

    /// Digits only, 1 to `Quantity.max`.
    static func wholeShares(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let shares = Int64(text),
              shares >= 1, shares <= Quantity.max.shares else { return nil }
        return shares
    }

    /// Why free text (an id, a counterparty) is not taken: control characters.
    static func textProblem(_ text: String) -> String? {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } ? "holds a control character" : nil
    }
}

/// The records of a CSV file, one at a time, each with the line it starts on.
struct Records {
    enum Record {
        case fields([String], line: Int)
        case faulty(String, line: Int)
    }

    private let bytes: [UInt8]
    private var i = 0
    private var line = 1

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next record; nil at the end. A quoted field that never closes takes the rest of the file, so it
    /// refuses the file.
    mutating func next() throws(TradeFile.FileError) -> Record? {
        guard i < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        var fault: String?
        while true {
            var field: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < bytes.count else {
                        throw TradeFile.FileError(reason: "line \(start): a quoted field is not closed before the end of the file")
                    }
                    let c = bytes[i]
                    i += 1
                    if c == UInt8(ascii: "\"") {
                        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                            field.append(c)
                            i += 1
                        } else {
                            break
                        }
                    } else {
                        if c == UInt8(ascii: "\n") { line += 1 }
                        if field.count < TradeFile.fieldBytesMax + 1 { field.append(c) }
                    }
                }
                if i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "\n"), bytes[i] != UInt8(ascii: "\r") {
                    fault = fault ?? "field \(fields.count + 1) has characters after its closing quote"
                }
            }
            while i < bytes.count, bytes[i] != UInt8(ascii: ","), bytes[i] != UInt8(ascii: "\n") {
                let c = bytes[i]
                if c == UInt8(ascii: "\"") { fault = fault ?? "field \(fields.count + 1) has a quote but does not begin with one" }
                if c != UInt8(ascii: "\r") || (i + 1 < bytes.count && bytes[i + 1] != UInt8(ascii: "\n")) {
                    if field.count < TradeFile.fieldBytesMax + 1 { field.append(c) }
                }
                i += 1
            }
            if field.count > TradeFile.fieldBytesMax {
                fault = fault ?? "field \(fields.count + 1) is longer than \(TradeFile.fieldBytesMax) bytes"
            }
            if fields.count < TradeFile.requiredColumns.count + TradeFile.optionalColumns.count + 1 {
                guard let text = String(validating: field, as: UTF8.self) else {
                    fault = fault ?? "field \(fields.count + 1) is not UTF-8"
                    fields.append("")
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { break }
                    i += 1
                    continue
                }
                fields.append(text)
            } else {
                fault = fault ?? "it has more fields than the format has columns"
            }
            guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { break }
            i += 1
        }
        if i < bytes.count { i += 1 }  // the line's end
        line += 1
        if let fault { return .faulty(fault, line: start) }
        if fields == [""] { return .faulty("the line is empty", line: start) }
        return .fields(fields, line: start)
    }
}
