import Foundation
import TextTables

extension ChurnBenchmark {
    public static func render(_ result: Result) -> String {
        var lines = [
            String(format: "%d pods connected and closed in %.1f s (%.1f per second); %d requests tried again", result.pods, result.seconds,
                   Double(result.pods) / result.seconds, result.retries),
            "kills: " + (result.kills.isEmpty ? "none" : result.kills.joined(separator: "; ")),
            "invariants broken: " + (result.violations.isEmpty ? "none" : "\(result.violations.count)\n  " + result.violations.prefix(20).joined(separator: "\n  ")),
        ]
        var rows = [["process", "RSS after warm-up", "RSS at the end", "change", "descriptors after warm-up", "at the end"]]
        for usage in result.usage {
            let change = usage.before.rssKilobytes == 0 ? "-" : String(format: "%+.1f %%", Double(usage.after.rssKilobytes - usage.before.rssKilobytes) * 100 / Double(usage.before.rssKilobytes))
            rows.append([
                usage.name, "\(usage.before.rssKilobytes / 1024) MB", "\(usage.after.rssKilobytes / 1024) MB", change,
                String(usage.before.descriptors), String(usage.after.descriptors),
            ])
        }
        lines.append(TextTable.render(rows))
        lines.append("left once every pod had closed: " + (result.leftovers.isEmpty ? "nothing" : "\(result.leftovers.count)\n  " + result.leftovers.prefix(20).joined(separator: "\n  ")))
        lines.append("left a minute later, and after the cluster stopped: "
            + (result.leftoversLater.isEmpty ? "nothing" : "\(result.leftoversLater.count)\n  " + result.leftoversLater.prefix(20).joined(separator: "\n  ")))
        return lines.joined(separator: "\n")
    }
}
