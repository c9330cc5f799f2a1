public import MeshCore

// How a request ends: acknowledgement of its leases, spillover to peers, and completion with the
// idempotency window (final outcomes replayed, transient ones not, doubt kept for a retry).
extension PlacementRequester {
    // MARK: - Acknowledgement

    /// Every part is leased. A tenant at this node is told only once the owners acknowledged the
    /// leases; a request served for another node is answered at once (that node acknowledges).
    mutating func placed(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        let leases = p.leased.map { $0! }
        guard p.hasTenant else {
            complete(requestID, .placed(leases), path: p.leasePath, acknowledged: false, now: now, out: &out)
            return
        }
        // The decision is durable before any owner hears an acknowledgement: an owner keeps an
        // acknowledged lease for its whole term, so the node that reports it must still be able
        // to answer a retry with it after a crash.
        let outcome = Outcome(
            requestID: requestID, idempotencyKey: p.request.idempotencyKey, result: .placed(leases), explanation: p.explanation)
        out.append(
            .remember(
                KeyDecision(
                    content: RequestContent(p.request), outcome: outcome, path: p.leasePath, acknowledged: false,
                    expiresAt: now + MeshDuration(milliseconds: config.acknowledgeWithinMilliseconds * 2))))
        p.phase = .acknowledging
        p.acknowledged = leases.map { _ in false }
        p.acknowledgeUntil = now + MeshDuration(milliseconds: config.acknowledgeTimeoutMilliseconds)
        pending[requestID] = p
        for lease in leases { awaitingAcknowledgement[lease.leaseID] = requestID }
        sendAcknowledgements(requestID, now: now, out: &out)
    }

    /// A retry of a placement made for another node's tenant: acknowledge its leases, then answer.
    mutating func startAcknowledgingReplay(
        _ request: PlacementRequest, outcome: Outcome, leases: [Lease], path: [NodeID], replyTo: OutcomeDestination,
        now: MeshInstant, out: inout [RequesterDirective]
    ) {
        let key = IdempotencyKey(tenant: request.tenant, key: request.idempotencyKey)
        idempotency[key] = IdempotencyEntry(
            content: RequestContent(request), state: .inFlight(request.requestID), expiresAt: .zero)
        var p = Pending(
            request: request, replyTo: [Reply(destination: replyTo, requestID: request.requestID)], path: [node], hopsLeft: 0,
            explanation: outcome.explanation, timerAt: now)
        p.parts = leases.map { Self.demand(of: $0, like: request.demand) }
        p.held = leases.map { _ in nil }
        p.leased = leases
        p.leasePath = path
        pending[request.requestID] = p
        placed(request.requestID, now: now, out: &out)
    }

    /// The demand a lease covers, for the part it stands for.
    static func demand(of lease: Lease, like demand: Demand) -> Demand {
        Demand(
            accelerator: demand.accelerator, acceleratorCount: lease.acceleratorCount, computeUnits: lease.computeUnits,
            memoryMiB: lease.memoryMiB)
    }

    /// The route of RENEW and RELEASE about a lease: this node, the nodes between it and the
    /// lease's owner, and the owner.
    static func route(for lease: Lease, from node: NodeID, through path: [NodeID]) -> LeaseRoute {
        LeaseRouting.route(from: node, through: path, to: lease.pool.owner)
    }

    /// RENEW with `extendBy` zero for every lease not yet acknowledged, along its route.
    mutating func sendAcknowledgements(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        for part in p.leased.indices where !p.acknowledged[part] {
            let lease = p.leased[part]!
            let route = Self.route(for: lease, from: node, through: p.leasePath)
            out.append(
                .send(to: route.count > 1 ? route[1] : node, .renew(Renew(leaseID: lease.leaseID, extendBy: .zero, route: route)))
            )
        }
        p.timerAt = min(now + MeshDuration(milliseconds: config.acknowledgeRetryMilliseconds), p.acknowledgeUntil)
        pending[requestID] = p
        wake(requestID, at: p.timerAt)
    }

