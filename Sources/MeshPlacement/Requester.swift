public import MeshCore

/// Where an outcome goes: a tenant's submission at this node, or the node that forwarded the
/// request here.
public enum OutcomeDestination: Hashable, Sendable {
    /// A tenant's submission, by the ticket the node gave it when the request arrived (a retry
    /// that joins a request in flight gets a ticket of its own and the same outcome).
    case tenant(ticket: UInt64)
    case node(NodeID)
}

/// A request in flight at a requester, as the console's WHY reports it before there is an
/// explanation.
public enum RequestProgress: Hashable, Sendable {
    /// This node is deciding it (quote rounds, confirmation or acknowledgement).
    case deciding
    /// This node forwarded it (to the key's home, or spilled over) and waits for the outcome.
    case forwarded(to: NodeID)
}

/// What the requester side asks its shell to do.
public enum RequesterDirective: Hashable, Sendable {
    /// Send a placement message to a node.
    case send(to: NodeID, PlacementMessage)
    /// Hand the final outcome of a request to whoever asked. `path` lists the nodes between this
    /// one and the leases' owners, in order (empty: confirmed here): RENEW and RELEASE about the
    /// leases take the route `[this node] + path + [owner]` (SPEC §6.6.13).
    case deliver(Outcome, to: OutcomeDestination, path: [NodeID])
    /// Keep a final outcome durably (it replaces the key's earlier decision): the deliveries that
    /// follow in the same step MUST NOT leave before it is durable.
    case remember(KeyDecision)
    /// Keep this explanation durably for WHY after a restart (it is already in
    /// ``PlacementRequester/explanations``); no message or outcome waits for it.
    case explained(Explanation)
    /// Call ``PlacementRequester/onTick(now:)`` at this instant.
    case scheduleTick(at: MeshInstant)
}

/// The requester side of placement on one node: validates requests, keeps the idempotency window,
/// filters and scores candidates from the node's view, asks the owners of the top k for firm
/// quotes in parallel, picks deterministically, confirms one and releases the rest, and spills a
/// request it cannot serve over to peer nodes (hop limit, loop prevention, origin lock).
///
/// A spread demand is split into the fewest equal parts (at most `maxPools`) that the view can
/// place on distinct owners; each round asks for every missing part in parallel, and the parts are
/// confirmed all or nothing: if any part fails, every part (held or already leased) is given back
/// and the request spills over or is refused, so no partial lease is left.
///
/// **Acknowledgement and doubt** (SPEC §6.6.12). A placement reported to a tenant at this node is
/// first acknowledged to every lease's owner (RENEW with `extendBy` zero, through the peer that
/// reported the leases); owners abandon leases nobody acknowledges within
/// ``PlacementConfig/acknowledgeWithinMilliseconds``. An unanswered CONFIRM is asked again (it is
/// idempotent) until the deadline. When a request ends without an answer it can trust (an owner or
/// peer that stayed silent, an acknowledgement that did not come back), it is refused as
/// `ownerUnreachable`, which is transient: nothing is replayed from the idempotency window, and
/// what the requester knows (holds confirmed, leases reported, the peer forwarded to) is kept *in
/// doubt* for the same bound, so a retry with the same key finishes that placement instead of
/// booking another. A failed dial or a closed link (``onUnreachable(_:now:)``) ends every wait on
/// that node at once.
///
/// A node serving a request spilled over from another region asks only owners whose figures are
/// fresh or show spare room (``PlacementConfig/spilloverFreshMilliseconds``): at saturation, blind
/// spillover mostly moves placements between regions at the cost of failed quote rounds.
///
/// Safety does not rest on the view: only owners commit, each on its own ledger. The requester
/// guarantees that one request commits at most once: a quote or lease that arrives for a request no
/// longer waiting for it is released at once (the origin lock), unless it answers a request in
/// doubt, which keeps it for a retry.
public struct PlacementRequester: Sendable {
    public let node: NodeID
    /// The node's region, which pool policies may name.
    public let region: Region
    public let config: PlacementConfig
    /// The node's freshness-bounded view of pools.
    public var view: PoolView
    /// Peer nodes a request may spill over to, sorted.
    public internal(set) var spilloverPeers: [NodeID] = []
    /// The regional nodes of this node's region a key's home is chosen from, sorted (this node
    /// among them when it is regional).
    public internal(set) var homeCandidates: [NodeID] = []
    /// The explanations of this node's recent decisions and of outcomes it passed on.
    public internal(set) var explanations: ExplanationLog

