public import MeshCore

/// The knobs of the liveness protocol, with presets for ComputeMesh and for the baselines it is
/// measured against in the same simulator runs.
///
/// Every duration is in milliseconds and every count is bounded: the core never keeps more than
/// ``maxMembers`` members, ``maxBroadcasts`` pending updates or ``maxHelpRequests`` indirect probes
/// it forwards for others.
public struct MembershipConfig: Hashable, Sendable {
    /// How often a member is probed (SWIM protocol period), before the local health multiplier.
    public var probeIntervalMilliseconds: UInt64
    /// How long a direct probe waits for its ack before indirect probes start.
    public var probeTimeoutMilliseconds: UInt64
    /// How many helpers relay an indirect probe (SWIM's k).
    public var indirectProbeCount: Int
    /// Whether the direct probe is sent once more when its timeout passes, beside the indirect
    /// probes (memberlist's fallback TCP ping): a single lost frame then no longer raises a
    /// suspicion, which under loss is most of the suspicion churn every member must gossip.
    public var directProbeRetry: Bool
    /// Lifeguard: when this node raises a suspicion from its own failed probe, it sends the
    /// suspicion to the member at once (an immediate buddy notice), so a slow but live member can
    /// refute before the deadlines run out. memberlist only attaches it to the next regular probe.
    public var immediateSuspectNotice: Bool
    /// Lifeguard: stretch the suspicion floor and ceiling by this node's local health multiplier.
    public var healthScaledSuspicion: Bool
    /// How often updates are pushed to ``gossipFanout`` random members when some are pending.
    public var gossipIntervalMilliseconds: UInt64
    /// How many members each gossip round reaches.
    public var gossipFanout: Int
    /// Whether acks carry piggybacked updates back (push-pull). memberlist's gossip is push-only.
    public var piggybackOnAcks: Bool
    /// Each update is sent `retransmitMultiplier · ⌈log10(n + 1)⌉` times (memberlist's formula).
    public var retransmitMultiplier: UInt64
    /// Pending suspicions are piggybacked only after every other pending fact (refutations, joins,
    /// deaths, leaves), each group least-sent first. Under loss, false suspicions are most of the
    /// churn; when they crowd the messages, the refutations that cancel them and every other event
    /// are sent too rarely and spread slowly (the cause of the 30 % loss tail, measured in the
    /// simulator). memberlist orders by transmissions only.
    public var suspicionsYield: Bool
    /// With ``suspicionsYield``: a *refresh* (a member's newer incarnation received by a node that
    /// held it alive with the same address, role and region) yields too. A refutation is news only
    /// to the nodes that hold the suspicion it answers; those send it first, everyone else when
    /// there is room. Under loss, refutations of suspicions that never spread are otherwise most
    /// of what every member must gossip to every other, a load that grows with n. On in
    /// ``computeMesh``; the baselines do not have it.
    public var refreshesYield: Bool
    /// The most updates piggybacked on one message (the wire allows 64).
    public var maxPiggybackedUpdates: Int
    /// Suspicion timeout floor: `suspicionMinMultiplier · max(1, log10 n) · probeInterval`
    /// (memberlist: 4, i.e. 12 s at n = 1,000). See ``healthScaledSuspicion``.
    public var suspicionMinMultiplier: Double
    /// Suspicion timeout ceiling, as a multiple of the floor (Lifeguard starts here).
    public var suspicionMaxMultiplier: UInt64
    /// Independent confirmations that shrink the suspicion timeout to its floor (Lifeguard's K).
    public var suspicionConfirmations: Int
    /// Enables Lifeguard: local health multiplier, nacks, dynamic suspicion and the buddy notice.
    /// Off gives plain SWIM with a fixed suspicion timeout (the floor).
    public var lifeguard: Bool
    /// The local health multiplier ranges over `0..<maxLocalHealth`.
    public var maxLocalHealth: Int
    /// How long a dead or left member is remembered, so that it cannot return at the same
    /// incarnation. Longer than any partition the deployment is meant to heal from.
    public var tombstoneMilliseconds: UInt64
    /// First delay between rejoin attempts to dead members or seeds; doubles on each failure.
    public var rejoinBaseMilliseconds: UInt64
    /// Largest delay between rejoin attempts.
    public var rejoinMaxMilliseconds: UInt64
    /// The most members (alive, suspect, and tombstones) the core keeps.
    public var maxMembers: Int
    /// The most pending updates awaiting retransmission.
    public var maxBroadcasts: Int
    /// The most indirect probes this node relays at once.
    public var maxHelpRequests: Int
    /// Anti-entropy for membership: each probe and ack also carries up to this many facts that
    /// changed within ``recentWindowMilliseconds``, whatever their retransmit count, so a node the
    /// epidemic missed still learns them from the members it talks to every second. News (a
    /// member joined, moved, died, left or came back) is drawn before churn (suspicions and their
    /// refutations), and keeps its slots even when the queue of pending updates would fill the
    /// message, so that the churn of a lossy network cannot crowd a real event out of the repeats
    /// before every member has it. 0 disables.
    public var recentRepeatCount: Int
    /// How long a change counts as recent.
    public var recentWindowMilliseconds: UInt64
    /// When a probe (or a gossip push, which travels as a probe) carries a suspicion or death that
    /// a newer fact here supersedes, the ack carries that newer fact first; when an ack carries
    /// one, a probe goes back with it (an ack has no answer of its own). A member that missed a
    /// refutation's epidemic (push gossip leaves about e^-(pushes per node) of the members out, and
    /// slow members, which gossip rarely, get few of the acks that carry the pull half) learns it
    /// the next time it sends its stale suspicion, instead of declaring a live member dead. A slow
    /// member that many probe can spend every transmission of a suspicion in its acks, so the
    /// answer to acks is needed as much as the answer to probes. Needs ``piggybackOnAcks``.
    /// memberlist has no such answer.
    public var correctsStaleFacts: Bool
    /// Lifeguard's confirmations need independent failed probes of the suspect, and plain
    /// round-robin probing reaches a given member about once per protocol period across the whole
    /// cluster, so the K-th confirmation of a crash comes about K periods after the first suspicion.
    /// With this set, a member that hears of a fresh suspicion (from another member) probes the
    /// suspect in its next period with probability `suspectProbeBoost / (n − 1)`: about this many
    /// extra independent probes per suspicion, whatever n (a bounded load on the suspect). A crashed
    /// member then collects its confirmations within about two periods; a live member gets more
    /// buddy notices (each probe carries the suspicion) and refutes sooner. 0 disables.
    public var suspectProbeBoost: Int

