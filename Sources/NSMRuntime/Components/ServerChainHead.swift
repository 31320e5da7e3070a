import NSMCore
import NSMElements

/// The elements every server hop starts with, in upstream's order: updatepath, expires (token),
/// begin, metadata, timeout, monitor. Components append their own concerns after them.
func serverChainHead(name: String, lifetime: Duration, timeouts: TimeoutScheduler, monitor: ConnectionMonitor) -> [any NetworkServiceElement] {
    [
        UpdatePathElement(name: name),
        ExpiresElement(lifetime: lifetime),
        BeginElement(),
        MetadataElement(),
        TimeoutElement(scheduler: timeouts),
        MonitorElement(monitor),
    ]
}