    /// An idempotency key's scope: the tenant and its key, wherever the request entered.
    struct IdempotencyKey: Hashable, Sendable {
        var tenant: TenantID
        var key: String
    }

    enum IdempotencyState: Sendable {
        case inFlight(RequestID)
        /// A final outcome; `path` as in ``RequesterDirective/deliver(_:to:path:)``; `acknowledged`
        /// when an entry node acknowledged its leases (a tenant was told).
        case done(Outcome, path: [NodeID], acknowledged: Bool)
        case inDoubt(InDoubt)
    }

    struct IdempotencyEntry: Sendable {
        var content: RequestContent
        var state: IdempotencyState
        var expiresAt: MeshInstant
    }

    /// What is known of a request that ended without an answer it could trust.
    struct InDoubt: Sendable {
        /// The request the holds were confirmed under (late answers carry its ID).
        var requestID: RequestID
        var parts: [Demand]
        var held: [Quote?]
        var leased: [Lease?]
        /// The nodes between this one and the leases' owners.
        var leasePath: [NodeID]
        /// A peer that was forwarded the request and never answered.
        var forwardedTo: NodeID?
    }

    enum Phase: Sendable {
        case quoting
        /// Every part holds a firm quote; CONFIRMs are out for all of them.
        case confirming
        case forwarding(NodeID)
        /// The request is placed; RENEW(0) is out for every lease not yet acknowledged.
        case acknowledging
    }

    /// A quote request in flight: the pool asked and the part it was asked for.
    struct Asked: Sendable {
        var pool: ComputeID
        var part: Int
    }

    /// A firm quote received in the current round, for one part.
    struct PartQuote: Sendable {
        var part: Int
        var offer: Quote
        var score: UInt32
    }

    /// Who waits for a request's outcome, and under which request ID it asked (a retry joining a
    /// request in flight asked under its own).
    struct Reply: Sendable, CustomStringConvertible {
        var destination: OutcomeDestination
        var requestID: RequestID
        var description: String { "\(destination) as \(requestID)" }
    }

    struct Pending: Sendable {
        var request: PlacementRequest
        var replyTo: [Reply]
        var path: [NodeID]
        var hopsLeft: UInt8
        var ranked: [RankedCandidate] = []
        var nextRank = 0
        var rounds = 0
        /// The demand of each part, each for one pool: one part for a gang, up to `maxPools` for
        /// a spread demand (see ``PlacementRequester/split(_:into:)``).
        var parts: [Demand] = []
        /// The firm quote kept for each part (from this or an earlier round); nil while missing.
        var held: [Quote?] = []
        /// The lease confirmed for each part, while confirming or acknowledging.
        var leased: [Lease?] = []
        /// Which leases their owner acknowledged, while acknowledging.
        var acknowledged: [Bool] = []
        /// The nodes between this one and the leases' owners (empty: confirmed here).
        var leasePath: [NodeID] = []
        var awaiting: [Asked] = []
        /// This round's quotes, not yet assigned to a part.
        var quotes: [PartQuote] = []
        var phase: Phase = .quoting
        var explanation: Explanation
        var timerAt: MeshInstant
        /// When the acknowledgement phase gives up.
        var acknowledgeUntil: MeshInstant = .zero
        /// The peers forwarded to so far, in order.
        var tried: [NodeID] = []
        /// The first peer that was forwarded the request and stayed silent.
        var silentPeer: NodeID? = nil
        /// Sent to the key's home, which alone decides it: no other peer is tried.
        var homed = false
        var lastRefusal: RequestRejection? = nil
        /// The view version each quote received was debited against, by hold, so that a hold given
        /// back can be credited back while those figures are still in view.
        var debited: [HoldID: ViewVersion] = [:]

        var isSpread: Bool { parts.count > 1 }
        var hasTenant: Bool { replyTo.contains { if case .tenant = $0.destination { true } else { false } } }
    }

    var pending: [RequestID: Pending] = [:]
    var idempotency: [IdempotencyKey: IdempotencyEntry] = [:]
    /// Expiries of final outcomes and of requests in doubt, each queue in time order (every entry
    /// of one queue lives equally long).
    var doneExpiries = ExpiryQueue()
    var doubtExpiries = ExpiryQueue()
    /// Requests in doubt, by the request ID their holds and forwards were made under.
    var inDoubtByRequest: [RequestID: IdempotencyKey] = [:]
    /// The request waiting for each lease's acknowledgement.
    var awaitingAcknowledgement: [LeaseID: RequestID] = [:]
    /// Keys whose placed outcome is remembered here unacknowledged, by lease: when the owner's
    /// answer to an acknowledgement passes by, the decision is kept for the whole window (or
    /// dropped, when the lease is gone).
    var unacknowledgedDecisions: [LeaseID: IdempotencyKey] = [:]
    /// Nodes found unreachable, and until when they are skipped.
    var unreachableUntil: [NodeID: MeshInstant] = [:]
    /// Idempotency keys in the order they expire (appended in time order, consumed from the front).
    struct ExpiryQueue: Sendable {
        var items: [(MeshInstant, IdempotencyKey)] = []
        var start = 0

