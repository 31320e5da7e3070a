import LeanGRPC
import NSMAPI
import NSMCore

extension Caller {
    /// The caller of the gRPC call being handled, as the server transport established it
    /// (``LeanServerTransport`` sets it for each call). A call from an unknown transport is
    /// trusted no more than one from the network.
    static func ofCurrentCall(peer: String) -> Caller {
        guard let current = ServerCaller.current else { return .remote(peer) }
        if let credentials = current.unix {
            return .local(
                pid: credentials.pid, uid: credentials.uid,
                namespace: credentials.actingNetworkNamespace.map { NamespaceURL.inode(device: $0.device, inode: $0.inode) },
                spiffeID: current.identity, certificate: current.certificate)
        }
        return .remote(current.address, spiffeID: current.identity, certificate: current.certificate)
    }
}
