/// One annotation item after parsing, before interface names are resolved across items.
struct ParsedItem: Sendable {
    var context: ItemParser.Context
    var mechanism: AnnotationMechanism
    var service: String
    var domain: String?
    var interfaceName: String?
    var labels: [String: String]
}
