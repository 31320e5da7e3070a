import Foundation
import NSMBenchmarks
import TextTables

extension HealBenchmark {
    /// One row per size and fault, then what was left after closing (nothing, one hopes).
    public static func render(_ results: [Result], markdown: Bool) -> String {
        var rows = [["pods", "fault", "cut", "back p50", "p90", "max", "not back", "lost p50", "lost max", "reselected"]]
        for result in results {
            for outcome in result.outcomes {
                rows.append([
                    String(result.count), outcome.fault.rawValue, String(outcome.pods), ms(outcome.back.p50), ms(outcome.back.p90),
                    ms(outcome.back.max), String(outcome.notBack), count(outcome.lost.p50), count(outcome.lost.max), String(outcome.reselected),
                ])
            }
        }
        var text = TextTable.render(rows, markdown: markdown)
        for result in results {
            let shown = result.leftovers.prefix(20).map { "  \($0)" }.joined(separator: "\n")
            let more = result.leftovers.count > 20 ? "\n  … and \(result.leftovers.count - 20) more" : ""
            text += "\nN=\(result.count): left after closing every connection and stopping the cluster: "
                + (result.leftovers.isEmpty ? "nothing" : "\(result.leftovers.count)\n\(shown)\(more)")
        }
        return text
    }

    static func count(_ value: Double) -> String { value.isNaN ? "-" : String(Int(value)) }

    /// The results as JSON (for scripts and tests): per size, each fault's numbers in
    /// milliseconds and probes, and the leftovers.
    public static func json(_ results: [Result]) throws -> String {
        func number(_ value: Double) -> Any { value.isNaN ? NSNull() : value }
        let objects: [[String: Any]] = results.map { result in
            [
                "pods": result.count,
                "faults": result.outcomes.map { outcome -> [String: Any] in
                    [
                        "fault": outcome.fault.rawValue, "cut": outcome.pods, "notBack": outcome.notBack, "reselected": outcome.reselected,
                        "backP50Ms": number(outcome.back.p50), "backP90Ms": number(outcome.back.p90), "backMaxMs": number(outcome.back.max),
                        "lostP50": number(outcome.lost.p50), "lostMax": number(outcome.lost.max),
                    ]
                },
                "leftovers": result.leftovers,
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
