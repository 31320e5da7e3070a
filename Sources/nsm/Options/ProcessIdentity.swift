import ArgumentParser
import Foundation
import Logging
import NSMLocalMesh
import NSMRuntime
import SPIFFE
import ServiceLifecycle

/// Where this process's SPIFFE identity comes from, by environment:
/// `SPIFFE_ENDPOINT_SOCKET` (the Workload API, as SPIRE's agent serves it), else
/// `NSM_SPIFFE_SVID_DIR` (files as spiffe-helper or csi-driver-spiffe write them), else plaintext
/// only when `NSM_INSECURE=true` says so — loudly. Nothing set is an error naming all three.
struct ProcessIdentity: Sendable {
    /// The SVID source, `nil` for plaintext.
    let source: (any X509Source)?
    /// What keeps the source current (the Workload API stream); run it in the process's group.
    let service: (any Service)?

    /// For the discussion of every command that serves or calls the mesh's gRPC.
    static let help = """
        Identity (mutual TLS on every gRPC hop, unix sockets included): SPIFFE_ENDPOINT_SOCKET (the SPIFFE Workload \
        API, e.g. a SPIRE agent's unix:///run/spire/sockets/agent.sock), else NSM_SPIFFE_SVID_DIR (svid.pem, \
        svid_key.pem, svid_bundle.pem as spiffe-helper writes them, or tls.crt, tls.key, ca.crt as csi-driver-spiffe \
        mounts them; followed across rotation), else NSM_INSECURE=true for plaintext (loudly logged; not for production).
        """

    static let insecureVariable = "NSM_INSECURE"
    static let directoryVariable = "NSM_SPIFFE_SVID_DIR"
    static let socketVariable = "SPIFFE_ENDPOINT_SOCKET"

    /// From the environment.
    static func fromEnvironment(logger: Logger) throws -> ProcessIdentity {
        try Environment.checkBools([insecureVariable])
        if let socket = Environment.string(socketVariable) {
            do {
                let source = try WorkloadAPISource(endpoint: socket)
                return ProcessIdentity(source: source, service: source)
            } catch { throw ValidationError("\(socketVariable): \(error)") }
        }
        if let directory = Environment.string(directoryVariable) {
            do { return ProcessIdentity(source: try SVIDFiles(directory: directory), service: nil) } catch {
                throw ValidationError("\(directoryVariable): \(error)")
            }
        }
        if Environment.bool(insecureVariable) == true {
            let warning = "\(insecureVariable)=true: gRPC without TLS — no peer is authenticated, any process that reaches this process's sockets is trusted. Not for production."
            logger.critical("\(warning)")
            FileHandle.standardError.write(Data("WARNING: \(warning)\n".utf8))
            return ProcessIdentity(source: nil, service: nil)
        }
        throw ValidationError(
            "no SPIFFE identity: set \(socketVariable) (a SPIRE agent's Workload API socket, unix:///run/spire/sockets/agent.sock in upstream's deployments) or \(directoryVariable) (svid.pem, svid_key.pem, svid_bundle.pem or tls.crt, tls.key, ca.crt); \(insecureVariable)=true runs without TLS")
    }

    /// The identity of a process of the local cluster `name` (`nsm cluster up`): its agent's SVIDs.
    static func ofCluster(_ name: String) throws -> ProcessIdentity {
        try of(agentSocket: LocalCluster.agentSocket(directory: "/run/nsm-\(name)"))
    }

    static func of(agentSocket: String) throws -> ProcessIdentity {
        let source = try WorkloadAPISource(endpoint: agentSocket)
        return ProcessIdentity(source: source, service: source)
    }

    /// Runs `body` with the source current, the Workload API stream running beside it (for
    /// commands that make a few calls and exit).
    func with<T: Sendable>(deadline: Duration = .seconds(30), _ body: ((any X509Source)?) async throws -> T) async throws -> T {
        guard let service else { return try await body(source) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            try await ready(deadline: deadline)
            return try await body(source)
        }
    }

    /// The services to run first in the process's group (the Workload API stream), if any.
    var services: [any Service] { service.map { [$0] } ?? [] }

    /// Fetches the first SVID from the Workload API (up to `deadline`) before anything starts;
    /// at once for other sources.
    func ready(deadline: Duration = .seconds(30)) async throws {
        guard let source = source as? WorkloadAPISource else { return }
        do { try await source.prime(timeout: deadline) } catch { throw CommandFailure("\(error)") }
    }
}
