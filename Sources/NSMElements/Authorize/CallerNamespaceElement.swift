#if canImport(Glibc)
import Glibc
#endif
public import NSMAPI
public import NSMCore

/// The first hop's guard against namespace theft: a KERNEL mechanism may only name the network
/// namespace its caller speaks for — the namespace of the process on the other end of the unix
/// socket (`SO_PEERCRED`), or one it passed as a file descriptor (upstream's grpcfd). Anything
/// else is refused with `PERMISSION_DENIED` saying which namespace was named and which the
/// caller is in, before any state is made.
///
/// - A local caller's `file:///proc/thread-self/ns/net` or `/proc/self/ns/net` means its own
///   namespace (upstream clients send that); other `file://` paths are resolved here. Every
///   accepted name is rewritten to `inode://<dev>/<ino>`, so later hops plumb exactly what was
///   checked.
/// - Over the network nobody may name a namespace on this node: a remote hop asks with a
///   tunnel mechanism (VXLAN), never KERNEL.
/// - In-process calls (the node's manager calling its forwarder) were checked by their first hop.
public struct CallerNamespaceElement: NetworkServiceElement {
    public init() {}

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        if case .inProcess = context.caller.transport { return try await next.request(request, context: context) }
        var request = request
        if request.connection.hasMechanism {
            try authorize(&request.connection.mechanism, caller: context.caller, role: "the connection's mechanism")
        }
        for index in request.mechanismPreferences.indices {
            try authorize(&request.mechanismPreferences[index], caller: context.caller, role: "mechanism preference \(index)")
        }
        return try await next.request(request, context: context)
    }

    func authorize(_ mechanism: inout Connection_Mechanism, caller: Caller, role: String) throws {
        guard mechanism.isKernel, let text = mechanism.inodeURL else { return }
        switch caller.transport {
        case .inProcess:
            return
        case .remote(let address):
            throw NSMError.permissionDenied(
                "\(role) is KERNEL in network namespace \(text): a namespace on this node may only be named over the node's unix socket by a process in it; this call came over the network from \(address)")
        case .local(let pid, _, let own):
            guard let own else {
                throw NSMError.permissionDenied("\(role) names network namespace \(text), but the namespace of the caller (pid \(pid)) could not be read")
            }
            let named = try Self.identify(text, caller: own, role: role)
            guard named == own else {
                throw NSMError.permissionDenied(
                    "\(role) names network namespace \(text) (\(named)), but the caller (pid \(pid)) is in \(own): a client may only ask for interfaces in its own network namespace, or in one whose descriptor it passes on the unix socket")
            }
            mechanism.inodeURL = own.description
        }
    }

    /// The `inode://` identity of a namespace URL as this process resolves it; a local caller's
    /// self-references stand for `own`.
    static func identify(_ text: String, caller own: NamespaceURL, role: String) throws -> NamespaceURL {
        switch NamespaceURL(text) {
        case .inode(let device, let inode)?:
            return .inode(device: device, inode: inode)
        case .file(let path)? where path == "/proc/thread-self/ns/net" || path == "/proc/self/ns/net":
            return own
        case .file(let path)?:
            var info = stat()
            guard stat(path, &info) == 0 else {
                throw NSMError.permissionDenied("\(role) names network namespace \(text), which cannot be read here (\(String(cString: strerror(errno))))")
            }
            return .inode(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        case nil:
            throw NSMError.invalidArgument("\(role) has inodeURL \"\(text.prefix(80))\": expected inode://<device>/<inode> or file:///<path>")
        }
    }
}