    mutating func onLeaseState(_ status: LeaseStatus, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        // Other LEASE_STATEs answer this node's RELEASEs: nothing waits for them.
        guard case .lease(let leaseID) = status.reservation, let requestID = awaitingAcknowledgement[leaseID],
            var p = pending[requestID], case .acknowledging = p.phase,
            let part = p.leased.firstIndex(where: { $0?.leaseID == leaseID })
        else { return }
        guard status.state == .leased else {
            // The lease ended before it could be acknowledged (its owner abandoned it, or it was
            // released): the placement did not happen. Give back the others.
            let leases = p.leased.map { $0! }
            p.leased[part] = nil
            pending[requestID] = p
            releaseHeld(requestID, out: &out)
            // The decision remembered before the acknowledgements is void.
            let void = Outcome(
                requestID: requestID, idempotencyKey: p.request.idempotencyKey, result: .placed(leases),
                explanation: p.explanation)
            out.append(
                .remember(
                    KeyDecision(
                        content: RequestContent(p.request), outcome: void, path: p.leasePath, acknowledged: false, expiresAt: now)
                ))
            complete(
                requestID, .refused(.holdLapsed, message: "lease \(leaseID) ended (\(status.state)) before it was acknowledged"),
                now: now, out: &out)
            return
        }
        p.acknowledged[part] = true
        awaitingAcknowledgement[leaseID] = nil
        counters.acknowledgements += 1
        pending[requestID] = p
        if p.acknowledged.allSatisfy({ $0 }) {
            complete(requestID, .placed(p.leased.map { $0! }), path: p.leasePath, acknowledged: true, now: now, out: &out)
        }
    }

    /// An owner's answer about a lease, seen by this node as it passes (relayed toward whoever
    /// asked) or as the owner: a placed outcome remembered here unacknowledged is kept for the
    /// whole window once its leases are acknowledged, and forgotten when one of them is gone.
    public mutating func observe(_ status: LeaseStatus, now: MeshInstant) -> [RequesterDirective] {
        guard case .lease(let leaseID) = status.reservation, let key = unacknowledgedDecisions[leaseID],
            let entry = idempotency[key], case .done(let outcome, let path, false) = entry.state,
            case .placed(let leases) = outcome.result
        else { return [] }
        var out: [RequesterDirective] = []
        if status.state == .leased {
            // Kept for the window once every lease of the decision was acknowledged.
            unacknowledgedDecisions[leaseID] = nil
            guard !leases.contains(where: { unacknowledgedDecisions[$0.leaseID] == key }) else { return [] }
            let window = now + MeshDuration(milliseconds: config.idempotencyWindowMilliseconds)
            idempotency[key]!.state = .done(outcome, path: path, acknowledged: true)
            idempotency[key]!.expiresAt = window
            doneExpiries.append(window, key)
            out.append(
                .remember(
                    KeyDecision(content: entry.content, outcome: outcome, path: path, acknowledged: true, expiresAt: window)))
        } else {
            for lease in leases where unacknowledgedDecisions[lease.leaseID] == key {
                unacknowledgedDecisions[lease.leaseID] = nil
            }
            idempotency[key] = nil
            out.append(
                .remember(KeyDecision(content: entry.content, outcome: outcome, path: path, acknowledged: false, expiresAt: now)))
        }
        return out
    }

    /// Decisions read back from the store after a restart.
    public mutating func restore(_ decisions: [KeyDecision], now: MeshInstant) {
        for decision in decisions.sorted(by: { $0.expiresAt < $1.expiresAt }) where decision.expiresAt > now {
            let key = IdempotencyKey(tenant: decision.tenant, key: decision.key)
            idempotency[key] = IdempotencyEntry(
                content: decision.content,
                state: .done(decision.outcome, path: decision.path, acknowledged: decision.acknowledged),
                expiresAt: decision.expiresAt)
            if decision.acknowledged || !decision.outcome.isPlaced {
                doneExpiries.append(decision.expiresAt, key)
            } else {
                doubtExpiries.append(decision.expiresAt, key)
                if case .placed(let leases) = decision.outcome.result {
                    for lease in leases { unacknowledgedDecisions[lease.leaseID] = key }
                }
            }
        }
    }

