import Foundation
import Glibc

/// What a persistent local cluster (`nsm cluster up`) records in `<directory>/cluster.json`, so
/// that later invocations can add, list and stop its parts: the node count, every process it
/// started (name → pid) and, per endpoint, how it was started.
public struct ClusterRecord: Codable, Sendable {
    public struct EndpointInfo: Codable, Sendable, Equatable {
        public var node: Int
        public var services: [String]
        public var labels: [String: String]
        public var cidr: String
        public init(node: Int, services: [String], labels: [String: String], cidr: String) {
            self.node = node
            self.services = services
            self.labels = labels
            self.cidr = cidr
        }
    }

    public var nodes: Int
    public var pids: [String: Int]
    public var endpoints: [String: EndpointInfo]?

    public init(nodes: Int, pids: [String: Int], endpoints: [String: EndpointInfo] = [:]) {
        self.nodes = nodes
        self.pids = pids
        self.endpoints = endpoints
    }

    /// The record of the cluster kept in `directory`, or nil when it is not up.
    public static func load(directory: String) -> ClusterRecord? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/cluster.json") else { return nil }
        return try? JSONDecoder().decode(ClusterRecord.self, from: data)
    }

    /// Whether process `name` is recorded and still alive.
    public func isRunning(_ name: String) -> Bool {
        guard let pid = pids[name] else { return false }
        return kill(Int32(pid), 0) == 0
    }

    /// Changes the record under an exclusive `flock` on `<directory>/cluster.lock`: invocations may
    /// run side by side (`nsm cluster endpoint … &` twice) and no one's change may be lost (a lost
    /// entry would be a process `cluster down` leaves behind). `change` may throw to refuse: then
    /// nothing is written.
    @discardableResult
    public static func update<T>(directory: String, _ change: (inout ClusterRecord) throws -> T) throws -> T {
        let lock = open("\(directory)/cluster.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw LocalMeshError("cannot open \(directory)/cluster.lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw LocalMeshError("cannot lock \(directory)/cluster.lock: \(String(cString: strerror(errno)))") }
        defer { flock(lock, LOCK_UN) }
        guard var record = load(directory: directory) else { throw LocalMeshError("\(directory)/cluster.json is missing or unreadable: is the cluster up?") }
        let result = try change(&record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: "\(directory)/cluster.json"), options: .atomic)
        return result
    }
}
