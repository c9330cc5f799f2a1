public import MeshCore
public import MeshGossip
public import MeshPlacement
public import MeshWire

// A node's placement: its requester and owner ledger, its own pools and the records it issues for
// them, the view built from gossip, and the lease routes that carry RENEW and RELEASE back along a
// placement's path.
extension NodeCore {
    // MARK: - The placement cores' directives

    mutating func perform(_ directives: [RequesterDirective], now: MeshInstant) {
        // Messages and outcomes that follow a decision to remember leave only once it is durable:
        // a key's home answers a retry with the same outcome after a restart, and an entry node
        // acknowledges leases only once it can report them after a restart.
        var remembered = false
        for directive in directives {
            switch directive {
            case .send(let to, let message):
                if case .forward(let f) = message {
                    log(
                        .info, "placement \(f.request.requestID) forwarded to \(to.short) (\(f.hopLimit) hops left)",
                        peer: to, request: f.request.requestID)
                }
                if remembered {
                    afterCommit(.send(PlacementWire.wire(message), to: to, address: address(of: to), lane: .bulk))
                } else {
                    send(PlacementWire.wire(message), to: to)
                }
            case .remember(let decision):
                stepBatch.decisions.append(decision)
                remembered = true
            case .explained(let explanation):
                // Kept for WHY after a restart; nothing waits for it, so it waits for a commit
                // (NodeConfig.explanationFlushCount).
                if pendingExplanations.isEmpty { pendingExplanationsSince = now }
                pendingExplanations.append(explanation)
            case .deliver(let outcome, let destination, let path):
                switch destination {
                case .tenant(let ticket):
                    if case .placed(let leases) = outcome.result {
                        for lease in leases {
                            routes.record(lease, route: LeaseRouting.route(from: node, through: path, to: lease.pool.owner))
                        }
                    }
                    answerTicket(ticket, with: outcome, held: remembered)
                    log(.info, "placement \(outcome.requestID) \(Self.summary(outcome))", request: outcome.requestID)
                case .node(let peer):
                    if let arrived = forwardArrivals.removeValue(forKey: outcome.requestID) {
                        counters.observe(.deciding, placed: outcome.isPlaced, seconds: seconds(since: arrived))
                    }
                    log(
                        .info, "placement \(outcome.requestID) decided for \(peer.short): \(Self.summary(outcome))", peer: peer,
                        request: outcome.requestID)
                    if remembered {
                        afterCommit(.send(.outcome(outcome), to: peer, address: address(of: peer), lane: .bulk))
                    } else {
                        send(.outcome(outcome), to: peer)
                    }
                }
                publishEvent(
                    .placement, outcome.isPlaced ? .info : .warning, subject: outcome.requestID.description,
                    detail: outcome.isPlaced ? "placed" : "refused: \(outcome.result)", now: now)
            case .scheduleTick(let at):
                requesterWake = min(requesterWake ?? at, at)
            }
        }
    }

    /// `placed 2 leases on a, b` or `refused (insufficient-capacity): …`, for the placement log line.
    static func summary(_ outcome: Outcome) -> String {
        switch outcome.result {
        case .placed(let leases):
            "placed \(leases.count) lease\(leases.count == 1 ? "" : "s") on "
                + leases.map { $0.pool.description }.joined(separator: ", ")
        case .refused(let reason, let message): "refused (\(reason)): \(message)"
        }
    }

    /// The owner ledger's directives. Its changes join this step's batch; its answers leave only
    /// once that batch (and every one before it) is durable.
    mutating func perform(
        _ directives: [OwnerDirective], now: MeshInstant, answering console: (SessionID, UInt64)? = nil, route: LeaseRoute = []
    ) {
        var touched: [ComputeID] = []
        for directive in directives {
            switch directive {
            case .persist(let changes, let version):
                stepBatch.changes.append(contentsOf: changes)
                stepBatch.ledgerVersion = version
                for change in changes {
                    touched.append(contentsOf: pools(touchedBy: change))
                    noteOwnerChange(change, now: now)
                }
            case .reply(let to, let message):
                if let (session, correlationID) = console, to == node {
                    afterCommit(.answer(PlacementWire.wire(message), correlationID: correlationID, session: session))
                } else if !isRevoked(to) {
                    var answer = message
                    var target = to
                    if case .leaseState(var status) = message {
                        // The owner's answer travels back along the request's route, and the key's
                        // home, if it is the owner, sees it too.
                        status.route = route
                        answer = .leaseState(status)
                        if let index = route.firstIndex(of: node), index > 0 { target = route[index - 1] }
                        observeWhenDurable(status)
                    }
                    afterCommit(.send(PlacementWire.wire(answer), to: target, address: address(of: target), lane: .bulk))
                }
            case .scheduleSweep(let at):
                ownerWake = min(ownerWake ?? at, at)
            }
        }
        // Fresh capacity leaves with the next gossip round.
        var seen: [ComputeID] = []
        for pool in touched.sorted() where !seen.contains(pool) {
            seen.append(pool)
            publishAvailability(pool, now: now)
        }
    }

