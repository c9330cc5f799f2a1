public import MeshCore

/// An open suspicion (Lifeguard §IV-B): starts at the ceiling and shrinks with each independent
/// confirmation toward the floor.
struct Suspicion: Hashable, Sendable {
    var startedAt: MeshInstant
    /// Who first raised it; its own repeats are not confirmations.
    var originator: NodeID
    /// Distinct other members that confirmed it, at most ``MembershipConfig/suspicionConfirmations``.
    var confirmers: [NodeID]
    var minMilliseconds: UInt64
    var maxMilliseconds: UInt64
    var deadline: MeshInstant
}

/// An update waiting to be piggybacked, with how often it has been sent.
struct Broadcast: Hashable, Sendable {
    var update: MemberUpdate
    /// Sent only after every other pending fact (see ``MembershipConfig/suspicionsYield`` and
    /// ``MembershipConfig/refreshesYield``).
    var yields: Bool
    var transmits: UInt64
    /// Insertion order: among equally-sent updates, newer go first.
    var order: UInt64
}

/// The probe of the current protocol period.
struct PendingProbe: Hashable, Sendable {
    var target: NodeID
    /// When the period's first probe left (the start of its round trip).
    var sentAt: MeshInstant
    var timeoutAt: MeshInstant
    var indirectSent: Bool
    var expectedNacks: Int
    var nacks: Int
    var acked: Bool
    /// The transport refused the connection: a strong signal.
    var refused: Bool
}

/// How long this node's probes took to be acknowledged: the time from the period's PROBE to the
/// first PROBE_ACK for it, as the core learns it (the shell's instants: millisecond resolution).
public struct ProbeRoundTrips: Hashable, Sendable {
    /// Acked before the probe timeout, so before any indirect probe: PING → ACK.
    public private(set) var direct = LatencyHistogram()
    /// Acked only after indirect probes went out (relayed by a helper, or the target's answer to
    /// the direct retry), timed from the first probe: the probe timeout is included.
    public private(set) var indirect = LatencyHistogram()

    public init() {}

    mutating func observe(_ roundTrip: MeshDuration, indirect viaHelpers: Bool) {
        let seconds = Double(roundTrip.milliseconds) / 1_000
        if viaHelpers { indirect.observe(seconds: seconds) } else { direct.observe(seconds: seconds) }
    }
}

/// An indirect probe this node relays for another member.
struct HelpRequest: Hashable, Sendable {
    var requester: NodeID
    var target: NodeID
    var deadline: MeshInstant
    var wantsNack: Bool
}

/// SWIM with Lifeguard, as a pure state machine (after apple/swift-cluster-membership's
/// `SWIM.Instance`).
///
/// Every input is a method that takes the current instant and a seeded generator and returns the
/// directives for the shell; the instance never reads a clock, draws system randomness or iterates
/// a dictionary to decide anything (sorted ID arrays carry every order). It ends every answer with
/// a ``MembershipDirective/scheduleTick(at:)`` naming when it next needs ``onTick(now:rng:)``.
///
/// Rules it keeps:
/// - an update about a member is accepted only if it is newer by SWIM's precedence (higher
///   incarnation, or at the same incarnation suspect over alive and dead/left over both);
/// - a dead or left member stays a tombstone for ``MembershipConfig/tombstoneMilliseconds`` and
///   can only return at a higher incarnation (no resurrection);
/// - this node's own incarnation only grows, and every change is persisted through
///   ``MembershipDirective/persistIncarnation(_:)``.
public struct Membership: Sendable {
    /// The configuration in force.
    public let config: MembershipConfig
    /// This node's own current fact (alive, or left after ``leave(now:rng:)``).
    public internal(set) var me: MemberUpdate
    /// Lifeguard's local health multiplier (memberlist's "awareness"): 0 is healthy.
    public internal(set) var localHealth: Int = 0
    /// Round trips of this node's own probes, from the period's PROBE to the first ack of it.
    public internal(set) var probeRoundTrips = ProbeRoundTrips()

    /// Every known member, its status lists and open suspicions.
    var members = MemberTable()
    var seeds: [NetAddress]

