import MeshCore
import MeshNode
import MeshWire
import Testing

/// NodeCore driven directly: no network, no simulator.
@Suite("NodeCore")
struct NodeCoreTests {
    static func id(_ n: UInt64) -> NodeID { NodeID(w0: n, w1: 0, w2: 0, w3: 0) }
    static let region = try! Region("cn-north")

    static func member(_ n: UInt64, port: UInt16) -> MemberUpdate {
        MemberUpdate(
            node: id(n), address: NetAddress(host: "127.0.0.1", port: port), role: .regional, region: region, incarnation: 1,
            status: .alive)
    }

    static func core(_ n: UInt64, port: UInt16, rng: inout SeededRandom) -> NodeCore {
        NodeCore(me: member(n, port: port), config: NodeConfig(), now: .zero, rng: &rng)
    }

    @Test func aPeerThatConnectedIsProbedInTheLivenessLaneWithOurOwnUpdate() {
        var rng = SeededRandom(seed: 1)
        var a = Self.core(1, port: 7001, rng: &rng)
        let out = a.onPeerConnected(Self.member(2, port: 7002), now: .zero, rng: &rng)
        let probes = out.compactMap { d -> (Probe, Lane)? in
            if case .send(.probe(let p), to: Self.id(2), _, let lane) = d { return (p, lane) }
            return nil
        }
        #expect(probes.count == 1)
        #expect(probes.first?.1 == .liveness)
        #expect(probes.first?.0.updates.contains(a.me) == true)
        #expect(out.contains(.emit(.memberChanged(Self.member(2, port: 7002), previous: nil))))
    }

    @Test func aProbeFromAStrangerTeachesItsAddressAndIsAcknowledged() {
        var rng = SeededRandom(seed: 2)
        var a = Self.core(1, port: 7001, rng: &rng)
        var b = Self.core(2, port: 7002, rng: &rng)
        let join = a.onPeerConnected(b.me, now: .zero, rng: &rng)
        guard case .send(let probe, _, _, _)? = join.first(where: { if case .send = $0 { true } else { false } }) else {
            Issue.record("no probe sent: \(join)")
            return
        }
        let answer = b.onMessage(probe, from: a.me.node, now: MeshInstant(milliseconds: 5), rng: &rng)
        #expect(b.membership.member(a.me.node)?.address == a.me.address)
        #expect(
            answer.contains { d in
                if case .send(.probeAck, to: Self.id(1), _, .liveness) = d { return true }
                return false
            })
    }

    @Test func messagesOutsideTheCoresAreReportedAsIgnoredNotDropped() {
        var rng = SeededRandom(seed: 3)
        var a = Self.core(1, port: 7001, rng: &rng)
        let out = a.onMessage(.ping(Ping(nonce: 7, sentAt: .zero)), from: Self.id(9), now: .zero, rng: &rng)
        #expect(out.contains(.emit(.ignored(.ping, from: Self.id(9)))))
    }
}
