public import NIOCore
public import NIOSSL
import NIOTLS

/// TLS under a lean transport's HTTP/2, on unix sockets as on TCP: a context per new connection
/// (so rotated credentials reach every connection made after the rotation) and a check of the
/// peer once the handshake is done, whose answer becomes the peer's identity for its calls.
public struct TransportSecurity: Sendable {
    /// The TLS context for the next connection.
    public var context: @Sendable () throws -> NIOSSLContext
    /// The peer's identity from its leaf certificate (DER; `nil` when it sent none), or a thrown
    /// reason to refuse it.
    public var identify: @Sendable (_ leafDER: [UInt8]?) throws -> String
    /// Which credentials are current (a number that changes when they rotate): a client makes a
    /// new connection for its next calls once its credentials rotated, so what it signs with its
    /// current key matches the certificate its connection presented.
    public var generation: @Sendable () -> Int

    public init(
        context: @escaping @Sendable () throws -> NIOSSLContext, identify: @escaping @Sendable (_ leafDER: [UInt8]?) throws -> String,
        generation: @escaping @Sendable () -> Int = { 0 }
    ) {
        self.context = context
        self.identify = identify
        self.generation = generation
    }

    /// The identity of the peer of `channel`'s TLS handler (and its leaf certificate, DER), on its
    /// event loop after the handshake.
    func identifyPeer(of pipeline: ChannelPipeline.SynchronousOperations, server: Bool) throws -> (identity: String, certificate: [UInt8]?) {
        let certificate: NIOSSLCertificate?
        if server {
            certificate = try pipeline.handler(type: NIOSSLServerHandler.self).peerCertificate
        } else {
            certificate = try pipeline.handler(type: NIOSSLClientHandler.self).peerCertificate
        }
        let der = try certificate?.toDERBytes()
        return (try identify(der), der)
    }
}

/// Completes a promise when the TLS handshake is done (or fails with what broke it): the client
/// checks its server before the first call.
final class HandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = Any
    private var promise: EventLoopPromise<Void>?

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent {
            promise?.succeed()
            promise = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.eof)
        promise = nil
        context.fireChannelInactive()
    }
}
