public import LeanGRPC
import Netlink
public import SPIFFE

/// Who a process of the local cluster is, from its network namespace, as the cluster names
/// them (`ip netns` names under `<prefix>-`): `spiffe://<trust domain>/ns/<cluster>/pod/<role>`
/// for `nsm-demo-node0` → `node0`, `nsm-demo-pod` → `pod`. A process in another named
/// namespace is `…/netns/<name>`; one in an unnamed namespace (the machine's own, where `nsm
/// run` and the demo's pods' clients live) is `…/host`.
public struct NamespaceAttestor: Sendable {
    public let prefix: String
    public let cluster: String
    public let trustDomain: String

    public init(prefix: String, cluster: String, trustDomain: String) {
        self.prefix = prefix
        self.cluster = cluster
        self.trustDomain = trustDomain
    }

    public func attest(_ credentials: UnixPeerCredentials) throws -> SPIFFEID {
        guard let namespace = credentials.networkNamespace else {
            throw SPIFFEError("the network namespace of pid \(credentials.pid) cannot be read")
        }
        let named = NetworkNamespace.names().first { FileIdentity(path: "\(NetworkNamespace.runDirectory)/\($0)") == namespace }
        guard let named else { return try SPIFFEID(trustDomain: trustDomain, path: "/ns/\(cluster)/host") }
        if named.hasPrefix(prefix + "-") {
            return try SPIFFEID(trustDomain: trustDomain, path: "/ns/\(cluster)/pod/\(named.dropFirst(prefix.count + 1))")
        }
        return try SPIFFEID(trustDomain: trustDomain, path: "/ns/\(cluster)/netns/\(named)")
    }
}
