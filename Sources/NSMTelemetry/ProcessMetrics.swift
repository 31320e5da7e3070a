import Foundation
import Prometheus

/// The process's own gauges, read from `/proc/self` at each scrape, under the names Prometheus'
/// client libraries use: resident memory, open file descriptors, threads, start time.
final class ProcessMetrics: Sendable {
    static let shared = ProcessMetrics(registry: MeshMetrics.registry)

    private let resident: Gauge
    private let descriptors: Gauge
    private let threads: Gauge

    init(registry: PrometheusCollectorRegistry) {
        resident = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        descriptors = registry.makeGauge(name: "process_open_fds", help: "Number of open file descriptors.")
        threads = registry.makeGauge(name: "process_threads", help: "Number of OS threads in the process.")
        let start = registry.makeGauge(name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch in seconds.")
        start.set(Date().timeIntervalSince1970 - ProcessInfo.processInfo.systemUptime + Self.startedAfterBoot())
    }

    func refresh() {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let value = Double(fields[1]) else { continue }
            switch fields[0] {
            case "VmRSS:": resident.set(value * 1024)
            case "Threads:": threads.set(value)
            default: break
            }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        descriptors.set(Double(max(0, open - 1)))  // less the one listing the directory
    }

    /// Seconds from boot to this process's start (field 22 of /proc/self/stat, in clock ticks).
    private static func startedAfterBoot() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, so start time (22) is index 19.
        guard fields.count > 19, let ticks = Double(fields[19]) else { return 0 }
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
