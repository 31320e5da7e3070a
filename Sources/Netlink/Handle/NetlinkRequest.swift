import NetlinkWire

/// A request message paired with the `ip` command it is equivalent to (for errors and logs).
///
/// Builders live beside each object family (`NetlinkRequest+Link.swift`, …) and are pure, so
/// their bytes are testable without a socket; ``NetlinkHandle/execute(_:)`` sends one and
/// ``NetlinkHandle/execute(batch:)`` sends several in one `sendmsg`.
public struct NetlinkRequest: Sendable, Hashable {
    public var message: NetlinkMessage
    public var operation: String

    public init(_ message: NetlinkMessage, operation: String) {
        self.message = message
        self.operation = operation
    }
}

extension NetlinkHandle {
    /// Sends one request and waits for its acknowledgement.
    @discardableResult
    public func execute(_ request: NetlinkRequest) throws(NetlinkError) -> [NetlinkMessage] {
        try execute(request.message, operation: request.operation)
    }

    /// Sends all requests in one `sendmsg`, waits for every acknowledgement, and throws the
    /// first failure (after all were answered, so the socket stays in step).
    public func execute(batch requests: [NetlinkRequest]) throws(NetlinkError) {
        guard !requests.isEmpty else { return }
        for result in try executeBatch(requests.map { ($0.message, $0.operation) }) {
            _ = try result.get()
        }
    }
}
