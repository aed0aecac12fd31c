/// What FIX 4.4 says a message may hold, for the messages Bourse takes: each field's format, each
/// message's required and allowed fields and repeating groups; and the check of a message against it,
/// which names the first fault as a session-level Reject does (reason, tag, a sentence).
public struct FIXDictionary: Sendable {
    /// A value's format. Every enumerated value Bourse checks is one character, so an enumeration is a
    /// set of characters.
    enum Format: Sendable, Equatable {
        case int, string, price, quantity, timestamp, boolean, date, numInGroup
        case oneOf(String)
    }

    struct Group: Sendable {
        /// The first field of each entry.
        var delimiter: Int
        /// The entry's fields in order, the delimiter first.
        var fields: [Int]
    }

    struct Definition: Sendable {
        /// In the order a missing one is named.
        var required: [Int]
        var allowed: [Int]
        var groups: [Int: Group]
    }

    /// A message's fault as a session-level Reject names it; the reader finds some, the checks the rest.
    public typealias Fault = FIXMessage.Fault

    /// Tags above this are never looked up in the tables below.
    static let tableTagsMax = 9_999
    /// FIX 4.4 defines tags 1 to 956; 5000–9999 are left to counterparties (Bourse defines its own there).
    static let specificationTagsMax = 956
    /// Tags below this are remembered in a bit set on the stack while a message is checked; the rare
    /// higher ones are looked for among the fields before.
    static let seenTagsMax = 1_024

    static let header: [Int] = [8, 9, 35, 49, 56, 34, 52, 43, 97, 122, 115, 128, 50, 57, 116, 129, 142, 143, 144, 145, 369, 627, 347]
    static let requiredHeader: [Int] = [Tag.senderCompID, Tag.targetCompID, Tag.msgSeqNum, Tag.sendingTime]

    /// Read through pointers, so that checking a message neither copies nor retains a table.
    private let tables: Tables
    /// In the order of `Tables.definitions`, for the rare paths: required fields in order and groups.
    private let definitions: [Definition]

    public static let fix44 = FIXDictionary()

    private static let kindOrder: [Format] = [.int, .string, .price, .quantity, .timestamp, .boolean, .date, .numInGroup, .oneOf("")]

