public import MeshCore
public import MeshGossip
public import MeshMembership
public import MeshPlacement
public import MeshWire

/// What this node last sent in an open digest exchange.
enum ExchangeStep: Hashable, Sendable {
    /// Only bucket hashes (step 1).
    case hashes
    /// Its versions for the differing buckets (step 2 or 3): the peer's deltas are complete answers.
    case entries
}

/// Measures records with the real codec.
public struct WireRecordSizer: RecordSizer {
    public init() {}
    public func encodedBytes(_ record: InventoryRecord) -> Int {
        var writer = WireWriter(capacity: 256)
        record.encode(to: &writer)
        return writer.count
    }
}

/// A node's dissemination protocols composed: SWIM + Lifeguard liveness, inventory gossip within
/// the region, region summaries across the backbone. ``NodeCore`` owns one; it turns decoded
/// ``WireMessage``s into those cores' inputs and their outputs into ``GossipDirective``s.
///
/// Digest exchange (anti-entropy), with `H` the bucket hashes and `E` versions of the origins in
/// differing buckets (possibly none):
/// 1. A → B `DIGEST(H_A)`; 2. B → A `DIGEST(H_B, E_B)`; 3. A → B `DELTA` (what B lacks, cut to
/// B's budget) and `DIGEST(H_A, E_A)`; 4. B → A `DELTA` (what A lacks). Each side remembers what
/// it last sent the peer (an open exchange, bounded and timed out), which tells a step-2 digest
/// from a step-1 one; a node that sent its entries treats the peer's deltas as complete answers
/// (its Scuttlebutt versions advance).
public struct GossipCore: Sendable {
    public let config: NodeConfig
    public internal(set) var membership: Membership
    public internal(set) var inventory: InventoryStore
    public internal(set) var summaries: RegionSummaryBook
    /// The regional nodes of other regions this node exchanges summaries with (regional only).
    public var backbone: [MemberUpdate]

    var nextDigestAt: MeshInstant
    var nextPushAt: MeshInstant
    var nextSummaryAt: MeshInstant
    var summaryVersion: UInt64 = 0
    /// Which backbone peer gets the next round of summaries: round-robin from an ID-derived start, so
    /// every peer hears from this node once every `backbone.count` intervals (a random pick left a
    /// peer without news for several intervals in a row, e.g. 1/4 of the time with two senders).
    var summaryCursor: Int
    /// Open digest exchanges: what we last sent the peer, and until when the exchange stays open.
    /// `buckets` are those our entries covered (step 3 answers only for them).
    var openExchanges: [(peer: NodeID, sent: ExchangeStep, buckets: [Int], until: MeshInstant)] = []
    var membershipWake: MeshInstant

    public var me: MemberUpdate { membership.me }

    public init(
        me: MemberUpdate, config: NodeConfig, seeds: [NetAddress] = [], members: [MemberUpdate] = [],
        backbone: [MemberUpdate] = [], verifier: any RecordVerifier = AcceptAllVerifier(), now: MeshInstant,
        rng: inout SeededRandom
    ) {
        self.config = config
        membership = Membership(me: me, config: config.membership, seeds: seeds, initialMembers: members, now: now)
        inventory = InventoryStore(config: config.gossip, verifier: verifier, sizer: WireRecordSizer())
        summaries = RegionSummaryBook(verifier: verifier)
        self.backbone = backbone
        // Spread the timers of nodes started together.
        nextDigestAt = now + .milliseconds(rng.next(below: config.digestIntervalMilliseconds))
        nextPushAt = now
        nextSummaryAt = now + .milliseconds(rng.next(below: config.summaryIntervalMilliseconds))
        // The start comes from the node's ID, not the generator, so no other draw moves.
        summaryCursor = Int(me.node.w0 % (1 << 16))
        membershipWake = now + .milliseconds(rng.next(below: config.membership.probeIntervalMilliseconds))
    }

    // MARK: - Inputs

