public import GRPCCore

extension Error {
    /// The error as a person reads it: an RPC error as `code: message`, without the type's noise.
    public var readable: String {
        if let rpc = self as? RPCError { return "\(rpc.code): \(rpc.message)" }
        return "\(self)"
    }
}
