public import NSMAPI

/// One link of a NetworkService chain, on the server side of a hop or on its client side.
///
/// An element does its work, calls `next` to continue down the chain, and may adjust the
/// connection on the way back — like a Hummingbird middleware or a gRPC interceptor, and like
/// an element of upstream NSM's SDK. Close travels the same elements.
public protocol NetworkServiceElement: Sendable {
    func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection

    func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws
}

extension NetworkServiceElement {
    /// By default an element passes Close straight on.
    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        try await next.close(connection, context: context)
    }
}

/// The rest of the chain after an element.
public struct NetworkServiceNext: Sendable {
    let requestBody: @Sendable (Networkservice_NetworkServiceRequest, ChainContext) async throws -> Connection_Connection
    let closeBody: @Sendable (Connection_Connection, ChainContext) async throws -> Void

    public init(
        request: @escaping @Sendable (Networkservice_NetworkServiceRequest, ChainContext) async throws -> Connection_Connection,
        close: @escaping @Sendable (Connection_Connection, ChainContext) async throws -> Void
    ) {
        self.requestBody = request
        self.closeBody = close
    }

    public func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext) async throws -> Connection_Connection {
        try await requestBody(request, context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext) async throws {
        try await closeBody(connection, context)
    }

    /// The end of a chain: Request answers with the request's connection, Close does nothing.
    public static let tail = NetworkServiceNext(request: { request, _ in request.connection }, close: { _, _ in })
}

/// An ordered list of elements, itself an element.
///
///     let manager = NetworkServiceChain([
///         UpdatePathElement(name: "nsmgr-1"), BeginElement(), MetadataElement(), MonitorElement(monitor),
///         ClientInfoElement(labels: ["nodeName": node]), DiscoverForwarderElement(...), ConnectElement(...),
///     ])
public struct NetworkServiceChain: NetworkServiceElement {
    public let elements: [any NetworkServiceElement]
    /// Each element's span names (Request, Close), made once: `nil` for a nested chain.
    private let spanNames: [(request: String, close: String)?]

    public init(_ elements: [any NetworkServiceElement]) {
        self.elements = elements
        spanNames = elements.map { element in
            guard !(element is NetworkServiceChain) else { return nil }
            let name = String(describing: type(of: element))
            return ("\(name)/Request", "\(name)/Close")
        }
    }

    /// A chain of the elements that are there: a `nil` is an element switched off by configuration.
    public init(_ elements: [(any NetworkServiceElement)?]) { self.init(elements.compactMap { $0 }) }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        try await link(0, then: next).request(request, context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        try await link(0, then: next).close(connection, context: context)
    }

    /// Runs the chain as the last thing on a hop (an endpoint): nothing after the elements.
    public func request(_ request: Networkservice_NetworkServiceRequest, context: ChainContext) async throws -> Connection_Connection {
        try await self.request(request, context: context, next: .tail)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext) async throws {
        try await close(connection, context: context, next: .tail)
    }

    private func link(_ index: Int, then last: NetworkServiceNext) -> NetworkServiceNext {
        guard index < elements.count else { return last }
        let element = elements[index], names = spanNames[index]
        return NetworkServiceNext(
            request: { request, context in
                try await ChainTracing.element(names?.request) { try await element.request(request, context: context, next: link(index + 1, then: last)) }
            },
            close: { connection, context in
                try await ChainTracing.element(names?.close) { try await element.close(connection, context: context, next: link(index + 1, then: last)) }
            })
    }
}
