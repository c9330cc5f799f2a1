public import MeshCore
public import MeshGossip
public import MeshMembership
public import MeshPlacement
public import MeshWire

/// Who a node is: what its certificate and configuration say.
public struct NodeIdentity: Hashable, Sendable {
    public var node: NodeID
    public var role: Role
    public var region: Region
    public var sectors: [Sector]
    /// Where peers reach this node (its listen address, or the address it advertises).
    public var address: NetAddress
    public var software: String
    /// The configured name, carried to peers in HELLO, WELCOME and this node's membership facts.
    public var name: NodeName?

    public init(
        node: NodeID, role: Role, region: Region, sectors: [Sector] = [], address: NetAddress, software: String = "meshd/1",
        name: NodeName? = nil
    ) {
        self.node = node
        self.role = role
        self.region = region
        self.sectors = sectors
        self.address = address
        self.software = software
        self.name = name
    }

    /// What a peer's handshake would prove about this node.
    public var credentials: PeerCredentials { PeerCredentials(node: node, role: role, region: region) }
}

/// What a node's stored state cannot be used for: it came from disk, so a typed error.
public struct NodeStateError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Every decision of one node (DESIGN.md §2): membership, inventory gossip, the placement view
/// built from gossip records, the requester and the owner ledger, pool registration and record
/// numbering, explanations, lease routes, revocations, authorisation by role, console requests
/// and the event stream.
///
/// **One road.** ``handle(_:now:rng:)`` takes one ``NodeInput`` and returns the
/// ``NodeDirective``s that carry it out; the daemon's shell and the simulator call it the same way,
/// and a message to the node itself comes back as an input like any other.
///
/// **Durability.** Ledger changes and the incarnation leave as ``NodeDirective/persist(_:token:)``,
/// one batch per input. An answer that depends on a commit is held here until
/// ``NodeInput/committed(through:)`` covers it: an owner's answers never overtake the commits made
/// before them, a console's POOL_REGISTERED waits for its registration, and liveness frames, which
/// carry the incarnation, wait while a newer incarnation is not yet durable. A failed commit halts
/// the node.
///
/// Pure: no I/O, no clock, no system randomness, and no iteration over a `Dictionary` or `Set`
/// decides an order.
public struct NodeCore: Sendable {
    public let identity: NodeIdentity
    public let config: NodeConfig
    public internal(set) var gossip: GossipCore
    public internal(set) var requester: PlacementRequester
    public internal(set) var owner: OwnerLedger
    public internal(set) var registry: PoolRegistry
    public internal(set) var events: EventStream
    public internal(set) var routes: LeaseRoutes
    /// Requests this node quoted for without deciding them, and who asked (for WHY's hints).
    public internal(set) var referrals: Referrals
    public let startedAt: MeshInstant
    /// The inventory epoch of this run (the incarnation it started with).
    public let epoch: UInt64

    // MARK: Peers
    /// Linked peer nodes.
    var peers: [NodeID: PeerLink] = [:]
    /// Configured backbone addresses not linked yet.
    var backboneAddresses: [NetAddress]
    /// Regional nodes of other regions on this node's backbone, and their addresses.
    var backboneNodes: [NodeID: NetAddress] = [:]
    /// When each member's status last changed, as this node saw it (for the console).
    var memberChangedAt: [NodeID: MeshInstant] = [:]

    // MARK: Records and the view
    var recordSequence: UInt64 = 0
    /// The availability last issued for each own pool.
    var publishedAvailability: [ComputeID: PoolAvailability] = [:]
    /// Records arrived since the requester's view was built.
    var viewDirty = true
    public internal(set) var viewPoolCount = 0

    // MARK: Revocations
    public internal(set) var revocations: RevocationList?

    // MARK: Console
    /// Operator sessions, by session.
    var sessions: [SessionID: NodeID] = [:]
    /// The terms each session was opened on: its answers fit the frame limit (SPEC §8.2).
    var sessionTerms: [SessionID: SessionTerms] = [:]
    /// When a failed dial of each configured address was last logged as a warning, and how many
    /// failures have been quiet since (bounded by the configured seeds and backbone).
    var dialWarnings: [NetAddress: (at: MeshInstant, quiet: Int)] = [:]
    /// A failed dial of a configured address is a warning at most this often.
    static let dialWarningIntervalMilliseconds: UInt64 = 60_000
    struct Ticket: Sendable {
        var session: SessionID
        var correlationID: UInt64
        var requestID: RequestID
        var idempotencyKey: String
        var answerBy: MeshInstant
        var receivedAt: MeshInstant
    }
    /// Console submissions waiting for an outcome, by ticket.
    var tickets: [UInt64: Ticket] = [:]
    var nextTicket: UInt64 = 1