    /// Pending updates by how often they were sent (`broadcastLevels[k]` were sent k times), oldest
    /// first within a level: taking the least-sent, newest updates costs O(limit), not O(queue).
    var broadcastLevels: [[Broadcast]] = []
    var broadcastCount = 0
    /// Members whose fact changed lately, oldest first (bounded), for ``MembershipConfig/recentRepeatCount``.
    var recent: [(node: NodeID, at: MeshInstant)] = []
    /// The subset of ``recent`` that is news, not churn: a member joined, moved (address, role or
    /// region), died, left or came back from a tombstone. Repeated first, so that a burst of
    /// suspicions and refutations under loss cannot push a real event out of the repeats.
    var recentNews: [(node: NodeID, at: MeshInstant)] = []
    /// The bound on ``recent`` and on ``recentNews``.
    static let maxRecent = 256
    var broadcastOrder: UInt64 = 0
    /// This round of probes: the live members shuffled, one taken per period.
    var probeOrder: [SlotRef] = []
    var probeIndex = 0
    var pending: PendingProbe?
    var helps: [HelpRequest] = []
    /// Newer facts that answer stale suspicions in the message being handled (bounded by
    /// ``MembershipConfig/maxPiggybackedUpdates``); see ``MembershipConfig/correctsStaleFacts``.
    var corrections: [MemberUpdate] = []
    /// Suspicions heard from others since the last probe period began, oldest first (at most
    /// ``maxFreshSuspects``); see ``MembershipConfig/suspectProbeBoost``.
    var freshSuspects: [NodeID] = []
    /// The bound on ``freshSuspects``.
    static let maxFreshSuspects = 16

    var nextProbeAt: MeshInstant
    var nextGossipAt: MeshInstant
    var nextRejoinAt: MeshInstant
    var rejoinDelayMilliseconds: UInt64
    var nextSweepAt: MeshInstant
    var lastScheduled: MeshInstant?

    /// Creates the core for node `me` (its incarnation MUST be above any it used before: persisted
    /// plus one), knowing `initialMembers` (e.g. from a previous run or a bootstrap list) and the
    /// `seeds` to rejoin through when alone.
    public init(
        me: MemberUpdate, config: MembershipConfig, seeds: [NetAddress] = [], initialMembers: [MemberUpdate] = [],
        now: MeshInstant
    ) {
        precondition(me.status == .alive, "a node starts alive, got \(me)")
        self.config = config
        self.me = me
        self.seeds = seeds.sorted()
        nextProbeAt = now
        nextGossipAt = now
        nextRejoinAt = now + .milliseconds(config.rejoinBaseMilliseconds)
        rejoinDelayMilliseconds = config.rejoinBaseMilliseconds
        nextSweepAt = now + .milliseconds(config.probeIntervalMilliseconds)
        let initial = initialMembers.lazy.filter { $0.node != me.node }.prefix(config.maxMembers)
        let (node, health) = (me.node, localHealth)
        members = MemberTable(Array(initial), changedAt: now) { live in
            Membership.suspicion(config: config, liveCount: live + 1, localHealth: health, now: now, originator: node)
        }
    }

    // MARK: - Queries

    /// The number of members believed alive or suspect, this node included.
    public var liveCount: Int { members.liveCount + 1 }

    /// The current fact about `node`, or nil when unknown (or its tombstone expired).
    public func member(_ node: NodeID) -> MemberUpdate? {
        node == me.node ? me : members.update(of: node)
    }

    /// Every known member (tombstones included) in node order.
    public var allMembers: [MemberUpdate] {
        members.allUpdates
    }

    /// Alive and suspect members in node order.
    public var liveMembers: [NodeID] { members.liveNodes }

    /// The most recent direct-probe round trip (PROBE to its PROBE_ACK, millisecond resolution)
    /// to `node`, while it is alive or suspect; nil when never measured, or for this node, an
    /// unknown member or a dead or left one (issue 17).
    public func roundTrip(of node: NodeID) -> MeshDuration? {
        node == me.node ? nil : members.roundTrip(of: node)
    }

    /// How many updates wait for retransmission.
    public var pendingBroadcastCount: Int { broadcastCount }

