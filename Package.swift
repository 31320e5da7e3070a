// swift-tools-version:6.1
//
// swift-nsm: Network Service Mesh for Kubernetes, in Swift.
// Module map and dependency rules: docs/architecture.md.

import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-nsm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nsm", targets: ["nsm"]),
        .library(name: "NSMAPI", targets: ["NSMAPI"]),
        .library(name: "NSMAnnotation", targets: ["NSMAnnotation"]),
        .library(name: "IPAddressing", targets: ["IPAddressing"]),
        .library(name: "Netlink", targets: ["Netlink"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // The admission webhook's HTTPS server; no default traits (swift-configuration is not needed).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: []),
        // The webhook's self-issued CA and serving certificate (already in the graph through gRPC's transport).
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // NIOCertificateReloading: the SVID at each handshake of grpc-swift's client transports (already in the graph through it).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.27.0"),
        // Metrics: the swift-metrics API in the libraries (already in the graph through Hummingbird),
        // rendered for Prometheus by swift-prometheus (issue 19).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Tracing: the swift-distributed-tracing API in the libraries (already in the graph through
        // Hummingbird), exported over OTLP/gRPC by swift-otel (issue 19; gRPC is already built).
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", exact: "1.6.0", traits: ["OTLPGRPC"]),
    ],
    targets: [
        // One-shot readiness signals, and systemd's readiness protocol (NOTIFY_SOCKET) both ways.
        .target(name: "Readiness", swiftSettings: strictSettings),

        // Child processes: spawned with a clean signal state, reaped without polling, run to completion.
        .target(name: "ChildProcesses", dependencies: ["Readiness"], swiftSettings: strictSettings),

        // Tables as aligned text or Markdown, for every listing and report the command prints.
        .target(name: "TextTables", swiftSettings: strictSettings),

        // The Kubernetes API as the mesh uses it: configuration (kubeconfig, in-cluster), objects,
        // Status errors. Knows nothing of NSM.
        .target(
            name: "Kubernetes",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                "Readiness",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // The mesh's objects in Kubernetes: the registry's custom resources with upstream's shape.
        .target(
            name: "NSMKubernetes",
            dependencies: [
                "Kubernetes", "NSMAPI", "NSMElements", "IPAddressing", "Readiness", "NSMCore", "NSMRegistry", "NSMRuntime",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // The admission webhook: AdmissionReviews in, the injection patch and annotation checks
        // out, its certificates (files or self-issued) and its own webhook configurations.
        .target(
            name: "NSMAdmission",
            dependencies: [
                "Kubernetes", "NSMAnnotation", "Readiness", "CAllocator",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // IP addresses and prefixes as value types. Knows nothing of NSM or netlink.
        .target(name: "IPAddressing", swiftSettings: strictSettings),

        // rtnetlink: C shim (kernel headers, setns/unshare), wire layer (no sockets), and the
        // handle with typed operations. None of it knows about NSM.
        .target(name: "CNetlink"),
        // epoll for the DNS proxy's own thread (the Glibc module lacks it). Headers only.
        .target(name: "CEventPoll"),
        // Metrics: the Prometheus registry behind swift-metrics, process gauges, and the HTTP
        // server for /metrics, /healthz and /ready.
        .target(
            name: "NSMTelemetry",
            dependencies: [
                "Readiness",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // glibc's malloc_trim (the webhook and the gRPC server give back what a large request left).
        .target(name: "CAllocator"),
        .target(name: "NetlinkWire", swiftSettings: strictSettings),
        .target(name: "Netlink", dependencies: ["CNetlink", "NetlinkWire", "IPAddressing", .product(name: "Metrics", package: "swift-metrics")], swiftSettings: strictSettings),

        // Benchmarks that compare our parts with peers measured in the same run (`nsm bench …`).
        .target(name: "NSMBenchmarks", dependencies: ["Netlink", "IPAddressing", "NSMDNS", "ChildProcesses", "TextTables"], swiftSettings: strictSettings),

        // The NSM wire API: generated messages and services plus hand-written helpers.
        .target(
            name: "NSMAPI",
            dependencies: [
                "IPAddressing",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),

        // Chain machinery of the request path: element protocol, chains, context, metadata, errors.
        .target(
            name: "NSMCore",
            dependencies: [
                "NSMAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        // One folder per concern of the request path (= upstream sdk's networkservice/common).
        .target(
            name: "NSMElements",
            dependencies: [
                "NSMCore", "NSMAPI", "IPAddressing", "SPIFFE",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // The registry: in-memory storage with watches and expiry, query matching, NetworkService
        // documents (YAML/JSON files, one-line matches).
        .target(
            name: "NSMRegistry",
            dependencies: [
                "NSMCore", "NSMAPI",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // gRPC transports (unix, TCP), service adapters, and the components as Services:
        // registry, manager, forwarder, endpoint, client.
        .target(
            name: "NSMRuntime",
            dependencies: [
                "NSMCore", "NSMElements", "NSMRegistry", "NSMAPI", "NSMAnnotation", "IPAddressing", "NSMDNS", "LeanGRPC", "Readiness", "SPIFFE", "Netlink",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCertificateReloading", package: "swift-nio-extras"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),

        // gRPC over HTTP/2 without a channel per call (NIOHTTP2 frames on one handler per connection):
        // the unary client of the request path's hops and the server transport under every GRPCServer.
        .target(
            name: "LeanGRPC",
            dependencies: [
                "Readiness", "CAllocator",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),

        // SPIFFE identities: IDs, X.509-SVIDs and bundles (from files or the Workload API), peer
        // checks, TLS configurations, a small issuing CA; the Workload API (X.509) client and service.
        // Knows nothing of NSM.
        .target(
            name: "SPIFFE",
            dependencies: [
                "Readiness",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),

        // The forwarder's Linux data plane: veth and VXLAN through netlink, context applied.
        .target(
            name: "NSMDataPlane",
            dependencies: ["Netlink", "NetlinkWire", "NSMElements", "NSMCore", "NSMAPI", "IPAddressing", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),

        // A local cluster of namespaces and `nsm` processes: `nsm demo`, `nsm run`.
        .target(
            name: "NSMLocalMesh",
            dependencies: [
                "Netlink", "NetlinkWire", "IPAddressing", "NSMRuntime", "NSMAnnotation", "NSMAPI", "NSMCore", "NSMBenchmarks", "NSMDNS", "NSMElements", "Readiness", "ChildProcesses", "TextTables", "LeanGRPC", "SPIFFE",
                "NSMTelemetry",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),

        // DNS: wire codec, the pod's fan-out proxy, a small authoritative responder, resolv.conf.
        .target(
            name: "NSMDNS",
            dependencies: [
                "IPAddressing", "CEventPoll", "Readiness",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // The `networkservicemesh.io` pod annotation: grammar, parser, errors. No dependencies.
        .target(name: "NSMAnnotation", swiftSettings: strictSettings),

        // The one executable.
        .executableTarget(
            name: "nsm",
            dependencies: [
                "NSMAnnotation",
                "NSMAPI",
                "NSMBenchmarks",
                "NSMRuntime", "NSMCore", "IPAddressing", "NSMDataPlane", "Netlink", "NSMLocalMesh", "NSMDNS", "Readiness", "ChildProcesses", "TextTables", "Kubernetes", "NSMKubernetes", "NSMAdmission", "SPIFFE", "NSMTelemetry",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),

        .testTarget(name: "NetlinkWireTests", dependencies: ["NetlinkWire", "CNetlink"], resources: [.copy("Fixtures")], swiftSettings: strictSettings),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "NetlinkWire", "IPAddressing"], swiftSettings: strictSettings),
        .testTarget(name: "NSMRegistryTests", dependencies: ["NSMRegistry", "NSMAPI"], swiftSettings: strictSettings),
        .testTarget(name: "NSMCoreTests", dependencies: ["NSMCore"], swiftSettings: strictSettings),
        .testTarget(name: "ReadinessTests", dependencies: ["Readiness"], swiftSettings: strictSettings),
        .testTarget(name: "ChildProcessesTests", dependencies: ["ChildProcesses"], swiftSettings: strictSettings),
        .testTarget(name: "TextTablesTests", dependencies: ["TextTables"], swiftSettings: strictSettings),
        .testTarget(name: "NSMBenchmarksTests", dependencies: ["NSMBenchmarks"], swiftSettings: strictSettings),
        // The test Kubernetes API server (Tests/KubernetesAPIServer) run for one test, for the tests that talk to Kubernetes.
        .target(name: "KubernetesTestSupport", dependencies: ["Kubernetes", "ChildProcesses", "Readiness"], path: "Tests/KubernetesTestSupport", swiftSettings: strictSettings),
        .testTarget(name: "KubernetesTests", dependencies: ["Kubernetes", "KubernetesTestSupport", "ChildProcesses", "Readiness"], swiftSettings: strictSettings),
        .testTarget(
            name: "NSMKubernetesTests",
            dependencies: [
                "NSMKubernetes", "Kubernetes", "KubernetesTestSupport", "NSMAPI", "NSMElements", "IPAddressing", "Readiness",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "NSMTelemetryTests", dependencies: ["NSMTelemetry", .product(name: "Logging", package: "swift-log")], swiftSettings: strictSettings),
        .testTarget(
            name: "NSMAdmissionTests",
            dependencies: [
                "NSMAdmission", "Kubernetes", "NSMAnnotation", .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        // Namespaces and `ip` helpers shared by the tests that need root and real interfaces.
        .target(name: "KernelTestSupport", dependencies: ["Netlink", "ChildProcesses"], path: "Tests/KernelTestSupport", swiftSettings: strictSettings),
        .testTarget(
            name: "NSMDataPlaneTests",
            dependencies: ["NSMDataPlane", "NSMElements", "NSMCore", "NSMAPI", "Netlink", "IPAddressing", "KernelTestSupport", .product(name: "GRPCCore", package: "grpc-swift-2")],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "IPAddressingTests", dependencies: ["IPAddressing"], swiftSettings: strictSettings),
        .testTarget(
            name: "NSMAPITests",
            dependencies: [
                "NSMAPI", "IPAddressing",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NSMElementsTests",
            dependencies: [
                "NSMElements", "NSMCore", "NSMAPI", "IPAddressing", "SPIFFE", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NSMRuntimeTests",
            dependencies: [
                "NSMRuntime", "NSMElements", "NSMCore", "NSMAPI", "NSMRegistry", "NSMAnnotation", "IPAddressing",
                "NSMDataPlane", "Netlink", "NetlinkWire", "KernelTestSupport", "Readiness", "ChildProcesses", "SPIFFE", "LeanGRPC",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NSMDNSTests",
            dependencies: ["NSMDNS", "IPAddressing", "Netlink", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "NSMAnnotationTests", dependencies: ["NSMAnnotation"], swiftSettings: strictSettings),
        .testTarget(
            name: "SPIFFETests",
            dependencies: [
                "SPIFFE",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LeanGRPCTests",
            dependencies: [
                "LeanGRPC", "NSMAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
