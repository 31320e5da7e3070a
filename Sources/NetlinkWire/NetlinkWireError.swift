/// Bytes that do not form a valid netlink message.
public struct NetlinkWireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being decoded, e.g. `"ifinfomsg"` or `"attribute 3 of RTM_NEWLINK"`.
    public var context: String
    /// What was wrong with the bytes.
    public var problem: String

    public init(_ context: String, _ problem: String) {
        self.context = context
        self.problem = problem
    }

    public var description: String { "malformed netlink \(context): \(problem)" }
}
