import Synchronization

/// A typed key for per-connection state (`context.metadata[MyKey.self]`).
public protocol MetadataKey {
    associatedtype Value: Sendable
}

/// State that chain elements keep for one connection id, for as long as the connection lives
/// at this hop (created by ``MetadataElement``, dropped on Close).
public final class ConnectionMetadata: Sendable {
    private let storage = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    public subscript<Key: MetadataKey>(key: Key.Type) -> Key.Value? {
        get { storage.withLock { $0[ObjectIdentifier(key)] as? Key.Value } }
        set { storage.withLock { $0[ObjectIdentifier(key)] = newValue } }
    }

    /// Atomically reads and replaces a value.
    public func update<Key: MetadataKey, Result>(_ key: Key.Type, _ body: (inout Key.Value?) -> Result) -> Result {
        storage.withLock { values in
            var value = values[ObjectIdentifier(key)] as? Key.Value
            let result = body(&value)
            values[ObjectIdentifier(key)] = value
            return result
        }
    }

    /// Removes and returns a value.
    @discardableResult
    public func remove<Key: MetadataKey>(_ key: Key.Type) -> Key.Value? {
        storage.withLock { $0.removeValue(forKey: ObjectIdentifier(key)) as? Key.Value }
    }
}

/// The metadata of every connection at one hop, by connection id.
public final class MetadataStore: Sendable {
    private let entries = Mutex<[String: ConnectionMetadata]>([:])

    public init() {}

    /// The metadata for `id`, created on first use.
    public func metadata(for id: String) -> ConnectionMetadata {
        entries.withLock { entries in
            if let existing = entries[id] { return existing }
            let created = ConnectionMetadata()
            entries[id] = created
            return created
        }
    }

    public func existing(for id: String) -> ConnectionMetadata? { entries.withLock { $0[id] } }

    public func remove(_ id: String) { entries.withLock { _ = $0.removeValue(forKey: id) } }

    public var count: Int { entries.withLock { $0.count } }
}
