/// A malformed value found in an NSM message: which field, what it held, what is accepted.
public struct NSMAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message field, e.g. `context.ip_context.src_ip_addrs[1]`.
    public var field: String
    /// The offending value as received.
    public var value: String
    /// What a valid value looks like.
    public var expected: String

    public init(field: String, value: String, expected: String) {
        self.field = field
        self.value = value
        self.expected = expected
    }

    public var description: String { "\(field): \"\(value)\" is not valid; expected \(expected)" }
}
