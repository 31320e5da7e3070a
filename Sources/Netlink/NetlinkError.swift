import Glibc

/// A failed netlink or namespace operation: what was attempted, the errno, and the
/// kernel's own explanation when it gave one (extended ack), so it reads like `ip`'s errors.
public struct NetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A coarse classification callers can switch on. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable {
            case notFound, exists, permissionDenied, invalidArgument, busy, timedOut, unsupported
            case malformedReply, other
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        public static let notFound = Code(.notFound)
        public static let exists = Code(.exists)
        public static let permissionDenied = Code(.permissionDenied)
        public static let invalidArgument = Code(.invalidArgument)
        public static let busy = Code(.busy)
        public static let timedOut = Code(.timedOut)
        public static let unsupported = Code(.unsupported)
        public static let malformedReply = Code(.malformedReply)
        public static let other = Code(.other)

        /// The code for a positive errno value.
        public init(errno: Int32) {
            switch errno {
            case ENOENT, ENODEV, ESRCH, ENXIO, EADDRNOTAVAIL: self = .notFound
            case EEXIST, ENOTEMPTY: self = .exists
            case EPERM, EACCES: self = .permissionDenied
            case EINVAL, ERANGE, E2BIG, ENAMETOOLONG: self = .invalidArgument
            case EBUSY: self = .busy
            case EAGAIN, ETIMEDOUT: self = .timedOut
            case EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT: self = .unsupported
            default: self = .other
            }
        }

        public var description: String { value.rawValue }
    }

    public var code: Code
    /// The errno (positive), 0 when the failure did not come from the kernel.
    public var errno: Int32
    /// What was attempted, in `ip` terms where possible (`ip link add veth0 type veth`).
    public var operation: String
    /// The kernel's extended-ack message or another explanation.
    public var message: String?

    public init(code: Code, errno: Int32, operation: String, message: String? = nil) {
        self.code = code
        self.errno = errno
        self.operation = operation
        self.message = message
    }

    /// An error from a positive errno value.
    public init(errno: Int32, operation: String, message: String? = nil) {
        self.init(code: Code(errno: errno), errno: errno, operation: operation, message: message)
    }

    /// An error from the current thread's `errno`.
    static func fromErrno(_ operation: String) -> NetlinkError {
        NetlinkError(errno: Glibc.errno, operation: operation)
    }

    public var description: String {
        var text = operation + ": "
        if errno != 0 { text += String(cString: strerror(errno)) } else { text += code.description }
        if let message, !message.isEmpty { text += " (kernel: \(message))" }
        return text
    }
}
