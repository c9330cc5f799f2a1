import CLinuxShim
import Glibc

/// Writes text to a file descriptor without Foundation (for loggers).
enum FileDescriptorWriter {
    static func standardError(_ text: String) {
        var copy = text
        copy.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

/// An IPv4 or IPv6 address and port.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// 127.0.0.1 or ::1.
    public var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host == "localhost" }

    var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Calls `body` with the C socket address.
    func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws(TransportError) -> T {
        let host = self.host == "localhost" ? "127.0.0.1" : self.host
        if isIPv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { throw .invalidAddress(description) }
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw .invalidAddress(description) }
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// The local address of a socket.
    static func local(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        return from(storage)
    }

    /// The remote address of a socket.
    static func remote(of fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        return from(storage)
    }

    private static func from(_ storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p -> SocketAddress in
                    var addr = p.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                    return SocketAddress(host: String(cString: buffer), port: UInt16(bigEndian: p.pointee.sin_port))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p -> SocketAddress in
                    var addr = p.pointee.sin6_addr
                    inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                    return SocketAddress(host: String(cString: buffer), port: UInt16(bigEndian: p.pointee.sin6_port))
                }
            }
        default: return nil
        }
    }
}

/// Thin wrappers over the socket calls, returning errno on failure.
enum Sockets {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func makeSocket(for address: SocketAddress) throws(TransportError) -> Int32 {
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, cmesh_sock_stream() | cmesh_sock_nonblock_cloexec(), 0)
        if fd < 0 { throw .system("socket", errorText()) }
        return fd
    }

    static func setInt(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// TCP_NODELAY, keepalive (idle, interval, count) and TCP_USER_TIMEOUT.
    static func tune(_ fd: Int32, _ c: TransportConfiguration) {
        setInt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        setInt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, Int32(c.keepAliveIdleSeconds))
        setInt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, Int32(c.keepAliveIntervalSeconds))
        setInt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, Int32(c.keepAliveProbeCount))
        setInt(fd, Int32(IPPROTO_TCP), cmesh_tcp_user_timeout(), Int32(c.tcpUserTimeoutMilliseconds))
    }
}

/// Monotonic milliseconds, for deadlines.
func monotonicMilliseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
}

/// Wall-clock milliseconds since the epoch (for WELCOME's server time).
func wallClockMilliseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_REALTIME, &t)
    return UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
}
