import CNetlink
import Glibc

extension NetworkNamespace {
    /// Creates a named namespace exactly as `ip netns add NAME` does, so `ip netns exec` and
    /// `ip -n` work with it: `/run/netns` made a shared bind mount of itself, an empty file
    /// `/run/netns/NAME`, and the new namespace bind-mounted onto it.
    @discardableResult
    public static func create(named name: String) throws(NetlinkError) -> NetworkNamespace {
        let operation = "ip netns add \(name)"
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw NetlinkError(code: .invalidArgument, errno: EINVAL, operation: operation, message: "a namespace name must be non-empty without '/'")
        }
        try prepareRunDirectory()
        let path = "\(runDirectory)/\(name)"
        let fd = Glibc.open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        guard fd >= 0 else { throw NetlinkError.fromErrno(operation) }
        close(fd)
        do {
            try DedicatedThread.run { () throws(NetlinkError) -> Void in
                let original = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
                guard original >= 0 else { throw NetlinkError.fromErrno("\(operation): open current namespace") }
                defer { close(original) }
                guard cnetlink_unshare(CNETLINK_CLONE_NEWNET) == 0 else { throw NetlinkError.fromErrno("\(operation): unshare") }
                let mounted = cnetlink_mount_bind("/proc/thread-self/ns/net", path)
                let mountError = errno
                guard cnetlink_setns(original, CNETLINK_CLONE_NEWNET) == 0 else {
                    fatalError("could not return to the original network namespace")
                }
                guard mounted == 0 else { throw NetlinkError(errno: mountError, operation: "\(operation): bind mount") }
            }
        } catch {
            unlink(path)
            throw error
        }
        return try NetworkNamespace(path: path)
    }

    /// Deletes a named namespace as `ip netns delete NAME` does: unmounts and removes the file.
    /// The namespace itself lives on while processes or open descriptors still use it.
    public static func delete(named name: String) throws(NetlinkError) {
        let path = "\(runDirectory)/\(name)"
        if cnetlink_umount_detach(path) != 0, errno != EINVAL {
            throw NetlinkError.fromErrno("ip netns delete \(name): umount")
        }
        guard unlink(path) == 0 else { throw NetlinkError.fromErrno("ip netns delete \(name)") }
    }

    /// Names of the namespaces under `/run/netns`, sorted.
    public static func names() -> [String] { unsortedNames().sorted() }

    /// Names of the namespaces under `/run/netns`, in directory order.
    static func unsortedNames() -> [String] {
        guard let directory = opendir(runDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = NetworkNamespace.directoryEntryName(entry)
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The name in a `readdir` entry, read in place: entries are only as long as their name,
    /// so copying the whole 256-byte `d_name` field can read past the end of the kernel's
    /// buffer (a crash once the directory is large enough to end an entry at a page edge).
    static func directoryEntryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        return String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
    }

    /// Makes `/run/netns` exist and be a shared mount point, as iproute2 does, so namespace
    /// mounts propagate to other mount namespaces.
    private static func prepareRunDirectory() throws(NetlinkError) {
        mkdir("/run", 0o755)
        if mkdir(runDirectory, 0o755) != 0, errno != EEXIST {
            throw NetlinkError.fromErrno("mkdir \(runDirectory)")
        }
        if cnetlink_mount_make_shared(runDirectory) == 0 { return }
        guard errno == EINVAL else { throw NetlinkError.fromErrno("mount --make-shared \(runDirectory)") }
        // Not yet a mount point: bind it onto itself, then make it shared.
        guard cnetlink_mount_bind(runDirectory, runDirectory) == 0,
              cnetlink_mount_make_shared(runDirectory) == 0
        else { throw NetlinkError.fromErrno("mount --bind \(runDirectory)") }
    }
}
