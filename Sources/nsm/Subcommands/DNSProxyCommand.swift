import Readiness
import ArgumentParser
import IPAddressing
import Logging
import NSMDNS
import ServiceLifecycle
import UnixSignals

/// `nsm dns proxy`: the pod's DNS proxy, outside a pod.
struct DNSProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the fan-out DNS proxy: every query goes in parallel to the cluster DNS and to each upstream serving the name; the first positive answer wins.",
        discussion: """
            An upstream with domains (IP[:PORT]=domain,domain…) is asked only for names under those domains; cluster DNS \
            servers and upstreams without domains are asked for everything. When every upstream answers negatively the \
            best negative answer (NODATA before NXDOMAIN, with its SOA) is returned; SERVFAIL only when none answered in \
            time. `dig @ADDR -p PORT CH TXT metrics.nsm.` returns the counters.
            Example: nsm dns proxy --listen 127.0.0.1:5353 --cluster-dns 10.96.0.10 --upstream 172.16.1.2=my.svc
            \(ComponentTelemetry.help)
            """
    )

    @Option(help: "Address to listen on, UDP and TCP (repeatable).") var listen: [String] = ["127.0.0.1:53"]
    @Option(help: "Cluster DNS server IP[:PORT], asked for every name (repeatable).") var clusterDNS: [String] = []
    @Option(help: "Upstream IP[:PORT][=domain,domain…] (repeatable).") var upstream: [String] = []
    @Option(help: "Time budget per query, e.g. 5s, 800ms.") var timeout: String = "5s"
    @Option(help: "Close a client's TCP connection after this long without a query.") var tcpIdleTimeout: String = "10s"
    @Option(help: "Once a query has a negative answer, wait this long for the other upstreams' (a positive within it still wins).")
    var negativeWait: String = "1s"
    @Option(help: "Rewrite this resolv.conf to point at the proxy while it runs (its nameservers become cluster DNS), and restore it on exit.")
    var resolvConf: String?

    func run() async throws {
        let listen = try self.listen.map { text in
            do { return try DNSListenAddress(parsing: text) } catch { throw ValidationError("--listen: \(error)") }
        }
        var upstreams = try clusterDNS.map { text in
            do { return try DNSUpstream(parsing: text) } catch { throw ValidationError("--cluster-dns: \(error)") }
        }
        guard upstreams.allSatisfy({ !$0.isScoped }) else { throw ValidationError("--cluster-dns takes IP[:PORT] without domains; use --upstream for scoped servers") }
        upstreams += try upstream.map { text in
            do { return try DNSUpstream(parsing: text) } catch { throw ValidationError("--upstream: \(error)") }
        }
        let budget = try GoDuration.parse(timeout)
        let logger = ComponentLogging.logger("nsm.dns")
        let telemetry = try ComponentTelemetry(logger: logger, name: "nsm-dns-proxy")
        var resolv: PodResolvConf?
        if let resolvConf {
            let file = try PodResolvConf(path: resolvConf)
            upstreams += file.original.nameservers.compactMap { try? DNSUpstream(parsing: $0) }
                .filter { server in !listen.contains { $0.host == server.address.description && $0.port == Int(server.port) } }
            resolv = file
        }
        guard !upstreams.isEmpty else { throw ValidationError("no upstreams: give --cluster-dns, --upstream or --resolv-conf with nameservers") }
        let proxy = DNSProxy(.init(listen: listen, upstreams: upstreams, timeout: budget, tcpIdleTimeout: try GoDuration.parse(tcpIdleTimeout),
                                   negativeWait: try GoDuration.parse(negativeWait)), logger: logger)
        if telemetry.server != nil { DNSMetricsExposition.register(proxy) }
        let services: [any Service] = telemetry.around([proxy])
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await telemetry.announce()
            let addresses = try await proxy.listeningAddresses()
            if let resolv {
                try resolv.install(nameserver: addresses[0].host, extraSearch: upstreams.flatMap(\.domains).map { String($0.description.dropLast()) })
            }
            printFlushed("dns proxy listening on \(addresses.map(\.description).joined(separator: ", ")); upstreams \(upstreams.map(\.description).joined(separator: ", "))")
            ServiceNotification.ready(status: "dns proxy listening on \(addresses.map(\.description).joined(separator: ", "))")
            telemetry.markReady()
            try await tasks.waitForAll()
        }
        try resolv?.restore()
        printFlushed(proxy.metrics.lines.joined(separator: "\n"))
    }
}