    // MARK: Durability
    var nextToken: UInt64 = 1
    var committedThrough: UInt64 = 0
    /// Directives held until the batch with their token is durable, in token order.
    var held: [(token: UInt64, directives: [NodeDirective])] = []
    /// The highest incarnation known durable.
    var durableIncarnation: UInt64
    /// Incarnations asked to be persisted, with the token of their batch, until durable.
    var incarnationTokens: [(token: UInt64, incarnation: UInt64)] = []

    // MARK: Timers
    var gossipWake: MeshInstant
    var requesterWake: MeshInstant? = nil
    /// Starts due: restored holds and leases are swept (and the next sweep scheduled) at once.
    var ownerWake: MeshInstant? = .zero
    var nextRefreshAt: MeshInstant
    var nextBackboneDialAt: MeshInstant
    var announcedWake: MeshInstant? = nil

    // MARK: Lifecycle
    public internal(set) var stopping = false
    var drainBy: MeshInstant? = nil
    var drained = false
    var halted = false

    // MARK: The current step
    var out: [NodeDirective] = []
    var stepBatch = PersistBatch()
    /// Explanations not yet given to a batch, and when the oldest arrived.
    var pendingExplanations: [Explanation] = []
    var pendingExplanationsSince: MeshInstant?
    var stepHeld: [NodeDirective] = []
    /// Whether the node started into an existing mesh (see ``NodeConfig/warmupMilliseconds``).
    var joinsMesh = false
    /// This node's own answers about leases (as their owner), which its requester observes only
    /// once the change behind them is durable: a key's home must not replay a decision as
    /// acknowledged before the owner could answer so after a crash.
    var stepObserved: [LeaseStatus] = []
    var heldObservations: [(token: UInt64, statuses: [LeaseStatus])] = []
    var stepNow: MeshInstant = .zero

    /// Counters for metrics, tests and the simulator.
    public struct Counters: Hashable, Sendable {
        public var persistBatches = 0
        public var committedBatches = 0
        public var heldDirectives = 0
        public var relayed = 0
        public var relayTimeouts = 0
        public var consoleRequests = 0
        public var ticketsExpired = 0
        /// Time from a request's arrival to its outcome, by ``PlacementRole`` and result: each
        /// placement is counted once in each role this node played for it.
        public var placementSeconds = [LatencyHistogram](repeating: LatencyHistogram(), count: 4)

        public func placementSeconds(_ role: PlacementRole, placed: Bool) -> LatencyHistogram {
            placementSeconds[role.rawValue * 2 + (placed ? 0 : 1)]
        }

        mutating func observe(_ role: PlacementRole, placed: Bool, seconds: Double) {
            placementSeconds[role.rawValue * 2 + (placed ? 0 : 1)].observe(seconds: seconds)
        }
    }

    /// The part a node plays in a placement: the entry node that answers the tenant, or the node
    /// that decides it for another node (a key's home, or a region's regional node on spillover).
    public enum PlacementRole: Int, CaseIterable, Sendable {
        case origin = 0
        case deciding = 1
    }
    /// When each forwarded request being decided here arrived (for ``Counters/placementSeconds``);
    /// bounded by the requester's in-flight limit.
    var forwardArrivals: [RequestID: MeshInstant] = [:]
    public internal(set) var counters = Counters()
    /// Explanations restored from the store at start (those breaking the sum rule are skipped).
    public internal(set) var restoredExplanations = 0

