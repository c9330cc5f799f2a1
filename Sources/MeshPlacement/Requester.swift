public import MeshCore

/// Where an outcome goes: the local tenant who placed the request, or the node that forwarded it.
public enum OutcomeDestination: Hashable, Sendable {
    case tenant
    case node(NodeID)
}

/// What the requester side asks its shell to do.
public enum RequesterDirective: Hashable, Sendable {
    /// Send a placement message to a node.
    case send(to: NodeID, PlacementMessage)
    /// Hand the final outcome of a request to whoever asked.
    case deliver(PlacementOutcome, to: OutcomeDestination)
    /// Call ``PlacementRequester/onTick(now:)`` at this instant.
    case scheduleTick(at: MeshInstant)
}

/// The requester side of placement on one node: validates requests, keeps the idempotency window,
/// filters and scores candidates from the node's view, asks the owners of the top k for firm
/// quotes in parallel, picks deterministically, confirms one and releases the rest, and spills a
/// request it cannot serve over to peer nodes (hop limit, loop prevention, origin lock).
///
/// Safety does not rest on the view: only owners commit, each on its own ledger. The requester
/// guarantees that one request commits at most once: a quote or lease that arrives for a request no
/// longer waiting for it is released at once (the origin lock).
public struct PlacementRequester: Sendable {
    public let node: NodeID
    /// The node's region, which pool policies may name.
    public let region: Region
    public let config: PlacementConfig
    /// The node's freshness-bounded view of pools.
    public var view: PoolView
    /// Peer nodes a request may spill over to, sorted.
    public private(set) var spilloverPeers: [NodeID] = []
    public private(set) var explanations: ExplanationLog

    struct IdempotencyKey: Hashable, Sendable {
        var origin: NodeID
        var tenant: TenantID
        var key: String
    }

    enum IdempotencyState: Sendable {
        case inFlight(RequestID)
        case done(PlacementOutcome)
    }

    struct IdempotencyEntry: Sendable {
        var content: RequestContent
        var state: IdempotencyState
        var expiresAt: MeshInstant
    }

    enum Phase: Sendable {
        case quoting
        case confirming(QuoteOffer)
        case forwarding(NodeID)
    }

    struct Pending: Sendable {
        var request: PlacementRequest
        var replyTo: [OutcomeDestination]
        var path: [NodeID]
        var hopsLeft: UInt8
        var ranked: [RankedCandidate] = []
        var nextRank = 0
        var rounds = 0
        var awaiting: [ComputeID] = []
        var quotes: [QuoteOffer] = []
        var phase: Phase = .quoting
        var explanation: Explanation
        var timerAt: MeshInstant
        var forwardTries = 0
        var lastRefusal: RequestRejection? = nil
    }

