import Glibc
import Metrics
import NetlinkWire

/// Netlink requests as metrics (through swift-metrics): `nsm_netlink_requests_total{kind, result}`
/// — kind the request's message type (`RTM_NEWLINK`, …), result `ok` or the errno's name
/// (`EEXIST`, …) — and `nsm_netlink_request_duration_seconds{kind}`, from sending the batch to
/// the request's answer. Kinds and errnos are bounded sets: no names or indices as labels.
enum NetlinkMetrics {
    static func record(_ kind: NetlinkMessageType, error: NetlinkError?, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let kind = kind.description
        Counter(label: "nsm_netlink_requests_total", dimensions: [("kind", kind), ("result", error.map { errnoName($0.errno) } ?? "ok")]).increment()
        Timer(label: "nsm_netlink_request_duration_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// The symbolic name of the errnos netlink answers with; others by number.
    static func errnoName(_ errno: Int32) -> String {
        switch errno {
        case 0: "error"
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case ESRCH: "ESRCH"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case ENXIO: "ENXIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EBUSY: "EBUSY"
        case EEXIST: "EEXIST"
        case ENODEV: "ENODEV"
        case EINVAL: "EINVAL"
        case ENOSPC: "ENOSPC"
        case ERANGE: "ERANGE"
        case EOPNOTSUPP: "EOPNOTSUPP"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENETUNREACH: "ENETUNREACH"
        case ENOBUFS: "ENOBUFS"
        case ETIMEDOUT: "ETIMEDOUT"
        case ENOTSUP where ENOTSUP != EOPNOTSUPP: "ENOTSUP"
        default: "errno_\(errno)"
        }
    }
}
