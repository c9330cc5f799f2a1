public import MeshCore

/// What an owner's ledger asks its shell to do, in order.
public enum OwnerDirective: Hashable, Sendable {
    /// Commit these changes durably, in one transaction, before performing any later directive of
    /// the same step: an answer MUST NOT leave before the changes it reports are committed.
    case persist([LedgerChange], ledgerVersion: UInt64)
    /// Send a message to a node.
    case reply(to: NodeID, PlacementMessage)
    /// Call ``OwnerLedger/onTick(now:)`` at this instant (holds or leases expire then).
    case scheduleSweep(at: MeshInstant)
}

/// The authoritative ledger of one node's pools: the single writer of their reservations.
///
/// Holds have a TTL; a confirm turns a live hold into a lease; leases can be renewed and released;
/// expired holds and leases are swept at the start of every input, so lapsed capacity never blocks
/// a quote and a lapsed hold can never be confirmed. Every state change is returned as a
/// ``OwnerDirective/persist(_:ledgerVersion:)`` that precedes the answer reporting it.
///
/// **Acknowledgement** (SPEC §6.6.12). A new lease is unacknowledged until its holder sends RENEW
/// (with `extendBy` zero or more), which it does once the lease has been reported to a tenant. A
/// repeated CONFIRM of an unacknowledged lease returns it again and restarts the wait. A lease
/// still unacknowledged ``PlacementConfig/acknowledgeWithinMilliseconds`` after it was last
/// confirmed is abandoned: no tenant was told of it (its answer was lost, its requester crashed,
/// or the requester gave up), so it must not hold capacity for its whole term.
///
/// Invariant (checked by `precondition`): for every pool, holds plus leases never exceed capacity.
public struct OwnerLedger: Sendable {
    public let node: NodeID
    public let config: PlacementConfig

    struct OwnedPool: Sendable {
        var registered: RegisteredPool
        var descriptor: PoolDescriptor { registered.descriptor }
        var usedComputeUnits: UInt64 = 0
        var usedMemoryMiB: UInt64 = 0
        var usedAccelerators: [UInt32]
    }

    private var pools: [ComputeID: OwnedPool] = [:]
    private var holds: [HoldID: Hold] = [:]
    private var leases: [LeaseID: ActiveLease] = [:]
    /// Holds already confirmed, so that a repeated CONFIRM returns the same lease.
    private var confirmedHolds: [HoldID: LeaseID] = [:]
    private var confirmedOrder: [HoldID] = []
    private var confirmedOrderStart = 0
    /// The live lease of each (tenant, idempotency key): a confirm under a key that already has
    /// one returns it instead of booking twice, even after the requester lost its memory of the
    /// key (a crash and a retry).
    private var leaseByKey: [LeaseKey: LeaseID] = [:]

    struct LeaseKey: Hashable, Sendable {
        var tenant: TenantID
        var key: String
    }
    /// The earliest instant any hold or lease may expire (may be early; never late).
    private var nextExpiry: MeshInstant? = nil
    private var announcedSweep: MeshInstant? = nil
    public private(set) var ledgerVersion: UInt64 = 0
    /// Leases abandoned because nobody acknowledged them in time.
    public private(set) var abandonedLeases = 0

    public init(node: NodeID, config: PlacementConfig = PlacementConfig()) {
        self.node = node
        self.config = config
    }

    /// Rebuilds the ledger from what was persisted.
    public init(node: NodeID, config: PlacementConfig = PlacementConfig(), restoring snapshot: LedgerSnapshot) {
        self.init(node: node, config: config)
        for pool in snapshot.pools { adopt(pool) }
        for hold in snapshot.holds {
            precondition(pools[hold.pool] != nil, "persisted hold \(hold.holdID) on unknown pool \(hold.pool)")
            take(
                hold.pool, units: hold.computeUnits, memory: hold.memoryMiB, accelerators: hold.acceleratorCount,
                group: hold.acceleratorGroup)
            holds[hold.holdID] = hold
            noteExpiry(hold.expiresAt)
        }
        for active in snapshot.leases {
            precondition(pools[active.lease.pool] != nil, "persisted lease \(active.lease.leaseID) on unknown pool")
            take(
                active.lease.pool, units: active.lease.computeUnits, memory: active.lease.memoryMiB,
                accelerators: active.lease.acceleratorCount, group: active.acceleratorGroup)
            leases[active.lease.leaseID] = active
            leaseByKey[LeaseKey(tenant: active.lease.tenant, key: active.idempotencyKey)] = active.lease.leaseID
            rememberConfirm(active.lease.holdID, active.lease.leaseID)
            noteExpiry(active.lease.expiresAt)
            if let by = active.acknowledgeBy { noteExpiry(by) }
        }
        ledgerVersion = snapshot.ledgerVersion
    }

