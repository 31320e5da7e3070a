/// Renders benchmark rows (first row = header) as an aligned text table or as Markdown.
public enum ReportTable {
    public static func render(_ rows: [[String]], markdown: Bool) -> String {
        guard let header = rows.first else { return "" }
        if markdown {
            var lines = rows.map { "| " + $0.joined(separator: " | ") + " |" }
            lines.insert("|" + String(repeating: " --- |", count: header.count), at: 1)
            return lines.joined(separator: "\n")
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in cell + String(repeating: " ", count: widths[index] - cell.count) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