        mutating func append(_ at: MeshInstant, _ key: IdempotencyKey) { items.append((at, key)) }

        /// Removes and returns the entries due at `now`.
        mutating func popDue(_ now: MeshInstant) -> [(MeshInstant, IdempotencyKey)] {
            var due: [(MeshInstant, IdempotencyKey)] = []
            while start < items.count && items[start].0 <= now {
                due.append(items[start])
                start += 1
            }
            if start > 1024 && start * 2 > items.count {
                items.removeFirst(start)
                start = 0
            }
            return due
        }
    }

    /// Wake-ups, sorted by (instant, request); stale ones are skipped when they fire.
    var wakeups: [(MeshInstant, RequestID)] = []
    var announcedTick: MeshInstant? = nil

    /// Counters for tests, metrics and the simulator's oracle.
    public struct Counters: Hashable, Sendable {
        public var requests = 0
        public var placed = 0
        public var refused = 0
        public var quoteRounds = 0
        /// Quote rounds run by requests that ended placed.
        public var quoteRoundsOfPlaced = 0
        public var quotesAsked = 0
        public var confirmsSent = 0
        /// CONFIRMs asked again because the first went unanswered.
        public var confirmsRepeated = 0
        public var forwardsSent = 0
        /// Holds quoted after their request stopped waiting, given back at once.
        public var lateReleases = 0
        /// Leases reported after their request stopped waiting (left to be acknowledged elsewhere or
        /// abandoned).
        public var lateLeases = 0
        /// Ranked candidates not asked for a quote because, by the time of the round, the view
        /// (healed by owners' refusals, debited by quotes received) showed they had no room.
        public var candidatesSkipped = 0
        /// Candidates skipped because their owner was unreachable.
        public var unreachableSkipped = 0
        /// Candidates not asked for a spilled request because their figures were neither fresh nor
        /// showed spare room (``PlacementConfig/spilloverFreshMilliseconds``).
        public var spilloverCandidatesSkipped = 0
        /// Requests placed as a spread demand over more than one pool.
        public var spreadPlaced = 0
        /// Spread requests whose parts were all given back because one part failed.
        public var spreadRolledBack = 0
        /// Requests that ended in doubt (refused as owner-unreachable with something to resume).
        public var inDoubt = 0
        /// Retries that resumed a request in doubt.
        public var resumed = 0
        /// Leases acknowledged to their owners before a tenant was told.
        public var acknowledgements = 0
    }
    public internal(set) var counters = Counters()

    public init(node: NodeID, region: Region, config: PlacementConfig = PlacementConfig(), view: PoolView = PoolView()) {
        self.node = node
        self.region = region
        self.config = config
        self.view = view
        self.explanations = ExplanationLog(capacity: config.maxExplanations)
    }

    /// Sets the peers a request may spill over to.
    public mutating func setSpilloverPeers(_ peers: [NodeID]) {
        spilloverPeers = Array(Set(peers.filter { $0 != node })).sorted()
    }

    /// Sets the regional nodes a key's home is chosen from.
    public mutating func setHomeCandidates(_ nodes: [NodeID]) {
        homeCandidates = Array(Set(nodes)).sorted()
    }

    /// Requests in flight.
    public var inFlightCount: Int { pending.count }

    /// Requests kept in doubt for a retry.
    public var inDoubtCount: Int { inDoubtByRequest.count }

    // MARK: - Inputs

