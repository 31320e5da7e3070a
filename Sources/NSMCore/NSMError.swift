public import GRPCCore
import NSMAPI

/// An error of the NSM request path: a wire-visible status code and a message that names
/// what was wrong and what is accepted. Crosses gRPC as an `RPCError` with the same code.
public struct NSMError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: RPCError.Code
    public var message: String

    public init(_ code: RPCError.Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func invalidArgument(_ message: String) -> NSMError { NSMError(.invalidArgument, message) }
    public static func notFound(_ message: String) -> NSMError { NSMError(.notFound, message) }
    public static func unavailable(_ message: String) -> NSMError { NSMError(.unavailable, message) }
    public static func failedPrecondition(_ message: String) -> NSMError { NSMError(.failedPrecondition, message) }
    public static func resourceExhausted(_ message: String) -> NSMError { NSMError(.resourceExhausted, message) }
    public static func alreadyExists(_ message: String) -> NSMError { NSMError(.alreadyExists, message) }
    public static func permissionDenied(_ message: String) -> NSMError { NSMError(.permissionDenied, message) }

    /// Whether this error says that what was asked for is already held by someone else.
    public var isAlreadyExists: Bool { code == .alreadyExists }
    public static func internalError(_ message: String) -> NSMError { NSMError(.internalError, message) }

    public var description: String { "\(code): \(message)" }

    /// The error as it crosses the wire.
    public var rpcError: RPCError { RPCError(code: code, message: message) }
}

extension Error {
    /// This error as an `RPCError` for the wire: NSM errors keep their code, RPC errors pass
    /// through, anything else becomes `internal` with its description.
    public var asRPCError: RPCError {
        // An error received from the next hop carries that call's trailing metadata
        // (grpc-status, grpc-message, …); passing it on would duplicate those trailers and
        // break the stream, so only the code and message travel on.
        if let error = self as? RPCError { return RPCError(code: error.code, message: error.message) }
        if let error = self as? NSMError { return error.rpcError }
        if let error = self as? NSMAPIError { return RPCError(code: .invalidArgument, message: error.description) }
        return RPCError(code: .internalError, message: String(describing: self))
    }
}

extension RPCError.Code {
    /// Whether a hop that got this answer should try another candidate (the next hop could
    /// not do it) rather than pass it back (the request itself is wrong or cannot be served).
    public var isWorthRetryingElsewhere: Bool {
        switch self {
        case .invalidArgument, .notFound, .failedPrecondition, .outOfRange, .alreadyExists, .permissionDenied, .unauthenticated:
            false
        default:
            true
        }
    }
}

extension Error {
    /// Whether another candidate (endpoint, forwarder) might succeed where this failed.
    public var isWorthRetryingElsewhere: Bool { asRPCError.code.isWorthRetryingElsewhere }
}