    /// Creates a configuration; start from a preset and change what you need.
    public init(
        probeIntervalMilliseconds: UInt64 = 1000, probeTimeoutMilliseconds: UInt64 = 500, indirectProbeCount: Int = 3,
        directProbeRetry: Bool = true, immediateSuspectNotice: Bool = true, healthScaledSuspicion: Bool = true,
        gossipIntervalMilliseconds: UInt64 = 200, gossipFanout: Int = 3, piggybackOnAcks: Bool = true,
        retransmitMultiplier: UInt64 = 4, suspicionsYield: Bool = true, maxPiggybackedUpdates: Int = 64,
        suspicionMinMultiplier: Double = 1.5,
        suspicionMaxMultiplier: UInt64 = 6, suspicionConfirmations: Int = 3, lifeguard: Bool = true,
        maxLocalHealth: Int = 8, tombstoneMilliseconds: UInt64 = 3_600_000, rejoinBaseMilliseconds: UInt64 = 2000,
        rejoinMaxMilliseconds: UInt64 = 30_000, maxMembers: Int = 65_536, maxBroadcasts: Int = 4096,
        maxHelpRequests: Int = 64, recentRepeatCount: Int = 2, recentWindowMilliseconds: UInt64 = 30_000,
        correctsStaleFacts: Bool = true, suspectProbeBoost: Int = 0, refreshesYield: Bool = false
    ) {
        precondition(probeTimeoutMilliseconds < probeIntervalMilliseconds, "probe timeout must be below the interval")
        precondition(indirectProbeCount >= 0 && gossipFanout >= 0 && maxLocalHealth >= 1, "counts must be positive")
        precondition(maxPiggybackedUpdates > 0 && maxPiggybackedUpdates <= 64, "the wire carries at most 64 updates")
        precondition(suspicionMaxMultiplier >= 1 && suspicionConfirmations >= 1, "suspicion bounds must be positive")
        precondition(suspicionMinMultiplier > 0 && suspicionMinMultiplier <= 100, "suspicion floor out of range")
        precondition(suspectProbeBoost >= 0 && suspectProbeBoost <= 64, "suspect probe boost out of range")
        self.probeIntervalMilliseconds = probeIntervalMilliseconds
        self.probeTimeoutMilliseconds = probeTimeoutMilliseconds
        self.indirectProbeCount = indirectProbeCount
        self.directProbeRetry = directProbeRetry
        self.immediateSuspectNotice = immediateSuspectNotice
        self.healthScaledSuspicion = healthScaledSuspicion
        self.gossipIntervalMilliseconds = gossipIntervalMilliseconds
        self.gossipFanout = gossipFanout
        self.piggybackOnAcks = piggybackOnAcks
        self.retransmitMultiplier = retransmitMultiplier
        self.suspicionsYield = suspicionsYield
        self.maxPiggybackedUpdates = maxPiggybackedUpdates
        self.suspicionMinMultiplier = suspicionMinMultiplier
        self.suspicionMaxMultiplier = suspicionMaxMultiplier
        self.suspicionConfirmations = suspicionConfirmations
        self.lifeguard = lifeguard
        self.maxLocalHealth = maxLocalHealth
        self.tombstoneMilliseconds = tombstoneMilliseconds
        self.rejoinBaseMilliseconds = rejoinBaseMilliseconds
        self.rejoinMaxMilliseconds = rejoinMaxMilliseconds
        self.maxMembers = maxMembers
        self.maxBroadcasts = maxBroadcasts
        self.maxHelpRequests = maxHelpRequests
        self.recentRepeatCount = recentRepeatCount
        self.recentWindowMilliseconds = recentWindowMilliseconds
        self.correctsStaleFacts = correctsStaleFacts
        self.suspectProbeBoost = suspectProbeBoost
        self.refreshesYield = refreshesYield
    }

