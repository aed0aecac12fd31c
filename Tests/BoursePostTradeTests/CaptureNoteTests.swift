import BourseCore
import BourseNode
import BoursePostTrade
import Testing

/// What a capture journals beside the terms the engine books: one note per trade, read back trade by trade.
@Suite("capture notes")
struct CaptureNoteTests {
    let terms = TradeTerms(account: AccountID(1), symbol: try! Symbol(validating: "XYZ"), side: .buy, quantity: Quantity(10),
                           price: Price(dollars: "10.00")!, tradeDate: CivilDate(year: 2026, month: 3, day: 2),
                           settlementDate: CivilDate(year: 2026, month: 3, day: 3))

    func published(_ command: Command, note: [UInt8] = []) -> Published {
        Published(command: SequencedCommand(sequence: 7, time: Timestamp(nanos: 1), command: command), events: [], note: note)
    }

    @Test("a batch's notes read back one per trade, in order, with every source")
    func batchNotes() throws {
        let notes = [
            CaptureNote(reference: "A-1", counterparty: "STREET", venue: "XNYS", source: .api(key: "PK1")),
            CaptureNote(reference: "A-2", counterparty: "", venue: "", source: .file(name: "day.csv", row: 3)),
            CaptureNote(reference: "A-3", counterparty: String(repeating: "c", count: TradeFile.fieldBytesMax), venue: "v", source: .fix(session: "CLEARING1")),
        ]
        let reports = notes.map { TradeReport(reference: ShortText($0.reference)!, terms: terms) }
        let batch = CaptureBatch(reports: reports, details: CaptureNote.details(notes))
        #expect(try CaptureNote.notes(of: published(.captureTrades(batch))) == notes)
        #expect(try CaptureNote.notes(of: published(.captureTrade(reports[0]), note: notes[0].note)) == [notes[0]])
        #expect(try CaptureNote.notes(of: published(.mark(MarkRequest(method: .lastTrade, close: false)))) == nil)
    }

    @Test("a batch without details has no notes; details that are not its notes stop the reader, naming the entry")
    func missingAndMalformed() throws {
        let reports = [TradeReport(reference: ShortText("B-1")!, terms: terms), TradeReport(reference: ShortText("B-2")!, terms: terms)]
        #expect(try CaptureNote.notes(of: published(.captureTrades(CaptureBatch(reports: reports, details: [])))) == [nil, nil])
        let one = CaptureNote.details([CaptureNote(reference: "B-1", counterparty: "", venue: "", source: .api(key: "K"))])
        for details in [one, one + one + one, [0xff, 0xff]] {
            let error = #expect(throws: CaptureNote.Malformed.self) {
                try CaptureNote.notes(of: published(.captureTrades(CaptureBatch(reports: reports, details: details))))
            }
            #expect(error?.sequence == 7 && error?.description.contains("sequence 7") == true)
        }
    }

    @Test("a full batch of the longest notes fits the details a batch may carry")
    func longestFit() {
        let longest = CaptureNote(reference: String(repeating: "r", count: ShortText.bytesMax), counterparty: String(repeating: "c", count: TradeFile.fieldBytesMax),
                                  venue: String(repeating: "v", count: TradeFile.fieldBytesMax),
                                  source: .file(name: String(repeating: "f", count: CaptureNote.sourceBytesMax), row: TradeFile.rowsMax + 1))
        let details = CaptureNote.details(Array(repeating: longest, count: CaptureBatch.reportsMax))
        #expect(details.count <= CaptureBatch.detailsBytesMax, "\(details.count) bytes")
    }
}
