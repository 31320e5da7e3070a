import Readiness
import ArgumentParser
import Logging
import NSMDNS
import ServiceLifecycle
import UnixSignals

/// `nsm dns serve`: a small authoritative zone.
struct DNSServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a small authoritative DNS zone (A/AAAA records) on UDP and TCP.",
        discussion: """
            Names outside the zone are REFUSED; unknown names get NXDOMAIN with the zone's SOA. A record NAME=self answers \
            with the address the query was sent to (an endpoint reachable at a different address per connection).
            Example: nsm dns serve --listen 10.96.0.10:53 --zone cluster.local --record registry.nsm-system.svc=192.168.240.254
            """
    )

    @Option(help: "Address to listen on, UDP and TCP (repeatable).") var listen: [String] = ["0.0.0.0:53"]
    @Option(help: "The zone's origin, e.g. cluster.local.") var zone: String
    @Option(help: "NAME=IP or NAME=self, NAME relative to the zone (repeatable).") var record: [String] = []
    @Option(help: "TTL of the answers, seconds.") var ttl: UInt32 = 30

    func run() async throws {
        let listen = try self.listen.map { text in
            do { return try DNSListenAddress(parsing: text) } catch { throw ValidationError("--listen: \(error)") }
        }
        let origin: DNSName
        do { origin = try DNSName(zone) } catch { throw ValidationError("--zone: \(error)") }
        var dnsZone = DNSZone(origin: origin, ttl: ttl)
        for item in record {
            do { try dnsZone.add(parsing: item) } catch { throw ValidationError("--record: \(error)") }
        }
        let logger = Logger(label: "nsm.dns.zone")
        let server = DNSZoneServer(zone: dnsZone, listen: listen, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let addresses = try await server.listeningAddresses().map(\.description).joined(separator: ", ")
            printFlushed("dns zone \(origin) on \(addresses)")
            ServiceNotification.ready(status: "dns zone \(origin) on \(addresses)")
            try await tasks.waitForAll()
        }
    }
}