    // MARK: - Queries

    /// The ledger as it would be persisted, in a canonical order (sorted by ID).
    public var snapshot: LedgerSnapshot {
        LedgerSnapshot(
            pools: pools.values.map(\.registered).sorted { $0.descriptor.id < $1.descriptor.id },
            holds: holds.values.sorted { $0.holdID < $1.holdID },
            leases: leases.values.sorted { $0.lease.leaseID < $1.lease.leaseID }, ledgerVersion: ledgerVersion)
    }

    /// The pools registered, sorted by ID (without building a whole snapshot).
    public var registeredPools: [RegisteredPool] { pools.values.map(\.registered).sorted { $0.descriptor.id < $1.descriptor.id } }
    public var poolIDs: [ComputeID] { pools.keys.sorted() }
    public var poolCount: Int { pools.count }
    /// Live leases, sorted by ID.
    public var activeLeases: [Lease] { leases.values.map(\.lease).sorted { $0.leaseID < $1.leaseID } }

    public var holdCount: Int { holds.count }
    public var leaseCount: Int { leases.count }
    public func hold(_ id: HoldID) -> Hold? { holds[id] }
    public func lease(_ id: LeaseID) -> ActiveLease? { leases[id] }
    public func ownsPool(_ id: ComputeID) -> Bool { pools[id] != nil }

    /// The node that holds capacity here under `requestID` (the requester that asked for the
    /// quote, i.e. the node that decided the request), with the pool, from a live lease or hold;
    /// the lowest pool when there are several. O(holds + leases): for console questions only.
    public func requester(of requestID: RequestID) -> (node: NodeID, pool: ComputeID)? {
        let fromLeases = leases.values.filter { $0.requestID == requestID }.map { ($0.requester, $0.lease.pool) }
        let fromHolds = holds.values.filter { $0.requestID == requestID }.map { ($0.requester, $0.pool) }
        return (fromLeases + fromHolds).min { a, b in a.1 < b.1 || (a.1 == b.1 && a.0 < b.0) }
    }

    /// A pool's free capacity now, as an owner states it first hand.
    public func availability(of id: ComputeID) -> PoolAvailability? {
        guard let pool = pools[id] else { return nil }
        let d = pool.descriptor
        return PoolAvailability(
            id: id, freeComputeUnits: d.computeUnits - min(d.computeUnits, pool.usedComputeUnits),
            freeMemoryMiB: d.memoryMiB - min(d.memoryMiB, pool.usedMemoryMiB),
            freeAccelerators: zip(d.accelerators, pool.usedAccelerators).map { $0.count - min($0.count, $1) },
            pricePerUnitHour: d.pricePerUnitHour)
    }

    // MARK: - Inputs

    /// Registers (or replaces) a pool this node owns. A replacement keeps the pool's reservations;
    /// if its capacity shrank below them, no new hold is placed until enough is freed.
    public mutating func register(_ pool: RegisteredPool, now: MeshInstant) -> [OwnerDirective] {
        precondition(pool.descriptor.id.owner == node, "pool \(pool.descriptor.id) is not in node \(node.short)'s namespace")
        var changes = sweep(now: now)
        adopt(pool)
        changes.append(.poolRegistered(pool))
        return finish(changes, replies: [], now: now)
    }

