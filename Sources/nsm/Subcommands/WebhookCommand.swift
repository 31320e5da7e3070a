import ArgumentParser
import Foundation
import Kubernetes
import Logging
import NSMAdmission
import NSMCore
import Readiness
import ServiceLifecycle

/// `nsm webhook`: the admission webhook that injects the client into annotated pods and refuses
/// malformed annotations (upstream's cmd-admission-webhook-k8s, plus validation).
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "Serve the admission webhook: inject nsm client into annotated pods, refuse malformed annotations.",
        discussion: """
            HTTPS on --listen: POST /mutate and POST /validate (admission.k8s.io/v1 AdmissionReview), GET /healthz, GET /ready.
            Certificates: NSM_WEBHOOK_MODE=secret reads NSM_CERT_FILE_PATH and NSM_KEY_FILE_PATH (again whenever they change) and, \
            with NSM_CA_BUNDLE_FILE_PATH, registers the webhook configurations with that bundle; NSM_WEBHOOK_MODE=selfregister \
            issues a CA and a certificate for the Service's names at start, creates or updates the MutatingWebhookConfiguration \
            and ValidatingWebhookConfiguration named NSM_NAME with that bundle, and removes them on exit; NSM_WEBHOOK_MODE=spire \
            serves the webhook's X.509-SVID (SPIFFE_ENDPOINT_SOCKET, as from a SPIRE agent, or NSM_SPIFFE_SVID_DIR files), \
            which must carry the DNS name the API server calls (the Service's <name>.<namespace>.svc, or the host of \
            NSM_WEBHOOK_URL), registers the configurations with the trust bundle, and follows both as they rotate.
            Injection (upstream's names): NSM_ANNOTATION, NSM_CONTAINER_IMAGES, NSM_INIT_CONTAINER_IMAGES, NSM_ENVS (K=V,...), \
            NSM_LABELS (k:v,...), NSM_NSURL_ENV_NAME, NSM_SIDECAR_LIMITS_CPU, NSM_SIDECAR_LIMITS_MEMORY, NSM_SIDECAR_REQUESTS_CPU, \
            NSM_SIDECAR_REQUESTS_MEMORY, NSM_SOCKET_DIRECTORY.
            Needs get/list/watch on namespaces and, when registering, create/get/update/delete on mutating- and \
            validatingwebhookconfigurations.
            \(ComponentTelemetry.help)
            """
    )

    @Option(help: "Where to serve HTTPS: [tcp://]host:port, or :port for every IPv4 address (NSM_LISTEN_ON).")
    var listen: String = Environment.string("NSM_LISTEN_ON") ?? ":443"
    @Option(help: "secret (certificate files), selfregister or spire (a SPIFFE SVID) (NSM_WEBHOOK_MODE); default secret when --cert-file is given, else selfregister.")
    var mode: String? = Environment.string("NSM_WEBHOOK_MODE")
    @Option(help: "Serving certificate, PEM (NSM_CERT_FILE_PATH).")
    var certFile: String? = Environment.string("NSM_CERT_FILE_PATH")
    @Option(help: "Serving key, PEM (NSM_KEY_FILE_PATH).")
    var keyFile: String? = Environment.string("NSM_KEY_FILE_PATH")
    @Option(help: "CA bundle for the webhook configurations, PEM (NSM_CA_BUNDLE_FILE_PATH).")
    var caBundleFile: String? = Environment.string("NSM_CA_BUNDLE_FILE_PATH")
    @Option(help: "Name of the webhook configurations (NSM_NAME).")
    var name: String = Environment.string("NSM_NAME") ?? "nsm-admission-webhook"
    @Option(help: "The webhook's namespace (NSM_NAMESPACE); default: the service account's or kubeconfig's.")
    var namespace: String? = Environment.string("NSM_NAMESPACE")
    @Option(help: "The Service in front of the webhook (NSM_SERVICE_NAME).")
    var serviceName: String = Environment.string("NSM_SERVICE_NAME") ?? "nsm-admission-webhook"
    @Option(help: "Call the webhook at this base URL instead of through the Service (NSM_WEBHOOK_URL), e.g. https://10.0.0.5:8443.")
    var webhookURL: String? = Environment.string("NSM_WEBHOOK_URL")
    @Option(help: "Ignore or Fail: what the API server does with pods when the webhook cannot be reached (NSM_FAILURE_POLICY).")
    var failurePolicy: String = Environment.string("NSM_FAILURE_POLICY") ?? "Ignore"
    @Option(help: "A kubeconfig (KUBECONFIG style list); in a pod the service account is used without it.")
    var kubeconfig: String?
    @Option(help: "Calls per second to the API server (NSM_KUBELET_QPS).")
    var kubeletQPS: Double = Double(Environment.string("NSM_KUBELET_QPS") ?? "") ?? 50

    func run() async throws {
        guard case .tcp(let host, let port)? = try? NSMURL(listen) else {
            throw ValidationError("--listen/NSM_LISTEN_ON \"\(listen)\": expected [tcp://]host:port or :port, e.g. :443")
        }
        guard ["Ignore", "Fail"].contains(failurePolicy) else {
            throw ValidationError("--failure-policy/NSM_FAILURE_POLICY \"\(failurePolicy)\": expected Ignore or Fail")
        }
        let injection: InjectionSettings
        do { injection = try InjectionSettings(environment: ProcessInfo.processInfo.environment) } catch { throw ValidationError("\(error)") }
        let connection: KubernetesConnection
        do { connection = try KubernetesConnection.find(kubeconfig: kubeconfig) } catch { throw ValidationError("\(error)") }
        var configurations = WebhookConfigurations()
        configurations.name = name
        configurations.namespace = namespace ?? connection.namespace
        configurations.serviceName = serviceName
        configurations.url = webhookURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        configurations.failurePolicy = failurePolicy
        let logger = ComponentLogging.logger("nsm.webhook")
        let telemetry = try ComponentTelemetry(logger: logger, name: name)
        let certificates: AdmissionWebhook.Certificates
        let register: Bool
        var identity: ProcessIdentity?
        switch mode ?? (certFile == nil ? "selfregister" : "secret") {
        case "secret":
            guard let certFile, let keyFile else {
                throw ValidationError("NSM_WEBHOOK_MODE=secret needs --cert-file/NSM_CERT_FILE_PATH and --key-file/NSM_KEY_FILE_PATH")
            }
            certificates = .files(CertificateFiles(certificate: certFile, key: keyFile, authority: caBundleFile))
            register = caBundleFile != nil
        case "selfregister":
            var names = SelfIssuedCertificate.serviceNames(serviceName, namespace: configurations.namespace)
            var addresses: [String] = []
            if let host = configurations.url.flatMap({ URLComponents(string: $0)?.host }) {
                let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                if bare.contains(":") || bare.allSatisfy({ $0.isNumber || $0 == "." }) { addresses.append(bare) } else { names.append(bare) }
            }
            certificates = .selfIssued(dnsNames: names, ipAddresses: addresses)
            register = true
        case "spire":
            let spiffe = try ProcessIdentity.fromEnvironment(logger: logger)
            guard let source = spiffe.source else {
                throw ValidationError("NSM_WEBHOOK_MODE=spire serves the webhook's SVID: set \(ProcessIdentity.socketVariable) or \(ProcessIdentity.directoryVariable), not \(ProcessIdentity.insecureVariable)")
            }
            identity = spiffe
            let called = configurations.url.flatMap { URLComponents(string: $0)?.host }.map { [$0.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))] }
                ?? ["\(serviceName).\(configurations.namespace).svc"]
            certificates = .rotating(SVIDServingCertificate.make(source, calledAs: called))
            register = true
        case let other:
            throw ValidationError("NSM_WEBHOOK_MODE \"\(other)\": expected secret, selfregister or spire")
        }
        try await identity?.ready()
        let client = try KubernetesClient(connection: connection, queriesPerSecond: kubeletQPS, burst: Int(kubeletQPS * 2))
        // The client must be shut down however this ends (an unusable certificate included).
        do {
            try await serve(client: client, host: host, port: port, certificates: certificates, register: register,
                            configurations: configurations, injection: injection, identity: identity, logger: logger, connection: connection,
                            telemetry: telemetry)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func serve(
        client: KubernetesClient, host: String, port: Int, certificates: AdmissionWebhook.Certificates, register: Bool,
        configurations: WebhookConfigurations, injection: InjectionSettings, identity: ProcessIdentity?, logger: Logger, connection: KubernetesConnection,
        telemetry: ComponentTelemetry
    ) async throws {
        let webhook: AdmissionWebhook
        do {
            webhook = try AdmissionWebhook(.init(host: host, port: port, certificates: certificates, register: register,
                                                 configurations: configurations, injection: injection), client: client, logger: logger)
        } catch { throw ValidationError("\(error)") }
        printFlushed("webhook: API server \(connection.server) (\(connection.source)); namespace \(configurations.namespace); "
                     + (register ? "registers \(name)" : "configurations from the manifests"))
        let group = ComponentServiceGroup.make(telemetry.around((identity?.services ?? []) + [webhook]), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await telemetry.announce()
            let bound = try await webhook.ready.wait()
            printFlushed("webhook listening on \(host):\(bound)")
            ServiceNotification.ready(status: "PORT \(bound)")
            telemetry.markReady()
            try await tasks.waitForAll()
        }
    }
}
