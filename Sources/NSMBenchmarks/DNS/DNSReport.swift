import Foundation
/// The DNS benchmark's table.
public enum DNSReport {
    public static func rows(_ reports: [DNSBenchmark.PeerReport]) -> [[String]] {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.3f ms", $0) } ?? "–" }
        var rows = [["peer", "correct first-positive", "cold p50 / p99 (c=1)", "cold p50, correct answers only (c=1)", "cold p50 / p99 (c=50)", "cached p50 / p99 (c=1)",
                     "cached p50 / p99 (c=50)", "dnsperf qps (cached)", "RSS"]]
        for report in reports {
            rows.append([
                report.name, String(format: "%.1f %%", report.correctFraction * 100),
                "\(ms(report.cold[1]?.p50)) / \(ms(report.cold[1]?.p99))", ms(report.coldCorrect?.p50), "\(ms(report.cold[50]?.p50)) / \(ms(report.cold[50]?.p99))",
                "\(ms(report.warm[1]?.p50)) / \(ms(report.warm[1]?.p99))", "\(ms(report.warm[50]?.p50)) / \(ms(report.warm[50]?.p99))",
                report.qps.map { String(format: "%.0f", $0) } ?? "–",
                report.rssKilobytes.map { "\($0 / 1024) MB" } ?? "–",
            ])
        }
        return rows
    }
}
