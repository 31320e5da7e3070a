extension Connection_Connection {
    /// The segment of the hop after this one, e.g. the forwarder seen from the manager.
    public var nextPathSegment: Connection_PathSegment? { path.nextSegment }

    /// The segment of the hop before this one.
    public var previousPathSegment: Connection_PathSegment? { path.previousSegment }

    /// Whether the hop after the one called `hop` is the path's last (the endpoint).
    public func nextHopIsEndpoint(after hop: String) -> Bool {
        guard let mine = path.pathSegments.lastIndex(where: { $0.name == hop }) else { return false }
        return mine + 2 == path.pathSegments.count
    }
}

extension Networkservice_NetworkServiceRequest {
    /// A request for `connection` offering `preferences`, best first.
    public init(connection: Connection_Connection, preferences: [Connection_Mechanism]) {
        self.init()
        self.connection = connection
        self.mechanismPreferences = preferences
    }

    /// The first preference whose class and type equal the given ones.
    public func preference(class cls: String, type: String) -> Connection_Mechanism? {
        mechanismPreferences.first { $0.cls == cls && $0.type == type }
    }
}