    /// The current suspicion deadline for `node`, if it is suspect (for tests and diagnostics).
    public func suspicionDeadline(of node: NodeID) -> MeshInstant? { members.suspicion(of: node)?.deadline }

    // MARK: - Inputs

    /// Drives timers: probe periods, indirect probes, gossip, suspicion expiry, relayed-probe nacks,
    /// rejoin attempts, tombstone expiry.
    public mutating func onTick(now: MeshInstant, rng: inout SeededRandom) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        if me.status == .alive {
            probeTimers(now: now, rng: &rng, into: &out)
        }
        expireSuspicions(now: now, into: &out)
        expireHelps(now: now, into: &out)
        if now >= nextGossipAt {
            gossip(now: now, rng: &rng, into: &out)
            nextGossipAt = now + .milliseconds(config.gossipIntervalMilliseconds)
        }
        if me.status == .alive, now >= nextRejoinAt { rejoin(now: now, rng: &rng, into: &out) }
        if now >= nextSweepAt {
            sweepTombstones(now: now)
            nextSweepAt = now + .milliseconds(config.probeIntervalMilliseconds)
        }
        schedule(now: now, into: &out)
        return out
    }

    /// A PROBE arrived. Answers with an ack when this node is the target.
    public mutating func onProbe(
        from: NodeID, fromIncarnation: UInt64, target: NodeID, updates: [MemberUpdate], now: MeshInstant,
        rng: inout SeededRandom
    ) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        guard target == me.node, from != me.node else {
            schedule(now: now, into: &out)
            return out
        }
        corrections.removeAll()
        apply(updates, source: from, now: now, into: &out)
        impliedAlive(from, incarnation: fromIncarnation, now: now, into: &out)
        // The prober still holds suspicions this node knows were refuted: answer with the refutations.
        var extra: [MemberUpdate] = corrections
        corrections.removeAll()
        if config.lifeguard, let known = members.update(of: from), known.status == .dead || known.status == .left,
            known.incarnation >= fromIncarnation, !extra.contains(where: { $0.node == from }),
            extra.count < config.maxPiggybackedUpdates
        {
            // Buddy notice toward the prober: it is a tombstone here and must refute.
            extra.append(known)
        }
        let room = config.maxPiggybackedUpdates - extra.count - newsReserve(now: now)
        var piggyback = extra + (config.piggybackOnAcks ? takeUpdates(limit: room) : [])
        piggyback += recentFacts(now: now, rng: &rng, excluding: piggyback, limit: config.maxPiggybackedUpdates - piggyback.count)
        out.append(
            .send(
                .probeAck(ProbeAck(target: me.node, incarnation: me.incarnation, updates: piggyback)), to: from,
                address: members.address(of: from)))
        schedule(now: now, into: &out)
        return out
    }

    /// A PROBE_ACK arrived: `target` is alive at `incarnation`.
    public mutating func onProbeAck(
        target: NodeID, incarnation: UInt64, updates: [MemberUpdate], now: MeshInstant, rng: inout SeededRandom
    ) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        corrections.removeAll()
        apply(updates, source: target, now: now, into: &out)
        if !corrections.isEmpty, target != me.node, let address = members.address(of: target) {
            // The acking member still holds suspicions (or deaths) this node knows were refuted.
            // An ack has no answer, so the refutations go back in a probe of their own: a member
            // that hears many probes (a slow one) can spend every transmission of a stale
            // suspicion in acks, and would otherwise never be corrected (detection-trace, seed 2).
            out.append(
                .send(
                    .probe(
                        Probe(
                            from: me.node, fromIncarnation: me.incarnation, target: target,
                            updates: [me] + corrections.prefix(config.maxPiggybackedUpdates - 1))),
                    to: target, address: address))
        }
        corrections.removeAll()
        if target != me.node {
            impliedAlive(target, incarnation: incarnation, now: now, into: &out)
            if let probe = pending, probe.target == target, !probe.acked {
                pending?.acked = true
                probeRoundTrips.observe(now.since(probe.sentAt), indirect: probe.indirectSent)
                if !probe.indirectSent { members.setRoundTrip(now.since(probe.sentAt), of: target) }
            }
            // Relay to those who asked us to probe `target`.
            var kept: [HelpRequest] = []
            for help in helps {
                if help.target == target {
                    out.append(
                        .send(
                            .probeAck(ProbeAck(target: target, incarnation: incarnation, updates: [])), to: help.requester,
                            address: members.address(of: help.requester)))
                } else {
                    kept.append(help)
                }
            }
            helps = kept
        }
        schedule(now: now, into: &out)
        return out
    }

    /// An INDIRECT_PROBE arrived: probe `target` on behalf of `from`.
    public mutating func onIndirectProbe(
        from: NodeID, target: NodeID, targetAddress: NetAddress, wantsNack: Bool, updates: [MemberUpdate],
        now: MeshInstant, rng: inout SeededRandom
    ) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        apply(updates, source: from, now: now, into: &out)
        if target != me.node, from != me.node, me.status == .alive, helps.count < config.maxHelpRequests {
            // Answer with a nack before the requester's own period ends (memberlist: 80 % of it).
            let wait = config.probeTimeoutMilliseconds * 8 / 10
            helps.append(HelpRequest(requester: from, target: target, deadline: now + .milliseconds(wait), wantsNack: wantsNack))
            out.append(
                .send(
                    .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: target, updates: [])), to: target,
                    address: targetAddress))
        }
        schedule(now: now, into: &out)
        return out
    }

    /// A NACK arrived: the helper is alive but `target` did not answer it.
    public mutating func onNack(
        helper: NodeID, target: NodeID, now: MeshInstant, rng: inout SeededRandom
    ) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        if pending?.target == target, pending?.indirectSent == true { pending?.nacks += 1 }
        schedule(now: now, into: &out)
        return out
    }

    /// The transport could not deliver a probe to `node`. A refused connection is a strong signal
    /// (the host is up, the process is not) and moves straight to indirect probes; a timeout is
    /// weak and changes nothing beyond the missing ack.
    public mutating func onProbeFailure(
        _ node: NodeID, failure: ProbeFailure, now: MeshInstant, rng: inout SeededRandom
    ) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        switch failure {
        case .connectionRefused:
            if pending?.target == node, pending?.acked == false {
                pending?.refused = true
                if pending?.indirectSent == false { pending?.timeoutAt = now }
                probeTimers(now: now, rng: &rng, into: &out)
            }
        case .timeout:
            break
        }
        schedule(now: now, into: &out)
        return out
    }

    /// The shell opened a link (e.g. to a seed) and learned the peer's identity. An unknown peer is
    /// added as alive (at the incarnation given, usually 0, which its first ack corrects) and probed.
    public mutating func onPeerConnected(_ peer: MemberUpdate, now: MeshInstant, rng: inout SeededRandom) -> [MembershipDirective]
    {
        var out: [MembershipDirective] = []
        guard peer.node != me.node else {
            schedule(now: now, into: &out)
            return out
        }
        if !members.contains(peer.node), members.count < config.maxMembers {
            set(peer, now: now, source: me.node)
            out.append(.memberChanged(peer, previous: nil))
        }
        rejoinDelayMilliseconds = config.rejoinBaseMilliseconds
        out.append(
            .send(
                .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: peer.node, updates: [me])), to: peer.node,
                address: peer.address))
        schedule(now: now, into: &out)
        return out
    }

    /// Leaves gracefully: announces `left` at a higher incarnation to ``MembershipConfig/gossipFanout``
    /// members at once and keeps gossiping it; other nodes record a departure, not a failure, and
    /// never probe or rejoin this node again at this incarnation.
    public mutating func leave(now: MeshInstant, rng: inout SeededRandom) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        guard me.status == .alive else {
            schedule(now: now, into: &out)
            return out
        }
        me.incarnation += 1
        me.status = .left
        out.append(.persistIncarnation(me.incarnation))
        enqueue(me)
        pending = nil
        gossip(now: now, rng: &rng, into: &out)
        nextGossipAt = now + .milliseconds(config.gossipIntervalMilliseconds)
        schedule(now: now, into: &out)
        return out
    }

    // MARK: - Probing

    mutating func probeTimers(now: MeshInstant, rng: inout SeededRandom, into out: inout [MembershipDirective]) {
        let scale = UInt64(config.lifeguard ? localHealth + 1 : 1)
        if var probe = pending, !probe.acked, !probe.indirectSent, now >= probe.timeoutAt {
            let helpers = randomLive(count: config.indirectProbeCount, excluding: probe.target, rng: &rng)
            let address = members.address(of: probe.target)
            if config.directProbeRetry, !probe.refused, let address {
                // The fallback ping: one lost frame should not be enough to suspect a member.
                out.append(
                    .send(
                        .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: probe.target, updates: [me])),
                        to: probe.target, address: address))
            }
            for helper in helpers {
                if let address {
                    out.append(
                        .send(
                            .indirectProbe(
                                IndirectProbe(
                                    from: me.node, target: probe.target, targetAddress: address, wantsNack: config.lifeguard,
                                    updates: [])), to: helper, address: members.address(of: helper)))
                }
            }
            probe.indirectSent = true
            probe.expectedNacks = config.lifeguard && address != nil ? helpers.count : 0
            pending = probe
        }
        guard now >= nextProbeAt else { return }
        if let probe = pending {
            pending = nil
            finishProbe(probe, now: now, into: &out)
        }
        nextProbeAt = now + .milliseconds(config.probeIntervalMilliseconds * scale)
        guard let target = boostedSuspect(rng: &rng) ?? nextProbeTarget(rng: &rng), let state = members.update(of: target)
        else { return }
        var piggyback: [MemberUpdate] = [me]
        if config.lifeguard, state.status == .suspect { piggyback.append(state) }  // buddy notice
        piggyback += takeUpdates(
            limit: config.maxPiggybackedUpdates - piggyback.count - newsReserve(now: now), excluding: state.node)
        piggyback += recentFacts(now: now, rng: &rng, excluding: piggyback, limit: config.maxPiggybackedUpdates - piggyback.count)
        pending = PendingProbe(
            target: target, sentAt: now, timeoutAt: now + .milliseconds(config.probeTimeoutMilliseconds * scale),
            indirectSent: false,
            expectedNacks: 0, nacks: 0, acked: false, refused: false)
        out.append(
            .send(
                .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: target, updates: piggyback)), to: target,
                address: state.address))
    }

    /// A suspect heard of since the last period, drawn with probability `boost / (n − 1)` each
    /// (see ``MembershipConfig/suspectProbeBoost``); clears the list.
    mutating func boostedSuspect(rng: inout SeededRandom) -> NodeID? {
        guard !freshSuspects.isEmpty else { return nil }
        defer { freshSuspects.removeAll() }
        let chance = Double(config.suspectProbeBoost) / Double(Swift.max(members.liveCount, 1))
        for node in freshSuspects where members.status(of: node) == .suspect {
            if rng.unitInterval() < chance { return node }
        }
        return nil
    }

    mutating func finishProbe(_ probe: PendingProbe, now: MeshInstant, into out: inout [MembershipDirective]) {
        if probe.acked {
            adjustHealth(-1)
            return
        }
        // Lifeguard (memberlist's awareness): missing nacks mean our own links or process are the
        // problem, one point each; when every helper answered with a nack the target alone is
        // silent and our health is unchanged; without helpers a failed probe costs one point.
        adjustHealth(probe.expectedNacks > 0 ? Swift.max(probe.expectedNacks - probe.nacks, 0) : 1)
        guard let state = members.update(of: probe.target), state.status == .alive || state.status == .suspect else { return }
        var suspect = state
        suspect.status = .suspect
        suspect.suspectedBy = me.node
        apply([suspect], source: me.node, now: now, into: &out)
        if config.lifeguard, config.immediateSuspectNotice, !probe.refused,
            members.update(of: probe.target)?.withoutSuspecter == suspect.withoutSuspecter
        {
            // Buddy notice at once: tell the member itself that it is suspected, so a slow but live
            // member refutes before the news (and the deadlines) have spread; an ack also clears it here.
            out.append(
                .send(
                    .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: suspect.node, updates: [me, suspect])),
                    to: suspect.node, address: suspect.address))
        }
        if probe.refused, config.lifeguard, var s = members.suspicion(of: probe.target) {
            // Strong signal: the process is gone; wait only the floor.
            s.deadline = s.startedAt + .milliseconds(s.minMilliseconds)
            members.setSuspicion(s, of: probe.target)
        }
    }

    mutating func adjustHealth(_ delta: Int) {
        guard config.lifeguard else { return }
        localHealth = Swift.min(Swift.max(localHealth + delta, 0), config.maxLocalHealth - 1)
    }

    mutating func nextProbeTarget(rng: inout SeededRandom) -> NodeID? {
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let candidate = members.node(at: probeOrder[probeIndex])
                probeIndex += 1
                if let candidate, let status = members.status(of: candidate), status == .alive || status == .suspect {
                    return candidate
                }
            }
            probeOrder = rng.shuffled(members.liveRefs)
            probeIndex = 0
            if probeOrder.isEmpty { return nil }
        }
        return nil
    }

    /// Up to `count` distinct random live members other than `excluding`.
    mutating func randomLive(count: Int, excluding: NodeID?, rng: inout SeededRandom) -> [NodeID] {
        var chosen: [NodeID] = []
        let available = members.liveCount - (excluding.map { members.isLive($0) ? 1 : 0 } ?? 0)
        let want = Swift.min(count, available)
        var attempts = 0
        while chosen.count < want, attempts < want * 8 + 16 {
            attempts += 1
            let candidate = members.liveNode(at: rng.index(below: members.liveCount))
            if candidate != excluding, !chosen.contains(candidate) { chosen.append(candidate) }
        }
        return chosen
    }

    // MARK: - Gossip

    mutating func gossip(now: MeshInstant, rng: inout SeededRandom, into out: inout [MembershipDirective]) {
        guard broadcastCount > 0 else { return }
        for peer in randomLive(count: config.gossipFanout, excluding: nil, rng: &rng) {
            let updates = takeUpdates(limit: config.maxPiggybackedUpdates, excluding: nil)
            if updates.isEmpty { break }
            out.append(
                .send(
                    .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: peer, updates: updates)), to: peer,
                    address: members.address(of: peer)))
        }
    }

    /// `mult · ⌈log10(n + 1)⌉` transmissions per update (memberlist's retransmit limit).
    var retransmitLimit: UInt64 {
        var digits: UInt64 = 0
        var power: UInt64 = 1
        let x = UInt64(liveCount + 1)
        while power < x {
            power *= 10
            digits += 1
        }
        return config.retransmitMultiplier * Swift.max(digits, 1)
    }

    /// The least-sent (then newest) pending updates, counting this transmission; suspicions after
    /// every other fact when ``MembershipConfig/suspicionsYield`` is set.
    mutating func takeUpdates(limit: Int, excluding: NodeID? = nil) -> [MemberUpdate] {
        guard limit > 0, broadcastCount > 0 else { return [] }
        let limitTransmits = retransmitLimit
        var result: [MemberUpdate] = []
        var taken: [Broadcast] = []
        // With suspicionsYield, a first pass takes every other fact (refutations, joins, deaths,
        // leaves) and suspicions only fill what room is left: under loss, suspicions are most of the
        // churn, and each false one is superseded by a refutation that must win the race.
        for pass in 0..<(config.suspicionsYield ? 2 : 1) {
            var level = 0
            while level < broadcastLevels.count, result.count < limit {
                var index = broadcastLevels[level].count - 1
                while index >= 0, result.count < limit {
                    let broadcast = broadcastLevels[level][index]
                    let eligible = !config.suspicionsYield || broadcast.yields == (pass == 1)
                    if eligible, broadcast.update.node != excluding {
                        result.append(broadcast.update)
                        broadcastLevels[level].remove(at: index)
                        taken.append(broadcast)
                    }
                    index -= 1
                }
                level += 1
            }
        }
        for var broadcast in taken.reversed() {
            broadcast.transmits += 1
            if broadcast.transmits >= limitTransmits {
                broadcastCount -= 1
                continue
            }
            let k = Int(broadcast.transmits)
            while broadcastLevels.count <= k { broadcastLevels.append([]) }
            broadcastLevels[k].append(broadcast)
        }
        return result
    }

    /// Whether an update about `node` is waiting to be sent.
    func isPending(_ node: NodeID) -> Bool {
        broadcastLevels.contains { level in level.contains { $0.update.node == node } }
    }

    /// Up to ``MembershipConfig/recentRepeatCount`` random facts that changed lately and are not
    /// already in `excluding` (membership anti-entropy).
    mutating func recentFacts(now: MeshInstant, rng: inout SeededRandom, excluding: [MemberUpdate], limit: Int) -> [MemberUpdate]
    {
        expireRecent(now: now)
        guard config.recentRepeatCount > 0, limit > 0, !recent.isEmpty else { return [] }
        var out: [MemberUpdate] = []
        for slot in 0..<Swift.min(config.recentRepeatCount, limit) {
            // News first: slot k draws from the news while there are more than k of them.
            let node =
                slot < recentNews.count
                ? recentNews[rng.index(below: recentNews.count)].node : recent[rng.index(below: recent.count)].node
            guard let fact = member(node), !excluding.contains(where: { $0.node == node }), !out.contains(fact) else { continue }
            out.append(fact)
        }
        return out
    }

    /// How many of a probe's or ack's slots are kept from the queue for repeats of recent news: up
    /// to ``MembershipConfig/recentRepeatCount``, when there is news within the window. Under heavy
    /// loss the queue of churn outgrows the messages (at N = 2,000 and 30 % loss, over 1,000 pending
    /// updates per node and 49–62 in every message), and without the reserve no repeat fits at all:
    /// a member the event's epidemic missed then waited 42 s for it (`mesh-bench sim --scenario
    /// trace --nodes 2000 --seeds 3`, seed 3). When nothing is queued the reserve costs nothing.
    mutating func newsReserve(now: MeshInstant) -> Int {
        guard config.recentRepeatCount > 0, !recentNews.isEmpty else { return 0 }
        expireRecent(now: now)
        return Swift.min(config.recentRepeatCount, recentNews.count)
    }

    /// Drops the facts that changed before ``MembershipConfig/recentWindowMilliseconds`` ago.
    mutating func expireRecent(now: MeshInstant) {
        let horizon = MeshInstant(milliseconds: now.milliseconds &- Swift.min(now.milliseconds, config.recentWindowMilliseconds))
        recent.removeAll { $0.at < horizon }
        recentNews.removeAll { $0.at < horizon }
    }

    /// Notes that `node`'s fact changed now; `news` when it is news, not churn (see ``recentNews``).
    mutating func noteRecent(_ node: NodeID, now: MeshInstant, news: Bool) {
        guard config.recentRepeatCount > 0 else { return }
        recent.removeAll { $0.node == node }
        if recent.count >= Membership.maxRecent { recent.removeFirst() }
        recent.append((node, now))
        recentNews.removeAll { $0.node == node }
        guard news else { return }
        if recentNews.count >= Membership.maxRecent { recentNews.removeFirst() }
        recentNews.append((node, now))
    }

    /// Queues `update` for piggybacking, replacing any pending fact about the same member; a
    /// suspicion yields to other facts, and so does a `refresh` (see ``MembershipConfig/refreshesYield``).
    mutating func enqueue(_ update: MemberUpdate, refresh: Bool = false) {
        for level in broadcastLevels.indices {
            let before = broadcastLevels[level].count
            broadcastLevels[level].removeAll { $0.update.node == update.node }
            broadcastCount -= before - broadcastLevels[level].count
        }
        if broadcastCount >= config.maxBroadcasts {
            // Drop the most-sent (then oldest) to stay within the bound.
            if let level = broadcastLevels.lastIndex(where: { !$0.isEmpty }) {
                broadcastLevels[level].removeFirst()
                broadcastCount -= 1
            }
        }
        broadcastOrder += 1
        if broadcastLevels.isEmpty { broadcastLevels.append([]) }
        let yields = update.status == .suspect || (refresh && config.refreshesYield)
        broadcastLevels[0].append(Broadcast(update: update, yields: yields, transmits: 0, order: broadcastOrder))
        broadcastCount += 1
    }

    // MARK: - Rejoin

    mutating func rejoin(now: MeshInstant, rng: inout SeededRandom, into out: inout [MembershipDirective]) {
        let dead = members.goneNodes.filter { members.status(of: $0) == .dead }
        if !dead.isEmpty {
            let target = dead[rng.index(below: dead.count)]
            if let state = members.update(of: target) {
                // Carry the death notice so the member, if alive, refutes at a higher incarnation.
                out.append(
                    .send(
                        .probe(Probe(from: me.node, fromIncarnation: me.incarnation, target: target, updates: [me, state])),
                        to: target, address: state.address))
            }
        } else if members.liveCount == 0, !seeds.isEmpty {
            out.append(.connect(seeds[rng.index(below: seeds.count)]))
        }
        // Jittered exponential backoff; reset when a dead member comes back or a seed connects.
        let jitter = rng.next(below: rejoinDelayMilliseconds / 2 + 1)
        nextRejoinAt = now + .milliseconds(rejoinDelayMilliseconds * 3 / 4 + jitter)
        rejoinDelayMilliseconds = Swift.min(rejoinDelayMilliseconds * 2, config.rejoinMaxMilliseconds)
    }

    // MARK: - Timers

    mutating func expireSuspicions(now: MeshInstant, into out: inout [MembershipDirective]) {
        var expired: [MemberUpdate] = []
        for entry in members.suspects where entry.suspicion.deadline <= now {
            if let state = members.update(of: entry.node) {
                var dead = state.withoutSuspecter
                dead.status = .dead
                expired.append(dead)
            }
        }
        if !expired.isEmpty { apply(expired, source: me.node, now: now, into: &out) }
    }

    mutating func expireHelps(now: MeshInstant, into out: inout [MembershipDirective]) {
        guard !helps.isEmpty else { return }
        var kept: [HelpRequest] = []
        for help in helps {
            if help.deadline <= now {
                if help.wantsNack, config.lifeguard {
                    out.append(
                        .send(
                            .nack(Nack(helper: me.node, target: help.target)), to: help.requester,
                            address: members.address(of: help.requester)))
                }
            } else {
                kept.append(help)
            }
        }
        helps = kept
    }

    mutating func sweepTombstones(now: MeshInstant) {
        for id in members.goneNodes {
            if let changedAt = members.changedAt(of: id), changedAt + .milliseconds(config.tombstoneMilliseconds) <= now {
                members.remove(id)
            }
        }
    }

    mutating func schedule(now: MeshInstant, into out: inout [MembershipDirective]) {
        var next = now + .milliseconds(config.rejoinMaxMilliseconds)
        if me.status == .alive {
            next = Swift.min(next, Swift.min(nextRejoinAt, nextProbeAt))
            if let probe = pending, !probe.acked, !probe.indirectSent { next = Swift.min(next, probe.timeoutAt) }
        }
        if broadcastCount > 0 { next = Swift.min(next, Swift.max(nextGossipAt, now)) }
        if members.hasGone { next = Swift.min(next, nextSweepAt) }
        for help in helps { next = Swift.min(next, help.deadline) }
        for entry in members.suspects { next = Swift.min(next, entry.suspicion.deadline) }
        next = Swift.max(next, now)
        out.append(.scheduleTick(at: next))
        lastScheduled = next
    }
}

extension Membership {
    /// Re-announces this node at a higher incarnation, at `address` when given (its advertised
    /// address changed), so every member learns the new fact through gossip.
    public mutating func announce(
        now: MeshInstant, rng: inout SeededRandom, address: NetAddress? = nil
    ) -> [MembershipDirective] {
        var out: [MembershipDirective] = []
        if me.status == .alive {
            let moved = address.map { $0 != me.address } ?? false
            if let address { me.address = address }
            me.incarnation += 1
            out.append(.persistIncarnation(me.incarnation))
            enqueue(me)
            noteRecent(me.node, now: now, news: moved)
        }
        schedule(now: now, into: &out)
        return out
    }
}

extension Membership {
    /// A random alive or suspect member (for gossip layered on this membership), or nil when alone.
    public func randomPeer(rng: inout SeededRandom) -> MemberUpdate? {
        guard members.liveCount > 0 else { return nil }
        return members.update(of: members.liveNode(at: rng.index(below: members.liveCount)))
    }
}
