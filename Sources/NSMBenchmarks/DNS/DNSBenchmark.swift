import ChildProcesses
import Foundation
import Glibc
public import Netlink

/// `nsm bench dns`: the pod's DNS proxy against dnsmasq on the same upstreams, in one run.
///
/// Inside a throwaway namespace: a "cluster DNS" (dnsmasq knowing web<i>.cluster.local, NXDOMAIN
/// for other *.nsm and cluster.local names) and a "service DNS" (dnsmasq knowing db<i>.svc.nsm,
/// NXDOMAIN for cluster.local and svc.nsm names). In front of them: our proxy (cluster DNS for
/// everything, the service DNS scoped to svc.nsm), dnsmasq `--all-servers` (asks both for
/// everything, takes the first reply), and dnsmasq with a per-domain server for svc.nsm.
public struct DNSBenchmark: Sendable {
    public struct Configuration: Sendable {
        /// Distinct names per zone (enough for every cold query to be new).
        public var names: Int
        /// Cold queries per peer and concurrency (each a name never asked before).
        public var coldQueries: Int
        /// Warm queries per peer and concurrency (over `warmNames` names, all cached).
        public var warmQueries: Int
        public var warmNames: Int
        /// dnsperf duration per peer, seconds.
        public var seconds: Int
        /// Latency is measured in this many rounds, the peers taking turns in each.
        public var rounds: Int
        public var executable: String

        public init(names: Int = 20_000, coldQueries: Int = 4_000, warmQueries: Int = 20_000, warmNames: Int = 100, seconds: Int = 10,
                    rounds: Int = 20, executable: String) {
            self.rounds = rounds
            self.names = names
            self.coldQueries = coldQueries
            self.warmQueries = warmQueries
            self.warmNames = warmNames
            self.seconds = seconds
            self.executable = executable
        }
    }

    public struct PeerReport: Sendable {
        public var name: String
        public var correctFraction: Double
        public var cold: [Int: Percentiles] = [:]
        /// Cold queries one at a time, counting only the correct answers (a first-reply
        /// forwarder's quick wrong NXDOMAINs left out).
        public var coldCorrect: Percentiles?
        public var warm: [Int: Percentiles] = [:]
        public var qps: Double?
        public var rssKilobytes: Int?
    }

    public let configuration: Configuration
    public init(_ configuration: Configuration) { self.configuration = configuration }

    static let peers: [(name: String, port: UInt16)] = [("swift-nsm proxy", 53), ("dnsmasq --all-servers", 5353), ("dnsmasq, per-domain server", 5354)]

