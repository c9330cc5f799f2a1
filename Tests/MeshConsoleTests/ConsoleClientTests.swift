import Foundation
import MeshConsole
import MeshCore
import MeshCrypto
import MeshTransport
import MeshWire
import Synchronization
import Testing

/// A node's console side in this process: it answers STATUS, pages MEMBERS two rows at a time and
/// replays its events from the SUBSCRIBE's `fromSequence`, recording what it was asked.
final class FakeNode: Sendable {
    let transport: Mutex<Transport?> = Mutex(nil)
    let subscriptions = Mutex<[Subscribe]>([])
    let memberPagesAsked = Mutex(0)
    let nodeID: NodeID
    let members: [MemberRow]
    let events: [Event]

    init(members: Int, events: Int) throws {
        nodeID = try Ed25519PrivateKey.generate().nodeID
        let region = try Region("cn-north")
        self.members = try (0..<members).map { i in
            MemberRow(
                update: MemberUpdate(
                    node: NodeID(w0: UInt64(i + 1) << 48, w1: 0, w2: 0, w3: 0),
                    address: NetAddress(host: "127.0.0.1", port: UInt16(7400 + i)), role: .regional, region: region,
                    incarnation: 1, status: .alive, name: try NodeName("node-\(i)")), sinceChange: .seconds(1))
        }
        self.events = (1...UInt64(events)).map {
            Event(
                sequence: $0, at: MeshInstant(milliseconds: 1_000 * $0), kind: .lifecycle, severity: .info, subject: "s",
                detail: "event \($0)")
        }
    }

    /// Listens on 127.0.0.1, port 0 (plaintext); returns `HOST:PORT`.
    func start() throws -> String {
        let configuration = TransportConfiguration(
            identity: LocalIdentity(nodeID: nodeID, role: .regional, region: try Region("cn-north")), tls: nil,
            allowPlaintext: true)
        let transport = try Transport(configuration: configuration, logger: .silent) { [self] in self.handle($0) }
        self.transport.withLock { $0 = transport }
        let address = try transport.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        return "127.0.0.1:\(address.port)"
    }

    func stop() { transport.withLock { $0 }?.shutdown() }

    func handle(_ event: TransportEvent) {
        guard case .frame(let connection, let message, let correlationID, _) = event,
            let transport = transport.withLock({ $0 })
        else { return }
        switch message {
        case .membersRequest(let request):
            memberPagesAsked.withLock { $0 += 1 }
            let rest = members.filter { request.after == nil || $0.update.node > request.after! }
            let page = Members(members: Array(rest.prefix(2)), more: rest.count > 2)
            transport.send(.members(page), correlationID: correlationID, on: connection, respondsToRequest: true)
        case .subscribe(let subscribe):
            subscriptions.withLock { $0.append(subscribe) }
            for e in events where subscribe.fromSequence != 0 && e.sequence >= subscribe.fromSequence {
                transport.send(.event(e), on: connection)
            }
        default:
            return
        }
    }
}

/// The console client against a node in this process: paging, subscribing with replay.
@Suite("console client", .serialized, .timeLimit(.minutes(1)))
struct ConsoleClientTests {
    @Test func membersFollowsEveryPageUntilTheNodeSaysThereIsNoMore() async throws {
        let node = try FakeNode(members: 5, events: 1)
        let address = try node.start()
        defer { node.stop() }
        let client = try await ConsoleClient.connect(to: address, credentials: .plaintext)
        defer { client.close() }
        let rows = try await client.members()
        #expect(rows.map(\.update.name?.name) == ["node-0", "node-1", "node-2", "node-3", "node-4"])
        #expect(node.memberPagesAsked.withLock { $0 } == 3)
    }

    @Test func aSubscriptionReplaysFromTheSequenceAskedFor() async throws {
        let node = try FakeNode(members: 1, events: 6)
        let address = try node.start()
        defer { node.stop() }
        let client = try await ConsoleClient.connect(to: address, credentials: .plaintext)
        defer { client.close() }
        var console = LiveConsole(address: address, now: MeshInstant(milliseconds: 0))
        for sequence: UInt64 in 1...3 { _ = console.handle(.event(node.events[Int(sequence) - 1])) }
        let wanted = console.subscription
        let stream = client.subscribe(kinds: wanted.kinds, fromSequence: wanted.fromSequence)
        var replayed: [UInt64] = []
        for await event in stream {
            replayed.append(event.sequence)
            if event.sequence == 6 { break }
        }
        #expect(replayed == [4, 5, 6])
        #expect(node.subscriptions.withLock { $0 } == [Subscribe(kinds: wanted.kinds, fromSequence: 4)])
    }

    @Test func aNodeThatIsNotThereIsNamedWithWhatToCheck() async throws {
        await #expect {
            _ = try await ConsoleClient.connect(to: "127.0.0.1:1", credentials: .plaintext)
        } throws: { error in
            "\(error)".contains("cannot reach a node at 127.0.0.1:1")
        }
    }
}
