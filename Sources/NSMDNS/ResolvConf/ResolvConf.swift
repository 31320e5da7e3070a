/// The parts of resolv.conf(5) the proxy reads and writes: name servers, search list, options.
/// Other lines (sortlist, domain, comments) are kept as they were.
public struct ResolvConf: Equatable, Sendable {
    public var nameservers: [String] = []
    public var search: [String] = []
    public var options: [String] = []
    public var otherLines: [String] = []

    public init(nameservers: [String] = [], search: [String] = [], options: [String] = []) {
        self.nameservers = nameservers
        self.search = search
        self.options = options
    }

    public init(parsing text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else {
                if !line.isEmpty { otherLines.append(String(line)) }
                continue
            }
            switch keyword {
            case "nameserver": nameservers += words.dropFirst().prefix(1)
            // The last search or domain line wins (resolv.conf(5)).
            case "search", "domain": search = Array(words.dropFirst())
            case "options": options += words.dropFirst()
            default: otherLines.append(String(line))
            }
        }
    }

    public var rendered: String {
        var lines = nameservers.map { "nameserver \($0)" }
        if !search.isEmpty { lines.append("search " + search.joined(separator: " ")) }
        if !options.isEmpty { lines.append("options " + options.joined(separator: " ")) }
        lines += otherLines.filter { !$0.hasPrefix("#") }
        return lines.joined(separator: "\n") + "\n"
    }
}
