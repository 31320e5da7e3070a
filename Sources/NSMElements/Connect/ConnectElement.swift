import Logging
public import NSMAPI
public import NSMCore

/// The last element of a passthrough hop: sends the request to the next hop that the hop's
/// selection element chose (``ChainContext/nextHop``) and returns its answer; Close goes the
/// same way.
public struct ConnectElement: NetworkServiceElement {
    let dialer: any NetworkServiceDialer

    public init(dialer: any NetworkServiceDialer) { self.dialer = dialer }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        guard let url = context.nextHop else { throw NSMError.internalError("no next hop chosen for connection \(request.connection.id)") }
        let connection = try await dialer.peer(for: url).request(request)
        return try await next.request(Networkservice_NetworkServiceRequest(connection: connection, preferences: []), context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        if let url = context.nextHop {
            try await dialer.peer(for: url).close(connection)
        } else {
            context.logger.debug("close: no next hop known", metadata: ["nsm.connection.id": "\(connection.id)"])
        }
        try await next.close(connection, context: context)
    }
}
