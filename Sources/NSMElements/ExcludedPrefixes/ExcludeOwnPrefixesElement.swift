import GRPCCore
public import IPAddressing
import Logging
public import NSMAPI
public import NSMCore

/// On a client: keeps a pod's services from colliding. Each Request excludes the addresses
/// and host routes of the pod's other connections (upstream's client `excludedprefixes`). When
/// an answer still collides — two services requested at the same moment, seen here, or refused
/// by the forwarder's data plane with `ALREADY_EXISTS` before it touched the pod — the request
/// is made again once the pod's other requests have settled (``RequestGate``: first attempts in
/// parallel, retries alone), excluding what they got.
public struct ExcludeOwnPrefixesElement: NetworkServiceElement {
    let pod: PodPrefixes
    let gate = RequestGate()
    let attempts: Int

    public init(pod: PodPrefixes, attempts: Int = 8) {
        self.pod = pod
        self.attempts = attempts
    }

    private enum Attempt: Sendable {
        case established(Connection_Connection)
        case refused(String)
        case collided(Connection_Connection, [IPPrefix])
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        var extra: [IPPrefix] = []
        for attempt in 1...attempts {
            let outcome = try await gate.run(exclusive: attempt > 1) { () async throws -> Attempt in
                var request = request
                for prefix in pod.others(than: request.connection.id) + extra { request.connection.context.ipContext.addExcluded(prefix) }
                let connection: Connection_Connection
                do {
                    connection = try await next.request(request, context: context)
                } catch where attempt < attempts && error.asRPCError.code == .alreadyExists {
                    return .refused(error.asRPCError.message)
                }
                let clash = pod.record(connection)
                guard clash.isEmpty else {
                    try? await next.close(connection, context: context)
                    return .collided(connection, clash)
                }
                return .established(connection)
            }
            switch outcome {
            case .established(let connection):
                return connection
            case .refused(let reason):
                context.logger.info("the pod holds these prefixes on another service; requesting again once the pod's other requests settle", metadata: [
                    "service": "\(request.connection.networkService)", "attempt": "\(attempt)", "reason": "\(reason)",
                ])
            case .collided(let connection, let clash):
                context.logger.info("addresses collide with another service of the pod; requesting again", metadata: [
                    "nsm.connection.id": "\(connection.id)", "attempt": "\(attempt)", "collision": "\(clash)",
                ])
                extra += PodPrefixes.owned(connection)
            }
        }
        throw NSMError.resourceExhausted("service \(request.connection.networkService): every answer collided with the pod's other services")
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        pod.remove(connection.id)
        try await next.close(connection, context: context)
    }
}
