import Hummingbird
public import Logging
import NIOCore
public import Readiness
public import ServiceLifecycle

/// The component's HTTP side beside its gRPC servers: `GET /metrics` (Prometheus text format
/// 0.0.4 from ``MeshMetrics``), `GET /healthz` (200 while the process serves) and `GET /ready`
/// (200 once `isReady` says so, 503 before and while shutting down). Plain HTTP, as upstream's
/// metrics server without certificate files; a connection idle for the header timeout is closed.
public struct TelemetryServer: Service {
    public let settings: TelemetrySettings
    public let isReady: @Sendable () -> Bool
    public let logger: Logger
    /// The port it listens on, once it does.
    public let listening = ReadySignal<Int>()

    public init(settings: TelemetrySettings, isReady: @escaping @Sendable () -> Bool, logger: Logger) {
        self.settings = settings
        self.isReady = isReady
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: MeshMetrics.exposition())))
        }
        router.get("healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("ready") { [isReady] _, _ in
            isReady() && !Task.isShuttingDownGracefully ? Self.text(.ok, "ready\n") : Self.text(.serviceUnavailable, "not ready\n")
        }
        let listening = self.listening
        let idle = TimeAmount.nanoseconds(Int64(settings.headerTimeout.components.seconds) * 1_000_000_000
            + settings.headerTimeout.components.attoseconds / 1_000_000_000)
        let app = Application(
            router: router, server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "nsm-telemetry"),
            onServerRunning: { channel in listening.resolve(channel.localAddress?.port ?? 0) }, logger: logger)
        try await app.run()
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
