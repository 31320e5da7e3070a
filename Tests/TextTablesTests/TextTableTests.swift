import Testing
import TextTables

@Suite("TextTable")
struct TextTableTests {
    @Test("columns are aligned to their widest cell, two spaces apart, with no trailing blanks")
    func plain() {
        let text = TextTable.render([["NAME", "URL"], ["nse-1", "unix:///a"], ["endpoint-long", "b"]])
        #expect(text == "NAME           URL\nnse-1          unix:///a\nendpoint-long  b")
        #expect(!text.split(separator: "\n").contains { $0.hasSuffix(" ") })
    }

    @Test("Markdown has the header rule after the first row")
    func markdown() {
        #expect(TextTable.render([["a", "b"], ["1", "2"]], markdown: true) == "| a | b |\n| --- | --- |\n| 1 | 2 |")
    }

    @Test("no rows, no table")
    func empty() { #expect(TextTable.render([]).isEmpty) }
}
