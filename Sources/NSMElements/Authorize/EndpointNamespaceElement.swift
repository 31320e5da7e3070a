public import NSMAPI
public import NSMCore

/// The endpoint's side of the namespace rule, in the forwarder right before it calls the next
/// hop: an endpoint that answers with a KERNEL mechanism names its own network namespace — the
/// one its process is in, as the unix socket's peer credentials tell — or it is refused
/// (`PERMISSION_DENIED` naming both; the endpoint's connection is closed again), so an endpoint
/// cannot have its end of a veth put into a pod's or the node's namespace. A next hop reached
/// over TCP may not answer with a namespace on this node at all. In-process hops pass.
public struct EndpointNamespaceElement: NetworkServiceElement {
    let dialer: any NetworkServiceDialer

    public init(dialer: any NetworkServiceDialer) { self.dialer = dialer }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let answer = try await next.request(request, context: context)
        guard answer.mechanism.isKernel, let named = answer.mechanism.inodeURL, let url = context.nextHop else { return answer }
        let refusal: String?
        switch url {
        case .unix:
            let own = try await dialer.peer(for: url).processNamespace()
            refusal = own.flatMap { own in NamespaceURL(named) == own ? nil : "the endpoint at \(url) answered with network namespace \(named.prefix(80)), but its process is in \(own)" }
        case .tcp:
            refusal = "the next hop at \(url) is reached over the network but answered with network namespace \(named.prefix(80)) on this node"
        }
        guard let refusal else { return answer }
        try? await next.close(answer, context: context)
        throw NSMError.permissionDenied(refusal + "; an endpoint may only have its side of a connection in its own namespace")
    }
}
