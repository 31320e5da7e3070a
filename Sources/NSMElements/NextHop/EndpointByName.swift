public import NSMAPI
public import NSMCore
import SwiftProtobuf

/// The next hop of a forwarder: the endpoint the connection names, as the registry has it
/// (a local endpoint's own URL, or a remote endpoint's node).
public struct EndpointByName: NextHopResolver {
    let registry: any RegistryReader

    public init(registry: any RegistryReader) { self.registry = registry }

    public func nextHop(for connection: Connection_Connection) async throws -> NSMURL? {
        let name = connection.networkServiceEndpointName
        guard !name.isEmpty else { return nil }
        guard let found = try await registry.endpoints(matching: .with { $0.name = name }).first else { return nil }
        return try NSMURL(found.url)
    }
}