    init() {
        let f: [Int: Format] = [
            1: .string, 6: .price, 7: .int, 11: .string, 12: .price, 13: .oneOf("123"), 14: .quantity, 15: .string,
            16: .int, 17: .string, 18: .string, 21: .oneOf("123"), 22: .string, 30: .string, 31: .price, 32: .quantity, 34: .int,
            35: .string, 36: .int, 37: .string, 38: .quantity, 39: .string, 40: .oneOf("123456789DEGIJKLMPQ"),
            41: .string, 43: .boolean, 44: .price, 45: .int, 48: .string, 49: .string, 50: .string, 52: .timestamp,
            54: .oneOf("125"), 55: .string, 56: .string, 57: .string, 58: .string,
            59: .oneOf("01234567"), 60: .timestamp, 63: .string, 64: .date, 75: .date, 97: .boolean,
            98: .oneOf("0"), 99: .price, 100: .string, 108: .int, 110: .quantity, 111: .quantity, 112: .string,
            115: .string, 116: .string, 122: .timestamp, 123: .boolean, 126: .timestamp, 128: .string, 129: .string,
            141: .boolean, 142: .string, 143: .string, 144: .string, 145: .string, 150: .string, 152: .price, 167: .string,
            207: .string, 263: .oneOf("012"), 347: .string, 369: .int, 371: .int, 372: .string, 373: .int,
            379: .string, 380: .int, 383: .int, 432: .date, 447: .string, 448: .string, 452: .int, 453: .numInGroup,
            464: .boolean, 487: .oneOf("0123"), 527: .string, 528: .string, 530: .oneOf("17"),
            552: .numInGroup, 553: .string, 554: .string, 568: .string, 569: .oneOf("01"), 570: .boolean,
            571: .string, 573: .string, 627: .numInGroup, 789: .int, 790: .string, 856: .int, 880: .string,
            Tag.selfTradePrevention: .oneOf("01234"), Tag.trailingOffset: .price, Tag.trailingOffsetBasisPoints: .int,
        ]
        let tables = Tables()
        for (tag, format) in f {
            if case .oneOf(let values) = format {
                tables.tags[tag] = UInt8(Self.kindOrder.count)
                for c in values.utf8 { if c < 64 { tables.characters[tag].0 |= 1 << UInt64(c) } else { tables.characters[tag].1 |= 1 << UInt64(c - 64) } }
            } else {
                tables.tags[tag] = UInt8(Self.kindOrder.firstIndex(of: format)! + 1)
            }
        }
        for tag in Self.header { tables.tags[tag] |= Tables.headerBit }
        let parties = Group(delimiter: 448, fields: [448, 447, 452])
        // One level of groups: Parties inside a side is not taken.
        let sides = Group(delimiter: 54, fields: [54, 37, 11, 1, 12, 13])
        func d(_ required: [Int], _ optional: [Int], groups: [Int: Group] = [:]) -> Definition {
            Definition(required: required, allowed: required + optional + groups.values.flatMap(\.fields), groups: groups)
        }
        let orderFields = [1, 38, 44, 99, 59, 126, 432, 111, 110, 18, 21, 58, 152, 100, 15, 22, 48, 167, 207, 528, 453,
                           Tag.selfTradePrevention, Tag.trailingOffset, Tag.trailingOffsetBasisPoints]
        let defined: [(String, Definition)] = [
            (MsgType.heartbeat, d([], [112])),
            (MsgType.testRequest, d([112], [])),
            (MsgType.resendRequest, d([7, 16], [])),
            (MsgType.reject, d([45], [371, 372, 373, 58])),
            (MsgType.sequenceReset, d([36], [123])),
            (MsgType.logout, d([], [58])),
            (MsgType.logon, d([98, 108], [141, 553, 554, 383, 464, 789])),
            (MsgType.businessMessageReject, d([372, 380], [45, 379, 58])),
            (MsgType.newOrderSingle, d([11, 55, 54, 60, 40], orderFields, groups: [453: parties])),
            (MsgType.orderCancelRequest, d([41, 11, 55, 54, 60], [37, 1, 38, 58, 453], groups: [453: parties])),
            (MsgType.orderCancelReplaceRequest, d([41, 11, 55, 54, 60, 40], [37] + orderFields, groups: [453: parties])),
            (MsgType.orderStatusRequest, d([11, 55, 54], [37, 1, 790, 453], groups: [453: parties])),
            (MsgType.orderMassCancelRequest, d([11, 530, 60], [1, 55, 54, 58, 453], groups: [453: parties])),
            (MsgType.tradeCaptureReport, d([571, 570, 55, 32, 31, 75, 60, 552], [487, 856, 64, 63, 17, 527, 150, 573, 58, 15, 880, 30],
                                           groups: [552: sides])),
        ]
        definitions = defined.map(\.1)
        precondition(definitions.count <= Tables.definitionsMax, "the tables have room for every definition")
        for (i, definition) in definitions.enumerated() {
            for tag in definition.allowed { tables.allowed[i * Tables.allowedWords + tag >> 6] |= 1 << UInt64(tag & 63) }
        }
        // A row of required tags per definition, and one for the types Bourse does not take: the header's.
        for row in 0 ... definitions.count {
            for tag in Self.requiredHeader + (row < definitions.count ? definitions[row].required : []) {
                precondition(tag < Self.seenTagsMax, "a required tag is remembered while checking")
                tables.required[row * Tables.seenWords + tag >> 6] |= 1 << UInt64(tag & 63)
                tables.requiredWords[row] = max(tables.requiredWords[row], tag >> 6 + 1)
            }
        }
        let all = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M",
                   "N", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
                   "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "AA", "AB", "AC", "AD", "AE", "AF",
                   "AG", "AH", "AI", "AJ", "AK", "AL", "AM", "AN", "AO", "AP", "AQ", "AR", "AS", "AT", "AU", "AV", "AW", "AX",
                   "AY", "AZ", "BA", "BB", "BC", "BD", "BE", "BF", "BG", "BH"]
        func code(_ type: String) -> Int {
            let b = Array(type.utf8)
            return Int(b[0]) << 8 | (b.count == 2 ? Int(b[1]) : 0)
        }
        for type in all { tables.types[code(type)] = -2 }
        for (i, (type, _)) in defined.enumerated() { tables.types[code(type)] = Int16(i) }
        self.tables = tables
    }

    /// Whether the first three fields are BeginString, BodyLength and MsgType: without them a message is
    /// garbled, not rejected.
    public static func hasHeaderStart(_ m: FIXMessage) -> Bool {
        m.fields.count >= 4 && m.fields[0].tag == Tag.beginString && m.fields[1].tag == Tag.bodyLength && m.fields[2].tag == Tag.msgType
    }

    /// The first fault of a message whose header starts as `hasHeaderStart` requires, or nil. A FIX 4.4
    /// message type Bourse does not take is only checked for its header. Allocates nothing unless it
    /// finds a fault.
    public func validate(_ m: FIXMessage) -> Fault? {
        if let fault = m.fault { return fault }
        return m.withUnsafeParts { bytes, fields in validate(m, bytes, fields) }
    }

    private func validate(_ m: FIXMessage, _ bytes: UnsafeBufferPointer<UInt8>, _ fields: UnsafeBufferPointer<FIXMessage.Field>) -> Fault? {
        let found = Int(tables.types[min(m.msgTypeCode, Tables.typesCount - 1)])
        if found == -1 {
            return Fault(reason: .invalidMsgType, tag: Tag.msgType, text: "MsgType(35) \(m.msgType) is not a FIX 4.4 message type")
        }
        let tags = tables.tags
        let allowed = found >= 0 ? tables.allowed + found * Tables.allowedWords : nil
        var seen = InlineArray<16, UInt64>(repeating: 0)
        var inBody = false
        var group: OpenGroup?
        for index in 3 ..< fields.count - 1 {
            let tag = fields[index].tag
            let info = tag <= Self.tableTagsMax ? tags[tag] : 0
            // Inside a repeating group: its fields in their order, each entry opened by the delimiter.
            var grouped = false
            if group != nil {
                switch group!.take(tag) {
                case .fault(let fault): return fault
                case .taken: grouped = true
                case .notInGroup:
                    if let fault = group!.close() { return fault }
                    group = nil
                }
            }
            if !grouped {
                if info & Tables.headerBit != 0 {
                    if inBody { return Self.fault(.headerAfterBody, tag, m) }
                } else if tag == Tag.checkSum {
                    return Self.fault(.checkSumNotLast, tag, m)
                } else {
                    inBody = true
                    if let allowed, tag > Self.tableTagsMax || allowed[tag >> 6] & (1 << UInt64(tag & 63)) == 0 {
                        return Self.fault(tag > Self.specificationTagsMax && info == 0 ? .undefined : .notForType, tag, m)
                    }
                }
                let repeated: Bool
                if tag < Self.seenTagsMax {
                    let bit: UInt64 = 1 << UInt64(tag & 63)
                    repeated = seen[tag >> 6] & bit != 0
                    seen[tag >> 6] |= bit
                } else {
                    repeated = fields[3 ..< index].contains { $0.tag == tag }
                }
                if repeated { return Self.fault(.repeated, tag, m) }
            }
            let kind = info & Tables.kindMask
            if !isValid(bytes, fields[index], kind, tag) { return fault(bytes, fields[index], kind, tag) }
            if !grouped, found >= 0, kind == 8, let g = definitions[found].groups[tag] {
                let count = FIXValue.integer(UnsafeBufferPointer(rebasing: bytes[Int(fields[index].start) ..< Int(fields[index].end)])) ?? 0
                guard count > 0 else {
                    return Fault(reason: .incorrectNumInGroupCount, tag: tag, text: "NumInGroup(\(tag)) must be at least 1")
                }
                group = OpenGroup(tag: tag, definition: g, count: count)
            }
        }
        if let fault = group?.close() { return fault }
        var missing = false
        let row = found >= 0 ? found : definitions.count
        let required = tables.required + row * Tables.seenWords
        for word in 0 ..< tables.requiredWords[row] where seen[word] & required[word] != required[word] { missing = true }
        guard missing else { return nil }
        func present(_ tag: Int) -> Bool { seen[tag >> 6] & (1 << UInt64(tag & 63)) != 0 }
        for tag in Self.requiredHeader + (found >= 0 ? definitions[found].required : []) where !present(tag) {
            return Fault(reason: .requiredTagMissing, tag: tag, text: "required tag \(tag) is missing")
        }
        return nil
    }

    /// What the loop over the fields finds wrong with a tag; its text is made apart, out of the loop.
    private enum TagFault { case headerAfterBody, checkSumNotLast, undefined, notForType, repeated }

    @inline(never)
    private static func fault(_ found: TagFault, _ tag: Int, _ m: FIXMessage) -> Fault {
        switch found {
        case .headerAfterBody: Fault(reason: .tagOutOfOrder, tag: tag, text: "header tag \(tag) follows the body")
        case .checkSumNotLast: Fault(reason: .tagOutOfOrder, tag: tag, text: "CheckSum(10) is not the last field")
        case .undefined: Fault(reason: .undefinedTag, tag: tag, text: "tag \(tag) is not defined")
        case .notForType: Fault(reason: .tagNotDefinedForMessageType, tag: tag, text: "tag \(tag) is not defined for MsgType(35) \(m.msgType)")
        case .repeated: Fault(reason: .tagAppearsMoreThanOnce, tag: tag, text: "tag \(tag) appears more than once")
        }
    }

    /// A repeating group being read: its entries counted against what NumInGroup said.
    private struct OpenGroup {
        let tag: Int
        let definition: Group
        let count: Int
        var entries = 0
        var position = 0

        enum Taken { case taken, notInGroup, fault(Fault) }

        /// Takes a field into the group: `notInGroup` when it is none of the group's (the group ends
        /// before it).
        mutating func take(_ field: Int) -> Taken {
            guard let at = definition.fields.firstIndex(of: field) else { return .notInGroup }
            if field == definition.delimiter {
                entries += 1
                position = 0
            } else if at <= position {
                return .fault(Fault(reason: .repeatingGroupOutOfOrder, tag: field, text: "tag \(field) is out of order in group \(tag)"))
            } else {
                position = at
            }
            return .taken
        }

        func close() -> Fault? {
            entries == count ? nil
                : Fault(reason: .incorrectNumInGroupCount, tag: tag, text: "NumInGroup(\(tag)) says \(count) entries, the message has \(entries)")
        }
    }

    /// Whether the value has its format, for a field the tables know: a test of the bytes inline; the
    /// fault, with its text, is made apart and only when the test fails. Transparent because the
    /// optimizer kept it a call under `@inline(__always)`, at a tenth of the time of the whole check.
    @_transparent
    private func isValid(_ bytes: UnsafeBufferPointer<UInt8>, _ field: FIXMessage.Field, _ kind: UInt8, _ tag: Int) -> Bool {
        guard kind > 2 || kind == 1 else { return true }
        let value = UnsafeBufferPointer(rebasing: bytes[Int(field.start) ..< Int(field.end)])
        switch kind {
        case 1, 8: return FIXValue.integer(value) != nil
        case 3, 4: return Self.isDecimal(value)
        case 5: return FIXValue.isTimestamp(value)
        case 6: return value.count == 1 && (value[0] == UInt8(ascii: "Y") || value[0] == UInt8(ascii: "N"))
        case 7: return value.count == 8 && value.allSatisfy { $0 &- UInt8(ascii: "0") < 10 }
        default:
            let c = value[0], set = tables.characters[tag]
            return value.count == 1 && (c < 64 ? set.0 & (1 << UInt64(c)) != 0 : c < 128 && set.1 & (1 << UInt64(c - 64)) != 0)
        }
    }

    @inline(never)
    private func fault(_ bytes: UnsafeBufferPointer<UInt8>, _ field: FIXMessage.Field, _ kind: UInt8, _ tag: Int) -> Fault {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[Int(field.start) ..< Int(field.end)]), as: UTF8.self)
        if kind == UInt8(Self.kindOrder.count) {
            return Fault(reason: .valueIncorrect, tag: tag, text: "\(text) is not a valid value for tag \(tag)")
        }
        return Fault(reason: .incorrectDataFormat, tag: tag, text: "tag \(tag) has an incorrect data format: \(text)")
    }

    /// An optionally signed decimal: digits with at most one point.
    private static func isDecimal(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
        var digits = 0, points = 0
        for i in value.indices {
            let c = value[i]
            if c &- UInt8(ascii: "0") < 10 { digits += 1 }
            else if c == UInt8(ascii: "."), points == 0 { points += 1 }
            else if c == UInt8(ascii: "-"), i == 0 { continue }
            else { return false }
        }
        return digits > 0 && digits <= 18
    }
}

