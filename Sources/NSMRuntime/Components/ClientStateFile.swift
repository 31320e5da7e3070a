import Foundation
public import NSMAPI
import SwiftProtobuf

/// Where a pod's client leaves its connections (`NSM_CLIENT_STATE_FILE`, in a volume the init
/// container and the sidecar share): the next process of the same client adopts them — the
/// sidecar takes over the init container's connections, a restarted sidecar its own — instead of
/// requesting new ones that would collide with the interfaces already plumbed.
public struct ClientStateFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The connections by service index (from their ids, `<name>-<index>`); empty when the file
    /// is missing or unreadable (a first start).
    public func read() -> [Int: Connection_Connection] {
        guard let data = FileManager.default.contents(atPath: path),
              let lines = String(data: data, encoding: .utf8)?.split(separator: "\n")
        else { return [:] }
        var connections: [Int: Connection_Connection] = [:]
        for line in lines {
            guard let connection = try? Connection_Connection(jsonString: String(line)),
                  let index = connection.id.split(separator: "-").last.flatMap({ Int($0) })
            else { continue }
            connections[index] = connection
        }
        return connections
    }

    /// Replaces the file with `connections`, one JSON object per line (written beside it and
    /// renamed: a reader never sees half of it).
    public func write(_ connections: [Connection_Connection]) throws {
        let text = try connections.map { try $0.jsonString() }.joined(separator: "\n") + "\n"
        let temporary = path + ".tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    /// Removes the file (the connections were closed).
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
