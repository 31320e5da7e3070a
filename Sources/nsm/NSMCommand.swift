import ArgumentParser

/// `nsm`: one binary for every Network Service Mesh role. Each subcommand lives in its own file.
@main
struct NSMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsm",
        abstract: "Network Service Mesh for Kubernetes, in Swift.",
        discussion: """
            Pods ask for extra network services with the annotation
              networkservicemesh.io: "kernel://my-networkservice-1/nsm-1?app=foo, kernel://svc-2"
            and get a kernel interface, addresses, routes and DNS for each.
            """,
        version: NSMVersion.current,
        subcommands: [
            AnnotationCommand.self, RegistryCommand.self, NodeCommand.self, EndpointCommand.self, ClientCommand.self,
            ConnectionsCommand.self, ServiceCommand.self, ClusterCommand.self, RunCommand.self, DemoCommand.self, DNSCommand.self, BenchCommand.self, ExcludePrefixesCommand.self, WebhookCommand.self, SPIFFEAgentCommand.self,
        ]
    )
}

enum NSMVersion {
    static let current = "0.1.0-dev"
}
