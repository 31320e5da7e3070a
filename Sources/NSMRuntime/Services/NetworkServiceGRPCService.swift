import GRPCCore
import Logging
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// Serves `/networkservice.NetworkService/{Request,Close}` with a chain. A caller's
/// `nsm-client-token` metadata goes into its path segment first (``ClientTokenMetadata``).
public struct NetworkServiceGRPCService: Networkservice_NetworkService.ServiceProtocol {
    let chain: NetworkServiceChain
    let logger: Logger

    public init(chain: NetworkServiceChain, logger: Logger) {
        self.chain = chain
        self.logger = logger
    }

    public func request(
        request: ServerRequest<Networkservice_NetworkServiceRequest>, context: ServerContext
    ) async throws -> ServerResponse<Connection_Connection> {
        var message = request.message
        let logger = self.logger.about(connection: message.connection.id)
        do {
            try ClientTokenMetadata.adopt(request.metadata, into: &message.connection)
            let chainContext = ChainContext(logger: logger, peer: context.remotePeer, caller: .ofCurrentCall(peer: context.remotePeer))
            return ServerResponse(message: try await chain.request(message, context: chainContext))
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
            try await chain.close(connection, context: ChainContext(logger: logger, peer: context.remotePeer, caller: .ofCurrentCall(peer: context.remotePeer)))
            return ServerResponse(message: Google_Protobuf_Empty())
        } catch {
            logger.info("close failed", metadata: ["error": "\(error)"])
            throw error.asRPCError
        }
    }
}
