import Foundation
import IPAddressing
import NSMElements
import Testing

@Suite("ExcludedPrefixesFile")
struct ExcludedPrefixesFileTests {
    @Test("parses the collector's formats", arguments: [
        ("Prefixes:\n- 10.96.0.0/12\n- 10.244.0.0/16\n", ["10.96.0.0/12", "10.244.0.0/16"]),
        ("prefixes:\n  - \"10.96.0.0/12\"  # services\n", ["10.96.0.0/12"]),
        ("Prefixes: [10.96.0.0/12, '10.244.0.0/16', 10.1.2.3]\n", ["10.96.0.0/12", "10.244.0.0/16", "10.1.2.3/32"]),
        ("Other: x\nPrefixes:\n- fd00::/64\n", ["fd00::/64"]),
        ("", []),
        ("# nothing yet\n", []),
        ("Prefixes:\n", []),
        ("Prefixes:\n    -   10.96.0.0/12\n    - >-\n      10.244.0.0/16\n", ["10.96.0.0/12", "10.244.0.0/16"]),
        ("{\"Prefixes\": [\"10.96.0.0/12\"]}", ["10.96.0.0/12"]),
        ("a: &nets [10.0.0.0/8]\nPrefixes: *nets\n", ["10.0.0.0/8"]),
    ])
    func parse(_ text: String, _ expected: [String]) throws {
        #expect(try ExcludedPrefixesFile.parse(text).map(\.description) == expected)
    }

    @Test("rejects malformed files, keeping the last good list", arguments: [
        "Prefixes:\n- not-a-prefix\n", "Prefixes: [10.0.0.0/8\n", "Prefixes: 10.0.0.0/8\n", "- 10.0.0.0/8\n", "Prefixes:\n- [10.0.0.0/8]\n",
    ])
    func malformed(_ text: String) throws {
        let error = #expect(throws: ExcludedPrefixesFile.ParseError.self) { try ExcludedPrefixesFile.parse(text) }
        #expect(error?.description.isEmpty == false)
        let path = NSTemporaryDirectory() + "excl-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "Prefixes:\n- 10.0.0.0/8\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = ExcludedPrefixesFile(path: path)
        #expect(file.prefixes.map(\.description) == ["10.0.0.0/8"])
        try (text + "# changed\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(file.prefixes.map(\.description) == ["10.0.0.0/8"])
        #expect(file.lastError?.contains(path) == true)
    }
}

extension ExcludedPrefixesFileTests {
    @Test("errors say where and what is accepted")
    func messages() {
        #expect(throws: ExcludedPrefixesFile.ParseError(description: "line 3: \"not-a-prefix\" is not a CIDR prefix such as 10.96.0.0/12")) {
            try ExcludedPrefixesFile.parse("Prefixes:\n- 10.0.0.0/8\n- not-a-prefix\n")
        }
        #expect(throws: ExcludedPrefixesFile.ParseError(description: "line 1: Prefixes: expected a list of CIDR prefixes (\"- 10.96.0.0/12\"), got \"10.0.0.0/8\"")) {
            try ExcludedPrefixesFile.parse("Prefixes: 10.0.0.0/8\n")
        }
    }
}
