/// Any JSON value, for object parts this client carries without a Swift type of their own (a
/// custom resource's `spec`, an unstructured object).
public enum JSONValue: Codable, Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    public var fields: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    /// The value at `path` (object keys), nil where any step is missing or not an object.
    public subscript(path path: [String]) -> JSONValue? {
        path.reduce(Optional(self)) { value, key in value?[key] }
    }
}

/// An object whose body is kept as JSON (kind, apiVersion and metadata typed).
public struct UnstructuredObject: KubernetesObject, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// Every other top-level field (`spec`, `status`, `data`, …).
    public var fields: [String: JSONValue]

    public init(apiVersion: String, kind: String, metadata: ObjectMeta, fields: [String: JSONValue] = [:]) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.fields = fields
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "apiVersion"))
        kind = try container.decodeIfPresent(String.self, forKey: Key(stringValue: "kind"))
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: Key(stringValue: "metadata")) ?? ObjectMeta()
        var fields: [String: JSONValue] = [:]
        for key in container.allKeys where !["apiVersion", "kind", "metadata"].contains(key.stringValue) {
            fields[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
        self.fields = fields
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encodeIfPresent(apiVersion, forKey: Key(stringValue: "apiVersion"))
        try container.encodeIfPresent(kind, forKey: Key(stringValue: "kind"))
        try container.encode(metadata, forKey: Key(stringValue: "metadata"))
        for (key, value) in fields { try container.encode(value, forKey: Key(stringValue: key)) }
    }
}
