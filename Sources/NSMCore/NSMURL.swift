/// Where an NSM component listens or is reached: `unix:///abs/path` or `tcp://host:port`.
public enum NSMURL: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)

    /// Parses `unix:///path`, `tcp://host:port`, `tcp://[v6]:port`, or `host:port` (as TCP, the
    /// form upstream uses for `NSM_REGISTRY_URL`).
    public init(_ text: String) throws(NSMError) {
        let accepted = "unix:///absolute/path, tcp://host:port or host:port"
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/"), path.count > 1 else {
                throw .invalidArgument("URL \"\(text)\": a unix URL needs an absolute path; accepted: \(accepted)")
            }
            self = .unix(path: path)
            return
        }
        var rest = Substring(text)
        if rest.hasPrefix("tcp://") { rest = rest.dropFirst("tcp://".count) }
        guard !rest.contains("://") else { throw .invalidArgument("URL \"\(text)\": unknown scheme; accepted: \(accepted)") }
        let host: Substring, portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw .invalidArgument("URL \"\(text)\": bracketed IPv6 host needs ]:port; accepted: \(accepted)")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                throw .invalidArgument("URL \"\(text)\": no port; accepted: \(accepted)")
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw .invalidArgument("URL \"\(text)\": port \"\(portText)\" is not 0-65535; accepted: \(accepted)")
        }
        self = .tcp(host: host.isEmpty ? "0.0.0.0" : String(host), port: port)
    }

    public var description: String {
        switch self {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        }
    }

    /// Whether the URL is a local (same node) socket.
    public var isLocal: Bool {
        if case .unix = self { return true }
        return false
    }
}
