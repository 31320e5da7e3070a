import TextTables
/// Renders attach benchmark results as a table with ratios against our netlink method.
public struct AttachReport: Sendable {
    public var results: [AttachBenchmark.Result]

    public init(results: [AttachBenchmark.Result]) { self.results = results }

    public func render(markdown: Bool) -> String {
        var rows: [[String]] = [["N", "method", "attach p50", "attach p90", "attach total", "teardown", "teardown/pod", "p50 vs netlink"]]
        for result in results {
            let baseline = results.first { $0.count == result.count && $0.method == .netlink }
            let ratio = baseline.map { String(format1(result.attach.p50 / $0.attach.p50)) + "×" } ?? "-"
            rows.append([
                String(result.count), result.method.rawValue, ms(result.attach.p50), ms(result.attach.p90), ms(result.attach.total),
                ms(result.teardownMilliseconds), ms(result.teardownMilliseconds / Double(result.count)), ratio,
            ])
        }
        var text = TextTable.render(rows, markdown: markdown)
        let netlink = results.filter { $0.method == .netlink }.sorted { $0.count < $1.count }
        if let small = netlink.first, let large = netlink.last, large.count > small.count {
            text += "\n\nnetlink per-attach mean at N=\(large.count) vs N=\(small.count): "
                + "\(format1(large.attach.mean / small.attach.mean))× (\(ms(large.attach.mean)) vs \(ms(small.attach.mean)))"
        }
        return text
    }

    func ms(_ value: Double) -> String {
        value >= 100 ? "\(Int(value.rounded())) ms" : "\(format2(value)) ms"
    }

    func format1(_ value: Double) -> String { String(Double(Int((value * 10).rounded())) / 10) }

    func format2(_ value: Double) -> String {
        let scaled = Int((value * 100).rounded())
        let fraction = scaled % 100
        return "\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
