import ArgumentParser

/// `nsm dns …`: the DNS proxy on its own, and a small authoritative responder.
struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "DNS: the pod's fan-out proxy on its own, and a small authoritative zone server.",
        subcommands: [DNSProxyCommand.self, DNSServeCommand.self]
    )
}
