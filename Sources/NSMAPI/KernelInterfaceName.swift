/// Linux's rule for an interface name (the kernel's `dev_valid_name`): 1 to 15 bytes, not "."
/// or "..", without '/', ':' or whitespace. Checked where a name enters the mesh (the
/// forwarder's incoming KERNEL mechanism, the endpoint's side), so a bad one is refused with
/// this reason before anything is made.
public enum KernelInterfaceName {
    public static let rule = "1-15 bytes, not \".\" or \"..\", without '/', ':' or whitespace"

    /// Why Linux would refuse `name`, or nil when it accepts it.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "interface name is empty; Linux accepts \(rule)" }
        if name.utf8.count > 15 { return "interface name \"\(name)\" is \(name.utf8.count) bytes; Linux allows at most 15" }
        if name == "." || name == ".." || name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) {
            return "interface name \"\(name)\" is not a valid Linux interface name (\(rule))"
        }
        return nil
    }
}