    /// Explanations read back from the store after a restart, oldest first: recorded in that order,
    /// so the oldest are the first forgotten. One that breaks the sum rule (a damaged file) is
    /// skipped, not trusted; the number skipped is returned.
    @discardableResult
    public mutating func restore(explanations kept: [Explanation]) -> Int {
        var skipped = 0
        for explanation in kept {
            if explanation.obeysSumRule { explanations.record(explanation) } else { skipped += 1 }
        }
        return skipped
    }

    /// Where a request this node has no explanation for stands here, if anywhere: still being
    /// decided, or forwarded to a peer and not answered yet.
    public func progress(of requestID: RequestID) -> RequestProgress? {
        guard let p = pending[requestID] else { return nil }
        if case .forwarding(let peer) = p.phase { return .forwarded(to: peer) }
        return .deciding
    }

    /// Ends a request whose answers this node can no longer wait for: refused as owner-unreachable
    /// (transient), with what it knows kept in doubt for a retry.
    mutating func endInDoubt(_ requestID: RequestID, _ message: String, now: MeshInstant, out: inout [RequesterDirective]) {
        complete(requestID, .refused(.ownerUnreachable, message: message), now: now, out: &out)
    }

    // MARK: - Spillover

    mutating func spillOrRefuse(_ requestID: RequestID, now: MeshInstant, out: inout [RequesterDirective]) {
        let p = pending[requestID]!
        if p.homed {
            // The home alone decides a tenant's key: another node would not know it.
            let rejection = p.lastRefusal ?? RequestRejection(.ownerUnreachable, "the key's home did not answer")
            complete(requestID, .refused(rejection.reason, message: rejection.message), now: now, out: &out)
            return
        }
        let candidates = spilloverPeers.filter { !p.path.contains($0) && !p.tried.contains($0) }
        let reachable = candidates.filter { !isUnreachable($0, now: now) }
        // The origin tries up to three peers in turn; a node serving a forwarded request passes it
        // on at most once (a chain, not a tree), so one request costs at most a handful of hops.
        let isOrigin = p.path.count == 1
        let maxTries = isOrigin ? Int(PlacementConfig.hopLimitCeiling) : 1
        if p.hopsLeft > 0 && !reachable.isEmpty && p.tried.count < maxTries && now < p.request.deadline {
            // Every entry node of a region starts with the same peer for a given key, so that a
            // retry entering elsewhere reaches the node that remembers the key.
            let start = Int(truncatingIfNeeded: Self.keyHash(p.request) % UInt64(reachable.count))
            forward(requestID, to: reachable[start], now: now, out: &out)
            return
        }
        var rejection = p.lastRefusal ?? RequestRejection(.noCandidates, "no pool could serve the request")
        if p.lastRefusal == nil || p.lastRefusal?.reason == .noCandidates, p.hopsLeft > 0, p.tried.count < maxTries,
            !candidates.isEmpty, reachable.isEmpty
        {
            rejection = RequestRejection(
                .ownerUnreachable, "no pool here could serve it and the \(candidates.count) peers to spill to are unreachable")
        }
        complete(requestID, .refused(rejection.reason, message: rejection.message), now: now, out: &out)
    }

    mutating func forward(_ requestID: RequestID, to peer: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        var p = pending[requestID]!
        if !p.tried.contains(peer) { p.tried.append(peer) }
        p.phase = .forwarding(peer)
        let grace = MeshDuration(milliseconds: config.forwardGraceMilliseconds * UInt64(p.hopsLeft))
        p.timerAt = min(now + MeshDuration(milliseconds: config.forwardTimeoutMilliseconds), p.request.deadline + grace)
        pending[requestID] = p
        counters.forwardsSent += 1
        out.append(.send(to: peer, .forward(Forward(request: p.request, hopLimit: p.hopsLeft, path: p.path))))
        wake(requestID, at: p.timerAt)
    }