    public func run(progress: @Sendable (String) -> Void) async throws -> [PeerReport] {
        let tag = "nsmbench-dns-\(getpid())"
        let directory = "/tmp/\(tag)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let namespace = try NetworkNamespace.create(named: tag)
        var processes: [ChildProcess] = []
        defer {
            for process in processes { process.signal(SIGTERM); _ = process.waitUntilExit() }
            try? NetworkNamespace.delete(named: tag)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let handle = try NetlinkHandle(namespace: namespace)
        try handle.setUp(index: 1)
        // 127.0.0.2 and .3 need no address: all of 127.0.0.0/8 is local on lo.

        let n = configuration.names
        try (0..<n).map { "10.1.\($0 / 250).\($0 % 250 + 1) web\($0).cluster.local" }.joined(separator: "\n")
            .write(toFile: "\(directory)/cluster.hosts", atomically: true, encoding: .utf8)
        try (0..<n).map { "172.16.\($0 / 250).\($0 % 250 + 1) db\($0).svc.nsm" }.joined(separator: "\n")
            .write(toFile: "\(directory)/service.hosts", atomically: true, encoding: .utf8)
        let dnsmasq = ChildProcess.find("dnsmasq") ?? "/usr/sbin/dnsmasq"
        let common = ["--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces", "--local-ttl=300", "--user=root"]
        let ip = ChildProcess.find("ip") ?? "/usr/sbin/ip"
        func start(_ arguments: [String]) throws -> ChildProcess {
            let process = try ChildProcess([ip, "netns", "exec", tag] + arguments, output: .file("\(directory)/peers.log"))
            processes.append(process)
            return process
        }
        _ = try start([dnsmasq] + common + ["--listen-address=127.0.0.2", "--addn-hosts=\(directory)/cluster.hosts", "--local=/cluster.local/", "--local=/nsm/", "--pid-file=\(directory)/c.pid"])
        _ = try start([dnsmasq] + common + ["--listen-address=127.0.0.3", "--addn-hosts=\(directory)/service.hosts", "--local=/svc.nsm/", "--local=/cluster.local/", "--pid-file=\(directory)/s.pid"])
        let ours = try start([configuration.executable, "dns", "proxy", "--listen", "127.0.0.1:53", "--cluster-dns", "127.0.0.2", "--upstream", "127.0.0.3=svc.nsm"])
        let allServers = try start([dnsmasq] + common + ["--listen-address=127.0.0.1", "--port=5353", "--all-servers", "--cache-size=10000",
                                                         "--server=127.0.0.2", "--server=127.0.0.3", "--pid-file=\(directory)/a.pid"])
        let perDomain = try start([dnsmasq] + common + ["--listen-address=127.0.0.1", "--port=5354", "--cache-size=10000",
                                                        "--server=127.0.0.2", "--server=/svc.nsm/127.0.0.3", "--pid-file=\(directory)/d.pid"])
        let pids = [ours.pid, allServers.pid, perDomain.pid]
        try await Task.sleep(for: .milliseconds(700))
        for process in processes where !process.isRunning {
            throw ChildProcess.Failure(command: process.command, status: process.waitUntilExit(),
                                     output: (try? String(contentsOfFile: "\(directory)/peers.log", encoding: .utf8)) ?? "")
        }

        // Names: each peer and run gets its own slice, so cold queries are never cached anywhere.
        // Even positions ask the cluster zone, odd ones the service zone.
        func query(_ position: Int, _ i: Int) -> DNSLoadGenerator.Query {
            position % 2 == 0
                ? .init(name: "web\(i).cluster.local", expected: "10.1.\(i / 250).\(i % 250 + 1)")
                : .init(name: "db\(i).svc.nsm", expected: "172.16.\(i / 250).\(i % 250 + 1)")
        }
        var nextName = 0
        func freshQueries(_ count: Int) -> [DNSLoadGenerator.Query] {
            defer { nextName += count / 2 }
            return (0..<count).map { query($0, (nextName + $0 / 2) % n) }
        }
        let warmSet = (0..<configuration.warmNames).map { query($0, n - 1 - $0 / 2) }
        var reports: [PeerReport] = []
        let loads = Self.peers.map { DNSLoadGenerator(namespace: namespace, port: $0.port) }
        for (index, peer) in Self.peers.enumerated() {
            progress("\(peer.name): correctness over \(configuration.coldQueries) new names")
            let check = await loads[index].run(freshQueries(configuration.coldQueries), concurrency: 1)
            reports.append(PeerReport(name: peer.name, correctFraction: Double(check.correct) / Double(max(1, configuration.coldQueries))))
            _ = await loads[index].run(warmSet, concurrency: 1)
        }
        // Latency in rounds, the peers taking turns within each round: drift of the machine
        // (other load, CPU frequency) then lands on every peer alike.
        let rounds = max(1, configuration.rounds)
        var cold: [[Int: [Double]]] = Array(repeating: [:], count: Self.peers.count), warm = cold
        var coldCorrect: [[Double]] = Array(repeating: [], count: Self.peers.count)
        for round in 0..<rounds {
            progress("latency round \(round + 1) of \(rounds)")
            for concurrency in [1, 50] {
                // Who goes first rotates too: on a small machine where a peer sits in the round
                // changes how often the scheduler keeps client and server on one CPU.
                for turn in Self.peers.indices {
                    let index = (turn + round) % Self.peers.count
                    let coldRun = await loads[index].run(freshQueries(configuration.coldQueries / rounds), concurrency: concurrency)
                    cold[index][concurrency, default: []] += coldRun.latencies
                    if concurrency == 1 { coldCorrect[index] += coldRun.correctLatencies }
                    let queries = (0..<(configuration.warmQueries / rounds)).map { warmSet[$0 % warmSet.count] }
                    warm[index][concurrency, default: []] += await loads[index].run(queries, concurrency: concurrency).latencies
                }
            }
        }
        for (index, peer) in Self.peers.enumerated() {
            var report = reports[index]
            report.coldCorrect = Percentiles(coldCorrect[index])
            for concurrency in [1, 50] {
                report.cold[concurrency] = Percentiles(cold[index][concurrency] ?? [])
                report.warm[concurrency] = Percentiles(warm[index][concurrency] ?? [])
            }
            if let dnsperf = ChildProcess.find("dnsperf") {
                progress("\(peer.name): dnsperf for \(configuration.seconds) s")
                let data = warmSet.map { "\($0.name) A" }.joined(separator: "\n") + "\n"
                try data.write(toFile: "\(directory)/queries.txt", atomically: true, encoding: .utf8)
                let log = "\(directory)/dnsperf-\(peer.port).log"
                let run = try ChildProcess([ip, "netns", "exec", tag, dnsperf, "-s", "127.0.0.1", "-p", "\(peer.port)", "-d", "\(directory)/queries.txt",
                                            "-l", "\(configuration.seconds)", "-c", "20", "-q", "200"], output: .file(log))
                _ = await run.exitStatus()
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                report.qps = output.split(separator: "\n").first { $0.contains("Queries per second:") }
                    .flatMap { Double($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }
            }
            report.rssKilobytes = Self.rss(pids[index])
            reports[index] = report
        }
        return reports
    }

    static func rss(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
}
