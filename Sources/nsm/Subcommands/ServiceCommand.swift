import NSMRuntime
import TextTables
import ArgumentParser
import Foundation
import GRPCCore
import SPIFFE
import GRPCNIOTransportHTTP2Posix
import NSMAnnotation
import NSMAPI
import NSMCore
import NSMRegistry
import SwiftProtobuf

/// `nsm service register|list`: NetworkServices and their `matches` (which endpoints serve which requests).
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Register network services with their matches, or list them.",
        discussion: """
            A service's matches decide which endpoints serve a request: the first match whose source \
            selector the request's labels contain applies, and the endpoints whose labels contain one of \
            its destinations serve it. A service without matches is served by any of its endpoints, \
            whatever labels the request carries.
            """,
        subcommands: [Register.self, List.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "A registry or a node's manager (NSM_CONNECT_TO).")
        var connectTo: String = Environment.string("NSM_CONNECT_TO") ?? "unix:///var/lib/networkservicemesh/nsm.io.sock"

        @Option(help: "The local cluster of this name (nsm cluster up) instead of --connect-to.")
        var cluster: String?

        var url: NSMURL {
            get throws {
                if let cluster { return try NSMURL("unix:///run/nsm-\(cluster)/registry.sock") }
                do { return try NSMURL(connectTo) } catch { throw ValidationError("--connect-to: \(error)") }
            }
        }

        /// ``url``, refused at once when it is a local cluster that is not up.
        var reachableURL: NSMURL {
            get throws {
                let url = try self.url
                if let cluster, case .unix(let path) = url, !FileManager.default.fileExists(atPath: path) {
                    throw CommandFailure("cluster \(cluster) is not up (no \(path)); nsm cluster up --cluster \(cluster)")
                }
                return url
            }
        }

        func withRegistry<T: Sendable>(_ body: (Registry_NetworkServiceRegistry.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
            let url = try reachableURL
            let identity = try cluster.map(ProcessIdentity.ofCluster) ?? ProcessIdentity.fromEnvironment(logger: ComponentLogging.logger("nsm.service"))
            return try await identity.with { source in
                try await withGRPCClient(transport: try .http2NIOPosix(target: url.clientTarget, transportSecurity: .mesh(source))) { client in
                    try await body(Registry_NetworkServiceRegistry.Client(wrapping: client))
                }
            }
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register",
            abstract: "Register (or replace) a network service with its matches, from flags or a file.",
            discussion: """
                Examples:
                  nsm service register --name svc-a --match 'app=a -> app=a' --match '* -> app=default'
                  nsm service register --file my-networkservice-1.yaml
                The file is YAML or JSON: a NetworkService object as written for upstream \
                (apiVersion networkservicemesh.io/v1, kind NetworkService, metadata.name, spec.matches) \
                or just its spec with a name.
                """
        )
        @OptionGroup var target: Target
        @Option(help: "Service name (or the file's).") var name: String?
        @Option(help: "Payload (ETHERNET or IP).") var payload: String?
        @Option(help: ArgumentHelp("A match: \(MatchSpec.accepted). Repeatable, in order.", valueName: "match"))
        var match: [String] = []
        @Option(help: "A NetworkService in YAML or JSON.") var file: String?

        func run() async throws {
            var service = Registry_NetworkService()
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("--file: cannot read \(file)") }
                do { service = try NetworkServiceDocument.parse(String(decoding: data, as: UTF8.self), source: file) } catch {
                    throw ValidationError("--file: \(error)")
                }
            }
            if let name { service.name = name }
            guard !service.name.isEmpty else { throw ValidationError("give the service a name: --name NAME, or a file with metadata.name") }
            if let problem = NetworkServiceName.problem(service.name) { throw ValidationError("--name: \(problem)") }
            if let payload {
                guard ["ETHERNET", "IP"].contains(payload) else { throw ValidationError("--payload \"\(payload.prefix(40))\": accepted ETHERNET or IP") }
                service.payload = payload
            }
            if service.payload.isEmpty { service.payload = "ETHERNET" }
            if !match.isEmpty {
                service.matches = try match.map { text in
                    do { return try MatchSpec.parse(text) } catch { throw ValidationError("--match: \(error)") }
                }
            }
            let registered = try await target.withRegistry { try await $0.register(service) }
            print("service \(registered.name) registered, payload \(registered.payload)")
            if registered.matches.isEmpty {
                print("  no matches: any endpoint of the service serves every request, whatever its labels")
            }
            for (index, match) in registered.matches.enumerated() { print("  match \(index + 1): \(MatchSpec.describe(match))") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the registered network services and their matches.")
        @OptionGroup var target: Target
        @Flag(help: "Print JSON (protobuf JSON) instead of a table.") var json = false

        func run() async throws {
            let url = try target.reachableURL
            let identity = try target.cluster.map(ProcessIdentity.ofCluster) ?? ProcessIdentity.fromEnvironment(logger: ComponentLogging.logger("nsm.service"))
            let services = try await identity.with { try await ServiceTable.services(at: url, identity: $0) }
            if json {
                print("[" + (try services.map { String(decoding: try $0.jsonUTF8Data(), as: UTF8.self) }).joined(separator: ",\n") + "]")
                return
            }
            print(ServiceTable.render(services))
        }
    }
}

/// Services as a table: name, payload, matches (one-line form), one row per match.
enum ServiceTable {
    /// Every service a registry (or a manager, which relays) knows, by name; 5 s at most.
    static func services(at url: NSMURL, identity: (any X509Source)?) async throws -> [Registry_NetworkService] {
        try await withGRPCClient(transport: try .http2NIOPosix(target: url.clientTarget, transportSecurity: .mesh(identity))) { client in
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            return try await Registry_NetworkServiceRegistry.Client(wrapping: client).find(
                .with { $0.networkService = Registry_NetworkService() }, options: options
            ) { response in
                var found: [Registry_NetworkService] = []
                for try await item in response.messages { found.append(item.networkService) }
                return found
            }
        }.sorted { $0.name < $1.name }
    }

    static func render(_ services: [Registry_NetworkService]) -> String {
        var rows = [["SERVICE", "PAYLOAD", "MATCHES"]]
        for service in services {
            let matches = service.matches.isEmpty ? ["(none: any endpoint, labels ignored)"] : service.matches.map(MatchSpec.describe)
            for (index, match) in matches.enumerated() {
                rows.append(index == 0 ? [service.name, service.payload, match] : ["", "", match])
            }
        }
        return TextTable.render(rows)
    }
}
