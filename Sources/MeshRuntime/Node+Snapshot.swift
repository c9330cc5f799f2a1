import Foundation
public import MeshCore
public import MeshMembership
public import MeshNode
public import MeshPlacement

/// A consistent view of a running node's state, taken on its loop.
public struct NodeSnapshot: Sendable {
    /// Nodes with an open link, in node order.
    public var linkedPeers: [NodeID]
    /// Every member this node knows (itself excluded), in node order.
    public var members: [MemberUpdate]
    /// The serial of the revocation list in force (0: none).
    public var revocationSerial: UInt64
    /// Regional nodes of other regions this node exchanges summaries with.
    public var backbone: [NodeID]
    /// Pools this node owns.
    public var pools: [ComputeID]
    public var holds: Int
    public var leases: Int
    /// Origins whose records the inventory store holds.
    public var inventoryOrigins: Int
    /// Pools in the placement view (own and gossiped, live or not).
    public var viewPools: Int
    /// The requester's counters.
    public var requester: PlacementRequester.Counters
    public var inFlight: Int
    /// Placements whose answers the node keeps in doubt for a retry.
    public var inDoubt: Int
    public var abandonedLeases: Int
    /// The node core's counters (persist batches, answers held for commits, relays).
    public var core: NodeCore.Counters
    /// Durable transactions and the batches they carried (group commit).
    public var ledgerCommits: Int
    public var ledgerBatches: Int
    /// How long durable transactions took.
    public var commitSeconds: LatencyHistogram
    /// How long this node's membership probes took to be acknowledged (direct and indirect).
    public var probeRoundTrips: ProbeRoundTrips
    /// Whether the node is ready for traffic, and if not, why (`GET /readyz`).
    public var notReadyBecause: String?
    public var mailboxDepth: Int
    public var mailboxDropped: Int

    public var placed: Int { requester.placed }
    public var refused: Int { requester.refused }
    public var quoteRounds: Int { requester.quoteRounds }
    public var forwardsSent: Int { requester.forwardsSent }
}

extension Node {
    func snapshotNow() -> NodeSnapshot {
        let stats = store.stats
        return NodeSnapshot(
            linkedPeers: links.linkedNodes, members: core.gossip.membership.allMembers,
            revocationSerial: core.revocations?.serial ?? 0, backbone: core.gossip.backbone.map(\.node).sorted(),
            pools: core.owner.poolIDs, holds: core.owner.holdCount, leases: core.owner.leaseCount,
            inventoryOrigins: core.gossip.inventory.originCount, viewPools: core.viewPoolCount,
            requester: core.requester.counters,
            inFlight: core.requester.inFlightCount, inDoubt: core.requester.inDoubtCount,
            abandonedLeases: core.owner.abandonedLeases, core: core.counters, ledgerCommits: stats.transactions,
            ledgerBatches: stats.batches, commitSeconds: stats.commitSeconds,
            probeRoundTrips: core.gossip.membership.probeRoundTrips, notReadyBecause: notReadyBecause(stats),
            mailboxDepth: mailbox.depth, mailboxDropped: mailbox.dropped)
    }
}

extension Node {
    /// Why the node should not take traffic yet (nil: ready): its ledger failed, it is stopping,
    /// or it was given seeds or a backbone and has reached none of them.
    func notReadyBecause(_ stats: StoreWorker.Stats) -> String? {
        if stats.failed { return "the ledger could not commit; the node is halting" }
        if draining || finished { return "the node is stopping" }
        let configured = configuration.seeds.count + configuration.backbone.count
        if configured > 0 && links.linkedNodes.isEmpty {
            return "none of the \(configured) configured seeds and backbone peers is reachable yet"
        }
        return nil
    }
}
