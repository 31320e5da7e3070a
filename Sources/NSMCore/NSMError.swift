public import GRPCCore

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
    public static func internalError(_ message: String) -> NSMError { NSMError(.internalError, message) }

    public var description: String { "\(code): \(message)" }

    /// The error as it crosses the wire.
    public var rpcError: RPCError { RPCError(code: code, message: message) }
}

extension Error {
    /// This error as an `RPCError` for the wire: NSM errors keep their code, RPC errors pass
    /// through, anything else becomes `internal` with its description.
    public var asRPCError: RPCError {
        if let error = self as? RPCError { return error }
        if let error = self as? NSMError { return error.rpcError }
        return RPCError(code: .internalError, message: String(describing: self))
    }
}
