/// How large the parts of a message a server keeps, forwards or echoes may be. Each server checks
/// them before anything else (a connection and a registration are kept in memory, sent to every
/// monitor or watcher, and forwarded hop by hop), and refuses more with INVALID_ARGUMENT naming
/// the part and the bound. gRPC's own limit (4 MiB per message) bounds the whole.
public enum MessageBounds {
    /// A name (endpoint, network service, path segment): a DNS subdomain's 253 characters, as
    /// the Kubernetes objects named after them.
    public static let nameBytes = 253
    /// A connection id or path segment id (UUIDs are 36 bytes; clients use `<name>-<index>`).
    public static let idBytes = 512
    public static let urlBytes = 1024
    public static let labels = 256
    /// A label's key or value.
    public static let labelBytes = 1024
    /// Path segments: a path crosses a client, two managers, two forwarders and an endpoint.
    public static let pathSegments = 32
    /// A path segment's token (a JWT signed with a P-256 key is about 500 bytes).
    public static let tokenBytes = 8192
    public static let mechanismPreferences = 16
    /// Parameters of one mechanism, and each key or value.
    public static let mechanismParameters = 64
    public static let parameterBytes = 4096
    /// Addresses, routes, excluded prefixes, DNS configurations or servers in a connection context.
    public static let contextEntries = 1024
}