    /// Builds a node from what it persisted. `durableIncarnation`, at least `incarnation`, MUST
    /// already be durable (the shell stores it before the node speaks: the incarnation this run
    /// starts with plus ``NodeConfig/incarnationBlock``); `ledger` is the owner ledger as committed;
    /// `explanations` are those the store kept, oldest first (WHY answers them after a restart).
    ///
    /// - Throws: ``NodeStateError`` when the ledger is not this node's, or does not hold together.
    public init(
        identity: NodeIdentity, config: NodeConfig, incarnation: UInt64, durableIncarnation: UInt64, ledger: LedgerSnapshot,
        decisions: [KeyDecision] = [], explanations: [Explanation] = [], seeds: [NetAddress] = [],
        backbone: [NetAddress] = [], members: [MemberUpdate] = [], backboneMembers: [MemberUpdate] = [], now: MeshInstant,
        rng: inout SeededRandom
    ) throws(NodeStateError) {
        try Self.check(ledger, of: identity.node)
        precondition(durableIncarnation >= incarnation, "incarnation \(incarnation) above the durable \(durableIncarnation)")
        self.identity = identity
        self.config = config
        let me = MemberUpdate(
            node: identity.node, address: identity.address, role: identity.role, region: identity.region,
            incarnation: incarnation, status: .alive, name: identity.name)
        gossip = GossipCore(
            me: me, config: config, seeds: seeds, members: members, backbone: backboneMembers, now: now, rng: &rng)
        requester = PlacementRequester(node: identity.node, region: identity.region, config: config.placement)
        requester.restore(decisions, now: now)
        restoredExplanations = explanations.count - requester.restore(explanations: explanations)
        referrals = Referrals(capacity: config.placement.maxExplanations)
        owner = OwnerLedger(node: identity.node, config: config.placement, restoring: ledger)
        registry = PoolRegistry(
            node: identity.node, epoch: incarnation, maxPools: config.placement.maxPoolsPerNode, limits: config.placement)
        registry.restore(ledger.pools)
        events = EventStream(capacity: config.maxEventsKept)
        routes = LeaseRoutes(capacity: config.maxLeaseRoutes)
        startedAt = now
        stepNow = now
        epoch = incarnation
        self.durableIncarnation = durableIncarnation
        backboneAddresses = backbone
        for member in backboneMembers { backboneNodes[member.node] = member.address }
        gossipWake = now
        joinsMesh = !seeds.isEmpty || !members.isEmpty
        nextRefreshAt = now + .milliseconds(config.refreshIntervalMilliseconds)
        nextBackboneDialAt = now
        updateSpilloverPeers()
    }

    /// A ledger read from disk must be this node's and hold together before the cores restore it.
    static func check(_ ledger: LedgerSnapshot, of node: NodeID) throws(NodeStateError) {
        var pools: [ComputeID] = []
        for pool in ledger.pools {
            guard pool.descriptor.id.owner == node else {
                throw NodeStateError(
                    "the ledger holds pool \(pool.descriptor.id), which belongs to node \(pool.descriptor.id.owner.hex), not to this node (\(node.hex)): is this another node's data directory?"
                )
            }
            pools.append(pool.descriptor.id)
        }
        for hold in ledger.holds where !pools.contains(hold.pool) {
            throw NodeStateError("the ledger holds hold \(hold.holdID) on pool \(hold.pool), which it never registered")
        }
        for lease in ledger.leases where !pools.contains(lease.lease.pool) {
            throw NodeStateError(
                "the ledger holds lease \(lease.lease.leaseID) on pool \(lease.lease.pool), which it never registered")
        }
    }

    public var node: NodeID { identity.node }

    /// Why this node does not decide placements yet, while it warms up after joining a mesh.
    var warmingUp: String? {
        guard joinsMesh else { return nil }
        let ready = startedAt + .milliseconds(config.warmupMilliseconds)
        guard stepNow < ready else { return nil }
        return
            "node \(node.short) started \(stepNow.milliseconds - startedAt.milliseconds) ms ago and is still learning the mesh; retry in \(ready.milliseconds - stepNow.milliseconds) ms"
    }
    public var me: MemberUpdate { gossip.me }

    // MARK: - Start

    /// Registers the configured pools (durably) and publishes every pool, configured or restored.
    public mutating func start(
        pools: [PoolSpec], now: MeshInstant
    ) throws(RegistrationError)
        -> [NodeDirective]
    {
        beginStep(now)
        for spec in pools {
            let pool = try registry.register(spec)
            perform(owner.register(pool, now: now), now: now)
        }
        // The configured pools and those restored from the ledger (registered earlier by a
        // console) are published once.
        for pool in owner.registeredPools { publish(pool.descriptor, now: now) }
        publishEvent(.lifecycle, .info, subject: node.hex, detail: "started as \(identity.role) in \(identity.region)", now: now)
        return endStep(now)
    }

