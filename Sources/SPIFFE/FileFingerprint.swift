#if canImport(Glibc)
import Glibc
#endif

/// What identifies a file's current contents without reading it: device, inode, size and time of
/// its target (a symbolic link swapped to a new file changes it), or "missing".
func fileFingerprint(_ path: String) -> String {
    var info = stat()
    guard stat(path, &info) == 0 else { return "missing" }
    return "\(info.st_dev) \(info.st_ino) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
}
