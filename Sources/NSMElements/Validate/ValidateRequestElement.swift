public import NSMAPI
public import NSMCore

/// Refuses a Request or Close whose connection exceeds ``MessageBounds`` (a 1 MB id, ten
/// thousand path segments or labels…) with INVALID_ARGUMENT naming what is too large and what is
/// accepted, before any element keeps, forwards or echoes it. First in every server chain.
public struct ValidateRequestElement: NetworkServiceElement {
    public init() {}

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        try Self.check(request.connection)
        guard request.mechanismPreferences.count <= MessageBounds.mechanismPreferences else {
            throw NSMError.invalidArgument("the request offers \(request.mechanismPreferences.count) mechanism preferences; at most \(MessageBounds.mechanismPreferences) are accepted")
        }
        for mechanism in request.mechanismPreferences { try Self.check(mechanism, "a mechanism preference") }
        return try await next.request(request, context: context)
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        try Self.check(connection)
        try await next.close(connection, context: context)
    }

    /// Throws INVALID_ARGUMENT for the first part of `connection` over its bound.
    public static func check(_ connection: Connection_Connection) throws(NSMError) {
        try bytes(connection.id, MessageBounds.idBytes, "connection.id")
        try bytes(connection.networkService, MessageBounds.nameBytes, "connection.network_service")
        try bytes(connection.networkServiceEndpointName, MessageBounds.nameBytes, "connection.network_service_endpoint_name")
        try bytes(connection.payload, MessageBounds.nameBytes, "connection.payload")
        try labels(connection.labels, "connection.labels")
        let segments = connection.path.pathSegments
        guard segments.count <= MessageBounds.pathSegments else {
            throw .invalidArgument("connection.path has \(segments.count) segments; at most \(MessageBounds.pathSegments) are accepted")
        }
        for (index, segment) in segments.enumerated() {
            try bytes(segment.name, MessageBounds.nameBytes, "connection.path segment \(index) name")
            try bytes(segment.id, MessageBounds.idBytes, "connection.path segment \(index) id")
            try bytes(segment.token, MessageBounds.tokenBytes, "connection.path segment \(index) token")
            try labels(segment.metrics, "connection.path segment \(index) metrics")
        }
        try check(connection.mechanism, "connection.mechanism")
        let ip = connection.context.ipContext
        for (name, count) in [
            ("src_ip_addrs", ip.srcIpAddrs.count), ("dst_ip_addrs", ip.dstIpAddrs.count), ("src_routes", ip.srcRoutes.count),
            ("dst_routes", ip.dstRoutes.count), ("excluded_prefixes", ip.excludedPrefixes.count), ("ip_neighbors", ip.ipNeighbors.count),
            ("dns_context.configs", connection.context.dnsContext.configs.count),
        ] where count > MessageBounds.contextEntries {
            throw .invalidArgument("connection.context \(name) has \(count) entries; at most \(MessageBounds.contextEntries) are accepted")
        }
        try labels(connection.context.extraContext, "connection.context.extra_context")
    }

    static func check(_ mechanism: Connection_Mechanism, _ what: String) throws(NSMError) {
        try bytes(mechanism.cls, MessageBounds.nameBytes, "\(what) cls")
        try bytes(mechanism.type, MessageBounds.nameBytes, "\(what) type")
        guard mechanism.parameters.count <= MessageBounds.mechanismParameters else {
            throw .invalidArgument("\(what) has \(mechanism.parameters.count) parameters; at most \(MessageBounds.mechanismParameters) are accepted")
        }
        for (key, value) in mechanism.parameters where key.utf8.count > MessageBounds.parameterBytes || value.utf8.count > MessageBounds.parameterBytes {
            throw .invalidArgument("\(what) parameter \"\(key.prefix(40))\" is longer than \(MessageBounds.parameterBytes) bytes (key or value)")
        }
    }

    static func bytes(_ text: String, _ bound: Int, _ what: String) throws(NSMError) {
        let count = text.utf8.count
        guard count <= bound else {
            throw .invalidArgument("\(what) of \(count) bytes (\"\(text.prefix(40))…\"); at most \(bound) are accepted")
        }
    }

    static func labels(_ labels: [String: String], _ what: String) throws(NSMError) {
        guard labels.count <= MessageBounds.labels else {
            throw .invalidArgument("\(what) has \(labels.count) entries; at most \(MessageBounds.labels) are accepted")
        }
        for (key, value) in labels where key.utf8.count > MessageBounds.labelBytes || value.utf8.count > MessageBounds.labelBytes {
            throw .invalidArgument("\(what): \"\(key.prefix(40))\" is longer than \(MessageBounds.labelBytes) bytes (key or value)")
        }
    }
}