    /// The pools whose availability a change moves.
    func pools(touchedBy change: LedgerChange) -> [ComputeID] {
        switch change {
        case .poolRegistered, .leaseAcknowledged, .leaseReconfirmed: []
        case .holdPlaced(let h): [h.pool]
        case .leaseStarted(let l): [l.lease.pool]
        case .holdReleased, .holdExpired, .leaseRenewed, .leaseReleased, .leaseExpired, .leaseAbandoned:
            // Released capacity: the hold or lease is gone from the ledger, so check every pool;
            // only pools whose figures changed are issued again.
            owner.poolIDs
        }
    }

    /// The owner's side of the event stream: leases committed and ended.
    mutating func noteOwnerChange(_ change: LedgerChange, now: MeshInstant) {
        switch change {
        case .leaseStarted(let l):
            publishEvent(
                .placement, .info, subject: l.lease.leaseID.description,
                detail: "lease committed on \(l.lease.pool.localName) for \(l.lease.tenant) (request \(l.requestID))", now: now)
        case .leaseReleased(let id):
            publishEvent(.placement, .info, subject: id.description, detail: "lease released", now: now)
        case .leaseExpired(let id):
            publishEvent(.placement, .info, subject: id.description, detail: "lease expired", now: now)
        case .leaseAbandoned(let id):
            publishEvent(
                .placement, .warning, subject: id.description, detail: "lease abandoned: nobody acknowledged it in time", now: now
            )
            log(.warning, "lease \(id) abandoned: its holder never acknowledged it")
        case .holdPlaced(let h):
            publishEvent(
                .placement, .info, subject: h.holdID.description,
                detail: "hold placed on \(h.pool.localName) for \(h.tenant) (request \(h.requestID)): \(h.computeUnits) units",
                now: now)
        case .holdReleased(let id):
            publishEvent(.placement, .info, subject: id.description, detail: "hold released", now: now)
        case .holdExpired(let id):
            publishEvent(.placement, .info, subject: id.description, detail: "hold expired", now: now)
        case .leaseRenewed(let id, let expiresAt):
            publishEvent(
                .placement, .info, subject: id.description, detail: "lease renewed until \(expiresAt.milliseconds) ms", now: now)
        case .poolRegistered, .leaseAcknowledged, .leaseReconfirmed:
            break
        }
    }

    // MARK: - Lease routes

    /// RENEW or RELEASE from a peer. On a route (SPEC §6.6.13) a node that is not the owner passes
    /// it to the next node; the owner answers along the route back. Without a route, the receiver
    /// answers for its own ledger.
    mutating func onLeaseRequest(_ message: PlacementMessage, route: LeaseRoute, from peer: NodeID, now: MeshInstant) {
        guard Self.isSimple(route) else {
            // A node twice on a route would send it round in a circle: dropped (SPEC §6.6.13).
            log(.warning, "a lease request from \(peer.short) names a node twice on its route; dropped", peer: peer)
            return
        }
        if let index = route.firstIndex(of: node), index + 1 < route.count {
            counters.relayed += 1
            send(PlacementWire.wire(message), to: route[index + 1])
            return
        }
        let directives: [OwnerDirective]
        switch message {
        case .renew(let r): directives = owner.onRenew(r.leaseID, extendBy: r.extendBy, from: peer, now: now)
        case .release(let r): directives = owner.onRelease(r.reservation, from: peer, now: now)
        default: preconditionFailure("\(message) is not a request about a lease")
        }
        perform(directives, now: now, route: route)
    }

    /// LEASE_STATE from a peer: passed back along its route to whoever asked; seen by the requester
    /// (its own acknowledgements, and the key decisions it keeps) on the way.
    mutating func onLeaseState(_ status: LeaseStatus, from peer: NodeID, now: MeshInstant) {
        guard Self.isSimple(status.route) else {
            log(.warning, "a LEASE_STATE from \(peer.short) names a node twice on its route; dropped", peer: peer)
            return
        }
        perform(requester.observe(status, now: now), now: now)
        if let index = status.route.firstIndex(of: node), index > 0 {
            counters.relayed += 1
            send(.leaseStatus(status), to: status.route[index - 1])
            return
        }
        if case .lease(let id) = status.reservation {
            let waiting = routes.answered(id)
            if !waiting.isEmpty {
                routes.update(id, until: status.state == .leased ? status.expiresAt : now)
                var answer = status
                answer.route = []
                for (session, correlationID) in waiting {
                    out.append(.answer(.leaseStatus(answer), correlationID: correlationID, session: session))
                }
            }
        }
        perform(requester.onMessage(.leaseState(status), from: peer, now: now), now: now)
    }

    /// Whether no node appears twice on a route.
    static func isSimple(_ route: LeaseRoute) -> Bool {
        for (index, hop) in route.enumerated() where route[(index + 1)...].contains(hop) { return false }
        return true
    }

