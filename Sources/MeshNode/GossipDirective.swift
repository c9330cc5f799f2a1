public import MeshCore
public import MeshWire

/// Which queue a frame travels in. Liveness frames MUST NOT wait behind bulk gossip: a shell
/// either keeps two queues per link and drains ``liveness`` first, or two links.
public enum Lane: Hashable, Sendable {
    /// PROBE, PROBE_ACK, INDIRECT_PROBE, NACK: small and urgent.
    case liveness
    /// DIGEST, DELTA, REGION_SUMMARY: may be large and may wait.
    case bulk
}

/// Something the node wants kept across restarts.
public enum PersistItem: Hashable, Sendable {
    /// This node's incarnation: MUST be stored before frames carrying it are sent.
    case incarnation(UInt64)
    /// A record this node issued (its own inventory, to reissue after a restart).
    case ownRecord(InventoryRecord)
}

/// What the node reports to its owner (console subscribers, metrics).
public enum NodeEvent: Hashable, Sendable {
    /// A member's status or incarnation changed.
    case memberChanged(MemberUpdate, previous: MemberStatus?)
    /// New inventory records were stored.
    case recordsLearned(count: Int, from: NodeID)
    /// New region summaries were stored.
    case summariesLearned(count: Int)
    /// A peer sent something the node could not use (e.g. an unexpected message type).
    case ignored(MessageType, from: NodeID)
}

/// What ``GossipCore`` asks of the node around it. Exhaustive: callers switch without `default:`.
public enum GossipDirective: Hashable, Sendable {
    /// Send `message` to `to` (over the existing link, else to `address`) in `lane`.
    case send(WireMessage, to: NodeID, address: NetAddress?, lane: Lane)
    /// Open a link to an address whose node is not known yet (a seed).
    case connect(NetAddress)
    /// Close links to a node (declared dead or gone).
    case disconnect(NodeID)
    /// Persist before acting further.
    case persist(PersistItem)
    /// Report an event.
    case emit(NodeEvent)
    /// Call ``GossipCore/onTick(now:rng:)`` at this instant (replaces any earlier request).
    case scheduleTick(at: MeshInstant)
}