    /// QUOTE_REQUEST: re-checks the ledger and either holds the capacity and quotes a firm price or
    /// refuses with the pool's fresh availability.
    ///
    /// - Parameter requesterRegion: the requesting node's region, which pool policies may name.
    public mutating func onQuoteRequest(
        _ ask: QuoteRequest, from requester: NodeID, requesterRegion: Region, now: MeshInstant, rng: inout SeededRandom
    ) -> [OwnerDirective] {
        var changes = sweep(now: now)
        func refuse(_ reason: RefuseReason, _ message: String, fresh: PoolAvailability? = nil) -> [OwnerDirective] {
            finish(
                changes,
                replies: [
                    (
                        requester,
                        .refuse(
                            Refuse(
                                requestID: ask.requestID, reason: reason, message: message, pool: ask.pool,
                                freshAvailability: fresh))
                    )
                ], now: now)
        }
        guard let pool = pools[ask.pool] else {
            return refuse(.notOwner, "node \(node.short) does not own pool \(ask.pool.localName)")
        }
        if !ask.sector.isKnown { return refuse(.unknownSector, "sector \"\(ask.sector)\" is not recognised") }
        if ask.deadline <= now { return refuse(.deadlineExpired, "the deadline \(ask.deadline) has passed (now \(now))") }
        if let rejection = RequestValidation.checkDemand(ask.demand, config: config) {
            return refuse(rejection.reason, rejection.message)
        }
        if ask.demand.mode != .gang || ask.demand.maxPools != 1 {
            return refuse(.invalidDemand, "a quote is for one pool's share of a demand (gang, one pool)")
        }
        let d = pool.descriptor
        if !d.policy.accepts(sector: ask.sector, tenant: ask.tenant, region: requesterRegion) {
            return refuse(.policyRefused, "pool \(d.id.localName) does not accept sector \(ask.sector), tenant \(ask.tenant)")
        }
        if holds.count >= config.maxHolds {
            return refuse(.overloaded, "\(holds.count) holds outstanding; the limit is \(config.maxHolds)")
        }
        let fresh = availability(of: ask.pool)!
        var group: Int? = nil
        if let accelerator = ask.demand.accelerator {
            group = d.accelerators.indices.first { index in
                accelerator.matches(d.accelerators[index]) && fresh.freeAccelerators[index] >= ask.demand.acceleratorCount
            }
            if group == nil {
                return refuse(
                    .insufficientCapacity, "fewer than \(ask.demand.acceleratorCount) \(accelerator) free", fresh: fresh)
            }
        }
        if fresh.freeComputeUnits < ask.demand.computeUnits || fresh.freeMemoryMiB < ask.demand.memoryMiB {
            return refuse(
                .insufficientCapacity,
                "free \(fresh.freeComputeUnits) units / \(fresh.freeMemoryMiB) MiB; asked \(ask.demand.computeUnits) / \(ask.demand.memoryMiB)",
                fresh: fresh)
        }
        let ttl = MeshDuration(milliseconds: min(max(ask.holdFor.milliseconds, 1), config.holdTTLMilliseconds))
        var holdID = HoldID.random(using: &rng)
        while holds[holdID] != nil || confirmedHolds[holdID] != nil { holdID = HoldID.random(using: &rng) }
        let hold = Hold(
            holdID: holdID, requestID: ask.requestID, requester: requester, pool: ask.pool, tenant: ask.tenant,
            computeUnits: ask.demand.computeUnits, memoryMiB: ask.demand.memoryMiB, acceleratorCount: ask.demand.acceleratorCount,
            acceleratorGroup: group, pricePerUnitHour: d.pricePerUnitHour, createdAt: now, expiresAt: now + ttl)
        take(ask.pool, units: hold.computeUnits, memory: hold.memoryMiB, accelerators: hold.acceleratorCount, group: group)
        holds[holdID] = hold
        noteExpiry(hold.expiresAt)
        changes.append(.holdPlaced(hold))
        let offer = Quote(
            requestID: ask.requestID, holdID: holdID, pool: ask.pool, computeUnits: hold.computeUnits, memoryMiB: hold.memoryMiB,
            acceleratorCount: hold.acceleratorCount, pricePerUnitHour: hold.pricePerUnitHour, holdExpiresAt: hold.expiresAt,
            ledgerVersion: ledgerVersion + 1)
        return finish(changes, replies: [(requester, .quote(offer))], now: now)
    }

