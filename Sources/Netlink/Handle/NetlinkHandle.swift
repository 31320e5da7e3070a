import Glibc
import NetlinkWire
import Synchronization

/// A netlink connection to one network namespace, safe to share between tasks.
///
/// The socket is created inside the namespace (on a dedicated OS thread) and used from
/// anywhere afterwards: it keeps its namespace for life. Requests are serialised by a lock;
/// each is a few microseconds of kernel work, so callers simply call the synchronous methods.
///
///     let node = try NetlinkHandle()                 // the calling thread's namespace
///     let pod = try NetlinkHandle(namespace: podNS)  // another namespace
public final class NetlinkHandle: Sendable {
    private struct State: ~Copyable {
        var socket: NetlinkSocket
        var sequence: UInt32
    }

    private let state: Mutex<State>
    /// The namespace this handle operates in, `nil` for the creating thread's own.
    public let namespace: NetworkNamespace?

    /// A handle in the calling thread's network namespace.
    public convenience init() throws(NetlinkError) {
        try self.init(socket: NetlinkSocket(), namespace: nil)
    }

    /// A handle whose socket lives in `namespace`.
    public convenience init(namespace: NetworkNamespace) throws(NetlinkError) {
        try self.init(namespace: namespace, alsoInside: {})
    }

    /// A handle whose socket lives in `namespace`, after `work` ran there on the same trip into
    /// it (e.g. a sysctl: one thread hop instead of two).
    public convenience init(namespace: NetworkNamespace, alsoInside work: () throws(NetlinkError) -> Void) throws(NetlinkError) {
        let socket = try namespace.perform { () throws(NetlinkError) -> NetlinkSocket in
            try work()
            return try NetlinkSocket()
        }
        try self.init(socket: socket, namespace: namespace)
    }

    /// The same as ``init(namespace:alsoInside:)``, suspending the caller instead of blocking
    /// its thread while the socket is made inside the namespace.
    public static func opening(
        namespace: NetworkNamespace, alsoInside work: @escaping @Sendable () throws(NetlinkError) -> Void = {}
    ) async throws(NetlinkError) -> NetlinkHandle {
        try await opening(namespace: namespace, running: work).handle
    }

    /// ``opening(namespace:alsoInside:)`` returning what the work inside returned as well.
    public static func opening<T: Sendable>(
        namespace: NetworkNamespace, running work: @escaping @Sendable () throws(NetlinkError) -> T
    ) async throws(NetlinkError) -> (handle: NetlinkHandle, result: T) {
        let (socket, result) = try await namespace.performSuspending { () throws(NetlinkError) -> (NetlinkSocket, T) in
            let result = try work()
            return (try NetlinkSocket(), result)
        }
        return (try NetlinkHandle(socket: socket, namespace: namespace), result)
    }

    private init(socket: NetlinkSocket, namespace: NetworkNamespace?) throws(NetlinkError) {
        self.state = Mutex(State(socket: socket, sequence: UInt32(truncatingIfNeeded: time(nil))))
        self.namespace = namespace
    }

    // MARK: Execution

    /// Sends `message` with `NLM_F_REQUEST | NLM_F_ACK` and waits for the acknowledgement.
    /// Returns any messages the kernel sent before it (e.g. with `NLM_F_ECHO`).
    @discardableResult
    public func execute(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        let results = try executeBatch([(message, operation)])
        return try results[0].get()
    }

    /// Sends `requests` in one `sendmsg` and collects one acknowledgement per request.
    ///
    /// The kernel handles each request independently; every result is returned, in order.
    public func executeBatch(
        _ requests: [(message: NetlinkMessage, operation: String)]
    ) throws(NetlinkError) -> [Result<[NetlinkMessage], NetlinkError>] {
        let started = ContinuousClock.now
        let results: [Result<[NetlinkMessage], NetlinkError>]
        do {
            results = try sendBatch(requests)
        } catch {
            for request in requests { NetlinkMetrics.record(request.message.type, error: error, since: started) }
            throw error
        }
        for (request, result) in zip(requests, results) {
            switch result {
            case .success: NetlinkMetrics.record(request.message.type, error: nil, since: started)
            case .failure(let error): NetlinkMetrics.record(request.message.type, error: error, since: started)
            }
        }
        return results
    }

