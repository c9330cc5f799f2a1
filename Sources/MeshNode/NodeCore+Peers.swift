public import MeshCore
public import MeshGossip
public import MeshMembership
public import MeshPlacement
public import MeshWire

// A node and its peers: links, membership and gossip, authorisation by role, the backbone, and
// revocations.
extension NodeCore {
    // MARK: - Sending

    /// Sends to a peer, unless it is revoked. Liveness frames carry this node's incarnation, so
    /// they wait while a newer one is not yet durable.
    mutating func send(_ message: WireMessage, to peer: NodeID, address: NetAddress? = nil, lane: Lane = .bulk) {
        if isRevoked(peer) { return }
        let target = address ?? self.address(of: peer)
        let directive = NodeDirective.send(message, to: peer, address: target, lane: lane)
        if lane == .liveness && incarnationPending {
            afterCommit(directive)
        } else {
            out.append(directive)
        }
    }

    /// Where a peer listens, as far as this node knows.
    func address(of peer: NodeID) -> NetAddress? {
        if peer == node { return identity.address }
        return gossip.membership.member(peer)?.address ?? backboneNodes[peer] ?? peers[peer]?.listenAddress
    }

    // MARK: - Membership and gossip

    mutating func translate(_ directives: [GossipDirective], now: MeshInstant) {
        for directive in directives {
            switch directive {
            case .send(let message, let to, let address, let lane):
                send(message, to: to, address: address, lane: lane)
            case .connect(let address):
                out.append(.connect(address, .seed))
            case .disconnect(let peer):
                out.append(.disconnect(peer, reason: "the member is gone"))
            case .persist(let item):
                switch item {
                case .incarnation(let incarnation):
                    // Below the durable ceiling nothing needs committing; above it a new ceiling
                    // is stored, and frames carrying the incarnation wait for it.
                    if incarnation > durableIncarnation && incarnation > (stepBatch.incarnation ?? 0) {
                        stepBatch.incarnation = incarnation + config.incarnationBlock
                    }
                case .ownRecord:
                    break  // own records are rebuilt from the ledger's pools at start
                }
            case .emit(let event):
                out.append(.emit(event))
                onGossipEvent(event, now: now)
            case .scheduleTick(let at):
                gossipWake = at
            }
        }
    }

    mutating func onGossipEvent(_ event: NodeEvent, now: MeshInstant) {
        switch event {
        case .memberChanged(let update, let previous):
            memberChangedAt[update.node] = now
            log(
                update.status == .alive ? .info : .warning,
                "member \(update.node.short) \(previous.map { "\($0)" } ?? "new") → \(update.status) at incarnation \(update.incarnation)",
                peer: update.node)
            publishEvent(
                .membership, update.status == .alive ? .info : .warning, subject: update.node.hex,
                detail:
                    "\(update.role) \(update.region) \(update.address) is \(update.status) at incarnation \(update.incarnation)",
                now: now)
            if identity.role == .industry { updateSpilloverPeers() }
        case .recordsLearned:
            viewDirty = true
        case .summariesLearned:
            break
        case .ignored(let type, let from):
            log(.debug, "ignored \(type.name ?? "frame") from \(from.short)", peer: from)
        }
    }

    // MARK: - Links

    mutating func onPeerLinked(_ link: PeerLink, now: MeshInstant, rng: inout SeededRandom) {
        let peer = link.peer
        if isRevoked(peer.node) {
            out.append(.disconnect(peer.node, reason: "the peer's certificate is revoked"))
            return
        }
        peers[peer.node] = link
        requester.onReachable(peer.node)
        if let list = revocations { send(.revocationList(list), to: peer.node) }
        let update = MemberUpdate(
            node: peer.node, address: link.listenAddress ?? link.dialed ?? identity.address, role: peer.role,
            region: peer.region, incarnation: link.incarnation, status: .alive, name: link.name)
        if link.purpose == .seed && peer.region == identity.region {
            translate(gossip.onPeerConnected(update, now: now, rng: &rng), now: now)
        }
        // A regional node of another region is on the backbone, whether it was configured (and
        // dialled) or dialled us.
        if identity.role == .regional, peer.role == .regional, peer.region != identity.region,
            let address = link.listenAddress ?? link.dialed
        {
            if let dialed = link.dialed { backboneAddresses.removeAll { $0 == dialed } }
            backboneAddresses.removeAll { $0 == address }
            addBackbone(update, address: address)
        } else if link.purpose == .backbone, let dialed = link.dialed {
            log(
                .warning, "backbone address \(dialed) is \(peer.role) in \(peer.region); not used for the backbone",
                peer: peer.node)
            backboneAddresses.removeAll { $0 == dialed }
        }
    }

