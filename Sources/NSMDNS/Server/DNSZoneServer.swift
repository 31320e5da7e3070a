import IPAddressing
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle
import Readiness

/// Serves a ``DNSZone`` on UDP and TCP (`nsm dns serve`): the local cluster's DNS, and the DNS
/// an endpoint offers for its own service.
public final class DNSZoneServer: Service, Sendable {
    public let zone: DNSZone
    public let listen: [DNSListenAddress]
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    private let handler: ZoneHandler

    let threadSetup: (@Sendable () throws -> Void)?
    private let boundAddresses = ReadySignal<[DNSListenAddress]>()

    /// `threadSetup` runs first on the server's thread (e.g. to enter a network namespace).
    public init(zone: DNSZone, listen: [DNSListenAddress], threadSetup: (@Sendable () throws -> Void)? = nil,
                logger: Logger = Logger(label: "nsm.dns.zone")) {
        self.threadSetup = threadSetup
        self.zone = zone
        self.listen = listen
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        handler = ZoneHandler(zone: zone)
    }

    // Not the sync variant: that traps when the last reference goes away on an event loop thread.
    deinit { group.shutdownGracefully { _ in } }

    /// The bound addresses once listening (ports resolved when 0 was asked for).
    public var listening: [DNSListenAddress] { boundAddresses.value ?? [] }

    /// Waits until the zone is served; returns the bound addresses (throws if binding failed).
    public func listeningAddresses() async throws -> [DNSListenAddress] { try await boundAddresses.wait() }

    public func run() async throws {
        var listeners: [DNSListener] = []
        do {
            if let threadSetup { try await group.next().submit { try threadSetup() }.get() }
            for address in listen { listeners.append(try await DNSListener.bind(address, on: group.next(), handler: handler).get()) }
        } catch {
            for listener in listeners { await listener.close() }
            let failure = DNSConfigurationError("cannot listen on \(listen.map(\.description).joined(separator: ", ")): \(error)")
            boundAddresses.fail(failure)
            throw failure
        }
        boundAddresses.resolve(listeners.map(\.address))
        logger.info("DNS zone served", metadata: ["zone": "\(zone.origin)", "listen": "\(listeners.map(\.address))"])
        try? await gracefulShutdown()
        for listener in listeners { await listener.close() }
    }
}

/// Answers from the zone, on the listener's loop (the zone is immutable).
final class ZoneHandler: DNSQueryHandling, Sendable {
    let zone: DNSZone
    init(zone: DNSZone) { self.zone = zone }

    func handle(_ bytes: [UInt8], transport: DNSTransport, local: SocketAddress?, reply: @escaping ([UInt8]) -> Void) {
        guard let query = try? DNSMessage(bytes: bytes) else {
            if let formatError = DNSMessage.formatError(answering: bytes) { reply(formatError) }
            return
        }
        guard !query.header.isResponse else { return }
        let localAddress = local?.ipAddress.flatMap(IPAddressParsing.parse)
        let limit = transport == .udp ? query.acceptedUDPSize : 65535
        reply(zone.answer(query, local: localAddress).serialized(limit: limit))
    }
}

/// Reads an address printed by NIO back into our type.
enum IPAddressParsing {
    static func parse(_ text: String) -> IPAddress? {
        if let percent = text.firstIndex(of: "%") { return IPAddress(text[..<percent]) }
        return IPAddress(text)
    }
}
