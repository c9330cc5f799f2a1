import MeshCore

@testable import MeshMembership

/// Small fixtures for driving a `Membership` core by hand.
enum Fixture {
    static func id(_ n: UInt64) -> NodeID { NodeID(w0: n, w1: 0, w2: 0, w3: 0) }

    static func update(_ n: UInt64, incarnation: UInt64 = 0, status: MemberStatus = .alive) -> MemberUpdate {
        MemberUpdate(
            node: id(n), address: NetAddress(host: "10.0.0.\(n)", port: 7946), role: .industry,
            region: try! Region("cn-east"), incarnation: incarnation, status: status)
    }

    static func at(_ ms: UInt64) -> MeshInstant { MeshInstant(milliseconds: ms) }

    /// The ComputeMesh preset with the suspicion bounds these tests' arithmetic is written in:
    /// floor 1 · log10 n probe periods (3 s at n = 1,000), ceiling 9 × the floor (27 s). The tests
    /// check mechanisms (confirmations, health stretching, strong signals), not the preset's tuning,
    /// which the simulator's detection scenario measures.
    static let config: MembershipConfig = {
        var config = MembershipConfig.computeMesh
        config.suspicionMinMultiplier = 1
        config.suspicionMaxMultiplier = 9
        return config
    }()

    /// A core for node 1 that knows nodes 2...`members`.
    static func core(members: UInt64, config: MembershipConfig = Fixture.config) -> Membership {
        Membership(me: update(1), config: config, initialMembers: (2...Swift.max(members, 2)).map { update($0) }, now: .zero)
    }
}

extension [MembershipDirective] {
    /// The messages sent, with their recipients.
    var sent: [(MembershipMessage, NodeID)] {
        compactMap {
            if case .send(let message, let to, _) = $0 { return (message, to) }
            return nil
        }
    }

    var probes: [(target: NodeID, updates: [MemberUpdate])] {
        sent.compactMap {
            if case .probe(let p) = $0.0 { return (p.target, p.updates) }
            return nil
        }
    }

    var indirectProbes: [(helper: NodeID, target: NodeID)] {
        sent.compactMap {
            if case .indirectProbe(let i) = $0.0 { return ($0.1, i.target) }
            return nil
        }
    }

    var changes: [MemberUpdate] {
        compactMap {
            if case .memberChanged(let update, _) = $0 { return update }
            return nil
        }
    }

    var scheduled: MeshInstant? {
        for directive in reversed() { if case .scheduleTick(let at) = directive { return at } }
        return nil
    }
}
