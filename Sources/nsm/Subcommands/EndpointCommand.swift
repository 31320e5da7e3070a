import Readiness
import ArgumentParser
import Foundation
import IPAddressing
import Logging
import Netlink
import NSMAPI
import NSMDNS
import NSMCore
import NSMRuntime
import ServiceLifecycle
import UnixSignals
import SwiftProtobuf

/// `nsm endpoint`: a network service endpoint, configured like upstream's icmp-responder.
struct EndpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoint",
        abstract: "Run a network service endpoint (point-to-point IPAM, routes, DNS configs).",
        discussion: """
            Environment (as upstream's cmd-nse-icmp-responder): NSM_NAME, NSM_SERVICE_NAMES, NSM_LABELS, \
            NSM_CIDR_PREFIX, NSM_DNS_CONFIGS, NSM_CONNECT_TO, NSM_LISTEN_ON, NSM_PAYLOAD, \
            NSM_REGISTER_SERVICE, NSM_UNREGISTER_ITSELF. Flags override them.
            \(ProcessIdentity.help)
            \(ComponentTelemetry.help)
            """
    )

    @Option(help: "Endpoint name (NSM_NAME).")
    var name: String = Environment.string("NSM_NAME") ?? "icmp-server"

    @Option(help: "Comma-separated network services it provides (NSM_SERVICE_NAMES).")
    var serviceNames: String = Environment.string("NSM_SERVICE_NAMES") ?? "icmp-responder"

    @Option(help: "Labels, k=v or k:v, comma-separated (NSM_LABELS).")
    var labels: String = Environment.string("NSM_LABELS") ?? ""

    @Option(help: "Address pools, comma-separated CIDRs (NSM_CIDR_PREFIX).")
    var cidrPrefix: String = Environment.string("NSM_CIDR_PREFIX") ?? "169.254.0.0/16"

    @Option(help: "Prefixes clients route through this endpoint, comma-separated.")
    var routes: String = Environment.string("NSM_ROUTES") ?? ""

    @Option(help: #"DNS configs as JSON (NSM_DNS_CONFIGS), e.g. [{"dns_server_ips":["172.16.1.100"],"search_domains":["my.svc"]}]"#)
    var dnsConfigs: String = Environment.string("NSM_DNS_CONFIGS") ?? "[]"

    @Option(help: "A DNS zone this endpoint serves itself on UDP/TCP port 53 of all its addresses (NSM_DNS_ZONE); clients get it as a DNS config with this endpoint's address.")
    var dnsZone: String? = Environment.string("NSM_DNS_ZONE")

    @Option(help: "Records of --dns-zone, NAME=IP or NAME=self (the address the client reached), comma-separated (NSM_DNS_RECORDS).")
    var dnsRecords: String = Environment.string("NSM_DNS_RECORDS") ?? ""

    @Option(help: "Where the zone is served.")
    var dnsListen: String = "0.0.0.0:53"

    @Option(help: "The node's manager (NSM_CONNECT_TO).")
    var connectTo: String = Environment.string("NSM_CONNECT_TO") ?? "unix:///var/lib/networkservicemesh/nsm.io.sock"

    @Option(help: "Where to listen (NSM_LISTEN_ON); default a socket in a temporary directory.")
    var listenOn: String?

    @Option(help: "Payload of the services it registers (NSM_PAYLOAD): ETHERNET or IP.")
    var payload: String = Environment.string("NSM_PAYLOAD") ?? "ETHERNET"

    @Option(help: "Register the network services too (NSM_REGISTER_SERVICE).")
    var registerService: Bool = Environment.bool("NSM_REGISTER_SERVICE") ?? true

    @Option(help: "Unregister on shutdown (NSM_UNREGISTER_ITSELF).")
    var unregisterItself: Bool = Environment.bool("NSM_UNREGISTER_ITSELF") ?? false

    @Option(help: "The endpoint's network namespace URL sent to forwarders (default: this process's).")
    var namespaceURL: String?

    func validate() throws {
        try Environment.checkBools(["NSM_REGISTER_SERVICE", "NSM_UNREGISTER_ITSELF"])
        for item in cidrPrefix.split(separator: ",") where IPPrefix(item.trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("--cidr-prefix/NSM_CIDR_PREFIX: \"\(item)\" is not a CIDR prefix such as 172.16.1.0/24 or fd00::/64")
        }
        for item in routes.split(separator: ",") where IPPrefix(item.trimmingCharacters(in: .whitespaces)) == nil {
            throw ValidationError("--routes: \"\(item)\" is not a CIDR prefix such as 10.60.0.0/16")
        }
        guard payload == Payload.ethernet || payload == Payload.ip else {
            throw ValidationError("--payload/NSM_PAYLOAD: \"\(payload)\" is not ETHERNET or IP")
        }
        do { _ = try [String: String].parseLabels(labels) } catch { throw ValidationError("--labels/NSM_LABELS: \(error)") }
        _ = try parsedDNSConfigs()
        _ = try parsedZone()
        do { _ = try DNSListenAddress(parsing: dnsListen) } catch { throw ValidationError("--dns-listen: \(error)") }
    }

    func parsedZone() throws -> DNSZone? {
        guard let dnsZone else {
            guard dnsRecords.isEmpty else { throw ValidationError("--dns-records/NSM_DNS_RECORDS need --dns-zone/NSM_DNS_ZONE") }
            return nil
        }
        // The zone becomes a search domain in the pods' resolv.conf (whitespace-separated): a
        // host name of letters, digits and '-' per label, as RFC 1123 has it.
        let hostLabel = { (label: Substring) -> Bool in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        let labels = (dnsZone.hasSuffix(".") ? String(dnsZone.dropLast()) : dnsZone).split(separator: ".", omittingEmptySubsequences: false)
        guard !dnsZone.isEmpty, labels.allSatisfy(hostLabel) else {
            throw ValidationError("--dns-zone/NSM_DNS_ZONE \"\(dnsZone.prefix(80))\" is not a host name; accepted: labels of 1-63 letters, digits and '-' "
                + "(not at either end) joined by '.', e.g. my-svc.nsm")
        }
        var zone: DNSZone
        do { zone = DNSZone(origin: try DNSName(dnsZone)) } catch { throw ValidationError("--dns-zone/NSM_DNS_ZONE: \(error)") }
        for record in dnsRecords.split(separator: ",") {
            do { try zone.add(parsing: record.trimmingCharacters(in: .whitespaces)) } catch { throw ValidationError("--dns-records/NSM_DNS_RECORDS: \(error)") }
        }
        return zone
    }

    func parsedDNSConfigs() throws -> [Connectioncontext_DNSConfig] {
        do {
            return try [Connectioncontext_DNSConfig].from(jsonArray: dnsConfigs)
        } catch {
            throw ValidationError("--dns-configs/NSM_DNS_CONFIGS: not a JSON array of {\"dns_server_ips\": [...], \"search_domains\": [...]}: \(error)")
        }
    }

    func run() async throws {
        ProcessExecutor.install()
        let logger = ComponentLogging.logger("nsm.endpoint")
        // Before anything that makes metrics: handles made earlier would stay with the no-op backend.
        let telemetry = try ComponentTelemetry(logger: logger, name: name)
        let listen = try listenOn.map { try NSMURL($0) }
            ?? Environment.string("NSM_LISTEN_ON").map { try NSMURL($0) }
            ?? .unix(path: NSTemporaryDirectory() + "\(name)-\(getpid())/listen.on.sock")
        let identity = try ProcessIdentity.fromEnvironment(logger: logger)
        let pool = GRPCClientPool(identity: identity.source)
        let endpoint = try Endpoint(.init(
            name: name, serviceNames: serviceNames.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
            labels: try [String: String].parseLabels(labels),
            cidrPrefixes: cidrPrefix.split(separator: ",").compactMap { IPPrefix($0.trimmingCharacters(in: .whitespaces)) },
            routes: routes.split(separator: ",").compactMap { IPPrefix($0.trimmingCharacters(in: .whitespaces)) },
            dnsConfigs: try parsedDNSConfigs(), listen: listen, managerURL: try NSMURL(connectTo), payload: payload,
            registerService: registerService, namespaceURL: namespaceURL ?? Self.ownNamespaceURL(), unregisterOnShutdown: unregisterItself,
            dnsZone: try parsedZone(), dnsListen: try DNSListenAddress(parsing: dnsListen)),
            pool: pool, logger: logger)
        try await identity.ready()
        let group = ComponentServiceGroup.make(telemetry.around(identity.services + [pool] + endpoint.services), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await telemetry.announce()
            printFlushed("endpoint \(name) listening on \(try await endpoint.server.listening())")
            _ = try await endpoint.registration.registered.wait()
            ServiceNotification.ready(status: "endpoint \(name) registered")
            endpoint.health.markReady()
            telemetry.markReady()
            try await tasks.waitForAll()
        }
    }

    /// `inode://<dev>/<ino>` of this process's network namespace.
    static func ownNamespaceURL() -> String {
        guard let namespace = try? NetworkNamespace(path: "/proc/self/ns/net") else { return NamespaceURL.currentThread.description }
        return namespace.identity.url
    }
}

extension Array where Element == Connectioncontext_DNSConfig {
    /// Decodes upstream's `NSM_DNS_CONFIGS` JSON (proto field names).
    static func from(jsonArray text: String) throws -> [Connectioncontext_DNSConfig] {
        guard let items = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
            throw NSMError.invalidArgument("expected a JSON array")
        }
        return try items.map { item in
            let data = try JSONSerialization.data(withJSONObject: item)
            return try Connectioncontext_DNSConfig(jsonUTF8Data: data)
        }
    }
}
