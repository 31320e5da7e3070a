import TextTables
import ArgumentParser
import Foundation
import NSMAnnotation

/// `nsm annotation check '<value>'`: parse an annotation value and show the requests it makes.
struct AnnotationCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Parse a networkservicemesh.io annotation value and print the requests it makes.",
        discussion: """
            Exits 0 and prints one row per requested network service, or exits 1 and prints \
            what is wrong with which item and what is accepted.

            Example:
              nsm annotation check 'kernel://my-networkservice-1/nsm-1?app=foo&version=v1.1, kernel://my-networkservice-2'
            """
    )

    @Argument(help: "The annotation value, e.g. 'kernel://my-networkservice-1/nsm-1?app=foo'.")
    var value: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Seed for generated interface names (for reproducible output).")
    var seed: UInt64?

    func run() throws {
        let annotation: NetworkServiceAnnotation
        do {
            if let seed {
                var generator = SeededGenerator(seed: seed)
                annotation = try NetworkServiceAnnotation.parse(value, using: &generator)
            } else {
                annotation = try NetworkServiceAnnotation.parse(value)
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print(json ? try Self.json(annotation) : Self.table(annotation))
    }

    static func json(_ annotation: NetworkServiceAnnotation) throws -> String {
        struct Row: Encodable {
            var networkService: String
            var service: String
            var domain: String?
            var interface: String
            var interfaceGenerated: Bool
            var labels: [String: String]
            var mechanism: [String: String]
        }
        let rows = annotation.services.map {
            Row(
                networkService: $0.networkService, service: $0.service, domain: $0.domain, interface: $0.interfaceName,
                interfaceGenerated: $0.interfaceNameGenerated, labels: $0.labels,
                mechanism: ["cls": $0.mechanism.wireClass, "type": $0.mechanism.wireType])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    static func table(_ annotation: NetworkServiceAnnotation) -> String {
        var rows = [["#", "SERVICE", "INTERFACE", "LABELS", "MECHANISM"]]
        for (index, service) in annotation.services.enumerated() {
            rows.append([
                String(index + 1),
                service.networkService,
                service.interfaceName + (service.interfaceNameGenerated ? " (generated)" : ""),
                service.labels.isEmpty ? "-" : service.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: ","),
                "\(service.mechanism.wireClass)/\(service.mechanism.wireType)",
            ])
        }
        return TextTable.render(rows)
    }
}
