import GRPCCore
import Instrumentation
import LeanGRPC
import NSMCore
import ServiceContextModule

/// The trace a call belongs to, carried in its metadata as the process's instrument writes it
/// (with OpenTelemetry: the W3C `traceparent` and `tracestate` headers), so one Request is one
/// trace across client, manager, forwarder and endpoint.
enum TraceContextMetadata {
    /// Adds the current trace context to a call's metadata, when tracing is on.
    static func inject(into metadata: inout CallMetadata) {
        guard ChainTracing.isOn, let context = ServiceContext.current else { return }
        InstrumentationSystem.instrument.inject(context, into: &metadata, using: CallMetadataInjector())
    }

    /// The caller's trace context from a call's metadata (`nil` when tracing is off).
    static func extract(from metadata: Metadata) -> ServiceContext? {
        guard ChainTracing.isOn else { return nil }
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(metadata, into: &context, using: MetadataExtractor())
        return context
    }

    struct CallMetadataInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout CallMetadata) {
            carrier.append((key.lowercased(), value))
        }
    }

    struct MetadataExtractor: Extractor {
        func extract(key: String, from carrier: Metadata) -> String? {
            carrier[stringValues: key.lowercased()].first { _ in true }
        }
    }
}
