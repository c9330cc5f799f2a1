import Foundation
import Glibc

/// The systemd notification protocol (sd_notify(3)) without libsystemd: datagrams such as
/// `READY=1` to the unix socket named by `NOTIFY_SOCKET`. Outside systemd (no `NOTIFY_SOCKET`)
/// every call does nothing.
public final class SystemdNotifier: Sendable {
    private let socketPath: String?
    /// Whether systemd asked for watchdog pings (`WATCHDOG_USEC`, for this process).
    public let watchdogEnabled: Bool

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment` (default: the
    /// process's).
    public init(environment given: [String: String]? = nil) {
        let environment = given ?? ProcessInfo.processInfo.environment
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let forUs = environment["WATCHDOG_PID"].map { $0 == String(getpid()) } ?? true
        watchdogEnabled = forUs && (environment["WATCHDOG_USEC"].flatMap { UInt64($0) } ?? 0) > 0
    }

    /// Sends one notification (`READY=1`, `STOPPING=1`, `WATCHDOG=1`, `STATUS=…`); failures are
    /// ignored, as sd_notify's are: the node runs the same with or without a supervisor.
    public func notify(_ state: String) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // the abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length) }
            }
        }
    }
}
