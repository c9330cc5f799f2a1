import MeshCore
import MeshWire
import Testing

@testable import MeshNode

/// SPEC §6.7.11: the replay buffer, its bound, and what a console gets from before it.
@Suite("Event stream")
struct EventStreamTests {
    func event(_ kind: EventKind) -> Event {
        Event(sequence: 0, at: .zero, kind: kind, severity: .info, subject: "s", detail: "d")
    }

    @Test func aSubscriptionFromBeforeTheBufferReplaysFromTheOldestKeptEvent() {
        var stream = EventStream(capacity: 3)
        for kind in [EventKind.lifecycle, .inventory, .placement, .inventory, .placement] { _ = stream.publish(event(kind)) }
        let all = EventKind.allCases.reduce(UInt32(0)) { $0 | $1.mask }
        #expect(stream.subscribe(SessionID(1), kinds: all, fromSequence: 1).map(\.sequence) == [3, 4, 5])
        #expect(stream.subscribe(SessionID(1), kinds: EventKind.inventory.mask, fromSequence: 1).map(\.sequence) == [4])
        #expect(stream.subscribe(SessionID(1), kinds: all, fromSequence: 6).isEmpty)
        #expect(stream.subscribe(SessionID(1), kinds: all, fromSequence: 0).isEmpty)
    }

    @Test func newEventsGoOnlyToSessionsSubscribedToTheirKind() {
        var stream = EventStream(capacity: 8)
        _ = stream.subscribe(SessionID(1), kinds: EventKind.placement.mask, fromSequence: 0)
        _ = stream.subscribe(SessionID(2), kinds: EventKind.inventory.mask | EventKind.placement.mask, fromSequence: 0)
        #expect(stream.publish(event(.inventory)).1 == [SessionID(2)])
        #expect(stream.publish(event(.placement)).1 == [SessionID(1), SessionID(2)])
        #expect(stream.publish(event(.membership)).1.isEmpty)
    }
}

/// SPEC §6.3.6: PING is answered on its own link, echoing its correlation ID.
@Suite("Link-level PING")
struct LinkPingTests {
    @Test func pingIsAnsweredOnItsLinkWithItsCorrelationID() throws {
        let me = NodeIdentity(
            node: NodeID(w0: 1, w1: 0, w2: 0, w3: 0), role: .regional, region: try Region("cn-north"),
            address: NetAddress(host: "127.0.0.1", port: 1))
        var table = LinkTable(identity: me, ownAddresses: [])
        let peer = PeerCredentials(node: NodeID(w0: 2, w1: 0, w2: 0, w3: 0), role: .industry, region: try Region("cn-north"))
        _ = table.opened(LinkID(7), peer: peer, listenAddress: nil, incarnation: 1, inbound: true)
        let ping = Ping(nonce: 5, sentAt: MeshInstant(milliseconds: 9))
        #expect(
            table.pong(ping, correlationID: 11, on: LinkID(7)) == [
                .send(
                    .pong(Pong(nonce: 5, sentAt: MeshInstant(milliseconds: 9))), correlationID: 11, on: LinkID(7),
                    respondsToRequest: true)
            ])
        #expect(table.pong(ping, correlationID: 11, on: LinkID(8)).isEmpty)
    }

    @Test func aDialRefusedAsDuplicateIsNoFailureOfThePeer() throws {
        let me = NodeIdentity(
            node: NodeID(w0: 1, w1: 0, w2: 0, w3: 0), role: .regional, region: try Region("cn-north"),
            address: NetAddress(host: "127.0.0.1", port: 1))
        var table = LinkTable(identity: me, ownAddresses: [])
        let peer = NodeID(w0: 2, w1: 0, w2: 0, w3: 0)
        let address = NetAddress(host: "127.0.0.1", port: 2)
        let ping = WireMessage.ping(Ping(nonce: 1, sentAt: .zero))
        #expect(table.route(.send(ping, to: peer, address: address, lane: .bulk)) == [.dial(address)])
        // The peer answered REJECT duplicate-node: the core is not told the peer is unreachable.
        _ = table.dialDuplicate(address)
        #expect(table.dialFailed(address, .timeout).isEmpty)
    }
}
