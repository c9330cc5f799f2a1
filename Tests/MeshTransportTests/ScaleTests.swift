import Foundation
import Glibc
import MeshCore
import MeshCrypto
import MeshTestSupport
import MeshTransport
import MeshWire
import Synchronization
import Testing

/// A TCP proxy on loopback that forwards every byte in its own write() call, both ways.
final class OneByteProxy: @unchecked Sendable {
    let listenFD: Int32
    let port: UInt16
    let target: UInt16
    let forwardedBytes = Atomic<Int>(0)

    init(target: UInt16) throws {
        self.target = target
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        Glibc.listen(fd, 16)
        listenFD = fd
        port = SocketAddress.localPort(fd)
    }

    /// Accepts one client on a thread of its own and forwards until either side closes.
    func start() {
        Thread { [self] in acceptOne() }.start()
    }

    private func acceptOne() {
        var accepted = accept(listenFD, nil, nil)
        while accepted < 0 && errno == EINTR { accepted = accept(listenFD, nil, nil) }
        let client = accepted
        guard client >= 0, let upstream = try? RawClient(port: target) else { return }
        let upstreamFD = dup(upstream.fd)
        // RawClient sets a 3 s receive timeout for tests that read replies; a proxy must wait as
        // long as its peers are quiet, or it half-closes a healthy connection under load.
        var noTimeout = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(upstreamFD, SOL_SOCKET, SO_RCVTIMEO, &noTimeout, socklen_t(MemoryLayout<timeval>.size))
        for fd in [client, upstreamFD] {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, 4)
        }
        Thread { [self] in pump(from: client, to: upstreamFD) }.start()
        pump(from: upstreamFD, to: client)
    }

    /// Blocking reads and writes, retried when a signal interrupts them: other suites in the
    /// same process spawn and reap child processes, and SIGCHLD may land on these threads.
    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(from, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            for i in 0..<n {
                var byte = buffer[i]
                var sent = send(to, &byte, 1, Int32(MSG_NOSIGNAL))
                while sent < 0 && errno == EINTR { sent = send(to, &byte, 1, Int32(MSG_NOSIGNAL)) }
                if sent != 1 { return }
            }
            forwardedBytes.add(n, ordering: .relaxed)
        }
        shutdown(to, Int32(SHUT_WR))
    }

    deinit { Glibc.close(listenFD) }
}

extension SocketAddress {
    static func localPort(_ fd: Int32) -> UInt16 {
        var a = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: a.sin_port)
    }
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct ScaleTests {
    @Test func tenThousandFramesPassByteIdenticalThroughAOneByteSplittingProxyWithTLS() async throws {
        let pki = try TestPKI()
        let server = try Node.make(pki: pki)
        let address = try server.listen()
        let proxy = try OneByteProxy(target: address.port)
        proxy.start()
        let client = try Node.make(pki: pki)
        let (id, _) = try await client.transport.connect(to: SocketAddress(host: "127.0.0.1", port: proxy.port))
        var sent: [[UInt8]] = []
        for i in 0..<10_000 {
            let ping = WireMessage.ping(
                Ping(nonce: UInt64(i) &* 0x9E37_79B9_7F4A_7C15, sentAt: MeshInstant(milliseconds: UInt64(i))))
            let bytes = try FrameEncoder.frame(ping)
            sent.append(bytes)
            client.transport.send(frame: bytes, priority: .control, on: id)
        }
        let arrived = await eventually(40_000) { server.sink.frames.count == 10_000 }
        let received = server.sink.frames.map(\.bytes)
        let firstMismatch = zip(received, sent).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(
            arrived && received.count == sent.count && firstMismatch == nil,
            """
            \(received.count) of \(sent.count) frames arrived, first mismatch at \(firstMismatch.map(String.init) ?? "none"), \
            \(proxy.forwardedBytes.load(ordering: .relaxed)) bytes forwarded
            client log:
            \(client.log.all)
            server log:
            \(server.log.all)
            """)
        #expect(proxy.forwardedBytes.load(ordering: .relaxed) > sent.reduce(0) { $0 + $1.count })  // TLS overhead
        print("one-byte proxy: \(received.count) frames, \(proxy.forwardedBytes.load(ordering: .relaxed)) bytes forwarded")
        client.transport.shutdown()
        server.transport.shutdown()
    }

    @Test func oneNodeHoldsAThousandTLSConnectionsAndLeaksNothingAfterTheyClose() async throws {
        let pki = try TestPKI()
        // A thousand connections under one client identity: duplicate-node refusal off.
        let server = try Node.make(pki: pki) { $0.refusesDuplicateNodes = false }
        let address = try server.listen()
        let client = try Node.make(pki: pki)
        let before = processResources()
        var opened = 0
        for _ in 0..<10 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 { group.addTask { _ = try await client.transport.connect(to: address) } }
                try await group.waitForAll()
            }
            opened += 100
        }
        #expect(await eventually { await server.transport.stats().openConnections == 1_000 })
        let held = processResources()
        let heldSockets = socketDescriptors(onPort: address.port)
        client.transport.shutdown()
        #expect(await eventually(5_000) { await server.transport.stats().openConnections == 0 })
        #expect(await eventually(2_000) { socketDescriptors(onPort: address.port) == 1 })  // the listener alone
        let after = processResources()
        print(
            """
            1,000 connections (both ends in this process): before rss=\(before.rssKiB) KiB fds=\(before.fds); \
            held rss=\(held.rssKiB) KiB fds=\(held.fds) (sockets on the port: \(heldSockets)); after close rss=\(after.rssKiB) KiB fds=\(after.fds)
            """)
        #expect(opened == 1_000)
        #expect(heldSockets == 2_001)  // 1,000 accepted, 1,000 connected, the listener
        server.transport.shutdown()
    }
}
