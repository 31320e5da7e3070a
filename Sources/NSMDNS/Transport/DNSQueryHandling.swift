import NIOCore

/// How a query reached us.
public enum DNSTransport: Sendable, Equatable {
    case udp
    case tcp
}

/// Answers raw DNS queries on one event loop (the listener's): `reply` at most once, or never
/// to drop the query. Implementations are confined to that loop.
protocol DNSQueryHandling: AnyObject, Sendable {
    func handle(_ query: [UInt8], transport: DNSTransport, local: SocketAddress?, reply: @escaping ([UInt8]) -> Void)
}