    /// ComputeMesh: SWIM + Lifeguard, push-pull gossip every 200 ms to 3, up to 64 updates per
    /// message (the wire's limit) so that suspicion churn under loss does not starve other facts,
    /// the fallback ping, and suspicion timeouts that trade a fixed wait for evidence:
    ///
    /// - the floor is 0.8 · log10 n probe periods (2.4 s at n = 1,000), reached only with K = 3
    ///   confirmations from distinct suspecters, each its own failed probe of the member;
    /// - the ceiling stays where it was, about 27 s at n = 1,000 (11 × the floor): a suspicion
    ///   nobody confirms, e.g. one whose refutation missed this node, still waits that long;
    /// - ``suspectProbeBoost`` 3: about three members probe a fresh suspect out of turn, so a crash
    ///   gathers its K confirmations in about two probe periods instead of about K (plain
    ///   round-robin reaches a given member about once per period across the whole cluster);
    /// - both bounds stretch with this node's local health;
    /// - ``refreshesYield``: what makes 30 % loss scale to n = 10,000, where refutations that every
    ///   member gossips to every other otherwise outrun the piggyback room (BENCHMARKS.md, note 1).
    ///   It first came with a false death at n = 1,000 (a slow member spent every transmission of a
    ///   stale suspicion in acks, which nobody answered); ``correctsStaleFacts`` now answers acks.
    ///
    /// Why the floor can be low: crash → dead is about the first suspicion (1.6–2.1 s at
    /// n = 1,000: the wait for someone's probe plus one period) plus the time to the floor *and*
    /// the K-th confirmation. With the old 4.5 s floor and round-robin confirmations it was 7.1 s at
    /// p50; with a 3 s floor it sat at 5 s (4.68 and 5.58 s at p50 in two runs), so the 5 s target
    /// was met or missed by chance. A live but slow member (handling frames up to 2 s late) rarely
    /// fails three independent probes before its refutation (carried back on the ack to the first
    /// buddy notice it handles) spreads, so the confirmations, not the wait, keep it alive.
    /// Measured in the detection scenario (BENCHMARKS.md, note 4): at n = 1,000 this preset gave 0
    /// false deaths and 4.62 s at p50; a 1.5 s floor (0.5 · log10 n, before the stale-fact answers
    /// to acks) let 2 slow members die, and K = 1 let slow members die at n = 200, so neither is
    /// taken.
    public static let computeMesh = MembershipConfig(
        suspicionMinMultiplier: 0.8, suspicionMaxMultiplier: 11, suspectProbeBoost: 3, refreshesYield: true)

    /// memberlist's `DefaultLANConfig`: probe 1 s / 500 ms, 3 indirect, push gossip every 200 ms to
    /// 3, retransmit 4·⌈log10(n+1)⌉, suspicion ×4 up to ×6, Lifeguard's awareness and nacks, the
    /// fallback ping beside the indirect probes, about 16 updates per packet (its 1,400-byte UDP
    /// budget). (Its 30 s full-state TCP push-pull is not modelled: the wire has no full-state message.)
    public static let memberlistLAN = MembershipConfig(
        directProbeRetry: true, immediateSuspectNotice: false, healthScaledSuspicion: false,
        piggybackOnAcks: false,
        suspicionsYield: false, maxPiggybackedUpdates: 16, suspicionMinMultiplier: 4, suspicionConfirmations: 2,
        recentRepeatCount: 0, correctsStaleFacts: false)

    /// Plain SWIM: the same probing, push gossip, fixed suspicion timeout, no Lifeguard, no fallback
    /// ping.
    public static let plainSWIM = MembershipConfig(
        directProbeRetry: false, immediateSuspectNotice: false, healthScaledSuspicion: false,
        piggybackOnAcks: false,
        suspicionsYield: false, maxPiggybackedUpdates: 16, suspicionMinMultiplier: 4, lifeguard: false, recentRepeatCount: 0,
        correctsStaleFacts: false)
}
