public import MeshCore

/// A liveness message the core wants sent: one of the liveness messages of the wire (defined
/// once, in MeshCore), so the node hands it to the codec as it is.
public enum MembershipMessage: Hashable, Sendable {
    /// Are you alive? `target` is the receiver.
    case probe(Probe)
    /// `target` is alive at `incarnation` (sent by the target, or relayed by a helper).
    case probeAck(ProbeAck)
    /// Please probe `target` for `from` and relay its ack, or send a nack if it stays silent.
    case indirectProbe(IndirectProbe)
    /// Lifeguard: `helper` tried `target` and heard nothing in time.
    case nack(Nack)
}

/// What the membership core asks its shell to do. Exhaustive: shells switch without `default:`.
public enum MembershipDirective: Hashable, Sendable {
    /// Send `message` to `to`, over the existing link when there is one, else to `address`.
    case send(MembershipMessage, to: NodeID, address: NetAddress?)
    /// Open a link to a seed whose identity is not known yet; report it with
    /// ``Membership/onPeerConnected(_:now:rng:)``.
    case connect(NetAddress)
    /// Close links to a member declared dead or gone.
    case disconnect(NodeID)
    /// A member's status or incarnation changed in this node's view.
    case memberChanged(MemberUpdate, previous: MemberStatus?)
    /// Persist this node's own incarnation before acting on it, so a restart never goes back.
    case persistIncarnation(UInt64)
    /// Call ``Membership/onTick(now:rng:)`` at this instant (replaces any earlier request).
    case scheduleTick(at: MeshInstant)
}

/// Why a probe to a member failed at the transport, when the shell can tell.
public enum ProbeFailure: Hashable, Sendable {
    /// The peer's host answered and refused the connection: the process is gone (strong signal).
    case connectionRefused
    /// Nothing answered in time: the peer, the path or this node may be slow (weak signal).
    case timeout
}