    /// A stable 64-bit hash (FNV-1a) of a request's tenant and key: the same on every node and in
    /// every run, unlike `Hasher`.
    static func keyHash(_ request: PlacementRequest) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in request.tenant.name.utf8 + [0] + request.idempotencyKey.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    mutating func onOutcome(_ outcome: Outcome, from sender: NodeID, now: MeshInstant, out: inout [RequesterDirective]) {
        guard var p = pending[outcome.requestID], case .forwarding(let peer) = p.phase, peer == sender else {
            // Leases reported for a request no longer waiting: a request in doubt keeps them for a
            // retry. Otherwise they are not released: another entry node may have acknowledged them
            // to the tenant (the key's home answers every attempt with the same leases), and a
            // lease nobody acknowledges is abandoned by its owner within the bound anyway.
            if case .placed(let leases) = outcome.result {
                if !keepInDoubt(outcome.requestID, outcome: outcome, leases: leases, from: sender) {
                    counters.lateLeases += leases.count
                }
            }
            return
        }
        switch outcome.result {
        case .placed(let leases):
            counters.quoteRoundsOfPlaced += p.rounds
            p.parts = leases.map { Self.demand(of: $0, like: p.request.demand) }
            p.held = leases.map { _ in nil }
            p.leased = leases
            p.leasePath = Self.path(after: node, in: outcome.explanation.path, from: sender)
            p.explanation = outcome.explanation
            pending[outcome.requestID] = p
            if outcome.acknowledged {
                // A replay of a decision a tenant was told: its leases were acknowledged then.
                complete(outcome.requestID, .placed(leases), path: p.leasePath, acknowledged: true, now: now, out: &out)
            } else {
                placed(outcome.requestID, now: now, out: &out)
            }
        case .refused(let reason, let message):
            pending[outcome.requestID]!.lastRefusal = RequestRejection(reason, message)
            pending[outcome.requestID]!.explanation = outcome.explanation
            spillOrRefuse(outcome.requestID, now: now, out: &out)
        }
    }

    /// The nodes after `node` on a request's path (the deciding node last): the way to its leases'
    /// owners. A node that is not on the path reaches them through the peer that told it.
    static func path(after node: NodeID, in path: [NodeID], from sender: NodeID) -> [NodeID] {
        guard let index = path.firstIndex(of: node) else { return [sender] }
        return Array(path[(index + 1)...])
    }

    /// A late OUTCOME from the peer a request in doubt was forwarded to is kept for a retry.
    mutating func keepInDoubt(_ requestID: RequestID, outcome: Outcome, leases: [Lease], from sender: NodeID) -> Bool {
        guard let key = inDoubtByRequest[requestID], var entry = idempotency[key], case .inDoubt(var doubt) = entry.state,
            doubt.forwardedTo == sender
        else { return false }
        doubt.parts = leases.map { Demand(computeUnits: $0.computeUnits, memoryMiB: $0.memoryMiB) }
        doubt.held = leases.map { _ in nil }
        doubt.leased = leases
        doubt.leasePath = Self.path(after: node, in: outcome.explanation.path, from: sender)
        entry.state = .inDoubt(doubt)
        idempotency[key] = entry
        return true
    }

    // MARK: - Completion

    func key(of request: PlacementRequest) -> IdempotencyKey {
        IdempotencyKey(tenant: request.tenant, key: request.idempotencyKey)
    }

