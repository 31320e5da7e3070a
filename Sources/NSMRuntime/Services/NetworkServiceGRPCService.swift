import GRPCCore
import Logging
public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// Serves `/networkservice.NetworkService/{Request,Close}` with a chain.
public struct NetworkServiceGRPCService: Networkservice_NetworkService.SimpleServiceProtocol {
    let chain: NetworkServiceChain
    let logger: Logger

    public init(chain: NetworkServiceChain, logger: Logger) {
        self.chain = chain
        self.logger = logger
    }

    public func request(request: Networkservice_NetworkServiceRequest, context: ServerContext) async throws -> Connection_Connection {
        var logger = self.logger
        logger[metadataKey: "nsm.connection.id"] = "\(request.connection.id)"
        do {
            return try await chain.request(request, context: ChainContext(logger: logger, peer: context.remotePeer, caller: .ofCurrentCall(peer: context.remotePeer)))
        } catch {
            logger.info("request failed", metadata: ["error": "\(error)"])
            throw error.asRPCError
        }
    }

    public func close(request: Connection_Connection, context: ServerContext) async throws -> Google_Protobuf_Empty {
        var logger = self.logger
        logger[metadataKey: "nsm.connection.id"] = "\(request.id)"
        do {
            try await chain.close(request, context: ChainContext(logger: logger, peer: context.remotePeer, caller: .ofCurrentCall(peer: context.remotePeer)))
            return Google_Protobuf_Empty()
        } catch {
            logger.info("close failed", metadata: ["error": "\(error)"])
            throw error.asRPCError
        }
    }
}