    /// A reload: registers the pools that are new or changed in the configuration (durably, as at
    /// start), publishes them, and logs what changed. A pool the configuration no longer names
    /// stays registered: leases may run on it, and retiring it is a decision of its own.
    mutating func onReload(_ specs: [PoolSpec], now: MeshInstant) {
        var added: [String] = []
        var changed: [String] = []
        var configured: [ComputeID] = []
        for spec in specs {
            let name = spec.path.joined(separator: "/")
            let before: RegisteredPool?
            do {
                let id = try ComputeID(owner: node, path: spec.path)
                configured.append(id)
                before = registry.pool(id)
                if before?.descriptor == spec.descriptor(id: id) { continue }
            } catch {
                log(.error, "reload: pool \(name) refused: \(error); nothing else about it changed")
                continue
            }
            do {
                let pool = try registry.register(spec)
                perform(owner.register(pool, now: now), now: now)
                publish(pool.descriptor, now: now)
            } catch {
                log(.error, "reload: pool \(name) refused: \(error); it keeps its previous definition")
                continue
            }
            if before == nil { added.append(name) } else { changed.append(name) }
        }
        let kept = owner.registeredPools.map(\.descriptor.id).filter { !configured.contains($0) }
        var summary = "reload: pools added \(added.isEmpty ? "none" : added.joined(separator: ", "))"
        summary += "; changed \(changed.isEmpty ? "none" : changed.joined(separator: ", "))"
        summary += "; \(configured.count - added.count - changed.count) unchanged"
        if !kept.isEmpty {
            summary +=
                "; \(kept.count) registered but not in the configuration (kept: they may hold leases): "
                + kept.map { $0.path.joined(separator: "/") }.joined(separator: ", ")
        }
        log(.info, summary)
        publishEvent(.lifecycle, .info, subject: node.hex, detail: "configuration reloaded", now: now)
    }

    /// A dial of a configured seed or backbone peer failed: a warning at most once a minute per
    /// address (with the count of failures since), debug otherwise.
    mutating func onConnectFailed(_ address: NetAddress, _ purpose: ConnectPurpose, _ failure: ProbeFailure, now: MeshInstant) {
        let last = dialWarnings[address]
        if let last, now < last.at + .milliseconds(Self.dialWarningIntervalMilliseconds) {
            dialWarnings[address] = (last.at, last.quiet + 1)
            log(.debug, "dialling \(purpose) \(address) failed: \(failure)")
            return
        }
        let since = last.map { "; \($0.quiet) more failures since the last warning" } ?? ""
        log(.warning, "cannot reach \(purpose) \(address): \(failure)\(since); retrying (warned at most once a minute)")
        dialWarnings[address] = (now, 0)
    }

    // MARK: - The one road

    /// Handles one input and returns what the shell must do, in order.
    public mutating func handle(_ input: NodeInput, now: MeshInstant, rng: inout SeededRandom) -> [NodeDirective] {
        beginStep(now)
        guard !halted else { return [] }
        switch input {
        case .tick: onTick(now: now, rng: &rng)
        case .peerLinked(let link): onPeerLinked(link, now: now, rng: &rng)
        case .peerUnlinked(let peer): onPeerUnlinked(peer, now: now)
        case .connectFailed(let address, let purpose, let failure): onConnectFailed(address, purpose, failure, now: now)
        case .peerMessage(let message, let from): onPeerMessage(message, from: from, now: now, rng: &rng)
        case .unreachable(let peer, let failure, let dropped): onUnreachable(peer, failure, dropped: dropped, now: now, rng: &rng)
        case .sessionOpened(let session, let operatorID, let terms):
            sessions[session] = operatorID
            sessionTerms[session] = terms
            log(.info, "console \(session) connected", peer: operatorID)
        case .sessionClosed(let session):
            sessions[session] = nil
            sessionTerms[session] = nil
            events.unsubscribe(session)
            routes.forget(session)
        case .consoleRequest(let message, let correlationID, let session):
            onConsole(message, correlationID: correlationID, session: session, now: now, rng: &rng)
        case .committed(let token): onCommitted(through: token)
        case .commitFailed(let token, let reason):
            halted = true
            out.append(.halt(exitCode: 3, reason: "the ledger could not commit batch \(token): \(reason)"))
            return out
        case .revocations(let list): accept(list, from: nil, now: now)
        case .reload(let pools): onReload(pools, now: now)
        case .stop: onStop(now: now, rng: &rng)
        }
        return endStep(now)
    }

