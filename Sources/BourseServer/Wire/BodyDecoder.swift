/// Decodes a request body's type from a `JSONValue` as `JSONDecoder` would, but exactly and strictly:
/// - a JSON number asked for as a `String` gives its text (so `"limit_price": 190.25` is read as exactly
///   as `"190.25"`, never through `Double`); an integer type takes only a number without fraction or
///   exponent that fits; `Double` and `Float` are refused (no body of ours holds one);
/// - a member the type never asks for is an error naming it, so a misspelt `stop_pryce` is refused
///   instead of ignored.
struct BodyDecoder {
    /// A member no field of the body's type reads.
    struct UnknownField: Error {
        var path: String
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let session = Session()
        let result = try T(from: Node(value: value, codingPath: [], session: session))
        for object in session.objects {
            let asked = object.asked
            if let unknown = object.members.first(where: { !asked.contains($0.key) }) {
                throw UnknownField(path: (object.path.isEmpty ? "" : object.path + ".") + unknown.key)
            }
        }
        return result
    }

    /// Every object the type opened, and the keys it asked about.
    final class Session {
        var objects: [ObjectRecord] = []
    }

    final class ObjectRecord {
        let path: String
        let members: [(key: String, value: JSONValue)]
        var asked = Set<String>()
        init(path: String, members: [(key: String, value: JSONValue)]) {
            self.path = path
            self.members = members
        }
        func value(_ key: String) -> JSONValue? {
            asked.insert(key)
            return members.first { $0.key == key }?.value
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().drop { $0 == "." }.description
    }

    struct Node: Decoder {
        let value: JSONValue
        let codingPath: [any CodingKey]
        let session: Session
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<K: CodingKey>(keyedBy type: K.Type) throws -> KeyedDecodingContainer<K> {
            guard case .object(let members) = value else {
                throw DecodingError.typeMismatch([String: String].self, .init(codingPath: codingPath, debugDescription: "must be an object"))
            }
            let record = ObjectRecord(path: BodyDecoder.path(codingPath), members: members)
            session.objects.append(record)
            return KeyedDecodingContainer(Keyed<K>(record: record, codingPath: codingPath, session: session))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard case .array(let elements) = value else {
                throw DecodingError.typeMismatch([String].self, .init(codingPath: codingPath, debugDescription: "must be an array"))
            }
            return Unkeyed(elements: elements, codingPath: codingPath, session: session)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(node: self) }
    }

    /// One value read as a Swift type: the rules above.
    static func read<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ codingPath: [any CodingKey], _ session: Session) throws -> T {
        func mismatch(_ expected: Any.Type) -> DecodingError {
            .typeMismatch(expected, .init(codingPath: codingPath, debugDescription: "found \(value.kind)"))
        }
        if type == JSONValue.self { return value as! T }
        if type == String.self {
            switch value {
            case .string(let s): return s as! T
            case .number(let text): return text as! T
            case .null: throw DecodingError.valueNotFound(String.self, .init(codingPath: codingPath, debugDescription: "null"))
            default: throw mismatch(String.self)
            }
        }
        if type == Bool.self {
            guard case .bool(let b) = value else { throw mismatch(Bool.self) }
            return b as! T
        }
        if let integer = type as? any FixedWidthInteger.Type {
            guard case .number(let text) = value else { throw mismatch(type) }
            guard let parsed = integer.init(text, radix: 10) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "must be a whole number in range, not \(text)"))
            }
            return parsed as! T
        }
        if type == Double.self || type == Float.self { throw mismatch(String.self) }
        return try T(from: Node(value: value, codingPath: codingPath, session: session))
    }

    struct Keyed<K: CodingKey>: KeyedDecodingContainerProtocol {
        let record: ObjectRecord
        let codingPath: [any CodingKey]
        let session: Session
        var allKeys: [K] { record.members.compactMap { K(stringValue: $0.key) } }

        func contains(_ key: K) -> Bool { record.value(key.stringValue) != nil }

        func decodeNil(forKey key: K) throws -> Bool {
            guard let value = record.value(key.stringValue) else { return true }
            return value == .null
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: K) throws -> T {
            guard let value = record.value(key.stringValue) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
            }
            return try BodyDecoder.read(type, value, codingPath + [key], session)
        }

        func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: K) throws -> KeyedDecodingContainer<N> {
            try Node(value: record.value(key.stringValue) ?? .null, codingPath: codingPath + [key], session: session).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: K) throws -> any UnkeyedDecodingContainer {
            try Node(value: record.value(key.stringValue) ?? .null, codingPath: codingPath + [key], session: session).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { try superDecoder(forKey: K(stringValue: "super")!) }

        func superDecoder(forKey key: K) throws -> any Decoder {
            Node(value: record.value(key.stringValue) ?? .null, codingPath: codingPath + [key], session: session)
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let elements: [JSONValue]
        let codingPath: [any CodingKey]
        let session: Session
        var currentIndex = 0
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        private mutating func next() throws -> (JSONValue, [any CodingKey]) {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: codingPath, debugDescription: "the array has no more elements"))
            }
            defer { currentIndex += 1 }
            return (elements[currentIndex], codingPath + [Key(intValue: currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let (value, path) = try next()
            return try BodyDecoder.read(type, value, path, session)
        }

        mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
            let (value, path) = try next()
            return try Node(value: value, codingPath: path, session: session).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (value, path) = try next()
            return try Node(value: value, codingPath: path, session: session).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (value, path) = try next()
            return Node(value: value, codingPath: path, session: session)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let node: Node
        var codingPath: [any CodingKey] { node.codingPath }
        func decodeNil() -> Bool { node.value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try BodyDecoder.read(type, node.value, node.codingPath, node.session) }
    }
}

/// A field kept as the JSON it was (one Bourse reads only to refuse by name); only `BodyDecoder` makes one.
extension JSONValue: Decodable {
    init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "is read by BodyDecoder only"))
    }
}
