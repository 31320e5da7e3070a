import CoreMetrics
import GRPCCore
import Metrics
public import NSMAPI
public import NSMCore
import Synchronization

/// Counts each Request and Close at this hop by service and gRPC status code, times Requests, and
/// keeps a gauge of the connections the hop holds by service and mechanism — through swift-metrics,
/// so the process's backend (Prometheus when switched on, nothing otherwise) decides where they go.
/// Connection ids are never label values; service names are, bounded by ``maximumServices`` (later
/// ones count as `other`). Placed after validation, before anything that can fail a call.
///
/// - `nsm_requests_total{hop, service, code}` and `nsm_closes_total{hop, service, code}`
/// - `nsm_request_duration_seconds{hop}` (histogram)
/// - `nsm_connections{hop, service, mechanism}` (gauge)
public struct MetricsElement: NetworkServiceElement {
    public let hop: String
    private let state: MetricsState

    /// Distinct service label values per hop; a caller naming ever new services cannot grow the series.
    public static let maximumServices = 256

    public init(hop: String) {
        self.hop = hop
        self.state = MetricsState(hop: hop)
    }

    public func request(
        _ request: Networkservice_NetworkServiceRequest, context: ChainContext, next: NetworkServiceNext
    ) async throws -> Connection_Connection {
        let started = ContinuousClock.now
        let service = state.label(for: request.connection.networkService)
        do {
            let connection = try await next.request(request, context: context)
            state.requested(service: service, code: "OK", elapsed: ContinuousClock.now - started)
            state.hold(connection.id, service: service, mechanism: connection.mechanism.type.isEmpty ? "none" : connection.mechanism.type)
            return connection
        } catch {
            state.requested(service: service, code: MetricsState.codeName(error.asRPCError.code), elapsed: ContinuousClock.now - started)
            throw error
        }
    }

    public func close(_ connection: Connection_Connection, context: ChainContext, next: NetworkServiceNext) async throws {
        let service = state.label(for: connection.networkService)
        defer { state.release(connection.id) }
        do {
            try await next.close(connection, context: context)
            state.closed(service: service, code: "OK")
        } catch {
            state.closed(service: service, code: MetricsState.codeName(error.asRPCError.code))
            throw error
        }
    }

    /// Connections this hop holds, by (service, mechanism).
    public var held: [String: Int] { state.held }
}

/// The element's handles and the connections it counts (shared by the copies of the element).
final class MetricsState: Sendable {
    let hop: String
    private let duration: Timer
    struct Key: Hashable {
        var service: String
        var mechanism: String
    }
    private struct Held {
        var byID: [String: Key] = [:]
        var counts: [Key: Int] = [:]
        var services: Set<String> = []
    }
    private let state = Mutex(Held())

    init(hop: String) {
        self.hop = hop
        duration = Timer(label: "nsm_request_duration_seconds", dimensions: [("hop", hop)], preferredDisplayUnit: .seconds)
    }

    /// The service's label value: itself for the first ``MetricsElement/maximumServices`` seen, else `other`.
    func label(for service: String) -> String {
        state.withLock { held in
            if held.services.contains(service) { return service }
            guard held.services.count < MetricsElement.maximumServices else { return "other" }
            held.services.insert(service)
            return service
        }
    }

    func requested(service: String, code: String, elapsed: Duration) {
        Counter(label: "nsm_requests_total", dimensions: [("hop", hop), ("service", service), ("code", code)]).increment()
        duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    func closed(service: String, code: String) {
        Counter(label: "nsm_closes_total", dimensions: [("hop", hop), ("service", service), ("code", code)]).increment()
    }

    /// Counts connection `id` under (service, mechanism), moving it if it was counted elsewhere.
    func hold(_ id: String, service: String, mechanism: String) {
        let key = Key(service: service, mechanism: mechanism)
        let changed = state.withLock { held -> [(Key, Int)] in
            let previous = held.byID.updateValue(key, forKey: id)
            guard previous != key else { return [] }
            held.counts[key, default: 0] += 1
            var changed = [(key, held.counts[key]!)]
            if let previous {
                held.counts[previous, default: 1] -= 1
                changed.append((previous, held.counts[previous]!))
            }
            return changed
        }
        for (key, count) in changed { gauge(key).record(count) }
    }

    func release(_ id: String) {
        let changed = state.withLock { held -> (Key, Int)? in
            guard let previous = held.byID.removeValue(forKey: id) else { return nil }
            held.counts[previous, default: 1] -= 1
            return (previous, held.counts[previous]!)
        }
        if let (key, count) = changed { gauge(key).record(count) }
    }

    var held: [String: Int] {
        state.withLock { held in
            held.counts.filter { $0.value > 0 }.reduce(into: [:]) { $0["\($1.key.service)/\($1.key.mechanism)"] = $1.value }
        }
    }

    private func gauge(_ key: Key) -> Gauge {
        Gauge(label: "nsm_connections", dimensions: [("hop", hop), ("service", key.service), ("mechanism", key.mechanism)])
    }

    /// gRPC's canonical code names, as grpc-go's interceptors label them.
    static func codeName(_ code: RPCError.Code) -> String {
        switch code {
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internalError: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        default: "UNKNOWN"
        }
    }
}
