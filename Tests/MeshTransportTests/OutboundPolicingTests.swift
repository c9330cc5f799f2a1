import Foundation
import Glibc
import MeshCore
import MeshCrypto
import MeshTestSupport
import MeshTransport
import MeshWire
import Testing

/// The connecting side's defences: revocations cut links we opened and refuse servers we would
/// open, and a server that sends malformed frames is cut off.
@Suite(.serialized, .timeLimit(.minutes(1))) struct OutboundPolicingTests {
    static func revocationList(_ pki: TestPKI, _ entries: [Revocation]) throws -> RevocationList {
        var list = RevocationList(
            issuer: try pki.root.publicKey.nodeID, serial: 1, issuedAt: .zero, nextUpdate: .zero, entries: entries,
            signature: [])
        list.sign(with: pki.rootKey)
        return list
    }

    @Test func revocationClosesALinkWeOpenedToTheRevokedServer() async throws {
        let pki = try TestPKI()
        let server = try Node.make(pki: pki)
        let address = try server.listen()
        let client = try Node.make(pki: pki)
        let (id, _) = try await client.transport.connect(to: address)
        client.transport.send(.ping(Ping(nonce: 1, sentAt: .zero)), on: id)
        #expect(await eventually { await server.transport.stats().framesDelivered == 1 })
        let list = try Self.revocationList(
            pki, [Revocation(node: server.nodeID, certificateSerial: 0, revokedAt: .zero, reason: .keyCompromise)])
        try client.transport.applyRevocations(list)
        #expect(await eventually { client.sink.closedReasons.count == 1 }, "\(client.log.all)")
        #expect(client.sink.closedReasons.first?.contains("revoked") == true)
        #expect(client.log.contains("revoked"))
        #expect(await client.transport.stats().openConnections == 0)
        client.transport.shutdown()
        server.transport.shutdown()
    }

    @Test func revocationByCertificateSerialClosesALinkWeOpened() async throws {
        let pki = try TestPKI()
        let server = try Node.make(pki: pki)
        let address = try server.listen()
        let client = try Node.make(pki: pki)
        _ = try await client.transport.connect(to: address)
        let serial = try #require(server.identity?.chain.first?.serial)
        // Listed under another NodeID: only the serial matches the server's certificate.
        let list = try Self.revocationList(
            pki,
            [
                Revocation(
                    node: try Ed25519PrivateKey.generate().nodeID, certificateSerial: serial, revokedAt: .zero,
                    reason: .keyCompromise)
            ])
        try client.transport.applyRevocations(list)
        #expect(await eventually { client.sink.closedReasons.count == 1 }, "\(client.log.all)")
        #expect(client.log.contains("certificate is revoked"))
        client.transport.shutdown()
        server.transport.shutdown()
    }

    @Test func connectRefusesAServerWhoseCertificateIsRevoked() async throws {
        let pki = try TestPKI()
        let server = try Node.make(pki: pki)
        let address = try server.listen()
        let client = try Node.make(pki: pki)
        let list = try Self.revocationList(
            pki, [Revocation(node: server.nodeID, certificateSerial: 0, revokedAt: .zero, reason: .operatorDeadmitted)])
        try client.transport.applyRevocations(list)
        let start = Date()
        do {
            _ = try await client.transport.connect(to: address)
            Issue.record("connected to a revoked server")
        } catch {
            #expect("\(error)".contains("revoked"), "unexpected error \(error)")
        }
        #expect(Date().timeIntervalSince(start) < 1.0)
        #expect(client.log.contains("the server's certificate is refused"), "\(client.log.all)")
        #expect(await server.transport.stats().framesDelivered == 0)
        #expect(await client.transport.stats().openConnections == 0)
        client.transport.shutdown()
        server.transport.shutdown()
    }

    @Test func malformedFramesFromAServerWeConnectedToCloseTheLink() async throws {
        let fake = try FakeServer()
        let client = try Node.make(pki: nil)
        let welcome = try FrameEncoder.frame(
            .welcome(
                Welcome(
                    nodeID: try Ed25519PrivateKey.generate().nodeID, role: .regional, region: try Region("cn-east"),
                    maxFrameBytes: UInt32(WireLimits.defaultMaxFrameBytes), features: .all, serverTime: .zero,
                    incarnation: 1)),
            correlationID: 1)
        // A PING whose body stops after its first byte: the frame is whole, the body is not.
        var malformed = try FrameEncoder.frame(.ping(Ping(nonce: 1, sentAt: .zero)))
        malformed.removeSubrange(FrameHeader.bodyOffset + 1..<malformed.count)
        let length = UInt32(malformed.count - 4)
        malformed.replaceSubrange(
            0..<4, with: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        fake.serveOnce(reply: Preface().bytes + welcome, then: malformed)
        let (_, _) = try await client.transport.connect(to: SocketAddress(host: "127.0.0.1", port: fake.port))
        #expect(await eventually { client.sink.closedReasons.count == 1 }, "\(client.log.all)")
        #expect(client.log.contains("refused a frame"), "\(client.log.all)")
        #expect(client.sink.frames.isEmpty)
        #expect(await client.transport.stats().refusedFrames == 1)
        #expect(await client.transport.stats().openConnections == 0)
        // The client told the server why, in an ERROR frame.
        let received = fake.received()
        #expect(decodeFrames(received).contains { if case .error = $0 { true } else { false } })
        client.transport.shutdown()
    }
}

/// A hand-made plaintext server: accepts one connection, answers the client's preface and HELLO
/// with `reply`, then sends `then`, and records what the client sends until it closes.
final class FakeServer: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private var bytes: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && Glibc.listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        if !ok { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: a.sin_port)
    }

    deinit { Glibc.close(fd) }

    func serveOnce(reply: [UInt8], then: [UInt8]) {
        let listener = fd
        Thread.detachNewThread { [self] in
            let connection = accept(listener, nil, nil)
            defer {
                Glibc.close(connection)
                done.signal()
            }
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            // The client's preface and HELLO arrive first.
            let n = recv(connection, &buffer, buffer.count, 0)
            if n <= 0 { return }
            _ = (reply + then).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var got: [UInt8] = []
            while true {
                let m = recv(connection, &buffer, buffer.count, 0)
                if m < 0 && errno == EINTR { continue }
                if m <= 0 { break }
                got += buffer[0..<m]
            }
            bytes = got
        }
    }

    /// What the client sent after its HELLO, once it closed (or after 3 s).
    func received() -> [UInt8] {
        _ = done.wait(timeout: .now() + 5)
        return Preface().bytes + bytes
    }
}