    /// Drives every timer.
    public mutating func onTick(now: MeshInstant, rng: inout SeededRandom) -> [GossipDirective] {
        var out: [GossipDirective] = []
        if now >= membershipWake { translate(membership.onTick(now: now, rng: &rng), into: &out) }
        openExchanges.removeAll { $0.until <= now }
        if now >= nextPushAt {
            nextPushAt = now + .milliseconds(config.pushIntervalMilliseconds)
            push(now: now, rng: &rng, into: &out)
        }
        if now >= nextDigestAt {
            nextDigestAt = now + .milliseconds(config.digestIntervalMilliseconds)
            inventory.expire(now: now)
            summaries.expire(now: now)
            if let peer = membership.randomPeer(rng: &rng), openExchanges.count < config.maxOpenExchanges,
                !openExchanges.contains(where: { $0.peer == peer.node })
            {
                openExchanges.append((peer.node, .hashes, [], now + .milliseconds(config.exchangeTimeoutMilliseconds)))
                out.append(
                    .send(
                        .digest(
                            Digest(
                                scope: .region, region: me.region, bucketHashes: inventory.digestHashes,
                                maxDeltaBytes: config.gossip.maxDeltaBytes)), to: peer.node, address: peer.address, lane: .bulk))
            }
        }
        if me.role == .regional, !backbone.isEmpty, now >= nextSummaryAt {
            nextSummaryAt = now + .milliseconds(config.summaryIntervalMilliseconds)
            summaryVersion += 1
            let own = RegionSummaryBook.summarize(
                region: me.region, origin: me.node, version: summaryVersion, records: inventory.liveRecords(now: now),
                nodeCount: membership.liveCount, now: now, validity: .milliseconds(config.summaryValidityMilliseconds))
            summaries.merge([own], now: now)
            let peer = backbone[summaryCursor % backbone.count]
            summaryCursor = (summaryCursor + 1) % (1 << 16)
            let all = Array(summaries.summaries.prefix(FieldLimits.maxRegionSummaries))
            out.append(
                .send(.regionSummaries(RegionSummaries(summaries: all)), to: peer.node, address: peer.address, lane: .bulk))
            // Industry nodes see their region in full and the others as summaries: each interval
            // one industry member of the region, at random, gets them too.
            let industry = membership.allMembers.filter { $0.role == .industry && $0.status == .alive }
            if !industry.isEmpty {
                let member = industry[rng.index(below: industry.count)]
                out.append(
                    .send(
                        .regionSummaries(RegionSummaries(summaries: all)), to: member.node, address: member.address, lane: .bulk))
            }
        }
        schedule(now: now, into: &out)
        return out
    }

    /// A decoded message arrived from `from` (the authenticated peer of the link).
    public mutating func onMessage(
        _ message: WireMessage, from: NodeID, now: MeshInstant, rng: inout SeededRandom
    ) -> [GossipDirective] {
        var out: [GossipDirective] = []
        switch message {
        case .probe(let p):
            translate(
                membership.onProbe(
                    from: p.from, fromIncarnation: p.fromIncarnation, target: p.target, updates: p.updates, now: now, rng: &rng),
                into: &out)
        case .probeAck(let a):
            translate(
                membership.onProbeAck(target: a.target, incarnation: a.incarnation, updates: a.updates, now: now, rng: &rng),
                into: &out)
        case .indirectProbe(let i):
            translate(
                membership.onIndirectProbe(
                    from: i.from, target: i.target, targetAddress: i.targetAddress, wantsNack: i.wantsNack, updates: i.updates,
                    now: now, rng: &rng), into: &out)
        case .nack(let n):
            translate(membership.onNack(helper: n.helper, target: n.target, now: now, rng: &rng), into: &out)
        case .digest(let d):
            onDigest(d, from: from, now: now, rng: &rng, into: &out)
        case .delta(let d):
            let complete = openExchanges.contains { $0.peer == from && $0.sent == .entries }
            let fresh = inventory.merge(d.records, now: now, complete: complete)
            if fresh > 0 { out.append(.emit(.recordsLearned(count: fresh, from: from))) }
        case .regionSummaries(let s):
            let fresh = summaries.merge(s.summaries, now: now)
            if !fresh.isEmpty { out.append(.emit(.summariesLearned(count: fresh.count))) }
        case .hello, .welcome, .reject, .goAway, .error, .ping, .pong, .revocationList, .place, .quoteRequest, .quote, .refuse,
            .confirm, .confirmed, .release, .renew, .leaseStatus, .forward, .outcome, .statusRequest, .status, .membersRequest,
            .members, .inventoryRequest, .inventory, .placementsRequest, .placements, .whyRequest, .why, .subscribe, .event,
            .unsubscribe, .registerPool, .poolRegistered:
            // Handled by the transport (control), placement or console layers, not by these cores.
            out.append(.emit(.ignored(message.type, from: from)))
        }
        schedule(now: now, into: &out)
        return out
    }

    /// The transport could not reach `node` for a probe.
    public mutating func onProbeFailure(
        _ node: NodeID, failure: ProbeFailure, now: MeshInstant, rng: inout SeededRandom
    ) -> [GossipDirective] {
        var out: [GossipDirective] = []
        translate(membership.onProbeFailure(node, failure: failure, now: now, rng: &rng), into: &out)
        schedule(now: now, into: &out)
        return out
    }

    /// A link opened to a peer whose identity the handshake proved.
    public mutating func onPeerConnected(_ peer: MemberUpdate, now: MeshInstant, rng: inout SeededRandom) -> [GossipDirective] {
        var out: [GossipDirective] = []
        translate(membership.onPeerConnected(peer, now: now, rng: &rng), into: &out)
        schedule(now: now, into: &out)
        return out
    }

    /// This node's own inventory changed: store the (signed) record and start spreading it.
    public mutating func issue(_ record: InventoryRecord, now: MeshInstant) -> [GossipDirective] {
        precondition(record.origin == me.node, "a node issues only its own records: \(record.origin) is not \(me.node)")
        var out: [GossipDirective] = []
        if inventory.issue(record, now: now) == nil { out.append(.persist(.ownRecord(record))) }
        schedule(now: now, into: &out)
        return out
    }

