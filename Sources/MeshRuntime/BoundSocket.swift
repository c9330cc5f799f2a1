import Glibc

/// A blocking TCP socket bound to a literal IPv4 or IPv6 address, for the runtime's small needs
/// outside the transport: the metrics listener, and finding a free port for `listen` with port 0.
enum BoundSocket {
    /// Binds a new TCP socket to `host:port` (port 0: any free port) and returns it with the
    /// port actually bound. The caller owns the descriptor.
    static func bind(host: String, port: UInt16) throws(RuntimeError) -> (fd: Int32, port: UInt16) {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var storage = sockaddr_storage()
        let length: Int
        let parsed: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            parsed = inet_pton(AF_INET6, host, &a.sin6_addr)
            length = MemoryLayout<sockaddr_in6>.size
            withUnsafeBytes(of: &a) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            parsed = inet_pton(AF_INET, host, &a.sin_addr)
            length = MemoryLayout<sockaddr_in>.size
            withUnsafeBytes(of: &a) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
        }
        guard parsed == 1 else {
            close(fd)
            throw RuntimeError("'\(host)' is not an IPv4 or IPv6 address literal")
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(length)) }
        }
        guard bound == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError("bind \(host):\(port): \(text)")
        }
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        let actual = withUnsafePointer(to: &storage) { pointer in
            v6
                ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, actual)
    }
}