    private var pending: [RequestID: Pending] = [:]
    private var idempotency: [IdempotencyKey: IdempotencyEntry] = [:]
    private var idempotencyExpiries: [(MeshInstant, IdempotencyKey)] = []
    private var idempotencyExpiriesStart = 0
    /// Wake-ups, sorted by (instant, request); stale ones are skipped when they fire.
    private var wakeups: [(MeshInstant, RequestID)] = []
    private var announcedTick: MeshInstant? = nil

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
        public var forwardsSent = 0
        public var lateReleases = 0
    }
    public private(set) var counters = Counters()

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

    /// Requests in flight.
    public var inFlightCount: Int { pending.count }

    // MARK: - Inputs

    /// PLACE from a local tenant.
    public mutating func onPlace(_ request: PlacementRequest, now: MeshInstant, rng: inout SeededRandom) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        admit(request, path: [node], hopsLeft: config.forwardHopLimit, replyTo: .tenant, now: now, out: &out)
        return finish(out, now: now)
    }

    /// FORWARD from another node: serve the request here, or spill it further.
    public mutating func onForward(
        _ ask: ForwardAsk, from sender: NodeID, now: MeshInstant, rng: inout SeededRandom
    )
        -> [RequesterDirective]
    {
        var out: [RequesterDirective] = []
        if ask.path.contains(node) {
            refuseAtOnce(
                ask.request, .loopDetected, "node \(node.short) is already on the path", path: ask.path, to: .node(sender),
                out: &out)
        } else if ask.hopLimit == 0 || ask.path.count > Int(PlacementConfig.hopLimitCeiling) + 1 {
            refuseAtOnce(
                ask.request, .hopLimitReached, "the request has no hops left", path: ask.path, to: .node(sender), out: &out)
        } else if pending[ask.request.requestID] != nil {
            // A duplicate of a forward already being served: its one outcome answers both.
            pending[ask.request.requestID]!.replyTo.append(.node(sender))
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
        switch message {
        case .quote(let offer): onQuote(offer, from: sender, now: now, out: &out)
        case .refuse(let refusal): onRefusal(refusal, from: sender, now: now, out: &out)
        case .confirmed(let confirmed): onConfirmed(confirmed, from: sender, now: now, out: &out)
        case .outcome(let outcome): onOutcome(outcome, from: sender, now: now, out: &out)
        case .leaseState: break  // the answer to a RELEASE: nothing waits for it
        case .quoteRequest, .confirm, .release, .renew, .forward:
            preconditionFailure("owner-side message \(message) routed to the requester")
        }
        return finish(out, now: now)
    }

    /// Timers: quote rounds, confirmations and forwards that took too long, deadlines.
    public mutating func onTick(now: MeshInstant) -> [RequesterDirective] {
        var out: [RequesterDirective] = []
        var due: [(MeshInstant, RequestID)] = []
        var cut = 0
        while cut < wakeups.count && wakeups[cut].0 <= now { cut += 1 }
        due = Array(wakeups[0..<cut])
        wakeups.removeFirst(cut)
        announcedTick = nil
        for (at, requestID) in due {
            guard let p = pending[requestID], p.timerAt == at else { continue }
            switch p.phase {
            case .quoting:
                if now >= p.request.deadline {
                    releaseQuotes(p.quotes, out: &out)
                    complete(
                        requestID, .refused(.deadlineExpired, message: "the deadline passed while quoting"), now: now, out: &out)
                } else {
                    pending[requestID]!.awaiting = []
                    concludeRound(requestID, now: now, out: &out)
                }
            case .confirming(let offer):
                // No CONFIRMED in time: give the hold (or the lease it may have become) back.
                out.append(.send(to: offer.pool.owner, .release(.hold(offer.holdID))))
                complete(
                    requestID, .refused(.overloaded, message: "owner \(offer.pool.owner.short) did not confirm in time"),
                    now: now,
                    out: &out)
            case .forwarding(let peer):
                pending[requestID]!.lastRefusal = RequestRejection(.overloaded, "peer \(peer.short) did not answer in time")
                spillOrRefuse(requestID, now: now, out: &out)
            }
        }
        return finish(out, now: now)
    }

    // MARK: - Admission

    private mutating func admit(
        _ request: PlacementRequest, path: [NodeID], hopsLeft: UInt8, replyTo: OutcomeDestination, now: MeshInstant,
        out: inout [RequesterDirective]
    ) {
        counters.requests += 1
        purgeIdempotency(now: now)
        if let rejection = RequestValidation.check(request, now: now, config: config) {
            refuseAtOnce(request, rejection.reason, rejection.message, path: path, to: replyTo, out: &out)
            return
        }
        if request.demand.mode == .spread && request.demand.maxPools > 1 {
            refuseAtOnce(
                request, .invalidDemand, "spreading one demand over several pools is not supported yet; ask per pool",
                path: path, to: replyTo, out: &out)
            return
        }
        let key = IdempotencyKey(origin: request.origin, tenant: request.tenant, key: request.idempotencyKey)
        let content = RequestContent(request)
        if let entry = idempotency[key] {
            if entry.content != content {
                refuseAtOnce(
                    request, .idempotencyConflict,
                    "idempotency key \"\(request.idempotencyKey)\" was used for a different request", path: path, to: replyTo,
                    out: &out)
                return
            }
            switch entry.state {
            case .done(let outcome):
                out.append(.deliver(outcome, to: replyTo))
            case .inFlight(let original):
                pending[original]?.replyTo.append(replyTo)
            }
            return
        }
        if idempotency.count >= config.maxIdempotencyKeys || pending.count >= config.maxInFlight {
            refuseAtOnce(request, .overloaded, "too many requests in flight", path: path, to: replyTo, out: &out)
            return
        }
        idempotency[key] = IdempotencyEntry(content: content, state: .inFlight(request.requestID), expiresAt: .zero)
        let decision = CandidateEvaluation.decide(
            request, view: view, now: now, decidedBy: node, region: region, path: path, config: config)
        pending[request.requestID] = Pending(
            request: request, replyTo: [replyTo], path: path, hopsLeft: hopsLeft, ranked: decision.ranked,
            explanation: decision.explanation, timerAt: now)
        if decision.ranked.isEmpty {
            pending[request.requestID]!.lastRefusal = RequestRejection(
                .noCandidates, "no pool in view passed the filters (\(decision.explanation.consideredCount) considered)")
            spillOrRefuse(request.requestID, now: now, out: &out)
        } else {
            startRound(request.requestID, now: now, out: &out)
        }
    }

    // MARK: - Quote rounds

    private mutating func startRound(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        let end = min(p.ranked.count, p.nextRank + config.quoteFanOut)
        precondition(p.nextRank < end, "a quote round with no candidates left for \(requestID)")
        p.rounds += 1
        counters.quoteRounds += 1
        p.phase = .quoting
        p.quotes = []
        p.awaiting = []
        let holdFor = MeshDuration(milliseconds: config.holdTTLMilliseconds)
        for candidate in p.ranked[p.nextRank..<end] {
            p.awaiting.append(candidate.pool)
            counters.quotesAsked += 1
            let ask = QuoteAsk(
                requestID: requestID, requester: node, pool: candidate.pool, tenant: p.request.tenant, sector: p.request.sector,
                demand: p.request.demand, holdFor: holdFor, deadline: p.request.deadline)
            out.append(.send(to: candidate.pool.owner, .quoteRequest(ask)))
        }
        p.nextRank = end
        p.timerAt = min(now + MeshDuration(milliseconds: config.quoteTimeoutMilliseconds), p.request.deadline)
        pending[requestID] = p
        wake(requestID, at: p.timerAt)
    }

    private mutating func onQuote(_ offer: QuoteOffer, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        guard var p = pending[offer.requestID], case .quoting = p.phase, let index = p.awaiting.firstIndex(of: offer.pool),
            offer.pool.owner == sender
        else {
            // Late or unexpected: nobody will confirm it, so give it back now.
            counters.lateReleases += 1
            out.append(.send(to: sender, .release(.hold(offer.holdID))))
            return
        }
        p.awaiting.remove(at: index)
        p.quotes.append(offer)
        let group = p.ranked.first { $0.pool == offer.pool }?.acceleratorGroup
        view.debit(
            pool: offer.pool, computeUnits: offer.computeUnits, memoryMiB: offer.memoryMiB,
            acceleratorCount: offer.acceleratorCount,
            group: group)
        pending[offer.requestID] = p
        if p.awaiting.isEmpty { concludeRound(offer.requestID, now: now, out: &out) }
    }

    private mutating func onRefusal(_ refusal: Refusal, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        if let fresh = refusal.freshAvailability, fresh.id.owner == sender { view.heal(fresh, now: now) }
        guard var p = pending[refusal.requestID] else { return }
        switch p.phase {
        case .quoting:
            guard let pool = refusal.pool, pool.owner == sender, let index = p.awaiting.firstIndex(of: pool) else { return }
            p.awaiting.remove(at: index)
            p.lastRefusal = RequestRejection(refusal.reason, refusal.message)
            Self.markRefused(&p.explanation, pool: pool, message: "\(refusal.reason): \(refusal.message)")
            pending[refusal.requestID] = p
            if p.awaiting.isEmpty { concludeRound(refusal.requestID, now: now, out: &out) }
        case .confirming(let offer):
            guard sender == offer.pool.owner else { return }
            p.lastRefusal = RequestRejection(refusal.reason, refusal.message)
            Self.markRefused(&p.explanation, pool: offer.pool, message: "confirm refused: \(refusal.reason): \(refusal.message)")
            p.phase = .quoting
            pending[refusal.requestID] = p
            nextRoundOrGiveUp(refusal.requestID, now: now, out: &out)
        case .forwarding(let peer):
            guard sender == peer else { return }
            p.lastRefusal = RequestRejection(refusal.reason, refusal.message)
            pending[refusal.requestID] = p
            spillOrRefuse(refusal.requestID, now: now, out: &out)
        }
    }

    /// Moves a scored candidate's verdict to filtered(ownerRefused), keeping the sum rule.
    static func markRefused(_ explanation: inout Explanation, pool: ComputeID, message: String) {
        guard let index = explanation.verdicts.firstIndex(where: { $0.pool == pool }),
            case .scored = explanation.verdicts[index].outcome
        else { return }
        explanation.verdicts[index].outcome = .filtered(
            .ownerRefused, detail: String(message.utf8.prefix(CandidateVerdict.maxDetailBytes))!)
        explanation.scoredCount -= 1
        explanation.filteredCount += 1
    }

    private mutating func concludeRound(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        if p.quotes.isEmpty {
            nextRoundOrGiveUp(requestID, now: now, out: &out)
            return
        }
        // Deterministic pick: the candidate's score, then the firm price, then the pool ID.
        func score(_ offer: QuoteOffer) -> UInt32 { p.ranked.first { $0.pool == offer.pool }?.score.total ?? 0 }
        let ordered = p.quotes.sorted { a, b in
            let (sa, sb) = (score(a), score(b))
            if sa != sb { return sa > sb }
            if a.pricePerUnitHour != b.pricePerUnitHour { return a.pricePerUnitHour < b.pricePerUnitHour }
            return a.pool < b.pool
        }
        let chosen = ordered[0]
        for other in ordered.dropFirst() { out.append(.send(to: other.pool.owner, .release(.hold(other.holdID)))) }
        p.quotes = [chosen]
        p.phase = .confirming(chosen)
        counters.confirmsSent += 1
        out.append(
            .send(
                to: chosen.pool.owner,
                .confirm(
                    ConfirmAsk(
                        requestID: requestID, holdID: chosen.holdID, idempotencyKey: p.request.idempotencyKey,
                        leaseDuration: p.request.leaseDuration))))
        p.timerAt = now + MeshDuration(milliseconds: config.confirmTimeoutMilliseconds)
        pending[requestID] = p
        wake(requestID, at: p.timerAt)
    }

    private mutating func nextRoundOrGiveUp(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        let p = pending[requestID]!
        if p.nextRank < p.ranked.count && p.rounds < config.maxQuoteRounds && now < p.request.deadline {
            startRound(requestID, now: now, out: &out)
        } else {
            if p.lastRefusal == nil || p.lastRefusal?.reason == .holdLapsed {
                pending[requestID]!.lastRefusal = RequestRejection(
                    .insufficientCapacity, "no owner among \(p.nextRank) candidates could hold the capacity")
            }
            spillOrRefuse(requestID, now: now, out: &out)
        }
    }

    private mutating func onConfirmed(
        _ confirmed: LeaseConfirmed, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]
    ) {
        // The lease may come from another hold than the one confirmed: an owner answers a confirm
        // under a key that already has a lease with that lease.
        guard let p = pending[confirmed.requestID], case .confirming(let offer) = p.phase, sender == offer.pool.owner
        else {
            // The origin lock: a lease nobody waits for is released at once.
            counters.lateReleases += 1
            out.append(.send(to: sender, .release(.lease(confirmed.lease.leaseID))))
            return
        }
        counters.quoteRoundsOfPlaced += p.rounds
        complete(confirmed.requestID, .placed([confirmed.lease]), chosen: offer.pool, now: now, out: &out)
    }

    // MARK: - Spillover

    private mutating func spillOrRefuse(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        let candidates = spilloverPeers.filter { !p.path.contains($0) }
        // The origin tries up to three peers in turn; a node serving a forwarded request passes it
        // on at most once (a chain, not a tree), so one request costs at most a handful of hops.
        let isOrigin = p.path.count == 1
        let maxTries = isOrigin ? min(candidates.count, Int(PlacementConfig.hopLimitCeiling)) : min(candidates.count, 1)
        if p.hopsLeft > 0 && !candidates.isEmpty && p.forwardTries < maxTries && now < p.request.deadline {
            let start = Int(truncatingIfNeeded: UInt64(truncatingIfNeeded: requestID.value) % UInt64(candidates.count))
            let peer = candidates[(start + p.forwardTries) % candidates.count]
            p.forwardTries += 1
            p.phase = .forwarding(peer)
            p.timerAt = min(now + MeshDuration(milliseconds: config.forwardTimeoutMilliseconds), p.request.deadline)
            pending[requestID] = p
            counters.forwardsSent += 1
            out.append(.send(to: peer, .forward(ForwardAsk(request: p.request, hopLimit: p.hopsLeft, path: p.path))))
            wake(requestID, at: p.timerAt)
            return
        }
        let rejection = p.lastRefusal ?? RequestRejection(.noCandidates, "no pool could serve the request")
        complete(requestID, .refused(rejection.reason, message: rejection.message), now: now, out: &out)
    }

    private mutating func onOutcome(
        _ outcome: PlacementOutcome, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]
    ) {
        guard let p = pending[outcome.requestID], case .forwarding(let peer) = p.phase, peer == sender else {
            // The origin lock: leases made for a request that is no longer waiting are given back.
            if case .placed(let leases) = outcome.result {
                for lease in leases {
                    counters.lateReleases += 1
                    out.append(.send(to: lease.pool.owner, .release(.lease(lease.leaseID))))
                }
            }
            return
        }
        switch outcome.result {
        case .placed:
            counters.quoteRoundsOfPlaced += p.rounds
            complete(outcome.requestID, outcome.result, explanation: outcome.explanation, now: now, out: &out)
        case .refused(let reason, let message):
            pending[outcome.requestID]!.lastRefusal = RequestRejection(reason, message)
            spillOrRefuse(outcome.requestID, now: now, out: &out)
        }
    }

    // MARK: - Completion

    private mutating func complete(
        _ requestID: RequestID, _ result: PlacementResult, chosen: ComputeID? = nil, explanation: Explanation? = nil,
        now: MeshInstant, out: inout [RequesterDirective]
    ) {
        guard let p = pending.removeValue(forKey: requestID) else {
            preconditionFailure("completing unknown request \(requestID)")
        }
        var final = explanation ?? p.explanation
        if explanation == nil { final.chosen = chosen }
        if case .placed = result { counters.placed += 1 } else { counters.refused += 1 }
        let outcome = PlacementOutcome(
            requestID: requestID, idempotencyKey: p.request.idempotencyKey, result: result, explanation: final)
        explanations.record(final)
        let key = IdempotencyKey(origin: p.request.origin, tenant: p.request.tenant, key: p.request.idempotencyKey)
        let expiresAt = now + MeshDuration(milliseconds: config.idempotencyWindowMilliseconds)
        idempotency[key] = IdempotencyEntry(content: RequestContent(p.request), state: .done(outcome), expiresAt: expiresAt)
        idempotencyExpiries.append((expiresAt, key))
        for destination in p.replyTo { out.append(.deliver(outcome, to: destination)) }
    }

    private mutating func refuseAtOnce(
        _ request: PlacementRequest, _ reason: RefuseReason, _ message: String, path: [NodeID],
        to destination: OutcomeDestination,
        out: inout [RequesterDirective]
    ) {
        counters.refused += 1
        let explanation = Explanation(
            requestID: request.requestID, decidedBy: node, decidedAt: .zero, path: path, consideredCount: 0, filteredCount: 0,
            scoredCount: 0, verdicts: [], chosen: nil)
        let outcome = PlacementOutcome(
            requestID: request.requestID, idempotencyKey: request.idempotencyKey, result: .refused(reason, message: message),
            explanation: explanation)
        out.append(.deliver(outcome, to: destination))
    }

    private func releaseQuotes(_ quotes: [QuoteOffer], out: inout [RequesterDirective]) {
        for quote in quotes { out.append(.send(to: quote.pool.owner, .release(.hold(quote.holdID)))) }
    }

    private mutating func purgeIdempotency(now: MeshInstant) {
        while idempotencyExpiriesStart < idempotencyExpiries.count && idempotencyExpiries[idempotencyExpiriesStart].0 <= now {
            let (at, key) = idempotencyExpiries[idempotencyExpiriesStart]
            idempotencyExpiriesStart += 1
            if let entry = idempotency[key], case .done = entry.state, entry.expiresAt == at { idempotency[key] = nil }
        }
        if idempotencyExpiriesStart > 1024 && idempotencyExpiriesStart * 2 > idempotencyExpiries.count {
            idempotencyExpiries.removeFirst(idempotencyExpiriesStart)
            idempotencyExpiriesStart = 0
        }
    }

    private mutating func wake(_ requestID: RequestID, at instant: MeshInstant) {
        var low = 0
        var high = wakeups.count
        while low < high {
            let mid = (low + high) / 2
            if (wakeups[mid].0, wakeups[mid].1) < (instant, requestID) { low = mid + 1 } else { high = mid }
        }
        wakeups.insert((instant, requestID), at: low)
    }

    private mutating func finish(_ out: [RequesterDirective], now: MeshInstant) -> [RequesterDirective] {
        var directives = out
        if let first = wakeups.first?.0, first != announcedTick {
            announcedTick = first
            directives.append(.scheduleTick(at: first))
        }
        return directives
    }
}
