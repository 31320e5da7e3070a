/// Why an annotation value was rejected.
///
/// The description names the item (its 1-based position and its text), what is wrong
/// with it and what is accepted instead, e.g.:
///
///     item 2 of 2 ("memif://svc/nsm-1"): mechanism "memif" is not supported.
///       accepted: kernel (as in kernel://my-service/nsm-1)
public struct AnnotationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is; stable for programs, while messages may improve.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case emptyAnnotation, emptyItem, whitespaceInItem, missingScheme, unsupportedMechanism
            case invalidService, invalidDomain, portNotAllowed, credentialsNotAllowed
            case invalidInterfaceName, nestedPath, fragmentNotAllowed
            case invalidLabel, invalidEscape, duplicateInterfaceName, tooLarge
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let emptyAnnotation = Code(.emptyAnnotation)
        public static let emptyItem = Code(.emptyItem)
        public static let whitespaceInItem = Code(.whitespaceInItem)
        public static let missingScheme = Code(.missingScheme)
        public static let unsupportedMechanism = Code(.unsupportedMechanism)
        public static let invalidService = Code(.invalidService)
        public static let invalidDomain = Code(.invalidDomain)
        public static let portNotAllowed = Code(.portNotAllowed)
        public static let credentialsNotAllowed = Code(.credentialsNotAllowed)
        public static let invalidInterfaceName = Code(.invalidInterfaceName)
        public static let nestedPath = Code(.nestedPath)
        public static let fragmentNotAllowed = Code(.fragmentNotAllowed)
        public static let invalidLabel = Code(.invalidLabel)
        public static let invalidEscape = Code(.invalidEscape)
        public static let duplicateInterfaceName = Code(.duplicateInterfaceName)
        public static let tooLarge = Code(.tooLarge)

        public var description: String { value.rawValue }
    }

    public let code: Code
    /// 1-based position of the offending item, `nil` when the whole value is at fault.
    public let position: Int?
    /// Number of items in the annotation value.
    public let itemCount: Int
    /// The offending item as written (trimmed).
    public let item: String?
    /// What is wrong.
    public let problem: String
    /// What would be accepted instead.
    public let accepted: String

    public init(code: Code, position: Int?, itemCount: Int, item: String?, problem: String, accepted: String) {
        self.code = code
        self.position = position
        self.itemCount = itemCount
        self.item = item
        self.problem = problem
        self.accepted = accepted
    }

    public var description: String {
        var where_ = "annotation"
        if let position, let item {
            where_ = "item \(position) of \(itemCount) (\"\(LabelRules.quoted(item, limit: 80))\")"
        }
        return "\(where_): \(problem)\n  accepted: \(accepted)"
    }
}