    // MARK: - Steps and durability

    mutating func beginStep(_ now: MeshInstant) {
        out = []
        stepBatch = PersistBatch()
        stepHeld = []
        stepObserved = []
        stepNow = now
    }

    mutating func endStep(_ now: MeshInstant) -> [NodeDirective] {
        if let since = pendingExplanationsSince,
            !stepBatch.isEmpty || stopping || pendingExplanations.count >= config.explanationFlushCount
                || now >= since + .milliseconds(config.explanationFlushMilliseconds)
        {
            stepBatch.explanations.append(contentsOf: pendingExplanations)
            pendingExplanations = []
            pendingExplanationsSince = nil
        }
        if !stepBatch.isEmpty {
            let token = nextToken
            nextToken += 1
            counters.persistBatches += 1
            out.append(.persist(stepBatch, token: token))
            if let incarnation = stepBatch.incarnation { incarnationTokens.append((token, incarnation)) }
            if !stepHeld.isEmpty { held.append((token, stepHeld)) }
            if !stepObserved.isEmpty { heldObservations.append((token, stepObserved)) }
        } else if !stepObserved.isEmpty {
            // Recorded only when a commit was pending (see `observeWhenDurable`).
            heldObservations.append((nextToken - 1, stepObserved))
        }
        if stepBatch.isEmpty, !stepHeld.isEmpty {
            if nextToken - 1 > committedThrough {
                held.append((nextToken - 1, stepHeld))
            } else {
                out.append(contentsOf: stepHeld)
            }
        }
        counters.heldDirectives += stepHeld.count
        checkDrain(now)
        schedule(now)
        let result = out
        out = []
        stepHeld = []
        return result
    }

    /// Emits `directive` once everything persisted so far, this step included, is durable.
    mutating func afterCommit(_ directive: NodeDirective) {
        if !stepBatch.isEmpty || nextToken - 1 > committedThrough {
            stepHeld.append(directive)
        } else {
            out.append(directive)
        }
    }

    mutating func onCommitted(through token: UInt64) {
        guard token > committedThrough else { return }
        precondition(token < nextToken, "committed token \(token) was never issued (next \(nextToken))")
        counters.committedBatches += Int(token - committedThrough)
        committedThrough = token
        while let first = incarnationTokens.first, first.token <= token {
            durableIncarnation = max(durableIncarnation, first.incarnation)
            incarnationTokens.removeFirst()
        }
        var released = 0
        while released < held.count && held[released].token <= token {
            out.append(contentsOf: held[released].directives)
            released += 1
        }
        held.removeFirst(released)
        var observed = 0
        while observed < heldObservations.count && heldObservations[observed].token <= token {
            for status in heldObservations[observed].statuses { perform(requester.observe(status, now: stepNow), now: stepNow) }
            observed += 1
        }
        heldObservations.removeFirst(observed)
    }

    /// Has the requester observe this node's own answer about a lease once everything persisted so
    /// far, this step included, is durable.
    mutating func observeWhenDurable(_ status: LeaseStatus) {
        if !stepBatch.isEmpty || nextToken - 1 > committedThrough {
            stepObserved.append(status)
        } else {
            perform(requester.observe(status, now: stepNow), now: stepNow)
        }
    }

    /// Whether frames carrying this node's incarnation must wait for it to be durable.
    var incarnationPending: Bool { gossip.me.incarnation > durableIncarnation }

    // MARK: - Scheduling

    mutating func schedule(_ now: MeshInstant) {
        var next = gossipWake
        if let at = requesterWake { next = min(next, at) }
        if let at = ownerWake { next = min(next, at) }
        if owner.poolCount > 0 { next = min(next, nextRefreshAt) }
        if !backboneAddresses.isEmpty { next = min(next, nextBackboneDialAt) }
        if let at = tickets.values.map(\.answerBy).min() { next = min(next, at) }
        if let at = routes.nextTimeout { next = min(next, at) }
        if let at = drainBy, !drained { next = min(next, at) }
        if let since = pendingExplanationsSince { next = min(next, since + .milliseconds(config.explanationFlushMilliseconds)) }
        next = max(next, now)
        announcedWake = next
        out.append(.scheduleTick(at: next))
    }