    /// Re-announces this node at a higher incarnation, at `address` when given.
    public mutating func announce(now: MeshInstant, rng: inout SeededRandom, address: NetAddress? = nil) -> [GossipDirective] {
        var out: [GossipDirective] = []
        translate(membership.announce(now: now, rng: &rng, address: address), into: &out)
        schedule(now: now, into: &out)
        return out
    }

    /// Leaves the federation gracefully.
    public mutating func leave(now: MeshInstant, rng: inout SeededRandom) -> [GossipDirective] {
        var out: [GossipDirective] = []
        translate(membership.leave(now: now, rng: &rng), into: &out)
        schedule(now: now, into: &out)
        return out
    }

    // MARK: - Gossip

    mutating func onDigest(
        _ d: Digest, from: NodeID, now: MeshInstant, rng: inout SeededRandom, into out: inout [GossipDirective]
    ) {
        guard d.scope == .region, d.region == me.region else {
            out.append(.emit(.ignored(.digest, from: from)))
            return
        }
        let address = membership.member(from)?.address
        var differing = inventory.differingBuckets(d.bucketHashes)
        let open = openExchanges.firstIndex { $0.peer == from }
        let sent = open.map { openExchanges[$0].sent }
        if let open, sent == .entries {
            // Step 3: the peer listed (a subset of) the buckets we listed; the rest it masked or
            // could not see as differing, so answer only for ours.
            let ours = openExchanges[open].buckets
            differing = differing.filter { ours.contains($0) }
        }
        if sent != nil {
            // Steps 2 and 3: the peer's versions for the differing buckets (maybe none): answer
            // with what it lacks.
            let delta = inventory.delta(forPeerEntries: d.entries, buckets: differing, maxBytes: Int(d.maxDeltaBytes), rng: &rng)
            if !delta.records.isEmpty {
                out.append(
                    .send(
                        .delta(Delta(records: delta.records, morePending: delta.morePending)), to: from, address: address,
                        lane: .bulk))
            }
        }
        guard !differing.isEmpty, sent != .entries else { return }
        // Steps 1 and 2: give our versions so the peer can answer with what we lack. Only whole
        // buckets whose entries fit are listed; the others are masked with the peer's own hashes so
        // that the peer sees them as equal this time.
        let until = now + .milliseconds(config.exchangeTimeoutMilliseconds)
        let (entries, selected) = inventory.entries(selectingFrom: differing, rng: &rng)
        if let open {
            openExchanges[open].sent = .entries
            openExchanges[open].buckets = selected
            openExchanges[open].until = until
        } else {
            guard openExchanges.count < config.maxOpenExchanges else { return }
            openExchanges.append((from, .entries, selected, until))
        }
        var hashes = inventory.digestHashes
        if d.bucketHashes.count == hashes.count {
            var keep = Array(repeating: false, count: hashes.count)
            for b in selected { keep[b] = true }
            for b in differing where !keep[b] { hashes[b] = d.bucketHashes[b] }
        }
        out.append(
            .send(
                .digest(
                    Digest(
                        scope: .region, region: me.region, bucketHashes: hashes, entries: entries,
                        maxDeltaBytes: config.gossip.maxDeltaBytes)),
                to: from, address: address, lane: .bulk))
    }

    mutating func push(now: MeshInstant, rng: inout SeededRandom, into out: inout [GossipDirective]) {
        guard inventory.hotCount > 0 else { return }
        for _ in 0..<config.pushFanout {
            let records = inventory.takePush(maxBytes: config.maxPushBytes)
            guard !records.isEmpty, let peer = membership.randomPeer(rng: &rng) else { return }
            out.append(.send(.delta(Delta(records: records)), to: peer.node, address: peer.address, lane: .bulk))
        }
    }

    // MARK: - Translation

    mutating func translate(_ directives: [MembershipDirective], into out: inout [GossipDirective]) {
        for directive in directives {
            switch directive {
            case .send(let message, let to, let address):
                out.append(.send(GossipCore.wire(message), to: to, address: address, lane: .liveness))
            case .connect(let address): out.append(.connect(address))
            case .disconnect(let node): out.append(.disconnect(node))
            case .memberChanged(let update, let previous): out.append(.emit(.memberChanged(update, previous: previous)))
            case .persistIncarnation(let incarnation): out.append(.persist(.incarnation(incarnation)))
            case .scheduleTick(let at): membershipWake = at
            }
        }
    }

    /// The wire form of a membership message.
    public static func wire(_ message: MembershipMessage) -> WireMessage {
        switch message {
        case .probe(let p): .probe(p)
        case .probeAck(let a): .probeAck(a)
        case .indirectProbe(let i): .indirectProbe(i)
        case .nack(let n): .nack(n)
        }
    }

    mutating func schedule(now: MeshInstant, into out: inout [GossipDirective]) {
        var next = Swift.min(membershipWake, nextDigestAt)
        if inventory.hotCount > 0 { next = Swift.min(next, nextPushAt) }
        if me.role == .regional, !backbone.isEmpty { next = Swift.min(next, nextSummaryAt) }
        out.append(.scheduleTick(at: Swift.max(next, now)))
    }
}