/// The dictionary's tables, filled once and never changed afterwards (hence unchecked Sendable).
private final class Tables: @unchecked Sendable {
    static let headerBit: UInt8 = 0x80
    static let kindMask: UInt8 = 0x0F
    static let definitionsMax = 32
    static let allowedWords = FIXDictionary.tableTagsMax / 64 + 1
    static let seenWords = FIXDictionary.seenTagsMax / 64
    static let typesCount = 1 << 16

    /// By tag up to `tableTagsMax`: the format's kind (0 for none, `kindMask`) and `headerBit`.
    let tags = UnsafeMutablePointer<UInt8>.allocate(capacity: FIXDictionary.tableTagsMax + 1)
    /// By tag: an enumeration's characters as 128 bits.
    let characters = UnsafeMutablePointer<(UInt64, UInt64)>.allocate(capacity: FIXDictionary.tableTagsMax + 1)
    /// By definition, `allowedWords` words: a bit per tag the message may hold.
    let allowed = UnsafeMutablePointer<UInt64>.allocate(capacity: definitionsMax * allowedWords)
    /// By definition, and one more for the types Bourse does not take, `seenWords` words: a bit per
    /// required tag, the header's included.
    let required = UnsafeMutablePointer<UInt64>.allocate(capacity: (definitionsMax + 1) * seenWords)
    /// By the same rows: the words of `required` that hold a bit.
    let requiredWords = UnsafeMutablePointer<Int>.allocate(capacity: definitionsMax + 1)
    /// By `FIXMessage.msgTypeCode`: the definition's index; -1 for no FIX 4.4 type, -2 for one Bourse does
    /// not take (answered with a BusinessMessageReject, not a Reject).
    let types = UnsafeMutablePointer<Int16>.allocate(capacity: typesCount)

    init() {
        tags.initialize(repeating: 0, count: FIXDictionary.tableTagsMax + 1)
        characters.initialize(repeating: (0, 0), count: FIXDictionary.tableTagsMax + 1)
        allowed.initialize(repeating: 0, count: Self.definitionsMax * Self.allowedWords)
        required.initialize(repeating: 0, count: (Self.definitionsMax + 1) * Self.seenWords)
        requiredWords.initialize(repeating: 0, count: Self.definitionsMax + 1)
        types.initialize(repeating: -1, count: Self.typesCount)
    }

    deinit {
        for pointer in [UnsafeMutableRawPointer(tags), UnsafeMutableRawPointer(characters), UnsafeMutableRawPointer(allowed),
                        UnsafeMutableRawPointer(required), UnsafeMutableRawPointer(requiredWords), UnsafeMutableRawPointer(types)] {
            pointer.deallocate()
        }
    }
}
