import Foundation
import Glibc
import MeshRuntime
import MeshTestSupport
import Testing

/// A unix datagram socket standing in for systemd's notification socket.
final class FakeNotifySocket: @unchecked Sendable {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw RuntimeError("cannot bind \(path): \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram, or nil after 200 ms without one.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Every datagram until one contains `text` (returned with those before it), or all within `seconds`.
    func collect(until text: String, within seconds: Double) -> [String] {
        var got: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let message = receive() {
                got.append(message)
                if message.contains(text) { break }
            }
        }
        return got
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

@Suite("meshd under systemd", .serialized, .timeLimit(.minutes(1)))
struct MeshdSystemdTests {
    @Test func meshdNotifiesReadyPingsTheWatchdogFromItsLoopAndNotifiesStopping() async throws {
        let dir = try testDirectory("meshd-sd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let notify = try FakeNotifySocket(path: dir.appendingPathComponent("notify").path)
        let node = try await MeshdProcess(
            "n", config: #""role": "regional", "region": "cn-north""#, in: dir,
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"])
        defer { node.stop() }
        let started = try await offPool { notify.collect(until: "WATCHDOG=1", within: 10) }
        #expect(started.first?.hasPrefix("READY=1") == true, "\(started)")
        #expect(started.last == "WATCHDOG=1", "\(started)")
        node.kill(SIGTERM)
        let stopping = try await offPool { notify.collect(until: "STOPPING=1", within: 10) }
        #expect(stopping.contains("STOPPING=1"), "\(stopping)")
        await node.terminate()
        #expect(node.process.terminationStatus == 0)
    }

    @Test func theUnitVerifiesAndItsSandboxScoresAtMostTwo() async throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else {
            Issue.record("systemd-analyze is missing: install systemd to check deploy/meshd.service")
            return
        }
        let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/meshd.service").path
        let security = try await runProcess(analyze, ["security", "--offline=true", unit])
        let score = security.output.firstMatch(of: #/Overall exposure level for meshd\.service: (\d+\.\d+)/#)
        let value = try #require(score.map { Double($0.1) } ?? nil, "\(security.output)")
        #expect(value <= 2.0, "\(security.output.suffix(600))")
        // `verify` needs the binary the unit names: check a copy that names the one just built.
        let dir = try testDirectory("meshd-unit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("meshd.service").path
        try String(contentsOfFile: unit, encoding: .utf8).replacingOccurrences(
            of: "/usr/local/bin/meshd", with: builtProduct("meshd")
        ).write(toFile: copy, atomically: true, encoding: .utf8)
        let verify = try await runProcess(analyze, ["verify", copy])
        #expect(verify.status == 0, "\(verify.output)")
    }
}
