import BourseCore
@testable import BourseFIX
import BourseTestSupport
import Foundation
import GRDB
import Testing

/// The session store's files against a reference model (a dictionary per session): what a reopened store
/// holds is each session's last whole save, its messages read back in chunks, with segments rolled and the
/// oldest removed past the kept count; a save cut short by a crash is cut off; damage is named by file and
/// offset; a database of the build before is imported whole.
@Suite("the FIX session store")
struct SessionStoreTests {
    static let sent = Timestamp(nanos: TestClock.start)

    static func message(_ sequence: Int, _ type: String = "8", bytes: Int = 40) -> SessionStore.Message {
        SessionStore.Message(sequence: sequence, type: type, sent: Timestamp(nanos: sent.nanos + Int64(sequence)),
                             body: Array("37=\(sequence)\u{1}58=".utf8) + Array(repeating: UInt8(ascii: "x"), count: bytes) + [1])
    }

    /// The newest segment file of a session.
    static func newest(_ directory: String, _ session: String) throws -> String {
        let dir = directory + "/" + SessionStore.directoryName(session)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".fixlog") }.sorted()
        return dir + "/" + (names.last ?? "none")
    }

    @Test("given saves of two sessions, when the store is opened again, then each has its last state and its messages, read in chunks")
    func reopened() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try SessionStore(path: directory)
        var state = SessionStore.State(nextSender: 1, nextTarget: 1, deliveredSequence: 9, deliveredNumber: 2)
        state.early = [SessionStore.ReportPosition(sequence: 12, number: 0), SessionStore.ReportPosition(sequence: 13, number: 1)]
        state.passwordSHA256 = String(repeating: "ab", count: 32)
        state.window = 20_500
        for start in stride(from: 1, through: 2_500, by: 100) {
            state.nextSender = start + 100
            state.nextTarget = start / 2 + 1
            try store.save("TRADER/1 é", state, sending: (start ..< start + 100).map { Self.message($0, $0 % 7 == 0 ? "0" : "8") })
        }
        try store.save("DROP", SessionStore.State(nextSender: 3, nextTarget: 5), sending: [Self.message(1), Self.message(2)])
        #expect(try store.state("NEVER") == nil)
        #expect(!FileManager.default.fileExists(atPath: directory + "/NEVER"), "a session only asked about leaves nothing behind")
        store.close()

        store = try SessionStore(path: directory)
        defer { store.close() }
        #expect(try store.state("TRADER/1 é") == state)
        #expect(try store.state("DROP") == SessionStore.State(nextSender: 3, nextTarget: 5))
        var read: [SessionStore.Message] = []
        var next = 1
        while next <= 2_500 {
            let chunk = try store.messages("TRADER/1 é", from: next, through: 2_500)
            #expect(chunk.count == min(SessionStore.resendChunkMax, 2_501 - next))
            read += chunk
            next = (chunk.last?.sequence ?? 2_500) + 1
        }
        #expect(read == (1 ... 2_500).map { Self.message($0, $0 % 7 == 0 ? "0" : "8") })
        #expect(try store.messages("TRADER/1 é", from: 1_200, through: 1_203) == (1_200 ... 1_203).map { Self.message($0, $0 % 7 == 0 ? "0" : "8") })
        #expect(try store.messages("DROP", from: 2, through: 9) == [Self.message(2)])
        #expect(try store.messages("NEVER", from: 1, through: 9).isEmpty)
    }

    /// The reference: each session's last state and every message it saved since its last reset.
    struct Model {
        var states: [String: SessionStore.State] = [:]
        var messages: [String: [Int: SessionStore.Message]] = [:]
    }

    @Test("random saves, resets, reopenings and crashes partway through a save, against a reference model, with small segments and few messages kept",
          arguments: [1, 2, 3, 4])
    func againstModel(seed: UInt64) throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keptMax = 300, segmentMax = 4_096
        var store = try SessionStore(path: directory, messagesKeptMax: keptMax, segmentBytesMax: segmentMax)
        var model = Model()
        var random = SplitMix64(seed: seed)
        let sessions = ["A", "B", "C.1"]
        func check(_ step: Int) throws {
            for session in sessions {
                #expect(try store.state(session) == model.states[session], "step \(step), session \(session)")
                guard let state = model.states[session] else { continue }
                let first = Int(random.next() % UInt64(state.nextSender + 5)) + 1
                let last = first + Int(random.next() % 1_500)
                let expected = (first ... last).compactMap { model.messages[session]?[$0] }
                let got = try store.messages(session, from: first, through: last)
                // Kept: every message of the newest `keptMax`; older ones may be gone, but only from the start.
                let present = Set(got.map(\.sequence))
                let gone = expected.prefix { !present.contains($0.sequence) }
                #expect(gone.allSatisfy { $0.sequence <= state.nextSender - 1 - keptMax }, "step \(step), session \(session): \(gone.count) missing")
                #expect(Array(expected.dropFirst(gone.count).prefix(SessionStore.resendChunkMax)) == got, "step \(step), session \(session) \(first)...\(last)")
            }
        }
        for step in 0 ..< 600 {
            let session = sessions[Int(random.next() % 3)]
            var state = model.states[session] ?? SessionStore.State()
            switch random.next() % 20 {
            case 0:
                state = SessionStore.State(nextSender: 1, nextTarget: Int(random.next() % 3) + 1)
                try store.reset(session, state)
                model.messages[session] = [:]
                model.states[session] = state
            case 1, 2:
                store.close()
                store = try SessionStore(path: directory, messagesKeptMax: keptMax, segmentBytesMax: segmentMax)
            case 3:
                // A crash partway through a save: some of its bytes reach the file, then the store is opened again.
                var bytes: [UInt8] = []
                let torn = (state.nextSender ..< state.nextSender + 3).map { Self.message($0) }
                StoreFormat.encode(state, torn[...], into: &bytes)
                if model.states[session] != nil {
                    let handle = try #require(FileHandle(forWritingAtPath: try Self.newest(directory, session)))
                    handle.seekToEndOfFile()
                    handle.write(Data(bytes.prefix(Int(random.next() % UInt64(bytes.count)))))
                    handle.closeFile()
                }
                store.close()
                store = try SessionStore(path: directory, messagesKeptMax: keptMax, segmentBytesMax: segmentMax)
                // Opened as the gateway opens each configured session: the torn end is cut off here.
                #expect(try store.state(session) == model.states[session], "step \(step): after a crash")
            default:
                let count = Int(random.next() % 40)
                let messages = (state.nextSender ..< state.nextSender + count).map { Self.message($0, random.next() % 5 == 0 ? "4" : "8", bytes: Int(random.next() % 200)) }
                state.nextSender += count
                state.nextTarget += Int(random.next() % 3)
                state.deliveredSequence += random.next() % 2
                for _ in 0 ..< Int(random.next() % 4) where state.early.count < 40 {
                    state.early.insert(SessionStore.ReportPosition(sequence: random.next() % 1_000, number: Int(random.next() % 3)))
                }
                let early = state.early.sorted { ($0.sequence, $0.number) < ($1.sequence, $1.number) }
                if random.next() % 3 == 0, !early.isEmpty { state.early.remove(early[Int(random.next() % UInt64(early.count))]) }
                // Saved with the change of the early reports since the last save, as a session saves, or whole.
                let before = model.states[session]?.early ?? []
                let change = random.next() % 4 == 0 ? nil
                    : SessionStore.EarlyChange(added: Array(state.early.subtracting(before)), removed: Array(before.subtracting(state.early)))
                try store.save([SessionStore.Save(session: session, state: state, messages: messages, earlyChange: change)])
                for m in messages { model.messages[session, default: [:]][m.sequence] = m }
                model.states[session] = state
            }
            if step % 10 == 0 { try check(step) }
        }
        try check(600)
        // The files stay bounded: the kept messages and a segment's worth more.
        for session in sessions {
            let dir = directory + "/" + SessionStore.directoryName(session)
            let bytes = try FileManager.default.contentsOfDirectory(atPath: dir).reduce(0) { total, name in
                total + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0)
            }
            #expect(bytes < keptMax * 300 + 3 * segmentMax, "session \(session): \(bytes) bytes")
        }
        store.close()
    }

    @Test("a session with many early reports saves their change, not all of them, and a reopened store has them all")
    func earlyChanges() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try SessionStore(path: directory, segmentBytesMax: 16 * 1_024)
        // Given 2,000 reports sent early, saved whole.
        var state = SessionStore.State(nextSender: 1, nextTarget: 1, deliveredSequence: 1_000, deliveredNumber: 0)
        state.early = Set((1_001 ... 3_000).map { SessionStore.ReportPosition(sequence: UInt64($0), number: 0) })
        try store.save("A", state, sending: [])
        let whole = try Self.bytes(directory, "A")
        // When each of 300 saves sends a message, tells ten more early and reaches ten in turn, each saving the change.
        var next: UInt64 = 3_001
        var small = 0
        for i in 0 ..< 300 {
            var change = SessionStore.EarlyChange()
            for _ in 0 ..< 10 {
                let reached = SessionStore.ReportPosition(sequence: state.deliveredSequence + 1, number: 0)
                state.early.remove(reached)
                change.removed.append(reached)
                state.deliveredSequence += 1
                let sent = SessionStore.ReportPosition(sequence: next, number: 0)
                state.early.insert(sent)
                change.added.append(sent)
                next += 1
            }
            state.nextSender += 1
            let before = try Self.bytes(directory, "A")
            try store.save([SessionStore.Save(session: "A", state: state, messages: [Self.message(i + 1)], earlyChange: change)])
            if try Self.bytes(directory, "A") - before < 400 { small += 1 }
        }
        // Then a save is a message and twenty positions, where the set whole is kilobytes; segments roll,
        // each beginning with the set whole; and the store opened again has every early report.
        #expect(whole > 5_000, "the whole set: \(whole) bytes")
        #expect(small >= 280, "saves under 400 bytes: \(small) of 300")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/" + SessionStore.directoryName("A")).count
        #expect(files > 1, "segments rolled")
        store.close()
        store = try SessionStore(path: directory)
        defer { store.close() }
        #expect(try store.state("A") == state)
        #expect(try store.messages("A", from: 1, through: 300) == (1 ... 300).map { Self.message($0) })
    }

    @Test("a change of the early reports that is not the first state of its segment's is refused, naming the file and offset")
    func earlyChangeFirst() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let dir = directory + "/" + SessionStore.directoryName("A")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var state = SessionStore.State(nextSender: 2)
        state.early = [SessionStore.ReportPosition(sequence: 5, number: 0)]
        var bytes: [UInt8] = []
        StoreFormat.encode(state, [Self.message(1)], earlyChange: SessionStore.EarlyChange(added: [SessionStore.ReportPosition(sequence: 5, number: 0)]), into: &bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/00000001-1.fixlog"))
        let store = try SessionStore(path: directory)
        defer { store.close() }
        #expect {
            _ = try store.state("A")
        } throws: { error in
            "\(error)".contains(dir + "/00000001-1.fixlog at 0: a change of the early reports with no state before it in the segment")
        }
    }

    @Test("a session saves the change of its early reports, and past a whole set's worth of changes the set whole")
    func sessionEarlyChange() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try SessionStore(path: directory)
        let session = try FIXSession(settings: SessionSettings(name: "CLIENT", venueCompID: "BOURSE", role: .orderEntry, accounts: [1]),
                                     store: store, head: 0)
        // Given a session that told 100 reports early and reached 40 of them since its last save,
        for entry in 1 ... 100 { #expect(session.sentEarly(UInt64(entry), 0)) }
        _ = try session.commit()
        for entry in 1 ... 40 { #expect(session.reachedEarly(UInt64(entry), 0)) }
        for entry in 101 ... 110 { #expect(session.sentEarly(UInt64(entry), 0)) }
        // then its save names those 50 changes;
        #expect(session.pendingSave()?.earlyChange == SessionStore.EarlyChange(
            added: (101 ... 110).map { SessionStore.ReportPosition(sequence: UInt64($0), number: 0) },
            removed: (1 ... 40).map { SessionStore.ReportPosition(sequence: UInt64($0), number: 0) }))
        _ = try session.commit()
        // and after more changes than a whole set holds, it names none: the save writes the set whole.
        for entry in 111 ..< 111 + FIXSession.earlyReportsMax - 70 { #expect(session.sentEarly(UInt64(entry), 0)) }
        for entry in 41 ... 130 { #expect(session.reachedEarly(UInt64(entry), 0)) }
        #expect(session.pendingSave()?.earlyChange == nil)
        _ = try session.commit()
        #expect(session.pendingSave() == nil)
        let state = session.state
        store.close()
        store = try SessionStore(path: directory)
        defer { store.close() }
        #expect(try store.state("CLIENT") == state)
    }

    /// The bytes of a session's segments.
    static func bytes(_ directory: String, _ session: String) throws -> Int {
        let dir = directory + "/" + SessionStore.directoryName(session)
        return try FileManager.default.contentsOfDirectory(atPath: dir).reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0)
        }
    }

    @Test("a reset whose removal of the older segments was cut short is finished when the store is opened")
    func resetCutShort() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try SessionStore(path: directory)
        try store.save("A", SessionStore.State(nextSender: 11), sending: (1 ... 10).map { Self.message($0) })
        let old = try Self.newest(directory, "A")
        let kept = try Data(contentsOf: URL(fileURLWithPath: old))
        try store.reset("A", SessionStore.State())
        store.close()
        // As if the process had stopped before the old segment's unlink.
        try kept.write(to: URL(fileURLWithPath: old))

        store = try SessionStore(path: directory)
        defer { store.close() }
        #expect(try store.state("A") == SessionStore.State())
        #expect(try store.messages("A", from: 1, through: 10).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: old))
    }

    @Test("a damaged record followed by others is refused naming the file and the offset; a tail of zeros is cut off")
    func damage() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var store = try SessionStore(path: directory)
        for i in 0 ..< 3 { try store.save("A", SessionStore.State(nextSender: 2 + i), sending: [Self.message(1 + i)]) }
        store.close()
        let path = try Self.newest(directory, "A")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let whole = bytes
        // Zeros after the last record, as a power cut may leave: cut off.
        try Data(bytes + [UInt8](repeating: 0, count: 300)).write(to: URL(fileURLWithPath: path))
        store = try SessionStore(path: directory)
        #expect(try store.state("A") == SessionStore.State(nextSender: 4))
        store.close()
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == whole)

        // A byte changed in the first record.
        bytes[StoreFormat.headerBytes + 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        store = try SessionStore(path: directory)
        defer { store.close() }
        #expect {
            _ = try store.state("A")
        } throws: { error in
            "\(error)".contains(path + " at 0: a checksum mismatch")
        }
    }

    @Test("a message larger than the store's limit is refused by name and changes nothing")
    func tooLarge() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SessionStore(path: directory)
        defer { store.close() }
        try store.save("A", SessionStore.State(nextSender: 2), sending: [Self.message(1)])
        #expect {
            try store.save("A", SessionStore.State(nextSender: 3), sending: [Self.message(2, bytes: StoreFormat.messageBytesMax)])
        } throws: { error in
            "\(error)".contains("session A: message 2 has \(StoreFormat.messageBytesMax + 9) bytes, more than the store's \(StoreFormat.messageBytesMax)")
        }
        #expect(try store.state("A") == SessionStore.State(nextSender: 2))
        #expect(try store.messages("A", from: 1, through: 5) == [Self.message(1)])
    }

    @Test("a fix.sqlite of the build before is imported whole, once")
    func importsSQLite() throws {
        let directory = makeTemporaryDirectory("bourse-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/fix.sqlite"
        // The tables as the build before made them (its migrations v1 and v2).
        let queue = try DatabaseQueue(path: database)
        var early = Data()
        for value in [UInt64(40), 1, 41, 0] { withUnsafeBytes(of: value.littleEndian) { early.append(contentsOf: $0) } }
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE sessions (
                    name TEXT PRIMARY KEY, next_sender INTEGER NOT NULL, next_target INTEGER NOT NULL,
                    delivered_sequence INTEGER NOT NULL, delivered_number INTEGER NOT NULL, window INTEGER, password_sha256 TEXT, early BLOB);
                CREATE TABLE messages (
                    session TEXT NOT NULL, sequence INTEGER NOT NULL, type TEXT NOT NULL, sent INTEGER NOT NULL, body BLOB NOT NULL,
                    PRIMARY KEY (session, sequence)) WITHOUT ROWID;
                """)
            try db.execute(sql: "INSERT INTO sessions VALUES ('TRADER1', 2502, 77, 39, 2, NULL, 'digest', ?)", arguments: [early])
            try db.execute(sql: "INSERT INTO sessions VALUES ('DROP1', 1, 4, 0, -1, 20500, NULL, NULL)")
            for m in (1 ... 2_501).map({ Self.message($0) }) {
                try db.execute(sql: "INSERT INTO messages VALUES ('TRADER1', ?, ?, ?, ?)", arguments: [m.sequence, m.type, m.sent.nanos, Data(m.body)])
            }
        }
        try queue.close()

        let moved = try SessionStore.importSQLite(database, into: directory + "/fix")
        #expect(moved?.sessions == 2 && moved?.messages == 2_501)
        #expect(!FileManager.default.fileExists(atPath: database) && FileManager.default.fileExists(atPath: database + ".imported"))
        #expect(try SessionStore.importSQLite(database, into: directory + "/fix") == nil)

        let store = try SessionStore(path: directory + "/fix")
        defer { store.close() }
        var trader = SessionStore.State(nextSender: 2_502, nextTarget: 77, deliveredSequence: 39, deliveredNumber: 2)
        trader.passwordSHA256 = "digest"
        trader.early = [SessionStore.ReportPosition(sequence: 40, number: 1), SessionStore.ReportPosition(sequence: 41, number: 0)]
        var drop = SessionStore.State(nextSender: 1, nextTarget: 4)
        drop.window = 20_500
        #expect(try store.state("TRADER1") == trader)
        #expect(try store.state("DROP1") == drop)
        #expect(try store.messages("TRADER1", from: 2_001, through: 2_600) == (2_001 ... 2_501).map { Self.message($0) })
    }
}
