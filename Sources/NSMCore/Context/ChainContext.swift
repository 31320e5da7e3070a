public import Logging

/// What travels with one call through a chain besides the request itself.
public struct ChainContext: Sendable {
    /// Logger with `nsm.*` metadata for this call.
    public var logger: Logger
    /// This connection's state at this hop; set by ``MetadataElement``.
    public var metadata: ConnectionMetadata
    /// Where the call came from (e.g. `unix:/var/lib/networkservicemesh/nsm.io.sock`), if known.
    public var peer: String
    /// Who made the call, as the transport knows it (``Caller``); in-process unless a server set it.
    public var caller: Caller
    /// Where this call goes after this hop (upstream's `clienturl`): set by the hop's selection
    /// element (round robin, discover-forwarder, the client's manager URL, or, on a Close after a
    /// restart, the restore element); read by connect, monitor relay and the mechanism elements.
    public var nextHop: NSMURL?
    /// Values one element hands to later elements of the same call (e.g. discovered candidates).
    public var values: CallValues = CallValues()

    public init(logger: Logger = Logger(label: "nsm"), metadata: ConnectionMetadata = ConnectionMetadata(), peer: String = "", caller: Caller = .inProcess) {
        self.logger = logger
        self.metadata = metadata
        self.peer = peer
        self.caller = caller
    }
}

/// A small typed map for values that live for one call through a chain.
public struct CallValues: Sendable {
    private var storage: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    public subscript<Key: MetadataKey>(key: Key.Type) -> Key.Value? {
        get { storage[ObjectIdentifier(key)] as? Key.Value }
        set { storage[ObjectIdentifier(key)] = newValue }
    }
}

extension Logger {
    /// This logger with `nsm.connection.id` set: every line a hop writes about a connection
    /// names it, so a log collector can follow one connection across hops.
    public func about(connection id: String) -> Logger {
        var logger = self
        logger[metadataKey: "nsm.connection.id"] = "\(id)"
        return logger
    }
}
