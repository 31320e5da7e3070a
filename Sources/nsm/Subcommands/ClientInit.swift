import ArgumentParser
import Foundation
import ServiceLifecycle
import IPAddressing
import Logging
import Netlink
import NSMAPI
import NSMAnnotation
import NSMRuntime
import TextTables

/// `nsm client --init`: every service connected and its interface up with its addresses in this
/// namespace, or a bounded failure that says which service and why (upstream's init container
/// retries forever; a pod stuck in Init with no reason is the result).
struct ClientInit {
    let client: NSMClient
    let pool: GRPCClientPool
    let identity: ProcessIdentity
    let annotation: NetworkServiceAnnotation
    /// How long a service may keep failing before the init container gives up.
    let bound: Duration
    let terminationLog: String
    /// Where the connections are left for the sidecar.
    let state: ClientStateFile?
    let logger: Logger

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        let deadline = ContinuousClock.now + bound
        let result: Result<[Connection_Connection], Failure> = await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await pool.run() }
            if let service = identity.service { tasks.addTask { try? await service.run() } }
            defer { tasks.cancelAll() }
            do { try await identity.ready(deadline: bound) } catch { return .failure(Failure(description: "\(error)")) }
            return await connectAll(until: deadline)
        }
        switch result {
        case .success(let connections):
            do { try state?.write(connections) } catch {
                let message = "nsm client --init: cannot leave the connections for the sidecar in \(state?.path ?? ""): \(error)"
                Self.writeTerminationMessage(message, to: terminationLog)
                FileHandle.standardError.write(Data("error: \(message)\n".utf8))
                throw ExitCode.failure
            }
            printFlushed(ConnectionsTable.render(connections))
            logger.info("every network service connected; handing over to the sidecar", metadata: ["services": "\(connections.count)"])
        case .failure(let failure):
            Self.writeTerminationMessage(failure.description, to: terminationLog)
            FileHandle.standardError.write(Data("error: \(failure)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Each service retried on its own with back-off until it is connected and plumbed, or the
    /// deadline passes.
    func connectAll(until deadline: ContinuousClock.Instant) async -> Result<[Connection_Connection], Failure> {
        let failures = await withTaskGroup(of: (Int, String?).self) { group in
            for index in annotation.services.indices {
                group.addTask { (index, await connectOne(index, until: deadline)) }
            }
            var failures: [(index: Int, reason: String)] = []
            for await (index, failure) in group {
                if let failure { failures.append((index, failure)) }
            }
            return failures.sorted { $0.index < $1.index }
        }
        guard failures.isEmpty else {
            let seconds = Double(bound.components.seconds)
            let lines = failures.map { "\(annotation.services[$0.index].networkService) (item \($0.index + 1)): \($0.reason)" }
            return .failure(Failure(description: "nsm client --init gave up after \(Int(seconds)) s (4 x NSM_REQUEST_TIMEOUT): " + lines.joined(separator: "; ")))
        }
        return .success(client.connections)
    }

    /// nil once service `index` is connected and its interface is ready; else the last reason.
    func connectOne(_ index: Int, until deadline: ContinuousClock.Instant) async -> String? {
        var pause = Duration.milliseconds(250)
        var reason = "not attempted"
        while true {
            do {
                let connection = try await client.connect(index)
                try await Self.waitForInterface(of: connection, until: deadline)
                return nil
            } catch {
                reason = "\(error)"
                logger.warning("network service not connected yet", metadata: ["item": "\(index + 1)", "error": "\(error)"])
            }
            guard ContinuousClock.now + pause < deadline else { return reason }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
    }

    /// Waits (polling netlink in this namespace, with the deadline) until the connection's
    /// interface is up and carries the addresses the endpoint assigned.
    static func waitForInterface(of connection: Connection_Connection, until deadline: ContinuousClock.Instant) async throws {
        guard let name = connection.mechanism.kernelInterfaceName else {
            throw Failure(description: "the connection \(connection.id) came back without a kernel interface name")
        }
        let wanted = Set(connection.context.ipContext.srcIpAddrs.compactMap { IPPrefix($0) })
        var seen = "interface \(name) is missing"
        while ContinuousClock.now < deadline {
            let handle = try NetlinkHandle()
            if let link = try? handle.link(named: name) {
                let present = Set(try handle.addresses(index: link.index).map(\.prefix))
                if link.isUp && wanted.isSubset(of: present) { return }
                seen = "interface \(name) is \(link.isUp ? "up" : "down") with \(present.map(\.description).sorted()), expected \(wanted.map(\.description).sorted())"
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: seen)
    }

    /// The reason for Kubernetes (`terminationMessagePath`); best effort: the file may not exist
    /// outside a container.
    static func writeTerminationMessage(_ message: String, to path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let text = String(message.utf8.prefix(4000)) ?? message
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }
}