    mutating func onPeerUnlinked(_ peer: NodeID, now: MeshInstant) {
        peers[peer] = nil
        // A closed link ends every wait on the peer at once (a stopping or crashed node).
        perform(requester.onUnreachable(peer, now: now), now: now)
    }

    mutating func onUnreachable(
        _ peer: NodeID, _ failure: ProbeFailure, dropped: [WireMessage], now: MeshInstant, rng: inout SeededRandom
    ) {
        if dropped.contains(where: { if case .probe = $0 { true } else { false } }) {
            translate(gossip.onProbeFailure(peer, failure: failure, now: now, rng: &rng), now: now)
        }
        log(.debug, "\(peer.short) unreachable (\(failure)); \(dropped.count) frames dropped", peer: peer)
        perform(requester.onUnreachable(peer, now: now), now: now)
    }

    /// Region summaries and spillover go to the regional nodes of other regions.
    mutating func addBackbone(_ update: MemberUpdate, address: NetAddress) {
        guard backboneNodes[update.node] == nil else { return }
        backboneNodes[update.node] = address
        gossip.backbone.append(update)
        log(.info, "backbone peer in \(update.region) at \(address)", peer: update.node)
        updateSpilloverPeers()
    }

    /// A key's home is one of the region's regional nodes that is alive, suspect, or dead for less
    /// than the home grace. Worked out when a tenant's request arrives (membership changes too
    /// often in a large region to keep it up to date on every change).
    mutating func updateHomeCandidates() {
        let grace = MeshDuration(milliseconds: config.homeGraceMilliseconds)
        var homes = gossip.membership.allMembers.filter { member in
            guard member.role == .regional else { return false }
            switch member.status {
            case .alive, .suspect: return true
            case .dead: return stepNow < (memberChangedAt[member.node] ?? startedAt) + grace
            case .left: return false
            }
        }.map(\.node)
        if identity.role == .regional { homes.append(node) }
        requester.setHomeCandidates(homes)
    }

    /// Spillover goes to the backbone (regional) or to the region's alive regional nodes (industry).
    mutating func updateSpilloverPeers() {
        switch identity.role {
        case .regional:
            requester.setSpilloverPeers(backboneNodes.keys.sorted())
        case .industry:
            requester.setSpilloverPeers(
                gossip.membership.allMembers.filter { $0.role == .regional && $0.status == .alive }.map(\.node))
        case .operatorConsole:
            break
        }
    }

    // MARK: - Peer messages