    /// PLACE from a tenant at this node; `ticket` names the submission in the outcome's delivery.
    public mutating func onPlace(
        _ request: PlacementRequest, ticket: UInt64, now: MeshInstant, rng: inout SeededRandom
    ) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        admit(
            request, path: [node], hopsLeft: config.forwardHopLimit, replyTo: .tenant(ticket: ticket), now: now, out: &out)
        return finish(out, now: now)
    }

    /// FORWARD from another node: serve the request here, or spill it further.
    public mutating func onForward(
        _ ask: Forward, from sender: NodeID, now: MeshInstant, rng: inout SeededRandom
    )
        -> [RequesterDirective]
    {
        var out: [RequesterDirective] = []
        noteReachable(sender)
        if ask.path.contains(node) {
            refuseAtOnce(
                ask.request, .loopDetected, "node \(node.short) is already on the path", path: ask.path, to: .node(sender),
                now: now, out: &out)
        } else if ask.hopLimit == 0 || ask.path.count > Int(PlacementConfig.hopLimitCeiling) + 1 {
            refuseAtOnce(
                ask.request, .hopLimitReached, "the request has no hops left", path: ask.path, to: .node(sender), now: now,
                out: &out)
        } else if pending[ask.request.requestID] != nil {
            // A duplicate of a forward already being served: its one outcome answers both.
            pending[ask.request.requestID]!.replyTo.append(Reply(destination: .node(sender), requestID: ask.request.requestID))
        } else {
            admit(
                ask.request, path: ask.path + [node], hopsLeft: min(ask.hopLimit, PlacementConfig.hopLimitCeiling) - 1,
                replyTo: .node(sender), now: now, out: &out)
        }
        return finish(out, now: now)
    }

    /// An answer from another node: QUOTE, REFUSE, CONFIRMED, LEASE_STATE or OUTCOME.
    public mutating func onMessage(_ message: PlacementMessage, from sender: NodeID, now: MeshInstant) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        noteReachable(sender)
        switch message {
        case .quote(let offer): onQuote(offer, from: sender, now: now, out: &out)
        case .refuse(let refusal): onRefusal(refusal, from: sender, now: now, out: &out)
        case .confirmed(let confirmed): onConfirmed(confirmed, from: sender, now: now, out: &out)
        case .outcome(let outcome): onOutcome(outcome, from: sender, now: now, out: &out)
        case .leaseState(let status): onLeaseState(status, from: sender, now: now, out: &out)
        case .quoteRequest, .confirm, .release, .renew, .forward:
            preconditionFailure("owner-side message \(message) routed to the requester")
        }
        return finish(out, now: now)
    }

    /// A node could not be reached: a dial failed, or the last link to it closed. Every wait on it
    /// ends now, and it is skipped as a candidate owner and forward target for a while.
    public mutating func onUnreachable(_ peer: NodeID, now: MeshInstant) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        guard peer != node else { return [] }
        unreachableUntil[peer] = now + MeshDuration(milliseconds: config.unreachableCooldownMilliseconds)
        // In request order, so the directives do not depend on the table's layout.
        for requestID in pending.keys.sorted() {
            guard let p = pending[requestID] else { continue }
            switch p.phase {
            case .quoting:
                let lost = p.awaiting.filter { $0.pool.owner == peer }
                guard !lost.isEmpty else { continue }
                var q = p
                q.awaiting.removeAll { $0.pool.owner == peer }
                for asked in lost {
                    Self.markFiltered(
                        &q.explanation, pool: asked.pool, reason: .unreachable, message: "owner \(peer.short) unreachable")
                }
                q.lastRefusal = RequestRejection(.ownerUnreachable, "owner \(peer.short) could not be reached")
                pending[requestID] = q
                if q.awaiting.isEmpty { concludeRound(requestID, now: now, out: &out) }
            case .confirming:
                let stranded = p.held.indices.filter { p.held[$0]?.pool.owner == peer && p.leased[$0] == nil }
                guard !stranded.isEmpty else { continue }
                abandonConfirms(requestID, at: peer, parts: stranded, now: now, out: &out)
            case .forwarding(let target):
                guard target == peer else { continue }
                // It may have been working on the request when its link went: a retry asks it again.
                if pending[requestID]!.silentPeer == nil { pending[requestID]!.silentPeer = peer }
                pending[requestID]!.lastRefusal = RequestRejection(
                    .ownerUnreachable, "peer \(peer.short) could not be reached")
                spillOrRefuse(requestID, now: now, out: &out)
            case .acknowledging:
                let through = p.leased.indices.contains { part in
                    p.acknowledged[part] == false
                        && Self.route(for: p.leased[part]!, from: node, through: p.leasePath).contains(peer)
                }
                guard through else { continue }
                endInDoubt(
                    requestID, "the owner of a lease (or the peer it came through), \(peer.short), could not be reached",
                    now: now, out: &out)
            }
        }
        return finish(out, now: now)
    }

    /// A node was heard from (a link opened, or a message arrived): it is a candidate again.
    public mutating func onReachable(_ peer: NodeID) { noteReachable(peer) }

    /// Timers: quote rounds, confirmations, forwards and acknowledgements that took too long.
    public mutating func onTick(now: MeshInstant) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        var cut = 0
        while cut < wakeups.count && wakeups[cut].0 <= now { cut += 1 }
        let due = Array(wakeups[0..<cut])
        wakeups.removeFirst(cut)
        announcedTick = nil
        purgeIdempotency(now: now)
        for (at, requestID) in due {
            guard let p = pending[requestID], p.timerAt == at else { continue }
            switch p.phase {
            case .quoting:
                if now >= p.request.deadline {
                    releaseQuotes(p.quotes.map(\.offer), out: &out)
                    releaseHeld(requestID, out: &out)
                    complete(
                        requestID, .refused(.deadlineExpired, message: "the deadline passed while quoting"), now: now, out: &out)
                } else {
                    for asked in p.awaiting {
                        Self.markFiltered(
                            &pending[requestID]!.explanation, pool: asked.pool, reason: .unreachable,
                            message: "owner \(asked.pool.owner.short) did not answer in time")
                    }
                    if !p.awaiting.isEmpty && pending[requestID]!.lastRefusal == nil {
                        pending[requestID]!.lastRefusal = RequestRejection(.ownerUnreachable, "owners did not answer in time")
                    }
                    pending[requestID]!.awaiting = []
                    concludeRound(requestID, now: now, out: &out)
                }
            case .confirming:
                let silent = p.held.indices.filter { p.leased[$0] == nil }.map { p.held[$0]!.pool.owner.short }
                if now >= p.request.deadline {
                    endInDoubt(
                        requestID, "owner \(silent.joined(separator: ", ")) did not answer CONFIRM by the deadline", now: now,
                        out: &out)
                } else {
                    // An unanswered CONFIRM is asked again: it is idempotent, and a lease the owner
                    // committed comes back (SPEC §6.6.12).
                    sendConfirms(requestID, repeated: true, now: now, out: &out)
                }
            case .forwarding(let peer):
                if pending[requestID]!.silentPeer == nil { pending[requestID]!.silentPeer = peer }
                pending[requestID]!.lastRefusal = RequestRejection(.ownerUnreachable, "peer \(peer.short) did not answer in time")
                spillOrRefuse(requestID, now: now, out: &out)
            case .acknowledging:
                if now >= p.acknowledgeUntil {
                    endInDoubt(requestID, "the leases' owners did not acknowledge them in time", now: now, out: &out)
                } else {
                    sendAcknowledgements(requestID, now: now, out: &out)
                }
            }
        }
        return finish(out, now: now)
    }

    // MARK: - Reachability

    mutating func noteReachable(_ peer: NodeID) {
        if unreachableUntil[peer] != nil { unreachableUntil[peer] = nil }
    }

    func isUnreachable(_ peer: NodeID, now: MeshInstant) -> Bool {
        guard let until = unreachableUntil[peer] else { return false }
        return now < until
    }

    // MARK: - Wake-ups and directives

    mutating func wake(_ requestID: RequestID, at instant: MeshInstant) {
        var low = 0
        var high = wakeups.count
        while low < high {
            let mid = (low + high) / 2
            if (wakeups[mid].0, wakeups[mid].1) < (instant, requestID) { low = mid + 1 } else { high = mid }
        }
        wakeups.insert((instant, requestID), at: low)
    }

    mutating func finish(_ out: [RequesterDirective], now: MeshInstant) -> [RequesterDirective] {
        var directives = out
        if let first = wakeups.first?.0, first != announcedTick {
            announcedTick = first
            directives.append(.scheduleTick(at: first))
        }
        return directives
    }
}

extension PlacementRequester {
    /// What this requester remembers of a key, for diagnostics.
    public func describe(tenant: TenantID, key: String) -> String {
        guard let entry = idempotency[IdempotencyKey(tenant: tenant, key: key)] else { return "nothing" }
        switch entry.state {
        case .inFlight(let id):
            guard let p = pending[id] else { return "in flight as \(id) with no pending request" }
            return "in flight as \(id): phase \(p.phase), timer \(p.timerAt), replyTo \(p.replyTo), tried \(p.tried)"
        case .done(let outcome, _, let acknowledged): return "done \(outcome.result), acknowledged \(acknowledged)"
        case .inDoubt(let doubt):
            return
                "in doubt: forwarded to \(doubt.forwardedTo.map(\.short) ?? "none"), held \(doubt.held.count), leased \(doubt.leased.compactMap { $0 }.count)"
        }
    }
}
