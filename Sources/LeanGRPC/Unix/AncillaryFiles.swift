#if canImport(Glibc)
import Glibc
#endif

/// File descriptors carried as `SCM_RIGHTS` ancillary data on a unix stream socket (the C macros
/// `CMSG_*` are not available to Swift; their arithmetic for 64-bit Linux is spelled out here).
enum AncillaryFiles {
    /// `sizeof(struct cmsghdr)`, already aligned.
    static let headerSize = MemoryLayout<cmsghdr>.stride
    static let maximumFiles = 64

    static func align(_ length: Int) -> Int { (length + MemoryLayout<Int>.size - 1) & ~(MemoryLayout<Int>.size - 1) }

    /// Sends `bytes` (at least one) with `file` attached; returns how many bytes were sent.
    static func send(_ bytes: UnsafeRawBufferPointer, on socket: Int32, passing file: Int32) throws(SocketFailure) -> Int {
        let controlSize = align(headerSize + MemoryLayout<Int32>.size)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: controlSize, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let header = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
        header.pointee.cmsg_len = headerSize + MemoryLayout<Int32>.size
        header.pointee.cmsg_level = SOL_SOCKET
        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
        control.storeBytes(of: file, toByteOffset: headerSize, as: Int32.self)
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        let sent = withUnsafeMutablePointer(to: &vector) { vectorPointer -> Int in
            var message = msghdr()
            message.msg_iov = vectorPointer
            message.msg_iovlen = 1
            message.msg_control = control.baseAddress
            message.msg_controllen = controlSize
            return sendmsg(socket, &message, Int32(MSG_NOSIGNAL))
        }
        guard sent >= 0 else { throw SocketFailure(operation: "sendmsg", errno: errno) }
        return sent
    }

    /// The files attached to the first bytes waiting on `socket`, looked at without consuming
    /// anything (`MSG_PEEK`: the kernel hands over copies, and the bytes stay for the reader).
    /// Each copy is identified and closed; returns the network namespaces among them, or `nil`
    /// when the peer is gone (end of stream or an error) before saying anything.
    static func peekNetworkNamespaces(on socket: Int32) -> [FileIdentity]? {
        let controlSize = align(headerSize + MemoryLayout<Int32>.size * maximumFiles)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: controlSize, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        var byte: UInt8 = 0
        let received = withUnsafeMutablePointer(to: &byte) { bytePointer -> (Int, Int) in
            var vector = iovec(iov_base: bytePointer, iov_len: 1)
            return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = control.baseAddress
                message.msg_controllen = controlSize
                let count = recvmsg(socket, &message, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT) | Int32(MSG_CMSG_CLOEXEC))
                return (count, count > 0 ? message.msg_controllen : 0)
            }
        }
        var namespaces: [FileIdentity] = []
        var offset = 0
        let (count, controlLength) = received
        guard count > 0 else { return count < 0 && (errno == EAGAIN || errno == EINTR) ? [] : nil }
        while offset + headerSize <= controlLength {
            let header = control.load(fromByteOffset: offset, as: cmsghdr.self)
            guard header.cmsg_len >= headerSize, offset + header.cmsg_len <= controlLength else { break }
            if header.cmsg_level == SOL_SOCKET, header.cmsg_type == Int32(SCM_RIGHTS) {
                let files = (header.cmsg_len - headerSize) / MemoryLayout<Int32>.size
                for index in 0..<files {
                    let file = control.loadUnaligned(fromByteOffset: offset + headerSize + index * MemoryLayout<Int32>.size, as: Int32.self)
                    if isNetworkNamespace(file), let identity = FileIdentity(descriptor: file) { namespaces.append(identity) }
                    close(file)
                }
            }
            offset += align(header.cmsg_len)
        }
        return namespaces
    }

    /// Whether `file` is a network namespace: `NS_GET_NSTYPE` answers `CLONE_NEWNET` (the link
    /// text in /proc cannot tell: a namespace opened through a bind mount reads as that path).
    static func isNetworkNamespace(_ file: Int32) -> Bool {
        let getNamespaceType: UInt = 0xb703  // _IO(0xb7, 0x3)
        let cloneNewNet: Int32 = 0x4000_0000
        return ioctl(file, getNamespaceType) == cloneNewNet
    }
}

/// A socket call that failed, with its errno.
struct SocketFailure: Error, CustomStringConvertible {
    var operation: String
    var errno: Int32
    var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}
