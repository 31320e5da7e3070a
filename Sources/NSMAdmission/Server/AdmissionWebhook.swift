import Foundation
public import Kubernetes
public import Logging
public import Readiness
public import ServiceLifecycle
import Synchronization

/// `nsm webhook` as a Service: its certificate (files, read again when they change; a rotating
/// source such as the SPIFFE Workload API, taken again when it rotates; or issued at start), the namespace cache, the HTTPS server, and — when it registers itself — its
/// webhook configurations, created once it serves and removed when it stops.
public final class AdmissionWebhook: Service, Sendable {
    public enum Certificates: Sendable {
        case files(CertificateFiles)
        case selfIssued(dnsNames: [String], ipAddresses: [String])
        case rotating(RotatingCertificate)
    }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var certificates: Certificates
        /// Create or update the webhook configurations with the CA bundle (and remove them on stop).
        public var register: Bool
        public var configurations: WebhookConfigurations
        public var injection: InjectionSettings
        /// How often the certificate files (or the rotating source) are checked for a change.
        public var fileCheckInterval: Duration = .seconds(1)

        public init(host: String, port: Int, certificates: Certificates, register: Bool, configurations: WebhookConfigurations, injection: InjectionSettings) {
            self.host = host
            self.port = port
            self.certificates = certificates
            self.register = register
            self.configurations = configurations
            self.injection = injection
        }
    }

    public let configuration: Configuration
    public let certificate: ServingCertificate
    let namespaces: InformerNamespaceLookup
    let registrar: WebhookRegistrar
    let server: WebhookServer
    let logger: Logger
    private let isReady = Flag()
    /// The port, once the server listens and (when registering) the configurations are in place.
    public let ready = ReadySignal<Int>()

    public init(_ configuration: Configuration, client: KubernetesClient, logger: Logger) throws(WebhookCertificateError) {
        self.configuration = configuration
        self.logger = logger
        switch configuration.certificates {
        case .files(let files): certificate = try ServingCertificate(try files.read())
        case .selfIssued(let names, let addresses): certificate = try ServingCertificate(try SelfIssuedCertificate.make(dnsNames: names, ipAddresses: addresses))
        case .rotating(let source):
            do { certificate = try ServingCertificate(try source.current()) } catch let error as WebhookCertificateError { throw error } catch {
                throw WebhookCertificateError("\(source.origin): \(error)")
            }
        }
        namespaces = InformerNamespaceLookup(client: client)
        registrar = WebhookRegistrar(client: client, configurations: configuration.configurations, logger: logger)
        let isReady = self.isReady
        server = WebhookServer(
            host: configuration.host, port: configuration.port, certificate: certificate,
            mutator: Mutator(settings: configuration.injection, namespaces: namespaces),
            validator: AnnotationValidator(annotation: configuration.injection.annotation), isReady: { isReady.value }, logger: logger)
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { [server] in try await server.run() }
            tasks.addTask { [namespaces] in try await cancelWhenGracefulShutdown { try await namespaces.informer.run() } }
            switch configuration.certificates {
            case .files(let files):
                tasks.addTask { try await cancelWhenGracefulShutdown { try await self.follow(files.certificate, fingerprint: files.fingerprint, read: files.read) } }
            case .rotating(let source):
                tasks.addTask { try await cancelWhenGracefulShutdown { try await self.follow(source.origin, fingerprint: source.generation, read: source.current) } }
            case .selfIssued:
                break
            }
            let port = try await server.listening.wait()
            try await namespaces.informer.synced.wait()
            if configuration.register { try await registrar.register(caBundle: certificate.material.authorityPEM) }
            isReady.value = true
            ready.resolve(port)
            logger.info("webhook serving", metadata: ["port": "\(port)", "registered": "\(configuration.register)"])
            try? await gracefulShutdown()
            isReady.value = false
            if configuration.register { await registrar.unregister() }
            try await tasks.waitForAll()
        }
    }

    /// Serves the new certificate from the next handshake after `fingerprint` moves, and
    /// re-registers when the CA bundle changed. One that cannot be used (files half rewritten, a
    /// certificate without the API server's name) is logged once, and the last good one served
    /// until the next change.
    func follow<Fingerprint: Equatable>(
        _ origin: String, fingerprint: @Sendable () -> Fingerprint, read: @Sendable () throws -> ServingCertificate.Material
    ) async throws {
        var seen = fingerprint()
        while true {
            try await Task.sleep(for: configuration.fileCheckInterval)
            let now = fingerprint()
            guard now != seen else { continue }
            seen = now
            do {
                let material = try read()
                let bundleChanged = material.authorityPEM != certificate.material.authorityPEM
                try certificate.replace(with: material)
                logger.info("serving certificate reloaded", metadata: ["from": "\(origin)"])
                if bundleChanged, configuration.register { try await registrar.register(caBundle: material.authorityPEM) }
            } catch {
                logger.warning("the serving certificate changed but cannot be used yet; serving the last good one", metadata: ["from": "\(origin)", "error": "\(error)"])
            }
        }
    }
}

/// A boolean shared between the webhook and its server's `/ready` handler.
private final class Flag: Sendable {
    private let state = Mutex(false)
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
