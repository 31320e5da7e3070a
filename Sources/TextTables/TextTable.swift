/// Renders rows (the first is the header) as a left-aligned table with two spaces between
/// columns and no trailing blanks, or as a Markdown table. Every table the `nsm` command prints —
/// listings and benchmark reports — goes through here.
public enum TextTable {
    public static func render(_ rows: [[String]], markdown: Bool = false) -> String {
        guard let header = rows.first else { return "" }
        if markdown {
            var lines = rows.map { "| " + $0.joined(separator: " | ") + " |" }
            lines.insert("|" + String(repeating: " --- |", count: header.count), at: 1)
            return lines.joined(separator: "\n")
        }
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
