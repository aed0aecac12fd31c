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
        var reader = try Reader(bytes, name: name, rowsMax: rowsMax)
        var rows: [Row] = []
        while let some = try reader.next(rowsMax) { rows += some }
        return rows
    }

    /// A file's rows a part at a time, so that what reads them can start on the first part while the
    /// rest is read. The header is checked when the reader is made.
    public struct Reader: Sendable {
        private var records: Records
        private let columns: Columns
        private let name: String
        private let rowsMax: Int
        private var rowsRead = 0

        public init(_ bytes: [UInt8], name: String, rowsMax: Int = TradeFile.rowsMax) throws(FileError) {
            guard bytes.count <= bytesMax else { throw FileError(reason: "\(name) has \(bytes.count) bytes, more than the \(bytesMax) a file may have") }
            records = Records(bytes)
            switch try records.next() {
            case .fields(let fields, _)?: columns = try Columns(fields)
            case .faulty(let reason, _)?: throw FileError(reason: "the header of \(name) is not readable: \(reason)")
            case nil: throw FileError(reason: "\(name) has no header row; it needs the columns \(requiredColumns.joined(separator: ", "))")
            }
            (self.name, self.rowsMax) = (name, rowsMax)
            // What refuses the whole file (too many rows, a quote never closed) is found before any row is
            // given, so that nothing of a refused file is taken.
            var scan = records, count = 0
            while try scan.next(keeping: false) != nil {
                count += 1
                guard count <= rowsMax else { throw FileError(reason: "\(name) has more than \(rowsMax) rows") }
            }
        }

        /// The next rows, at most `count`; nil after the last.
        public mutating func next(_ count: Int) throws(FileError) -> [Row]? {
            var rows: [Row] = []
            while rows.count < count, let record = try records.next() {
                guard rowsRead < rowsMax else { throw FileError(reason: "\(name) has more than \(rowsMax) rows") }
                rowsRead += 1
                switch record {
                case .fields(let fields, let line):
                    rows.append(Row(line: line, trade: columns.trade(fields, line: line, file: name)))
                case .faulty(let reason, let line):
                    rows.append(Row(line: line, trade: .failure(RowError(line: line, reason: reason))))
                }
            }
            return rows.isEmpty ? nil : rows
        }
    }

    /// Where each column is, from the header: found once, not looked up by name for every row.
    struct Columns: Sendable {
        let count: Int
        let tradeID, account, symbol, side, quantity, price, tradeDate: Int
        let settlementDate, counterparty, venue: Int?

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
            func required(_ name: String) throws(FileError) -> Int {
                guard let i = index[name] else { throw FileError(reason: "the header has no column \(name)") }
                return i
            }
            (tradeID, account, symbol, side) = (try required("trade_id"), try required("account"), try required("symbol"), try required("side"))
            (quantity, price, tradeDate) = (try required("quantity"), try required("price"), try required("trade_date"))
            (settlementDate, counterparty, venue) = (index["settlement_date"], index["counterparty"], index["venue"])
            count = header.count
        }

        func trade(_ fields: [String], line: Int, file: String) -> Result<CapturedTrade, RowError> {
            func refuse(_ reason: String) -> Result<CapturedTrade, RowError> { .failure(RowError(line: line, reason: reason)) }
            guard fields.count == count else { return refuse("it has \(fields.count) fields, the header \(count)") }
            func value(_ column: Int?) -> String? { column.map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 } }
            guard let tradeID = value(self.tradeID) else { return refuse("trade_id is empty") }
            if let problem = TradeFile.textProblem(tradeID) { return refuse("trade_id \(problem)") }
            guard let accountText = value(self.account), let account = AccountNumber(accountText) else {
                return refuse("account: " + (AccountNumber.problem(value(self.account) ?? "") ?? "not an account number"))
            }
            let symbol: Symbol
            do { symbol = try Symbol(validating: value(self.symbol) ?? "") } catch { return refuse("symbol: \(error)") }
            let side: Side
            switch value(self.side).map(TradeFile.lowercasedASCII) {
            case "buy": side = .buy
            case "sell": side = .sell
            default: return refuse("side \"\(value(self.side) ?? "")\" is neither buy nor sell")
            }
            guard let quantityText = value(self.quantity), let shares = TradeFile.wholeShares(quantityText) else {
                return refuse("quantity \"\(value(self.quantity) ?? "")\" is not a whole number of shares from 1 to \(Quantity.max)")
            }
            guard let priceText = value(self.price), let price = Price(dollars: priceText), price.units > 0, price <= Price.max else {
                return refuse("price \"\(value(self.price) ?? "")\" is not a price above 0 and at most \(Price.max) with at most four decimals")
            }
            guard let tradeDate = value(self.tradeDate).flatMap(CivilDate.init) else {
                return refuse("trade_date \"\(value(self.tradeDate) ?? "")\" is not \(CivilDate.supportedDescription)")
            }
            var settlementDate: CivilDate?
            if let text = value(self.settlementDate) {
                guard let date = CivilDate(text) else { return refuse("settlement_date \"\(text)\" is not \(CivilDate.supportedDescription)") }
                guard date >= tradeDate else { return refuse("settlement_date \(date) is before trade_date \(tradeDate)") }
                settlementDate = date
            }
            if let text = value(self.counterparty), let problem = TradeFile.textProblem(text) { return refuse("counterparty \(problem)") }
            if let text = value(self.venue), let problem = TradeFile.textProblem(text) { return refuse("venue \(problem)") }
            return .success(CapturedTrade(tradeID: tradeID, account: account, symbol: symbol, side: side, quantity: Quantity(shares),
                                          price: price, tradeDate: tradeDate, settlementDate: settlementDate,
                                          counterparty: value(self.counterparty), venue: value(self.venue), source: .file(name: file, row: line)))
        }
    }

    /// The text with A–Z made a–z and nothing else touched: a side's case, without Unicode's tables.
    static func lowercasedASCII(_ text: String) -> String {
        text.utf8.contains { (0x41...0x5A).contains($0) } ? String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self) : text
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
struct Records: Sendable {
    enum Record {
        case fields([String], line: Int)
        case faulty(String, line: Int)
    }

    private let bytes: [UInt8]
    private var i = 0
    private var line = 1
    /// One field's bytes, kept between fields so that reading makes no array per field.
    private var field: [UInt8] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next record; nil at the end. A quoted field that never closes takes the rest of the file, so it
    /// refuses the file. Not `keeping` the fields only finds where the record ends, with no field in it.
    mutating func next(keeping: Bool = true) throws(TradeFile.FileError) -> Record? {
        guard i < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        var fault: String?
        while true {
            field.removeAll(keepingCapacity: true)
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
            if !keeping {
                // The record's end is all that is asked.
            } else if fields.count < TradeFile.requiredColumns.count + TradeFile.optionalColumns.count + 1 {
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
        if fields.count == 1, fields[0].isEmpty { return .faulty("the line is empty", line: start) }
        return .fields(fields, line: start)
    }
}