    mutating func onPeerMessage(_ message: WireMessage, from peer: PeerCredentials, now: MeshInstant, rng: inout SeededRandom) {
        if isRevoked(peer.node) { return }
        if peer.node != node { requester.onReachable(peer.node) }
        switch message {
        case .probe, .probeAck, .indirectProbe, .nack, .digest, .delta, .regionSummaries:
            translate(gossip.onMessage(message, from: peer.node, now: now, rng: &rng), now: now)
        case .revocationList(let list):
            accept(list, from: peer.node, now: now)
        case .quoteRequest(let ask) where peer.role == .industry && identity.role == .regional:
            // SPEC §8.4: an industry node cannot commit on a regional pool; it forwards instead.
            refuseIndustryPeer(peer.node, request: ask.requestID, pool: ask.pool, doing: "quote")
        case .confirm(let c) where peer.role == .industry && identity.role == .regional:
            refuseIndustryPeer(peer.node, request: c.requestID, pool: nil, doing: "commit on")
        case .quoteRequest(let ask):
            if peer.node != node { referrals.note(ask.requestID, askedBy: peer.node) }
            perform(owner.onQuoteRequest(ask, from: peer.node, requesterRegion: peer.region, now: now, rng: &rng), now: now)
        case .confirm(let c):
            perform(owner.onConfirm(c, from: peer.node, now: now, rng: &rng), now: now)
        case .release(let r):
            onLeaseRequest(.release(r), route: r.route, from: peer.node, now: now)
        case .renew(let r):
            onLeaseRequest(.renew(r), route: r.route, from: peer.node, now: now)
        case .forward(let f):
            if stopping {
                refuseForward(f, from: peer.node, "node \(node.short) is stopping")
                return
            }
            if let warming = warmingUp {
                refuseForward(f, from: peer.node, warming)
                return
            }
            if forwardArrivals.count < config.placement.maxInFlight { forwardArrivals[f.request.requestID] = now }
            ensureView(now: now)
            perform(requester.onForward(f, from: peer.node, now: now, rng: &rng), now: now)
        case .leaseStatus(let s):
            onLeaseState(s, from: peer.node, now: now)
        case .quote(let m): perform(requester.onMessage(.quote(m), from: peer.node, now: now), now: now)
        case .refuse(let m): perform(requester.onMessage(.refuse(m), from: peer.node, now: now), now: now)
        case .confirmed(let m): perform(requester.onMessage(.confirmed(m), from: peer.node, now: now), now: now)
        case .outcome(let m): perform(requester.onMessage(.outcome(m), from: peer.node, now: now), now: now)
        case .ping(let p):
            send(.pong(Pong(nonce: p.nonce, sentAt: p.sentAt)), to: peer.node)
        case .error(let e):
            log(.warning, "peer reported an error: \(e)", peer: peer.node)
        case .hello, .welcome, .reject, .goAway, .pong, .place, .statusRequest, .status, .membersRequest, .members,
            .inventoryRequest, .inventory, .placementsRequest, .placements, .whyRequest, .why, .subscribe, .event,
            .unsubscribe, .registerPool, .poolRegistered:
            // Control frames are the transport's; console frames from a node were refused by the gate.
            break
        }
    }

    mutating func refuseIndustryPeer(_ peer: NodeID, request: RequestID, pool: ComputeID?, doing: String) {
        let refusal = Refuse(
            requestID: request, reason: .unauthorized,
            message: "an industry node may not \(doing) a regional pool: send FORWARD to a regional node", pool: pool)
        send(.refuse(refusal), to: peer)
    }

    mutating func refuseForward(_ f: Forward, from peer: NodeID, _ message: String) {
        let explanation = Explanation(
            requestID: f.request.requestID, decidedBy: node, decidedAt: stepNow, path: f.path + [node], consideredCount: 0,
            filteredCount: 0, scoredCount: 0, verdicts: [], chosen: nil)
        send(
            .outcome(
                Outcome(
                    requestID: f.request.requestID, idempotencyKey: f.request.idempotencyKey,
                    result: .refused(.overloaded, message: message), explanation: explanation)), to: peer)
    }

    // MARK: - Revocations

    func isRevoked(_ peer: NodeID) -> Bool { revocations?.entries.contains { $0.node == peer } ?? false }

    /// Applies a newer root-signed list (the shell checked its signature), cuts revoked peers off,
    /// and passes it on to every other linked peer (flooding with the serial as the version: each
    /// node forwards a list once).
    mutating func accept(_ list: RevocationList, from sender: NodeID?, now: MeshInstant) {
        guard list.serial > (revocations?.serial ?? 0) else { return }
        revocations = list
        out.append(.applyRevocations(list))
        log(.info, "revocation list \(list.serial) in force: \(list.entries.count) revoked")
        publishEvent(
            .security, .warning, subject: "revocations", detail: "list \(list.serial): \(list.entries.count) revoked", now: now)
        for entry in list.entries where peers[entry.node] != nil {
            out.append(.disconnect(entry.node, reason: "revoked"))
            peers[entry.node] = nil
        }
        for peer in peers.keys.sorted() where peer != sender {
            send(.revocationList(list), to: peer)
        }
    }
}
