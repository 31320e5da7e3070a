import GRPCCore

/// A stream the connection accepted, handed to the transport's `listen` loop.
struct AcceptedStream: Sendable {
    var descriptor: MethodDescriptor
    var inbound: AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>
    var writer: ServerStreamWriter
    var remotePeer: String
    var localPeer: String
    var caller: ServerCaller
    var cancellation: CancellationSlot
}
