import Foundation
import Glibc
import MeshCore
import MeshCrypto
import MeshTestSupport
import MeshTransport
import MeshWire
import Synchronization

/// Captures log lines in memory; printed only when a test fails.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])
    var logger: TransportLogger {
        TransportLogger(label: "test", minimumLevel: .debug) { [self] level, message, metadata in
            let meta = metadata.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            lines.withLock { $0.append("\(level) \(message) \(meta)") }
        }
    }
    func contains(_ text: String) -> Bool { lines.withLock { $0.contains { $0.contains(text) } } }
    var all: String { lines.withLock { $0.joined(separator: "\n") } }
}

/// Collects events delivered on the loop thread.
final class EventSink: Sendable {
    let events = Mutex<[TransportEvent]>([])
    var handler: @Sendable (TransportEvent) -> Void { { [self] e in events.withLock { $0.append(e) } } }
    var frames: [Frame] {
        events.withLock { $0.compactMap { if case .frame(_, _, _, let f?) = $0 { f } else { nil } } }
    }
    var closedReasons: [String] {
        events.withLock { $0.compactMap { if case .closed(_, let r) = $0 { r } else { nil } } }
    }
}

/// One transport endpoint for tests.
struct Node {
    let transport: Transport
    let sink: EventSink
    let log: LogCapture
    let identity: TLSIdentity?
    let nodeID: NodeID

    static func make(
        pki: TestPKI?, role: Role = .regional, identity: TLSIdentity? = nil, acceptedRoles: [Role] = Role.allCases,
        tune: (inout TransportConfiguration) -> Void = { _ in }
    ) throws -> Node {
        let sink = EventSink()
        let log = LogCapture()
        let id: TLSIdentity? = try identity ?? pki.map { try $0.node(role: role) }
        let nodeID = try id?.key.nodeID ?? Ed25519PrivateKey.generate().nodeID
        let binding: NodeBinding? = try id?.chain.first?.nodeBinding
        let certifiedRole = binding?.role ?? role
        var configuration = TransportConfiguration(
            identity: LocalIdentity(
                nodeID: nodeID, role: certifiedRole, region: try Region("cn-east"),
                sectors: certifiedRole == .industry ? [.finance] : []),
            tls: try id.map { try TLSSetup(identity: $0, trust: try pki!.trust) }, allowPlaintext: pki == nil)
        configuration.acceptedPeerRoles = acceptedRoles
        configuration.keepsFrameBytes = true  // the tests compare raw frames
        tune(&configuration)
        let transport = try Transport(configuration: configuration, logger: log.logger, onEvent: sink.handler)
        return Node(transport: transport, sink: sink, log: log, identity: id, nodeID: nodeID)
    }

    func listen() throws -> SocketAddress { try transport.listen(on: SocketAddress(host: "127.0.0.1", port: 0)) }
}

/// Polls `condition` every 10 ms until it holds or `timeoutMilliseconds` pass.
func eventually(_ timeoutMilliseconds: Int = 2_000, _ condition: () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

/// A blocking TCP client socket for hand-made byte streams.
final class RawClient {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Reads until the peer closes (or the 3 s receive timeout); returns the bytes and whether it closed.
    func readUntilClosed() -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }  // SIGCHLD from other suites' child processes
            if n == 0 { return (out, true) }
            if n < 0 { return (out, errno == ECONNRESET) }
            out += buffer[0..<n]
        }
    }
}

/// Decodes a plaintext server stream (preface, then frames).
func decodeFrames(_ bytes: [UInt8]) -> [WireMessage] {
    var decoder = FrameDecoder(expectsPreface: true)
    decoder.append(bytes)
    var out: [WireMessage] = []
    while let frame = try? decoder.next() {
        if case .message(let m, _, _)? = try? WireMessage.decode(frame) { out.append(m) }
    }
    return out
}

/// Process resident set size in KiB and open file descriptors.
func processResources() -> (rssKiB: Int, fds: Int) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let rss =
        status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }.flatMap { line in
            Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        } ?? -1
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    return (rss, fds)
}

/// File descriptors of this process that are TCP sockets (IPv4) with `port` at either end:
/// unaffected by other tests running in parallel.
func socketDescriptors(onPort port: UInt16) -> Int {
    let hexPort = String(format: "%04X", port)
    // procfs reports size 0: read to the end rather than trusting the size.
    let data = FileHandle(forReadingAtPath: "/proc/net/tcp")?.readDataToEndOfFile() ?? Data()
    let table = String(decoding: data, as: UTF8.self)
    var inodes = Set<Substring>()
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count > 9 else { continue }
        if fields[1].hasSuffix(":" + hexPort) || fields[2].hasSuffix(":" + hexPort) { inodes.insert(fields[9]) }
    }
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.reduce(0) { count, fd in
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
            target.hasPrefix("socket:["), target.hasSuffix("]")
        else { return count }
        return inodes.contains(target.dropFirst(8).dropLast()) ? count + 1 : count
    }
}
