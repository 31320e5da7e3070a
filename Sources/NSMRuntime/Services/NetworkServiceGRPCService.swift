import GRPCCore
import Logging
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// Serves `/networkservice.NetworkService/{Request,Close}` with a chain. A caller's
/// `nsm-client-token` metadata goes into its path segment first (``ClientTokenMetadata``); with
/// tracing on, each call is hop `hop`'s span, a child of the caller's (``TraceContextMetadata``).
public struct NetworkServiceGRPCService: Networkservice_NetworkService.ServiceProtocol {
    let chain: NetworkServiceChain
    let logger: Logger
    let hop: String

    public init(chain: NetworkServiceChain, logger: Logger, hop: String) {
        self.chain = chain
        self.logger = logger
        self.hop = hop
    }

    public func request(
        request: ServerRequest<Networkservice_NetworkServiceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Connection_Connection> {
        var message = request.message
        let logger = self.logger.about(connection: message.connection.id)
        do {
            try ClientTokenMetadata.adopt(request.metadata, into: &message.connection)
            let chainContext = ChainContext(logger: logger, peer: context.remotePeer, caller: .ofCurrentCall(peer: context.remotePeer))
            let connection = try await ChainTracing.hop(hop, "Request", connection: message.connection, context: TraceContextMetadata.extract(from: request.metadata)) {
                try await chain.request(message, context: chainContext)
            }
            return ServerResponse(message: connection)
        } catch {
            logger.info("request failed", metadata: ["error": "\(error)"])
            throw error.asRPCError
        }
    }

    public func close(
        request: ServerRequest<Connection_Connection>, context: ServerContext
    ) async throws -> ServerResponse<Google_Protobuf_Empty> {
        var connection = request.message
        let logger = self.logger.about(connection: connection.id)
        do {
            try ClientTokenMetadata.adopt(request.metadata, into: &connection)
            let chainContext = ChainContext(logger: logger, peer: context.remotePeer, caller: .ofCurrentCall(peer: context.remotePeer))
            try await ChainTracing.hop(hop, "Close", connection: connection, context: TraceContextMetadata.extract(from: request.metadata)) {
                try await chain.close(connection, context: chainContext)
            }
            return ServerResponse(message: Google_Protobuf_Empty())
        } catch {
            logger.info("close failed", metadata: ["error": "\(error)"])
            throw error.asRPCError
        }
    }
}
