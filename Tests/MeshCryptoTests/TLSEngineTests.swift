import Foundation
import MeshCore
import MeshTestSupport
import Testing

@testable import MeshCrypto

/// Pumps bytes between two engines until neither has anything to send.
func pump(_ a: TLSEngine, _ b: TLSEngine, rounds: Int = 20) throws {
    for _ in 0..<rounds {
        var ab: [UInt8] = []
        var ba: [UInt8] = []
        a.takeCiphertext(into: &ab)
        b.takeCiphertext(into: &ba)
        if ab.isEmpty && ba.isEmpty && a.isEstablished && b.isEstablished { return }
        b.receiveCiphertext(ab)
        a.receiveCiphertext(ba)
        try a.advance()
        try b.advance()
    }
}

@Suite struct TLSEngineTests {
    @Test func twoEnginesHandshakeAndExchangeBytesWithoutSockets() throws {
        let pki = try TestPKI()
        let server = TLSEngine(context: try TLSContext(identity: try pki.node(), trust: try pki.trust, isServer: true))
        let clientIdentity = try pki.node(role: .industry)
        let client = TLSEngine(context: try TLSContext(identity: clientIdentity, trust: try pki.trust, isServer: false))
        try client.advance()
        try pump(client, server)
        #expect(client.isEstablished && server.isEstablished)
        #expect(server.protocolVersion == "TLSv1.3")
        #expect(server.cipherSuite == "TLS_AES_128_GCM_SHA256" && client.cipherSuite == server.cipherSuite)
        #expect(server.peer?.binding.nodeID == clientIdentity.key.nodeID)
        #expect(server.peer?.binding.role == .industry)
        #expect(server.peerRefusal == nil)

        let message = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.writePlaintext(message)
        var wire: [UInt8] = []
        client.takeCiphertext(into: &wire)
        var received: [UInt8] = []
        for byte in wire {  // one byte at a time
            server.receiveCiphertext([byte])
            try server.readPlaintext(into: &received)
        }
        #expect(received == message)
    }

    @Test func lentCiphertextSplitAnywhereIsDecryptedWholeAndTheLenderMayReuseItsBuffer() throws {
        let pki = try TestPKI()
        let server = TLSEngine(context: try TLSContext(identity: try pki.node(), trust: try pki.trust, isServer: true))
        let client = TLSEngine(
            context: try TLSContext(identity: try pki.node(role: .industry), trust: try pki.trust, isServer: false))
        try client.advance()
        try pump(client, server)
        #expect(client.isEstablished && server.isEstablished)

        // Several records (16 KiB each at most), cut into pieces of uneven sizes that straddle
        // record headers and bodies; each piece is lent from one reused buffer, overwritten
        // between calls, so a byte the engine failed to keep would corrupt the output.
        let message = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        try client.writePlaintext(message)
        var wire: [UInt8] = []
        client.takeCiphertext(into: &wire)
        #expect(wire.count > message.count)
        var received: [UInt8] = []
        var lendingBuffer = [UInt8](repeating: 0, count: 5_000)
        var offset = 0
        var pieceSizes = [1, 4, 5, 6, 17, 4_999, 3, 5_000, 2_500]
        while offset < wire.count {
            let size = min(pieceSizes.first ?? 4_321, wire.count - offset)
            if !pieceSizes.isEmpty { pieceSizes.removeFirst() }
            for i in 0..<size { lendingBuffer[i] = wire[offset + i] }
            try lendingBuffer.withUnsafeBytes { whole in
                try server.readPlaintext(ciphertext: UnsafeRawBufferPointer(rebasing: whole[0..<size])) {
                    received.append(contentsOf: $0)
                }
            }
            for i in 0..<lendingBuffer.count { lendingBuffer[i] = 0xEE }
            offset += size
        }
        #expect(received == message)
        #expect(server.pendingCiphertextCount == 0)
    }

    @Test func serverRefusesClientFromForeignRootDuringHandshake() throws {
        let pki = try TestPKI()
        let foreign = try TestPKI()
        let server = TLSEngine(context: try TLSContext(identity: try pki.node(), trust: try pki.trust, isServer: true))
        let client = TLSEngine(context: try TLSContext(identity: try foreign.node(), trust: try pki.trust, isServer: false))
        try client.advance()
        var failure: TLSError? = nil
        do { try pump(client, server) } catch { failure = error as? TLSError }
        guard case .handshakeFailed(_, let cert?) = failure, case .foreignRoot = cert else {
            Issue.record("expected a foreign-root refusal, got \(String(describing: failure))")
            return
        }
    }

    @Test func bindingRefusalIsReportedAfterTheHandshake() throws {
        let pki = try TestPKI()
        let server = TLSEngine(
            context: try TLSContext(identity: try pki.node(), trust: try pki.trust, isServer: true), allowedPeerRoles: [.regional]
        )
        let client = TLSEngine(
            context: try TLSContext(identity: try pki.node(role: .industry), trust: try pki.trust, isServer: false))
        try client.advance()
        try pump(client, server)
        #expect(server.peerRefusal == .wrongRole(certified: .industry, allowed: [.regional]))
        #expect(server.peer == nil)
    }
}