    mutating func complete(
        _ requestID: RequestID, _ result: PlacementResult, path: [NodeID] = [], acknowledged: Bool = false, now: MeshInstant,
        out: inout [RequesterDirective]
    ) {
        guard let p = pending.removeValue(forKey: requestID) else {
            preconditionFailure("completing unknown request \(requestID)")
        }
        for case let lease? in p.leased where awaitingAcknowledgement[lease.leaseID] == requestID {
            awaitingAcknowledgement[lease.leaseID] = nil
        }
        if case .placed = result { counters.placed += 1 } else { counters.refused += 1 }
        let outcome = Outcome(
            requestID: requestID, idempotencyKey: p.request.idempotencyKey, result: result, explanation: p.explanation)
        explanations.record(p.explanation)
        out.append(.explained(p.explanation))
        let key = key(of: p.request)
        let window = now + MeshDuration(milliseconds: config.idempotencyWindowMilliseconds)
        switch result {
        case .placed(let leases):
            if acknowledged {
                remember(key, p.request, .done(outcome, path: path, acknowledged: true), until: window)
                doneExpiries.append(window, key)
                out.append(
                    .remember(
                        KeyDecision(
                            content: RequestContent(p.request), outcome: outcome, path: path, acknowledged: true,
                            expiresAt: window)))
            } else {
                // Placed for another node, which acknowledges the leases through this one: kept
                // for the whole window once that is seen, else only until the leases are abandoned.
                let until = now + MeshDuration(milliseconds: config.acknowledgeWithinMilliseconds * 2)
                remember(key, p.request, .done(outcome, path: path, acknowledged: false), until: until)
                doubtExpiries.append(until, key)
                for lease in leases { unacknowledgedDecisions[lease.leaseID] = key }
                out.append(
                    .remember(
                        KeyDecision(
                            content: RequestContent(p.request), outcome: outcome, path: path, acknowledged: false,
                            expiresAt: until)))
            }
        case .refused(let reason, _) where reason.isTransient:
            let somethingToResume =
                p.held.contains { $0 != nil } || p.leased.contains { $0 != nil } || p.silentPeer != nil
            if somethingToResume {
                counters.inDoubt += 1
                let doubt = InDoubt(
                    requestID: requestID, parts: p.parts, held: p.held, leased: p.leased, leasePath: p.leasePath,
                    forwardedTo: p.silentPeer)
                let until = now + MeshDuration(milliseconds: config.acknowledgeWithinMilliseconds)
                remember(key, p.request, .inDoubt(doubt), until: until)
                doubtExpiries.append(until, key)
                inDoubtByRequest[requestID] = key
            } else {
                idempotency[key] = nil
            }
        case .refused:
            remember(key, p.request, .done(outcome, path: [], acknowledged: true), until: window)
            doneExpiries.append(window, key)
            out.append(
                .remember(
                    KeyDecision(
                        content: RequestContent(p.request), outcome: outcome, path: [], acknowledged: true, expiresAt: window)))
        }
        for reply in p.replyTo {
            var answer = outcome
            answer.requestID = reply.requestID
            if case .node = reply.destination { answer.acknowledged = acknowledged && outcome.isPlaced }
            out.append(.deliver(answer, to: reply.destination, path: path))
        }
    }

    mutating func remember(_ key: IdempotencyKey, _ request: PlacementRequest, _ state: IdempotencyState, until: MeshInstant) {
        idempotency[key] = IdempotencyEntry(content: RequestContent(request), state: state, expiresAt: until)
    }

    /// Refuses without a quote round (invalid, a conflict, a loop, no hops left, overloaded); the
    /// explanation is stamped `now`, when the refusal was decided.
    mutating func refuseAtOnce(
        _ request: PlacementRequest, _ reason: RefuseReason, _ message: String, path: [NodeID],
        to destination: OutcomeDestination, now: MeshInstant,
        out: inout [RequesterDirective]
    ) {
        counters.refused += 1
        let explanation = Explanation(
            requestID: request.requestID, decidedBy: node, decidedAt: now, path: path, consideredCount: 0, filteredCount: 0,
            scoredCount: 0, verdicts: [], chosen: nil)
        let outcome = Outcome(
            requestID: request.requestID, idempotencyKey: request.idempotencyKey, result: .refused(reason, message: message),
            explanation: explanation)
        out.append(.deliver(outcome, to: destination, path: []))
    }

    func releaseQuotes(_ quotes: [Quote], out: inout [RequesterDirective]) {
        for quote in quotes { out.append(.send(to: quote.pool.owner, .release(Release(reservation: .hold(quote.holdID))))) }
    }

    mutating func purgeIdempotency(now: MeshInstant) {
        for (at, key) in doneExpiries.popDue(now) + doubtExpiries.popDue(now) {
            guard let entry = idempotency[key], entry.expiresAt == at else { continue }
            switch entry.state {
            case .done(let outcome, _, _):
                idempotency[key] = nil
                if case .placed(let leases) = outcome.result {
                    for lease in leases where unacknowledgedDecisions[lease.leaseID] == key {
                        unacknowledgedDecisions[lease.leaseID] = nil
                    }
                }
            case .inDoubt(let doubt):
                idempotency[key] = nil
                inDoubtByRequest[doubt.requestID] = nil
            case .inFlight: break
            }
        }
    }
}
