extension Connection_Path {
    /// The segment of the hop looking at the path (`path_segments[index]`), if present.
    public var currentSegment: Connection_PathSegment? { segment(at: Int(index)) }

    /// The segment of the previous hop (`index - 1`), if present.
    public var previousSegment: Connection_PathSegment? { index == 0 ? nil : segment(at: Int(index) - 1) }

    /// The segment of the next hop (`index + 1`), if present.
    public var nextSegment: Connection_PathSegment? { segment(at: Int(index) + 1) }

    /// The segment at `position`, or `nil` when out of range.
    public func segment(at position: Int) -> Connection_PathSegment? {
        pathSegments.indices.contains(position) ? pathSegments[position] : nil
    }

    /// Whether `selector` (a contiguous run of segments, empty fields as wildcards)
    /// matches somewhere in this path.
    public func contains(run selector: [Connection_PathSegment]) -> Bool {
        guard !selector.isEmpty else { return true }
        guard selector.count <= pathSegments.count else { return false }
        for start in 0...(pathSegments.count - selector.count) {
            let window = pathSegments[start..<(start + selector.count)]
            if zip(window, selector).allSatisfy({ $0.matches(selector: $1) }) { return true }
        }
        return false
    }
}

extension Connection_PathSegment {
    /// A segment with a name and id.
    public init(name: String, id: String) {
        self.init()
        self.name = name
        self.id = id
    }

    /// Whether every non-empty `name`, `id` and `token` of `selector` equals this segment's.
    public func matches(selector: Connection_PathSegment) -> Bool {
        (selector.name.isEmpty || selector.name == name)
            && (selector.id.isEmpty || selector.id == id)
            && (selector.token.isEmpty || selector.token == token)
    }
}

extension Connection_MonitorScopeSelector {
    /// Whether `connection` is in scope: the service is listed (when services are given)
    /// and the path contains the selector's segments as a contiguous run.
    public func matches(_ connection: Connection_Connection) -> Bool {
        if !networkServices.isEmpty, !networkServices.contains(connection.networkService) { return false }
        return connection.path.contains(run: pathSegments)
    }
}
