import CAllocator
import Foundation
import Metrics
import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
public import Readiness
public import ServiceLifecycle

/// The webhook's HTTPS server (Hummingbird over TLS): `POST /mutate` and `POST /validate` take an
/// AdmissionReview and answer one; `GET /healthz` answers while the process serves, `GET /ready`
/// once `isReady` says so (certificate loaded, configurations registered, namespaces listed).
public struct WebhookServer: Service {
    public let host: String
    public let port: Int
    public let certificate: ServingCertificate
    public let mutator: Mutator
    public let validator: AnnotationValidator
    public let isReady: @Sendable () -> Bool
    public let logger: Logger
    /// The port it listens on, once it does.
    public let listening = ReadySignal<Int>()

    /// Requests larger than this are refused (the API server sends one object).
    static let maximumBody = 8 << 20

    public init(
        host: String, port: Int, certificate: ServingCertificate, mutator: Mutator, validator: AnnotationValidator,
        isReady: @escaping @Sendable () -> Bool, logger: Logger
    ) {
        self.host = host
        self.port = port
        self.certificate = certificate
        self.mutator = mutator
        self.validator = validator
        self.isReady = isReady
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("ready") { [isReady] _, _ in isReady() ? Self.text(.ok, "ready\n") : Self.text(.serviceUnavailable, "not ready\n") }
        router.post("mutate") { [mutator, logger] request, _ in
            try await Self.admit(request, logger: logger, what: "mutate") { try mutator.review($0) }
        }
        router.post("validate") { [validator, logger] request, _ in
            try await Self.admit(request, logger: logger, what: "validate") { validator.review($0) }
        }
        for path in ["mutate", "validate"] {
            for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
                router.on(RouterPath(path), method: method) { _, _ in
                    var response = Self.text(.methodNotAllowed, "/\(path) takes POST with an AdmissionReview\n")
                    response.headers[.allow] = "POST"
                    return response
                }
            }
        }
        let listening = self.listening
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: certificate.tlsConfiguration()),
            configuration: .init(address: .hostname(host, port: port), serverName: "nsm-webhook"),
            onServerRunning: { channel in listening.resolve(channel.localAddress?.port ?? 0) }, logger: logger)
        try await app.run()
    }

    static func admit(
        _ request: Request, logger: Logger, what: String, review: (AdmissionReview.Request) throws -> AdmissionReview.Response
    ) async throws -> Response {
        var request = request
        // The API server sends application/json; a type that says the body is something else is refused.
        if let type = request.headers[.contentType], !Self.isJSON(type) {
            return text(.unsupportedMediaType, "the body must be an AdmissionReview as application/json, not \(capped(type, 100))\n")
        }
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: maximumBody) } catch {
            defer { returnFreedMemory() }
            return text(.contentTooLarge, "an AdmissionReview is at most \(maximumBody) bytes\n")
        }
        // A large body (real reviews are a few KiB) leaves its buffers and decoded objects freed but
        // kept by the allocator's per-thread arenas; give them back once answered.
        defer { if body.readableBytes > largeBody { returnFreedMemory() } }
        let incoming: AdmissionReview
        do { incoming = try JSONDecoder().decode(AdmissionReview.self, from: Data(body.readableBytesView)) } catch {
            return text(.badRequest, "the body is not an admission.k8s.io/v1 AdmissionReview: \(capped("\(error)", 1024))\n")
        }
        guard let admission = incoming.request else { return text(.badRequest, "the AdmissionReview has no request\n") }
        let started = ContinuousClock.now
        let response = try review(admission)
        Self.record(what, admission: admission, response: response, since: started)
        logger.debug("admission reviewed", metadata: [
            "webhook": "\(what)", "kind": "\(admission.kind.kind)", "namespace": "\(admission.namespace ?? "")",
            "name": "\(admission.name ?? "")", "operation": "\(admission.operation)", "allowed": "\(response.allowed)",
            "patched": "\(response.patch != nil)",
        ])
        if !response.allowed { logger.info("admission denied", metadata: ["kind": "\(admission.kind.kind)", "message": "\(response.status?.message ?? "")"]) }
        var outgoing = AdmissionReview(response: response)
        outgoing.apiVersion = incoming.apiVersion
        let data = try JSONEncoder().encode(outgoing)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `nsm_admission_reviews_total{webhook, kind, result}` (result `patched`, `allowed` or
    /// `denied`; kinds other than the ones the webhook handles count as `other`) and
    /// `nsm_admission_review_duration_seconds{webhook}`.
    static func record(_ webhook: String, admission: AdmissionReview.Request, response: AdmissionReview.Response, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let kind = PodTemplateLocation(admission.kind) == nil ? "other" : admission.kind.kind
        let result = !response.allowed ? "denied" : response.patch == nil ? "allowed" : "patched"
        Counter(label: "nsm_admission_reviews_total", dimensions: [("webhook", webhook), ("kind", kind), ("result", result)]).increment()
        Timer(label: "nsm_admission_review_duration_seconds", dimensions: [("webhook", webhook)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// Bodies above this many bytes are followed by ``returnFreedMemory()``.
    static let largeBody = 256 << 10

    /// Returns the allocator's free pages to the system (glibc's `malloc_trim`: a few milliseconds).
    static func returnFreedMemory() {
        _ = malloc_trim(0)
    }

    /// At most `limit` characters of what a caller sent, for messages that quote it.
    static func capped(_ text: String, _ limit: Int) -> String {
        text.count > limit ? "\(text.prefix(limit))… (\(text.utf8.count) bytes)" : text
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json"
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
