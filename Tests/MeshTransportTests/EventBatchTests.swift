import MeshCore
import MeshCrypto
import MeshTransport
import MeshWire
import Synchronization
import Testing

/// Owners that take events in batches (one call per loop iteration) see every event, in order,
/// in fewer calls than events.
@Suite(.serialized, .timeLimit(.minutes(1))) struct EventBatchTests {
    final class Batches: Sendable {
        let list = Mutex<[[TransportEvent]]>([])
        var handler: @Sendable ([TransportEvent]) -> Void { { [self] batch in list.withLock { $0.append(batch) } } }
        var nonces: [UInt64] {
            list.withLock { batches in
                batches.flatMap { $0 }.compactMap { if case .frame(_, .ping(let p), _, _) = $0 { p.nonce } else { nil } }
            }
        }
        /// Frames delivered with their raw bytes (only when `keepsFrameBytes` is on).
        var framesWithBytes: Int {
            list.withLock { batches in
                batches.flatMap { $0 }.filter { if case .frame(_, _, _, .some) = $0 { true } else { false } }.count
            }
        }
        var batchesWithFrames: Int {
            list.withLock { batches in
                batches.filter { $0.contains { if case .frame = $0 { true } else { false } } }.count
            }
        }
    }

    @Test func batchedOwnerReceivesEveryFrameInOrderInFewerCallsThanFrames() async throws {
        let batches = Batches()
        let key = try Ed25519PrivateKey.generate()
        let server = try Transport.batchingEvents(
            configuration: TransportConfiguration(
                identity: LocalIdentity(nodeID: key.nodeID, role: .regional, region: try Region("cn-east")), tls: nil,
                allowPlaintext: true),
            logger: .silent, onEventBatch: batches.handler)
        let address = try server.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        let client = try Node.make(pki: nil)
        let (id, _) = try await client.transport.connect(to: address)
        let count: UInt64 = 200
        client.transport.executeOnLoop {  // queued together, written together
            for nonce in 1...count { client.transport.send(.ping(Ping(nonce: nonce, sentAt: .zero)), on: id) }
        }
        #expect(await eventually { batches.nonces.count == Int(count) })
        #expect(batches.nonces == Array(1...count))
        #expect(batches.batchesWithFrames < Int(count))
        #expect(batches.framesWithBytes == 0, "raw bytes are kept only when the configuration asks for them")
        let first = batches.list.withLock { $0.first?.first }
        if case .opened = first {} else { Issue.record("the first event is \(String(describing: first)), not .opened") }
        client.transport.shutdown()
        #expect(
            await eventually {
                batches.list.withLock { $0.last?.contains { if case .closed = $0 { true } else { false } } ?? false }
            })
        server.shutdown()
    }
}
