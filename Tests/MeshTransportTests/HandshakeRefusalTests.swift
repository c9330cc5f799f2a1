import Foundation
import MeshCore
import MeshCrypto
import MeshTestSupport
import MeshTransport
import MeshWire
import Testing

/// The "Bad input" cases of the issue: each refused within 1 s, with zero application frames
/// processed, a log line saying why, and no effect on an established connection.
@Suite(.serialized, .timeLimit(.minutes(1))) struct HandshakeRefusalTests {
    let pki: TestPKI
    let server: Node
    let address: SocketAddress
    /// A good peer, connected before the bad one, that must keep working.
    let bystander: Node
    let bystanderConnection: ConnectionID

    init() async throws {
        pki = try TestPKI()
        server = try Node.make(pki: pki, acceptedRoles: [.regional, .industry])
        address = try server.listen()
        bystander = try Node.make(pki: pki)
        (bystanderConnection, _) = try await bystander.transport.connect(to: address)
    }

    /// Runs `attempt`, then checks the refusal contract.
    func expectRefusal(logged text: String, _ attempt: () async throws -> Void) async throws {
        let start = Date()
        try await attempt()
        let logged = await eventually(1_000) { server.log.contains(text) }
        #expect(logged, "no log line containing '\(text)':\n\(server.log.all)")
        #expect(Date().timeIntervalSince(start) < 1.0)
        #expect(await server.transport.stats().framesDelivered == 0)
        // The bystander is unaffected.
        bystander.transport.send(.ping(Ping(nonce: 7, sentAt: .zero)), on: bystanderConnection)
        #expect(await eventually { await server.transport.stats().framesDelivered == 1 })
        bystander.transport.shutdown()
        server.transport.shutdown()
    }

    func expectConnectFails(_ client: Node, _ check: (TransportError) -> Bool = { _ in true }) async {
        do {
            _ = try await client.transport.connect(to: address)
            Issue.record("the connection was admitted")
        } catch {
            #expect(check(error), "unexpected error \(error)")
        }
        client.transport.shutdown()
    }

    @Test func validPeerIsWelcomedAndExchangesFrames() async throws {
        let client = try Node.make(pki: pki, role: .industry)
        let (id, peer) = try await client.transport.connect(to: address)
        #expect(peer.nodeID == server.nodeID)
        #expect(peer.certificate?.role == .regional)
        client.transport.send(.ping(Ping(nonce: 42, sentAt: .zero)), correlationID: 9, on: id)
        #expect(await eventually { server.sink.frames.contains { $0.header.correlationID == 9 } })
        #expect(await server.transport.stats().framesDelivered == 1)
        client.transport.shutdown()
        bystander.transport.shutdown()
        server.transport.shutdown()
    }

    @Test func clientWithoutCertificateIsRefusedUsingOpenSSLSClient() async throws {
        try await expectRefusal(logged: "peer did not return a certificate") {
            let status = try runOpenSSL(["s_client", "-connect", "127.0.0.1:\(address.port)", "-tls1_3"])
            #expect(status != -1)
        }
    }

    @Test func tls12ClientIsRefusedUsingOpenSSLSClient() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let identity = try pki.node()
        try identity.key.save(to: dir + "/node.key")
        try saveCertificates(identity.chain, to: dir + "/node.pem")
        try await expectRefusal(logged: "unsupported protocol") {
            let status = try runOpenSSL([
                "s_client", "-connect", "127.0.0.1:\(address.port)", "-tls1_2", "-cert", dir + "/node.pem", "-key",
                dir + "/node.key",
            ])
            #expect(status != 0)
        }
    }

    @Test func selfSignedClientIsRefused() async throws {
        let key = try Ed25519PrivateKey.generate()
        let cert = try CertificateAuthority.selfSignedLeaf(key: key, binding: try pki.binding(for: key))
        let client = try Node.make(pki: pki, identity: TLSIdentity(key: key, chain: [cert]))
        try await expectRefusal(logged: "self-signed") { await expectConnectFails(client) }
    }

    @Test func clientFromForeignRootIsRefused() async throws {
        let client = try Node.make(pki: pki, identity: try TestPKI().node())
        try await expectRefusal(logged: "not under the federation root") { await expectConnectFails(client) }
    }

    @Test func expiredClientIsRefused() async throws {
        let identity = try pki.node(validity: .days(1, from: Date().addingTimeInterval(-3 * 86_400)))
        let client = try Node.make(pki: pki, identity: identity)
        try await expectRefusal(logged: "expired") { await expectConnectFails(client) }
    }

    @Test func notYetValidClientIsRefused() async throws {
        let identity = try pki.node(validity: .days(1, from: Date().addingTimeInterval(3 * 86_400)))
        let client = try Node.make(pki: pki, identity: identity)
        try await expectRefusal(logged: "not valid before") { await expectConnectFails(client) }
    }

    @Test func revokedClientIsRefused() async throws {
        let identity = try pki.node()
        var list = RevocationList(
            issuer: try pki.root.publicKey.nodeID, serial: 1, issuedAt: .zero, nextUpdate: .zero,
            entries: [Revocation(node: identity.key.nodeID, certificateSerial: 0, revokedAt: .zero, reason: .keyCompromise)],
            signature: [])
        list.sign(with: pki.rootKey)
        try server.transport.applyRevocations(list)
        let client = try Node.make(pki: pki, identity: identity)
        try await expectRefusal(logged: "revoked") {
            await expectConnectFails(client) { if case .rejected(.revoked, _) = $0 { true } else { false } }
        }
    }

    @Test func anOlderRevocationListDoesNotUnrevokeAClient() async throws {
        let identity = try pki.node()
        func list(serial: UInt64, _ entries: [Revocation]) throws -> RevocationList {
            var list = RevocationList(
                issuer: try pki.root.publicKey.nodeID, serial: serial, issuedAt: .zero, nextUpdate: .zero, entries: entries,
                signature: [])
            list.sign(with: pki.rootKey)
            return list
        }
        try server.transport.applyRevocations(
            try list(
                serial: 2,
                [Revocation(node: identity.key.nodeID, certificateSerial: 0, revokedAt: .zero, reason: .keyCompromise)]))
        // A replayed list from before the revocation (serial 1, empty) is ignored, and says so.
        try server.transport.applyRevocations(try list(serial: 1, []))
        let client = try Node.make(pki: pki, identity: identity)
        try await expectRefusal(logged: "revoked") {
            await expectConnectFails(client) { if case .rejected(.revoked, _) = $0 { true } else { false } }
        }
        #expect(server.log.contains("revocation list 1 ignored: list 2 is in force"), "\(server.log.all)")
    }

    @Test func revocationListNotSignedByTheRootIsRefused() throws {
        var list = RevocationList(
            issuer: try pki.root.publicKey.nodeID, serial: 1, issuedAt: .zero, nextUpdate: .zero, entries: [], signature: [])
        list.sign(with: try Ed25519PrivateKey.generate())
        #expect(throws: TransportError.self) { try server.transport.applyRevocations(list) }
        bystander.transport.shutdown()
        server.transport.shutdown()
    }

    @Test func clientWhoseNodeIDIsNotItsKeyHashIsRefused() async throws {
        let identity = try pki.node(mismatchedNodeID: try Ed25519PrivateKey.generate().nodeID)
        let client = try Node.make(pki: pki, identity: identity)
        try await expectRefusal(logged: "nodeIDMismatch") {
            await expectConnectFails(client) { if case .rejected(.nodeIDMismatch, _) = $0 { true } else { false } }
        }
    }

    @Test func clientWithWrongRoleIsRefused() async throws {
        let client = try Node.make(pki: pki, role: .operatorConsole)
        try await expectRefusal(logged: "roleNotAllowed") {
            await expectConnectFails(client) { if case .rejected(.roleNotAllowed, _) = $0 { true } else { false } }
        }
    }

    @Test func plaintextClientOnTLSPortIsRefused() async throws {
        let client = try Node.make(pki: nil)
        try await expectRefusal(logged: "refused in the TLS handshake") { await expectConnectFails(client) }
    }
}

/// Runs `openssl` with standard input closed; returns its exit status.
func runOpenSSL(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
