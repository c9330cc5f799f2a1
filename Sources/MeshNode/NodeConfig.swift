public import MeshGossip
public import MeshMembership
public import MeshPlacement

/// Configuration of a node: its dissemination protocols, its placement cores, and the node's own
/// timings and limits.
public struct NodeConfig: Sendable {
    public var membership: MembershipConfig
    public var gossip: GossipConfig
    /// How often an anti-entropy digest goes to one random member of the region.
    public var digestIntervalMilliseconds: UInt64
    /// How often newly learned records are pushed.
    public var pushIntervalMilliseconds: UInt64
    /// How many members each push reaches.
    public var pushFanout: Int
    /// The most bytes in one push.
    public var maxPushBytes: Int
    /// How long a digest exchange stays open (answers after that are treated as pushes).
    public var exchangeTimeoutMilliseconds: UInt64
    /// The most digest exchanges open at once.
    public var maxOpenExchanges: Int
    /// How often a regional node sends region summaries across the backbone.
    public var summaryIntervalMilliseconds: UInt64
    /// How long a summary stays valid.
    public var summaryValidityMilliseconds: UInt64
    /// The placement cores' limits and timings.
    public var placement: PlacementConfig
    /// How long the inventory records this node issues stay valid.
    public var recordValidityMilliseconds: UInt64
    /// How often this node issues its pools' records again (well within their validity).
    public var refreshIntervalMilliseconds: UInt64
    /// How often a configured backbone address without a link is dialled again.
    public var backboneRedialMilliseconds: UInt64
    /// The most rows in one MEMBERS, INVENTORY or PLACEMENTS answer.
    public var maxConsoleRows: Int
    /// The most console submissions (PLACE, RENEW, RELEASE) waiting for the mesh at once.
    public var maxConsoleWaits: Int
    /// How long past a placement's deadline a console submission may wait before the node answers
    /// it itself (a bound on "every PLACE is answered", above what the requester guarantees).
    public var consoleGraceMilliseconds: UInt64
    /// How long a relayed RENEW or RELEASE waits for the owner's LEASE_STATE.
    public var relayTimeoutMilliseconds: UInt64
    /// The most lease routes kept (a node that passed a placed outcome on relays later messages
    /// about its leases toward their owner).
    public var maxLeaseRoutes: Int
    /// The most events kept for SUBSCRIBE's replay.
    public var maxEventsKept: Int
    /// How long a stopping node waits for placements in flight before it stops anyway.
    public var maxDrainMilliseconds: UInt64
    /// How many incarnations a node reserves each time it persists one: the durable value is a
    /// ceiling, and a refutation below it needs no commit before its frames leave. A restart
    /// starts above the ceiling, so the incarnation still never goes back.
    public var incarnationBlock: UInt64
    /// How long a regional node declared dead stays a home for its keys: a home that restarts
    /// within this time answers retries from its durable memory; after it, its keys move to
    /// another regional node (SPEC §6.6.12).
    public var homeGraceMilliseconds: UInt64
    /// How long a node that joins an existing mesh (it has seeds or known members) refuses
    /// placements as `overloaded` after it starts: until then its member table and pool view are
    /// still filling, so it could neither pick a key's home as its peers do nor see the pools a
    /// decision needs (a final "no candidates" from an empty view would be wrong).
    public var warmupMilliseconds: UInt64
    /// Explanations (kept for WHY after a restart) wait to ride along with the next commit the node
    /// makes anyway; with none, they are committed on their own once this many wait or the oldest
    /// has waited ``explanationFlushMilliseconds``. Nothing waits for them, and a commit of their
    /// own would hold every answer behind it and, on a failing disk, halt the node for a record
    /// nobody was promised: a crash loses at most these.
    public var explanationFlushCount: Int
    public var explanationFlushMilliseconds: UInt64

    public init(
        membership: MembershipConfig = .computeMesh, gossip: GossipConfig = .computeMesh,
        digestIntervalMilliseconds: UInt64 = 1000, pushIntervalMilliseconds: UInt64 = 200, pushFanout: Int = 1,
        maxPushBytes: Int = 16 << 10, exchangeTimeoutMilliseconds: UInt64 = 5000, maxOpenExchanges: Int = 64,
        summaryIntervalMilliseconds: UInt64 = 10_000, summaryValidityMilliseconds: UInt64 = 120_000,
        // Owners publish availability on every ledger change and re-issue it every 20 s, so an old
        // record is an unchanged one, not a lagging one: spilled requests may trust any live record.
        placement: PlacementConfig = PlacementConfig(spilloverFreshMilliseconds: 60_000),
        recordValidityMilliseconds: UInt64 = 60_000,
        refreshIntervalMilliseconds: UInt64 = 20_000, backboneRedialMilliseconds: UInt64 = 5_000, maxConsoleRows: Int = 256,
        maxConsoleWaits: Int = 4_096, consoleGraceMilliseconds: UInt64 = 5_000, relayTimeoutMilliseconds: UInt64 = 3_000,
        maxLeaseRoutes: Int = 200_000, maxEventsKept: Int = 1_024, maxDrainMilliseconds: UInt64 = 10_000,
        incarnationBlock: UInt64 = 1_024, homeGraceMilliseconds: UInt64 = 60_000, warmupMilliseconds: UInt64 = 2_000,
        explanationFlushCount: Int = 64, explanationFlushMilliseconds: UInt64 = 1_000
    ) {
        precondition(explanationFlushCount > 0, "explanationFlushCount must be positive")
        self.membership = membership
        self.gossip = gossip
        self.digestIntervalMilliseconds = digestIntervalMilliseconds
        self.pushIntervalMilliseconds = pushIntervalMilliseconds
        self.pushFanout = pushFanout
        self.maxPushBytes = maxPushBytes
        self.exchangeTimeoutMilliseconds = exchangeTimeoutMilliseconds
        self.maxOpenExchanges = maxOpenExchanges
        self.summaryIntervalMilliseconds = summaryIntervalMilliseconds
        self.summaryValidityMilliseconds = summaryValidityMilliseconds
        self.placement = placement
        self.recordValidityMilliseconds = recordValidityMilliseconds
        self.refreshIntervalMilliseconds = refreshIntervalMilliseconds
        self.backboneRedialMilliseconds = backboneRedialMilliseconds
        self.maxConsoleRows = maxConsoleRows
        self.maxConsoleWaits = maxConsoleWaits
        self.consoleGraceMilliseconds = consoleGraceMilliseconds
        self.relayTimeoutMilliseconds = relayTimeoutMilliseconds
        self.maxLeaseRoutes = maxLeaseRoutes
        self.maxEventsKept = maxEventsKept
        self.maxDrainMilliseconds = maxDrainMilliseconds
        self.incarnationBlock = incarnationBlock
        self.homeGraceMilliseconds = homeGraceMilliseconds
        self.warmupMilliseconds = warmupMilliseconds
        self.explanationFlushCount = explanationFlushCount
        self.explanationFlushMilliseconds = explanationFlushMilliseconds
    }
}