    /// CONFIRM: turns a live hold into a lease. A repeated confirm of the same hold returns the same
    /// lease; a confirm of a hold that lapsed or was released is refused as `holdLapsed`.
    public mutating func onConfirm(
        _ ask: Confirm, from requester: NodeID, now: MeshInstant, rng: inout SeededRandom
    ) -> [OwnerDirective] {
        var changes = sweep(now: now)
        func refuse(_ reason: RefuseReason, _ message: String) -> [OwnerDirective] {
            finish(
                changes, replies: [(requester, .refuse(Refuse(requestID: ask.requestID, reason: reason, message: message)))],
                now: now)
        }
        if let leaseID = confirmedHolds[ask.holdID] {
            guard let active = leases[leaseID] else {
                return refuse(.holdLapsed, "hold \(ask.holdID) became lease \(leaseID), which has ended")
            }
            if active.requester != requester { return refuse(.unauthorized, "hold \(ask.holdID) belongs to another node") }
            // The requester did not hear the first answer: the same lease, and a new wait for its
            // acknowledgement.
            reconfirm(leaseID, now: now, into: &changes)
            return finish(
                changes, replies: [(requester, .confirmed(Confirmed(requestID: ask.requestID, lease: active.lease)))],
                now: now)
        }
        guard let hold = holds[ask.holdID] else {
            return refuse(.holdLapsed, "hold \(ask.holdID) lapsed, was released, or never existed")
        }
        if hold.requester != requester { return refuse(.unauthorized, "hold \(ask.holdID) belongs to another node") }
        if ask.idempotencyKey.isEmpty || ask.idempotencyKey.utf8.count > PlacementRequest.maxIdempotencyKeyBytes {
            return refuse(.invalidDemand, "the idempotency key must be 1 to \(PlacementRequest.maxIdempotencyKeyBytes) bytes")
        }
        if ask.leaseDuration.milliseconds == 0 || ask.leaseDuration.milliseconds > config.maxLeaseMilliseconds {
            return refuse(.invalidDemand, "lease duration \(ask.leaseDuration) out of range")
        }
        if let existingID = leaseByKey[LeaseKey(tenant: hold.tenant, key: ask.idempotencyKey)], let existing = leases[existingID]
        {
            // The key already has a lease here: give the new hold back and answer with that lease.
            give(
                hold.pool, units: hold.computeUnits, memory: hold.memoryMiB, accelerators: hold.acceleratorCount,
                group: hold.acceleratorGroup)
            holds[hold.holdID] = nil
            changes.append(.holdReleased(hold.holdID))
            reconfirm(existingID, now: now, into: &changes)
            return finish(
                changes, replies: [(requester, .confirmed(Confirmed(requestID: ask.requestID, lease: existing.lease)))],
                now: now)
        }
        var leaseID = LeaseID.random(using: &rng)
        while leases[leaseID] != nil { leaseID = LeaseID.random(using: &rng) }
        let lease = Lease(
            leaseID: leaseID, holdID: hold.holdID, pool: hold.pool, tenant: hold.tenant, computeUnits: hold.computeUnits,
            memoryMiB: hold.memoryMiB, acceleratorCount: hold.acceleratorCount, pricePerUnitHour: hold.pricePerUnitHour,
            startsAt: now, expiresAt: now + ask.leaseDuration)
        let acknowledgeBy = now + MeshDuration(milliseconds: config.acknowledgeWithinMilliseconds)
        let active = ActiveLease(
            lease: lease, acceleratorGroup: hold.acceleratorGroup, requester: requester, requestID: hold.requestID,
            idempotencyKey: ask.idempotencyKey, acknowledgeBy: acknowledgeBy)
        holds[hold.holdID] = nil  // capacity moves from the hold to the lease; usage is unchanged
        leases[leaseID] = active
        leaseByKey[LeaseKey(tenant: hold.tenant, key: ask.idempotencyKey)] = leaseID
        rememberConfirm(hold.holdID, leaseID)
        noteExpiry(lease.expiresAt)
        noteExpiry(acknowledgeBy)
        changes.append(.leaseStarted(active))
        return finish(
            changes, replies: [(requester, .confirmed(Confirmed(requestID: ask.requestID, lease: lease)))], now: now)
    }

    /// RELEASE: gives back a hold or a lease (a hold already confirmed releases its lease). Answers
    /// with the reservation's state. Only the requester may release a hold; a lease may be released
    /// by whoever holds its ID (its requester, or the origin of a spilled-over request).
    public mutating func onRelease(_ reservation: ReservationRef, from requester: NodeID, now: MeshInstant) -> [OwnerDirective] {
        var changes = sweep(now: now)
        var status = LeaseStatus(reservation: reservation, state: .unknown, expiresAt: .zero)
        var leaseToRelease: LeaseID? = nil
        switch reservation {
        case .hold(let holdID):
            if let hold = holds[holdID], hold.requester == requester {
                give(
                    hold.pool, units: hold.computeUnits, memory: hold.memoryMiB, accelerators: hold.acceleratorCount,
                    group: hold.acceleratorGroup)
                holds[holdID] = nil
                changes.append(.holdReleased(holdID))
                status = LeaseStatus(reservation: reservation, state: .released, expiresAt: now)
            } else if let leaseID = confirmedHolds[holdID] {
                leaseToRelease = leaseID
            }
        case .lease(let leaseID):
            leaseToRelease = leaseID
        }
        // A lease ID is a 128-bit bearer capability: the node it was confirmed to, or the origin of a
        // spilled-over request that learned it from the OUTCOME (the origin lock), may release it.
        if let leaseID = leaseToRelease, leases[leaseID] != nil {
            endLease(leaseID)
            changes.append(.leaseReleased(leaseID))
            status = LeaseStatus(reservation: reservation, state: .released, expiresAt: now)
        }
        return finish(changes, replies: [(requester, .leaseState(status))], now: now)
    }