    private func sendBatch(
        _ requests: [(message: NetlinkMessage, operation: String)]
    ) throws(NetlinkError) -> [Result<[NetlinkMessage], NetlinkError>] {
        try state.withLock { state throws(NetlinkError) -> [Result<[NetlinkMessage], NetlinkError>] in
            var writer = ByteWriter(capacity: 256 * requests.count)
            var sequences: [UInt32] = []
            for request in requests {
                state.sequence &+= 1
                var message = request.message
                message.flags.formUnion([.request, .ack])
                message.sequence = state.sequence
                message.portID = state.socket.portID
                message.encode(into: &writer)
                sequences.append(state.sequence)
            }
            let first = sequences.first ?? 0
            let operation = requests.first?.operation ?? "netlink"
            try state.socket.send(writer.bytes, operation: operation)
            var results = [Result<[NetlinkMessage], NetlinkError>?](repeating: nil, count: requests.count)
            var replies = [[NetlinkMessage]](repeating: [], count: requests.count)
            var pending = requests.count
            while pending > 0 {
                for message in try state.socket.receive(operation: operation) {
                    let slot = Int(message.sequence &- first)
                    guard slot >= 0, slot < requests.count, results[slot] == nil else { continue }  // stale
                    if message.type == .error {
                        let decoded: NetlinkErrorMessage
                        do throws(NetlinkWireError) { decoded = try NetlinkErrorMessage(decoding: message) } catch {
                            results[slot] = .failure(NetlinkError(code: .malformedReply, errno: 0, operation: requests[slot].operation, message: error.description))
                            pending -= 1
                            continue
                        }
                        if decoded.isAcknowledgement {
                            results[slot] = .success(replies[slot])
                        } else {
                            results[slot] = .failure(NetlinkError(errno: -decoded.error, operation: requests[slot].operation, message: decoded.message))
                        }
                        pending -= 1
                    } else {
                        replies[slot].append(message)
                    }
                }
            }
            return results.map { $0! }
        }
    }

    /// Sends a dump request (`NLM_F_DUMP`) and collects every reply until `NLMSG_DONE`.
    /// A dump interrupted by a concurrent change (`NLM_F_DUMP_INTR`) is retried.
    public func dump(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        let started = ContinuousClock.now
        do {
            let messages = try dumpRetrying(message, operation: operation)
            NetlinkMetrics.record(message.type, error: nil, since: started)
            return messages
        } catch {
            NetlinkMetrics.record(message.type, error: error, since: started)
            throw error
        }
    }

    private func dumpRetrying(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> [NetlinkMessage] {
        for _ in 0..<8 {
            let (messages, interrupted) = try dumpOnce(message, operation: operation)
            if !interrupted { return messages }
        }
        throw NetlinkError(code: .busy, errno: EBUSY, operation: operation, message: "dump kept being interrupted by concurrent changes")
    }

    private func dumpOnce(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> ([NetlinkMessage], Bool) {
        try state.withLock { state throws(NetlinkError) -> ([NetlinkMessage], Bool) in
            state.sequence &+= 1
            var request = message
            request.flags.formUnion([.request, .dump])
            request.sequence = state.sequence
            request.portID = state.socket.portID
            try state.socket.send(request.encoded, operation: operation)
            var collected: [NetlinkMessage] = []
            var interrupted = false
            while true {
                for reply in try state.socket.receive(operation: operation) where reply.sequence == request.sequence {
                    if reply.flags.contains(.dumpInterrupted) { interrupted = true }
                    switch reply.type {
                    case .done:
                        return (collected, interrupted)
                    case .error:
                        let decoded = try? NetlinkErrorMessage(decoding: reply)
                        if let decoded, decoded.isAcknowledgement { return (collected, interrupted) }
                        throw NetlinkError(errno: -(decoded?.error ?? -EIO), operation: operation, message: decoded?.message)
                    default:
                        collected.append(reply)
                    }
                }
            }
        }
    }
}
