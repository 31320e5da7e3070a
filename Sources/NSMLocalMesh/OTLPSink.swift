import GRPCCore
import Synchronization

/// An OpenTelemetry collector that keeps nothing: it answers OTLP/gRPC trace exports
/// (`opentelemetry.proto.collector.trace.v1.TraceService/Export`) with an empty response and
/// counts what came. `nsm bench mesh` points traced components at one, so its tracing comparison
/// prices making and exporting spans, not a collector.
public final class OTLPSink: RegistrableRPCService, Sendable {
    public static let method = MethodDescriptor(fullyQualifiedService: "opentelemetry.proto.collector.trace.v1.TraceService", method: "Export")
    private let totals = Mutex((exports: 0, bytes: 0))

    public init() {}

    /// Exports taken and their bytes so far.
    public var received: (exports: Int, bytes: Int) { totals.withLock { $0 } }

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.method, deserializer: ByteCount(), serializer: Nothing()) { request, _ in
            var bytes = 0
            for try await count in request.messages { bytes += count }
            self.totals.withLock { $0.exports += 1; $0.bytes += bytes }
            return StreamingServerResponse(single: ServerResponse(message: ()))
        }
    }

    /// A message's size, all that is kept of it.
    struct ByteCount: MessageDeserializer {
        func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Int {
            serializedMessageBytes.withUnsafeBytes { $0.count }
        }
    }

    /// The empty `ExportTraceServiceResponse`: no bytes.
    struct Nothing: MessageSerializer {
        func serialize<Bytes: GRPCContiguousBytes>(_ message: Void) throws -> Bytes { Bytes(repeating: 0, count: 0) }
    }
}