    mutating func onTick(now: MeshInstant, rng: inout SeededRandom) {
        announcedWake = nil
        if now >= gossipWake { translate(gossip.onTick(now: now, rng: &rng), now: now) }
        if let at = requesterWake, now >= at {
            requesterWake = nil
            if requester.inFlightCount > 0 { ensureView(now: now) }
            perform(requester.onTick(now: now), now: now)
        }
        if let at = ownerWake, now >= at {
            ownerWake = nil
            perform(owner.onTick(now: now), now: now)
        }
        if now >= nextRefreshAt {
            nextRefreshAt = now + .milliseconds(config.refreshIntervalMilliseconds)
            for pool in owner.registeredPools { publish(pool.descriptor, now: now) }
        }
        if !backboneAddresses.isEmpty && now >= nextBackboneDialAt && !stopping {
            nextBackboneDialAt = now + .milliseconds(config.backboneRedialMilliseconds)
            for address in backboneAddresses { out.append(.connect(address, .backbone)) }
        }
        expireTickets(now: now)
        expireRelays(now: now)
    }

    // MARK: - Operations for simulations and tools

    /// Re-announces this node at a higher incarnation, at `address` when given (a node that moved).
    public mutating func announce(address: NetAddress?, now: MeshInstant, rng: inout SeededRandom) -> [NodeDirective] {
        beginStep(now)
        translate(gossip.announce(now: now, rng: &rng, address: address), now: now)
        return endStep(now)
    }

    /// Issues a record of this node's own straight into gossip, outside pool registration (the
    /// simulator's bandwidth scenarios measure gossip with it).
    public mutating func issue(_ record: InventoryRecord, now: MeshInstant) -> [NodeDirective] {
        beginStep(now)
        translate(gossip.issue(record, now: now), now: now)
        viewDirty = true
        return endStep(now)
    }

    // MARK: - Logs and events

    mutating func log(_ level: NodeLogLevel, _ message: String, peer: NodeID? = nil, request: RequestID? = nil) {
        out.append(.log(NodeLog(level, message, peer: peer, request: request)))
    }

    mutating func publishEvent(_ kind: EventKind, _ severity: EventSeverity, subject: String, detail: String, now: MeshInstant) {
        var subjectText = Substring(subject)
        while subjectText.utf8.count > Event.maxSubjectBytes { subjectText = subjectText.dropLast() }
        var detailText = Substring(detail)
        while detailText.utf8.count > 1_000 { detailText = detailText.dropLast() }
        let (event, to) = events.publish(
            Event(sequence: 0, at: now, kind: kind, severity: severity, subject: String(subjectText), detail: String(detailText)))
        for session in to { out.append(.push(.event(event), session: session)) }
    }

    // MARK: - Lifecycle

    mutating func onStop(now: MeshInstant, rng: inout SeededRandom) {
        guard !stopping else { return }
        stopping = true
        drainBy = now + .milliseconds(config.maxDrainMilliseconds)
        log(.info, "leaving the mesh")
        publishEvent(.lifecycle, .info, subject: node.hex, detail: "stopping", now: now)
        translate(gossip.leave(now: now, rng: &rng), now: now)
        out.append(.goAway(reason: "the node is stopping"))
    }

    /// A stopping node reports ``NodeDirective/drained`` once no placement, answer or relay is in
    /// flight, or when its drain time is up.
    mutating func checkDrain(_ now: MeshInstant) {
        guard stopping, !drained, let by = drainBy else { return }
        let idle =
            requester.inFlightCount == 0 && held.isEmpty && stepBatch.isEmpty && pendingExplanations.isEmpty && tickets.isEmpty
            && routes.waitingCount == 0
        guard idle || now >= by else { return }
        drained = true
        if !idle {
            log(
                .warning,
                "stopping with \(requester.inFlightCount) placements, \(tickets.count) console waits and \(held.count) commits in flight after \(config.maxDrainMilliseconds) ms"
            )
        }
        out.append(.drained)
    }
}