    /// RENEW: acknowledges a live lease and extends it by `extendBy` from its current expiry;
    /// `extendBy` zero only acknowledges it. Always answered by LEASE_STATE (SPEC §6.2): `leased`
    /// with the expiry in force (unchanged when `extendBy` exceeds the longest lease), or `unknown`
    /// when there is no such live lease. A lease ID is a bearer capability, as for RELEASE.
    public mutating func onRenew(
        _ leaseID: LeaseID, extendBy: MeshDuration, from requester: NodeID, now: MeshInstant
    ) -> [OwnerDirective] {
        var changes = sweep(now: now)
        let reservation = ReservationRef.lease(leaseID)
        guard var active = leases[leaseID] else {
            return finish(
                changes,
                replies: [(requester, .leaseState(LeaseStatus(reservation: reservation, state: .unknown, expiresAt: .zero)))],
                now: now)
        }
        if active.acknowledgeBy != nil {
            active.acknowledgeBy = nil
            changes.append(.leaseAcknowledged(leaseID))
        }
        if extendBy.milliseconds > 0 && extendBy.milliseconds <= config.maxLeaseMilliseconds {
            active.lease.expiresAt = active.lease.expiresAt + extendBy
            changes.append(.leaseRenewed(leaseID, expiresAt: active.lease.expiresAt))
        }
        leases[leaseID] = active
        return finish(
            changes,
            replies: [
                (requester, .leaseState(LeaseStatus(reservation: reservation, state: .leased, expiresAt: active.lease.expiresAt)))
            ],
            now: now)
    }

    /// A scheduled sweep: expires lapsed holds and leases.
    public mutating func onTick(now: MeshInstant) -> [OwnerDirective] {
        // The shell's timer fired and is spent: the next sweep is announced again even when it
        // did not move (a tick may come early, say the first after a restart).
        announcedSweep = nil
        return finish(sweep(now: now), replies: [], now: now)
    }

    // MARK: - Internals

    private mutating func adopt(_ registered: RegisteredPool) {
        let descriptor = registered.descriptor
        var pool = pools[descriptor.id] ?? OwnedPool(registered: registered, usedAccelerators: [])
        pool.registered = registered
        if pool.usedAccelerators.count != descriptor.accelerators.count {
            var used = [UInt32](repeating: 0, count: descriptor.accelerators.count)
            for (index, value) in pool.usedAccelerators.enumerated() where index < used.count { used[index] = value }
            pool.usedAccelerators = used
        }
        pools[descriptor.id] = pool
    }

    private mutating func take(_ id: ComputeID, units: UInt64, memory: UInt64, accelerators: UInt32, group: Int?) {
        guard var pool = pools[id] else { preconditionFailure("take on unknown pool \(id)") }
        pool.usedComputeUnits += units
        pool.usedMemoryMiB += memory
        if let group {
            precondition(group < pool.usedAccelerators.count, "accelerator group \(group) outside pool \(id)")
            pool.usedAccelerators[group] += accelerators
        }
        pools[id] = pool
    }

    private mutating func give(_ id: ComputeID, units: UInt64, memory: UInt64, accelerators: UInt32, group: Int?) {
        guard var pool = pools[id] else { preconditionFailure("give on unknown pool \(id)") }
        precondition(pool.usedComputeUnits >= units && pool.usedMemoryMiB >= memory, "ledger underflow on \(id)")
        pool.usedComputeUnits -= units
        pool.usedMemoryMiB -= memory
        if let group, group < pool.usedAccelerators.count {
            precondition(pool.usedAccelerators[group] >= accelerators, "accelerator underflow on \(id)")
            pool.usedAccelerators[group] -= accelerators
        }
        pools[id] = pool
    }

