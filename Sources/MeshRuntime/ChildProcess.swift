// Child processes for the demo and the tests: one supervisor (posix_spawn, output to files, poll
// and wait without blocking the cooperative pool) and one free-port helper, so neither is written
// twice (issue 17).
import CLinuxShim
import Foundation
public import Glibc
import Synchronization

/// A child process started with posix_spawn: standard output and error go to files.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    public let name: String
    public let stdoutPath: String
    public let stderrPath: String
    public private(set) var exitStatus: Int32?
    public private(set) var exitSignal: Int32?

    private init(pid: Int32, name: String, stdoutPath: String, stderrPath: String) {
        self.pid = pid
        self.name = name
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    public static func spawn(
        name: String, executable: String, arguments: [String], stdoutPath: String, stderrPath: String
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // Nothing else of ours leaks into the child (a pipe another thread is reading, a socket),
        // and it starts with default signal dispositions and no blocked signals: a daemon it
        // forks (tmux's server) must not inherit an ignored SIGTERM or an open pipe.
        cmesh_spawn_close_from(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) }
        argv.append(nil)
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            throw RuntimeError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        let child = ChildProcess(pid: pid, name: name, stdoutPath: stdoutPath, stderrPath: stderrPath)
        RunningChildren.shared.withLock { $0.append(pid) }
        return child
    }

    /// Whether it has exited (reaps it; records the status).
    @discardableResult
    public func poll() -> Bool {
        if exitStatus != nil || exitSignal != nil { return true }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return false }
        if status & 0x7f == 0 { exitStatus = (status >> 8) & 0xff } else { exitSignal = status & 0x7f }
        RunningChildren.shared.withLock { $0.removeAll { $0 == pid } }
        return true
    }

    /// Waits up to `seconds` for the exit.
    public func wait(seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if poll() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return poll()
    }

    public var exitDescription: String {
        if let s = exitStatus { return "exit status \(s)" }
        if let s = exitSignal { return "killed by signal \(s)" }
        return "still running"
    }

    public func signal(_ number: Int32) { if !poll() { kill(pid, number) } }

    public var standardOutput: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

/// Every child started by ``ChildProcess/spawn`` and not yet reaped, so that Ctrl-C or a failure
/// stops them all.
public enum RunningChildren {
    static let shared = Mutex<[pid_t]>([])

    /// SIGTERM to every child, then up to `seconds` for them to go, then SIGKILL.
    public static func stopAll(seconds: Double) {
        let pids = shared.withLock { $0 }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(seconds)
        var left = pids
        while !left.isEmpty && Date() < deadline {
            left.removeAll { pid in
                var status: Int32 = 0
                return waitpid(pid, &status, WNOHANG) == pid
            }
            usleep(20_000)
        }
        for pid in left {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        shared.withLock { $0.removeAll() }
    }
}

/// A free TCP port on 127.0.0.1: bind port 0, read it back, close.
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RuntimeError("socket(): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw RuntimeError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw RuntimeError("getsockname: \(String(cString: strerror(errno)))") }
    return UInt16(bigEndian: address.sin_port)
}

/// The path of the running executable.
public func ownExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
}
