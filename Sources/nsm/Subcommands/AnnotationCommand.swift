import ArgumentParser
import NSMAnnotation

/// `nsm annotation …`: work with the `networkservicemesh.io` pod annotation.
struct AnnotationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotation",
        abstract: "Work with the networkservicemesh.io pod annotation.",
        subcommands: [AnnotationCheckCommand.self]
    )
}