    /// A repeated CONFIRM answered for an unacknowledged lease: its holder gets a full wait again.
    private mutating func reconfirm(_ leaseID: LeaseID, now: MeshInstant, into changes: inout [LedgerChange]) {
        guard leases[leaseID]?.acknowledgeBy != nil else { return }
        let by = now + MeshDuration(milliseconds: config.acknowledgeWithinMilliseconds)
        leases[leaseID]!.acknowledgeBy = by
        noteExpiry(by)
        changes.append(.leaseReconfirmed(leaseID, acknowledgeBy: by))
    }

    /// Ends a live lease (released, expired or abandoned): its capacity goes back to its pool and
    /// its idempotency key no longer names it.
    private mutating func endLease(_ id: LeaseID) {
        guard let active = leases.removeValue(forKey: id) else { preconditionFailure("endLease on unknown lease \(id)") }
        let l = active.lease
        give(
            l.pool, units: l.computeUnits, memory: l.memoryMiB, accelerators: l.acceleratorCount,
            group: active.acceleratorGroup)
        let key = LeaseKey(tenant: l.tenant, key: active.idempotencyKey)
        if leaseByKey[key] == id { leaseByKey[key] = nil }
    }

    private mutating func noteExpiry(_ instant: MeshInstant) {
        if let current = nextExpiry, current <= instant { return }
        nextExpiry = instant
    }

    private mutating func rememberConfirm(_ holdID: HoldID, _ leaseID: LeaseID) {
        confirmedHolds[holdID] = leaseID
        confirmedOrder.append(holdID)
        while confirmedOrder.count - confirmedOrderStart > config.maxRememberedConfirms {
            let oldest = confirmedOrder[confirmedOrderStart]
            confirmedOrderStart += 1
            if let leaseID = confirmedHolds[oldest], leases[leaseID] == nil { confirmedHolds[oldest] = nil }
        }
        if confirmedOrderStart > 4096 && confirmedOrderStart * 2 > confirmedOrder.count {
            confirmedOrder.removeFirst(confirmedOrderStart)
            confirmedOrderStart = 0
        }
    }

    /// Expires every hold and lease whose time has come (`expiresAt <= now`), and abandons every
    /// lease whose acknowledgement is overdue, in ID order.
    private mutating func sweep(now: MeshInstant) -> [LedgerChange] {
        guard let due = nextExpiry, due <= now else { return [] }
        var expiredHolds: [HoldID] = []
        var expiredLeases: [LeaseID] = []
        var abandoned: [LeaseID] = []
        var earliest: MeshInstant? = nil
        for (id, hold) in holds {
            if hold.expiresAt <= now {
                expiredHolds.append(id)
            } else {
                earliest = min(earliest ?? hold.expiresAt, hold.expiresAt)
            }
        }
        for (id, active) in leases {
            if active.lease.expiresAt <= now {
                expiredLeases.append(id)
            } else if let by = active.acknowledgeBy, by <= now {
                abandoned.append(id)
            } else {
                earliest = min(earliest ?? active.lease.expiresAt, active.lease.expiresAt)
                if let by = active.acknowledgeBy { earliest = min(earliest!, by) }
            }
        }
        nextExpiry = earliest
        var changes: [LedgerChange] = []
        for id in expiredHolds.sorted() {
            let hold = holds[id]!
            give(
                hold.pool, units: hold.computeUnits, memory: hold.memoryMiB, accelerators: hold.acceleratorCount,
                group: hold.acceleratorGroup)
            holds[id] = nil
            changes.append(.holdExpired(id))
        }
        for id in expiredLeases.sorted() {
            endLease(id)
            changes.append(.leaseExpired(id))
        }
        for id in abandoned.sorted() {
            endLease(id)
            abandonedLeases += 1
            changes.append(.leaseAbandoned(id))
        }
        return changes
    }

    private mutating func finish(
        _ changes: [LedgerChange], replies: [(NodeID, PlacementMessage)], now: MeshInstant
    ) -> [OwnerDirective] {
        var directives: [OwnerDirective] = []
        if !changes.isEmpty {
            ledgerVersion += 1
            directives.append(.persist(changes, ledgerVersion: ledgerVersion))
        }
        for (to, message) in replies { directives.append(.reply(to: to, message)) }
        if let next = nextExpiry, next != announcedSweep {
            announcedSweep = next
            directives.append(.scheduleSweep(at: next))
        }
        return directives
    }
}
