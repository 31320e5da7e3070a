import Logging
public import NSMAPI
public import NSMCore
import ServiceLifecycle

/// On a client: when the call asks for it (``Retrying`` in the context; a one-shot
/// `NSMClient.connect()` does not), retries a failed Request with back-off until it succeeds or
/// the caller stops (cancellation, graceful shutdown). A retry reselects — the connection's
/// endpoint, mechanism and context are cleared, so the manager may choose another endpoint —
/// unless ``Retrying/reselect`` says the path is still good (a refresh whose data path still
/// answers: reselecting would tear down a working interface because a control-plane hop is
/// briefly away; upstream's heal likewise keeps the path while the data plane is alive). Each
/// new failure is reported once, not every attempt.
public struct RetryElement: NetworkServiceElement {
    /// How this call retries.
    public struct Retrying: MetadataKey, Sendable {
        public typealias Value = Retrying
        public var backoff: Backoff
        /// Told each failure that differs from the one before (the text as people read it).
        public var onFailure: @Sendable (String) -> Void
        /// Asked before each retry whether it reselects (default: always) or requests the same
        /// path again.
        public var reselect: @Sendable () async -> Bool

        public init(backoff: Backoff, onFailure: @escaping @Sendable (String) -> Void, reselect: @escaping @Sendable () async -> Bool = { true }) {
            self.backoff = backoff
            self.onFailure = onFailure
            self.reselect = reselect
        }
    }

    public init() {}

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        guard var retrying = context.values[Retrying.self] else { return try await next.request(request, context: context) }
        var request = request
        var lastReported: String?
        while true {
            do {
                return try await next.request(request, context: context)
            } catch {
                guard !Task.isCancelled, !Task.isShuttingDownGracefully else { throw error }
                let text = error.readable
                if text != lastReported {
                    context.logger.warning("request failed; retrying with back-off", metadata: ["service": "\(request.connection.networkService)", "error": "\(text)"])
                    retrying.onFailure(text)
                    lastReported = text
                }
                let pause = retrying.backoff.next()
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
                guard await retrying.reselect() else {
                    context.logger.debug("retrying along the same path", metadata: ["nsm.connection.id": "\(request.connection.id)"])
                    continue
                }
                context.logger.debug("retrying with a new endpoint", metadata: ["nsm.connection.id": "\(request.connection.id)"])
                request.connection.context = Connectioncontext_ConnectionContext()
                request.connection.networkServiceEndpointName = ""
                request.connection.mechanism = Connection_Mechanism()
                request.connection.state = .reselectRequested
            }
        }
    }
}