    mutating func expireRelays(now: MeshInstant) {
        for (lease, session, correlationID) in routes.expire(now: now) {
            counters.relayTimeouts += 1
            refuseConsole(
                .internalError, "the owner of lease \(lease) did not answer in time; retry", correlationID: correlationID,
                session: session, type: .renew)
        }
    }

    // MARK: - Own pools and records

    /// Registers (or replaces) a pool durably and publishes it.
    mutating func register(_ spec: PoolSpec, now: MeshInstant) throws(RegistrationError) -> RegisteredPool {
        let pool = try registry.register(spec)
        perform(owner.register(pool, now: now), now: now)
        publish(pool.descriptor, now: now)
        return pool
    }

    mutating func nextRecord(_ body: RecordBody, now: MeshInstant) -> InventoryRecord {
        recordSequence += 1
        return InventoryRecord(
            origin: node, epoch: epoch, sequence: recordSequence, issuedAt: now,
            validUntil: now + .milliseconds(config.recordValidityMilliseconds), body: body)
    }

    /// Issues the pool's descriptor and availability records (again, for the periodic refresh).
    mutating func publish(_ descriptor: PoolDescriptor, now: MeshInstant) {
        translate(gossip.issue(nextRecord(.descriptor(descriptor), now: now), now: now), now: now)
        publishAvailability(descriptor.id, now: now, evenIfUnchanged: true)
    }

    /// Issues the pool's availability record when it differs from the last one issued.
    mutating func publishAvailability(_ pool: ComputeID, now: MeshInstant, evenIfUnchanged: Bool = false) {
        guard let availability = owner.availability(of: pool) else { return }
        if !evenIfUnchanged && publishedAvailability[pool] == availability { return }
        publishedAvailability[pool] = availability
        translate(gossip.issue(nextRecord(.availability(availability), now: now), now: now), now: now)
        viewDirty = true
    }

    // MARK: - The view

    /// Rebuilds the requester's view when records arrived since it was built: before a decision,
    /// never on a timer, so a node that never decides never holds a view.
    mutating func ensureView(now: MeshInstant) {
        guard viewDirty else { return }
        viewDirty = false
        refreshView(now: now)
    }

    /// Each pool's newest descriptor and availability, valid while both records are.
    mutating func refreshView(now: MeshInstant) {
        let pools = newestPoolRecords(now: now)
        for id in pools.withdrawn { requester.view.withdraw(id) }
        viewPoolCount = 0
        for id in pools.descriptors.keys.sorted() {
            // An industry node places only on its own (sector) pools; the rest of its region it
            // reaches through FORWARD to its regional nodes, which alone commit on regional pools.
            if identity.role == .industry && id.owner != node {
                requester.view.withdraw(id)
                continue
            }
            let (record, descriptor) = pools.descriptors[id]!
            let fresh = pools.availability[id]
            let newest = fresh.map { ($0.0.epoch, $0.0.sequence) > (record.epoch, record.sequence) ? $0.0 : record } ?? record
            _ = requester.view.upsert(
                ViewEntry(
                    descriptor: descriptor,
                    availability: fresh?.1
                        ?? PoolAvailability(
                            id: id, freeComputeUnits: 0, freeMemoryMiB: 0,
                            freeAccelerators: descriptor.accelerators.map { _ in 0 },
                            pricePerUnitHour: descriptor.pricePerUnitHour),
                    epoch: newest.epoch, sequence: newest.sequence, issuedAt: newest.issuedAt,
                    validUntil: min(record.validUntil, fresh?.0.validUntil ?? record.validUntil),
                    latency: id.owner == node ? .zero : .milliseconds(1)))
            viewPoolCount += 1
        }
    }

    /// Each pool's newest live descriptor and availability records, and the pools tombstoned.
    func newestPoolRecords(
        now: MeshInstant
    ) -> (
        descriptors: [ComputeID: (InventoryRecord, PoolDescriptor)],
        availability: [ComputeID: (InventoryRecord, PoolAvailability)], withdrawn: [ComputeID]
    ) {
        var descriptors: [ComputeID: (InventoryRecord, PoolDescriptor)] = [:]
        var availability: [ComputeID: (InventoryRecord, PoolAvailability)] = [:]
        var withdrawn: [ComputeID] = []
        for record in gossip.inventory.liveRecords(now: now) {
            switch record.body {
            case .descriptor(let d):
                if let old = descriptors[d.id], (old.0.epoch, old.0.sequence) >= (record.epoch, record.sequence) { continue }
                descriptors[d.id] = (record, d)
            case .availability(let a):
                if let old = availability[a.id], (old.0.epoch, old.0.sequence) >= (record.epoch, record.sequence) { continue }
                availability[a.id] = (record, a)
            case .tombstone(let id):
                withdrawn.append(id)
            }
        }
        return (descriptors, availability, withdrawn)
    }
}
