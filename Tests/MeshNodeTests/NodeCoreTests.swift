import MeshCore
import MeshMembership
import MeshNode
import MeshPlacement
import MeshWire
import Testing

/// A few whole nodes wired by hand: every directive performed in order, messages (a node's to
/// itself included) delivered through the same queue, commits durable at once unless held.
struct Bench {
    var nodes: [NodeID: NodeCore] = [:]
    var credentials: [NodeID: PeerCredentials] = [:]
    var rng = SeededRandom(seed: 11)
    var now = MeshInstant(milliseconds: 1_000_000)
    var queue: [(NodeID, NodeInput)] = []
    /// Console answers: (session, correlation ID, message).
    var answers: [(SessionID, UInt64, WireMessage)] = []
    var sent: [(from: NodeID, to: NodeID, message: WireMessage)] = []
    /// Persist directives not yet committed, by node, when commits are held.
    var uncommitted: [NodeID: [UInt64]] = [:]
    /// Every batch each node asked to persist, in order.
    var persisted: [NodeID: [PersistBatch]] = [:]
    var holdCommits = false
    /// Nodes whose frames are lost (down, or cut off).
    var unreachable: Set<NodeID> = []
    var halted: [NodeID] = []
    var logs: [(NodeID, NodeLog)] = []
    var drained: [NodeID] = []
    /// Nodes take placements at once here (no warm-up) unless a test says otherwise.
    var config: NodeConfig = {
        var config = NodeConfig()
        config.warmupMilliseconds = 0
        return config
    }()

    static func id(_ n: UInt64) -> NodeID { NodeID(w0: n, w1: 0, w2: 0, w3: 0) }
    static let region = try! Region("cn-north")
    static let session = SessionID(1)

    static func pool(_ name: String, units: UInt64 = 100) -> PoolSpec {
        PoolSpec(
            path: [name], architecture: .x86_64, computeUnits: units, memoryMiB: units << 10,
            pricePerUnitHour: Price(microYuan: 1_000),
            residency: region)
    }

    /// Adds a node of `role`, knowing the nodes added before it, and starts it with `pools`.
    mutating func add(
        _ n: UInt64, role: Role, pools: [PoolSpec] = [], incarnation: UInt64 = 1, ledger: LedgerSnapshot = LedgerSnapshot()
    ) {
        let node = Self.id(n)
        let identity = NodeIdentity(
            node: node, role: role, region: Self.region, sectors: role == .industry ? [.finance] : [],
            address: NetAddress(host: "127.0.0.1", port: UInt16(7000 + n)))
        let members = nodes.values.map(\.me).sorted { $0.node < $1.node }
        var core = try! NodeCore(
            identity: identity, config: config, incarnation: incarnation, durableIncarnation: incarnation + 1_024,
            ledger: ledger, members: members, now: now, rng: &rng)
        credentials[node] = identity.credentials
        let directives = try! core.start(pools: pools, now: now)
        nodes[node] = core
        perform(directives, at: node)
        run()
        // The others learn of it by gossip in the real mesh; here they are told.
        for other in nodes.keys.sorted() where other != node {
            deliver(
                .peerLinked(PeerLink(peer: identity.credentials, listenAddress: identity.address, incarnation: incarnation)),
                to: other)
        }
        run()
    }

    mutating func deliver(_ input: NodeInput, to node: NodeID) { queue.append((node, input)) }

    mutating func perform(_ directives: [NodeDirective], at node: NodeID) {
        for directive in directives {
            switch directive {
            case .send(let message, let to, _, _):
                sent.append((node, to, message))
                if unreachable.contains(to) { continue }
                queue.append((to, .peerMessage(message, from: credentials[node]!)))
            case .answer(let message, let correlationID, let session): answers.append((session, correlationID, message))
            case .log(let line): logs.append((node, line))
            case .push, .connect, .disconnect, .applyRevocations, .goAway, .emit, .scheduleTick: break
            case .persist(let batch, let token):
                persisted[node, default: []].append(batch)
                if holdCommits {
                    uncommitted[node, default: []].append(token)
                } else {
                    queue.append((node, .committed(through: token)))
                }
            case .halt: halted.append(node)
            case .drained: drained.append(node)
            }
        }
    }

    /// Runs every queued input, and what they cause, in order.
    mutating func run() {
        var steps = 0
        while !queue.isEmpty {
            steps += 1
            precondition(steps < 100_000, "message storm")
            let (node, input) = queue.removeFirst()
            guard var core = nodes[node] else { continue }
            let directives = core.handle(input, now: now, rng: &rng)
            nodes[node] = core
            perform(directives, at: node)
        }
    }

    /// Commits everything held, node by node.
    mutating func commitAll() {
        for node in uncommitted.keys.sorted() {
            if let last = uncommitted[node]?.last { deliver(.committed(through: last), to: node) }
        }
        uncommitted = [:]
        run()
    }

    mutating func tick(to instant: MeshInstant) {
        now = instant
        for node in nodes.keys.sorted() { deliver(.tick, to: node) }
        run()
    }

    mutating func console(_ message: WireMessage, correlationID: UInt64, at node: NodeID) {
        deliver(.consoleRequest(message, correlationID: correlationID, session: Self.session), to: node)
        run()
    }

    func request(_ n: UInt128, key: String, units: UInt64 = 10, deadlineIn: UInt64 = 5_000, at node: NodeID) -> PlacementRequest {
        PlacementRequest(
            requestID: RequestID(value: n), tenant: try! TenantID("acme"), sector: .finance, idempotencyKey: key,
            demand: Demand(computeUnits: units), leaseDuration: .milliseconds(60_000), deadline: now + .milliseconds(deadlineIn),
            origin: node)
    }

    /// A regional node 1 with a pool "gpu" and an industry node 3 of its region, with a console on node 3.
    static func regionalAndIndustry() -> Bench {
        var bench = Bench()
        bench.add(1, role: .regional, pools: [Bench.pool("gpu")])
        bench.add(3, role: .industry)
        bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99)), to: Bench.id(3))
        return bench
    }

    func answer(_ correlationID: UInt64) -> WireMessage? { answers.last { $0.1 == correlationID }?.2 }

    func outcome(_ correlationID: UInt64) -> Outcome? {
        if case .outcome(let o)? = answer(correlationID) { return o }
        return nil
    }
}

@Suite("NodeCore: the whole node")
struct NodeCoreTests {
    let r1 = Bench.id(1)
    let r2 = Bench.id(2)
    let industry = Bench.id(3)

    func single() -> Bench {
        var bench = Bench()
        bench.add(1, role: .regional, pools: [Bench.pool("gpu")])
        bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99)), to: r1)
        bench.run()
        return bench
    }

    @Test func aRetryWithTheSameKeyWhileTheFirstIsInFlightIsAnsweredToo() throws {
        var bench = single()
        bench.holdCommits = true
        bench.console(.place(bench.request(1, key: "k", at: r1)), correlationID: 1, at: r1)
        bench.console(.place(bench.request(2, key: "k", at: r1)), correlationID: 2, at: r1)
        #expect(bench.answers.isEmpty, "nothing is answered before the ledger commits")
        for _ in 0..<8 { bench.commitAll() }
        let first = try #require(bench.outcome(1))
        let second = try #require(bench.outcome(2))
        #expect(first.isPlaced)
        #expect(first.result == second.result, "one outcome for the key")
        #expect(second.requestID == RequestID(value: 2), "each answer names the request it answers")
        #expect(bench.nodes[r1]!.owner.leaseCount == 1)
    }

    @Test func thousandsOfRetriesOfADecidedKeyAreAllAnsweredAndLeaveNothingWaiting() throws {
        var bench = single()
        bench.console(.place(bench.request(1, key: "k", at: r1)), correlationID: 1, at: r1)
        let placed = try #require(bench.outcome(1))
        for n in 2...5_000 as ClosedRange<UInt64> {
            bench.console(.place(bench.request(UInt128(n), key: "k", at: r1)), correlationID: n, at: r1)
        }
        #expect(bench.answers.count == 5_000)
        #expect(bench.outcome(5_000)?.result == placed.result)
        // A new key is still served: no console wait was left behind.
        bench.console(.place(bench.request(9_000, key: "other", at: r1)), correlationID: 9_000, at: r1)
        #expect(bench.outcome(9_000)?.isPlaced == true)
    }

    @Test func theOwnersAnswerWaitsForItsCommit() throws {
        var bench = single()
        bench.add(2, role: .regional)
        bench.holdCommits = true
        let pool = try ComputeID(owner: r1, path: ["gpu"])
        let ask = QuoteRequest(
            requestID: RequestID(value: 7), requester: r2, pool: pool, tenant: try TenantID("acme"), sector: .finance,
            demand: Demand(computeUnits: 5), holdFor: .milliseconds(2_000), deadline: bench.now + .milliseconds(3_000))
        bench.deliver(.peerMessage(.quoteRequest(ask), from: bench.credentials[r2]!), to: r1)
        bench.run()
        let quotes = { bench.sent.filter { if case .quote = $0.message { $0.to == r2 } else { false } }.count }
        #expect(quotes() == 0, "the QUOTE leaves only after the hold is durable")
        #expect(bench.uncommitted[r1]?.isEmpty == false)
        bench.commitAll()
        #expect(quotes() == 1)
    }

    @Test func anIndustryNodeRefusesAtOnceWhenTheKeysHomeIsUnreachable() throws {
        var bench = Bench.regionalAndIndustry()
        bench.unreachable = [r1]
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        #expect(bench.answers.isEmpty, "waiting for the regional node")
        // The dial fails: the wait ends at once, not after the forward timeout.
        bench.deliver(.unreachable(r1, .connectionRefused, dropped: []), to: industry)
        bench.run()
        guard case .refused(let reason, _)? = bench.outcome(1)?.result else {
            Issue.record("expected a refusal, got \(String(describing: bench.answer(1)))")
            return
        }
        #expect(reason == .ownerUnreachable)
    }

    @Test func anIndustryNodesTenantIsPlacedThroughTheKeysHomeAndTheLeaseAcknowledged() throws {
        var bench = Bench.regionalAndIndustry()
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        guard case .placed(let leases)? = bench.outcome(1)?.result else {
            Issue.record("expected a placement, got \(String(describing: bench.answer(1)))")
            return
        }
        #expect(bench.nodes[r1]!.owner.lease(leases[0].leaseID)?.isAcknowledged == true)
        // The tenant renews and releases through its entry node, which knows the route.
        bench.console(.renew(Renew(leaseID: leases[0].leaseID, extendBy: .milliseconds(1_000))), correlationID: 2, at: industry)
        guard case .leaseStatus(let renewed)? = bench.answer(2) else {
            Issue.record("expected LEASE_STATE, got \(String(describing: bench.answer(2)))")
            return
        }
        #expect(renewed.state == .leased && renewed.expiresAt == leases[0].expiresAt + .milliseconds(1_000))
        bench.console(.release(Release(reservation: .lease(leases[0].leaseID))), correlationID: 3, at: industry)
        guard case .leaseStatus(let released)? = bench.answer(3) else {
            Issue.record("expected LEASE_STATE, got \(String(describing: bench.answer(3)))")
            return
        }
        #expect(released.state == .released)
        #expect(bench.nodes[r1]!.owner.leaseCount == 0)
    }

    @Test func aConsolePingIsAnsweredWithAPongUnderItsCorrelationID() {
        var bench = single()
        bench.console(.ping(Ping(nonce: 42, sentAt: .zero)), correlationID: 9, at: r1)
        #expect(bench.answer(9) == .pong(Pong(nonce: 42, sentAt: .zero)))
    }

    @Test func subscribeWithoutTheEventStreamFeatureIsRefusedAndNoEventFollows() {
        var bench = Bench()
        bench.add(1, role: .regional, pools: [Bench.pool("gpu")])
        bench.deliver(
            .sessionOpened(Bench.session, operator: Bench.id(99), terms: SessionTerms(features: [.regionSummaries])), to: r1)
        bench.run()
        bench.console(.subscribe(Subscribe(kinds: EventKind.lifecycle.mask, fromSequence: 1)), correlationID: 0, at: r1)
        guard case .error(let refusal)? = bench.answer(0) else {
            Issue.record("SUBSCRIBE without event-stream was not refused: \(String(describing: bench.answer(0)))")
            return
        }
        #expect(refusal.code == WireErrorCode.featureNotNegotiated.rawValue)
        #expect(refusal.frameType == MessageType.subscribe.rawValue)
        #expect(bench.nodes[r1]!.events.subscribers.isEmpty)
    }

    @Test func pagedAnswersFitTheSessionsFrameLimit() {
        var bench = Bench()
        bench.add(1, role: .regional, pools: (1...40).map { Bench.pool("pool-with-a-rather-long-name-\($0)") })
        bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99), terms: SessionTerms(maxFrameBytes: 4096)), to: r1)
        bench.run()
        bench.console(.inventoryRequest(InventoryRequest(limit: 1024)), correlationID: 5, at: r1)
        guard case .inventory(let page)? = bench.answer(5) else {
            Issue.record("no INVENTORY")
            return
        }
        let size = try! FrameEncoder.frame(.inventory(page), correlationID: 5).count
        #expect(size <= 4096, "\(size) bytes")
        #expect(page.more && !page.pools.isEmpty && page.pools.count < 40)
        bench.console(.inventoryRequest(InventoryRequest(limit: 0)), correlationID: 6, at: r1)
        guard case .inventory(let empty)? = bench.answer(6) else { return }
        #expect(empty.pools.isEmpty && empty.more)
    }

    @Test func aLedgerOfAnotherNodeIsRefusedWithoutATrap() {
        var rng = SeededRandom(seed: 1)
        let foreign = RegisteredPool(
            descriptor: Bench.pool("gpu").descriptor(id: try! ComputeID(owner: Bench.id(8), path: ["gpu"])), epoch: 1,
            sequence: 1)
        #expect(throws: NodeStateError.self) {
            _ = try NodeCore(
                identity: NodeIdentity(
                    node: Bench.id(1), role: .regional, region: Bench.region, address: NetAddress(host: "127.0.0.1", port: 1)),
                config: NodeConfig(), incarnation: 1, durableIncarnation: 2, ledger: LedgerSnapshot(pools: [foreign]), now: .zero,
                rng: &rng)
        }
    }

    @Test func anIncarnationAboveTheStoredCeilingHoldsLivenessFramesUntilDurable() throws {
        var bench = Bench()
        bench.add(1, role: .regional, incarnation: 5)
        bench.add(2, role: .regional)
        bench.holdCommits = true
        // node 1 is told it is suspected at an incarnation far above its ceiling: it refutes.
        var suspect = bench.nodes[r1]!.me
        suspect.status = .suspect
        suspect.incarnation = 5_000
        bench.deliver(
            .peerMessage(
                .probe(Probe(from: r2, fromIncarnation: 1, target: r1, updates: [suspect])), from: bench.credentials[r2]!),
            to: r1)
        bench.run()
        #expect(bench.nodes[r1]!.me.incarnation > 5_000)
        let acks = { bench.sent.filter { if case .probeAck = $0.message { $0.from == self.r1 } else { false } }.count }
        #expect(acks() == 0, "no frame carries the new incarnation before it is durable")
        bench.commitAll()
        #expect(acks() == 1)
    }

    @Test func aStopReportsDrainedOnlyOncePlacementsInFlightHaveEnded() throws {
        var bench = single()
        bench.holdCommits = true
        bench.console(.place(bench.request(1, key: "k", at: r1)), correlationID: 1, at: r1)
        bench.deliver(.stop, to: r1)
        bench.run()
        #expect(bench.drained.isEmpty, "a placement is in flight")
        for _ in 0..<8 { bench.commitAll() }
        #expect(bench.outcome(1)?.isPlaced == true)
        #expect(bench.drained == [r1])
    }

    @Test func aFailedCommitHaltsTheNode() {
        var bench = single()
        bench.deliver(.commitFailed(token: 1, reason: "disk full"), to: r1)
        bench.run()
        #expect(bench.halted == [r1])
    }

    @Test func aNodeJoiningAMeshRefusesPlacementsAsOverloadedUntilItsWarmUpEnds() throws {
        var bench = Bench()
        bench.config.warmupMilliseconds = 2_000
        bench.add(1, role: .regional, pools: [Bench.pool("gpu")])
        bench.add(2, role: .regional, pools: [Bench.pool("cpu")])
        bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99)), to: r2)
        bench.console(.place(bench.request(1, key: "k", at: r2)), correlationID: 1, at: r2)
        guard case .refused(let reason, let message)? = bench.outcome(1)?.result else {
            Issue.record("expected a refusal, got \(String(describing: bench.answer(1)))")
            return
        }
        #expect(reason == .overloaded && reason.isTransient)
        #expect(message.contains("still learning the mesh") && message.contains("retry in 2000 ms"), "\(message)")
        bench.tick(to: bench.now + .milliseconds(2_000))
        bench.console(.place(bench.request(2, key: "k", at: r2)), correlationID: 2, at: r2)
        #expect(bench.outcome(2)?.isPlaced == true, "\(String(describing: bench.answer(2)))")
    }

    @Test func anOwnerRestartedWithAnUnacknowledgedLeaseAbandonsItAtItsBound() throws {
        // The lease was confirmed before the restart and nobody acknowledged it: the restarted
        // owner must still sweep it (it once never did: its first tick spent the only timer).
        let spec = Bench.pool("gpu")
        let pool = try ComputeID(owner: r1, path: ["gpu"])
        let registered = RegisteredPool(descriptor: spec.descriptor(id: pool), epoch: 1, sequence: 1)
        let start = MeshInstant(milliseconds: 1_000_000)
        let lease = Lease(
            leaseID: LeaseID(value: 77), holdID: HoldID(value: 76), pool: pool, tenant: try TenantID("acme"), computeUnits: 10,
            memoryMiB: 0, acceleratorCount: 0, pricePerUnitHour: Price(microYuan: 1_000),
            startsAt: MeshInstant(milliseconds: 999_000),
            expiresAt: start + .milliseconds(600_000))
        let active = ActiveLease(
            lease: lease, acceleratorGroup: nil, requester: r2, requestID: RequestID(value: 5), idempotencyKey: "k",
            acknowledgeBy: start + .milliseconds(5_000))
        var bench = Bench()
        bench.add(
            1, role: .regional, pools: [spec], ledger: LedgerSnapshot(pools: [registered], leases: [active], ledgerVersion: 3))
        #expect(bench.nodes[r1]!.owner.leaseCount == 1)
        bench.tick(to: start + .milliseconds(1))
        bench.tick(to: start + .milliseconds(5_000))
        #expect(bench.nodes[r1]!.owner.leaseCount == 0, "abandoned at its acknowledgement bound")
        #expect(bench.nodes[r1]!.owner.abandonedLeases == 1)
    }
}

@Suite("NodeCore: answers lost, owners down")
struct NodeCoreFaultTests {
    let r1 = Bench.id(1)
    let r2 = Bench.id(2)
    let industry = Bench.id(3)

    @Test func aTransientRefusalIsNotReplayedToARetryOnceTheOwnerIsBack() throws {
        var bench = Bench.regionalAndIndustry()
        bench.unreachable = [r1]
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        bench.deliver(.unreachable(r1, .connectionRefused, dropped: []), to: industry)
        bench.run()
        guard case .refused(let reason, _)? = bench.outcome(1)?.result else {
            Issue.record("expected a refusal, got \(String(describing: bench.answer(1)))")
            return
        }
        #expect(reason == .ownerUnreachable && reason.isTransient)
        // The regional node comes back and the industry node links to it again.
        bench.unreachable = []
        bench.tick(to: bench.now + .milliseconds(5_000))
        bench.deliver(
            .peerLinked(PeerLink(peer: bench.credentials[r1]!, listenAddress: bench.nodes[r1]!.me.address, incarnation: 1)),
            to: industry)
        bench.run()
        bench.console(.place(bench.request(2, key: "k", at: industry)), correlationID: 2, at: industry)
        #expect(
            bench.outcome(2)?.isPlaced == true, "the retry was answered from the cache: \(String(describing: bench.answer(2)))")
    }

    @Test func aPlacementWhoseAnswerWasLostIsGivenToARetryWithTheSameKey() throws {
        var bench = Bench.regionalAndIndustry()
        bench.holdCommits = true
        bench.console(.place(bench.request(1, key: "k", at: industry)), correlationID: 1, at: industry)
        // Commit step by step until the key's home (also the pool's owner) is committing the lease.
        for _ in 0..<8 where bench.nodes[r1]!.owner.leaseCount == 0 { bench.commitAll() }
        #expect(bench.nodes[r1]!.owner.leaseCount == 1)
        #expect(bench.uncommitted[r1]?.isEmpty == false, "the home is committing the lease")
        // The lease becomes durable, and every frame to the industry node is lost from now on:
        // the OUTCOME never arrives.
        bench.unreachable = [industry]
        bench.holdCommits = false
        bench.commitAll()
        let leaseID = try #require(bench.nodes[r1]!.owner.activeLeases.first?.leaseID)
        bench.tick(to: bench.now + .milliseconds(6_000))
        guard case .refused(let reason, _)? = bench.outcome(1)?.result else {
            Issue.record("expected a transient refusal, got \(String(describing: bench.answer(1)))")
            return
        }
        #expect(reason.isTransient, "the entry node cannot know the outcome: \(reason)")
        // The link is back: a retry with the same key learns the committed lease.
        bench.unreachable = []
        bench.console(.place(bench.request(2, key: "k", at: industry)), correlationID: 2, at: industry)
        guard case .placed(let leases)? = bench.outcome(2)?.result else {
            Issue.record("expected the committed lease, got \(String(describing: bench.answer(2)))")
            return
        }
        #expect(leases.map(\.leaseID) == [leaseID], "one outcome per key: the lease the owner committed")
        #expect(bench.nodes[r1]!.owner.leaseCount == 1, "no second lease for the key")
        #expect(bench.nodes[r1]!.owner.lease(leaseID)?.isAcknowledged == true)
    }
}

extension NodeCoreFaultTests {
    @Test func aRequestRefusedAtOnceIsExplainedWithTheTimeItWasDecided() throws {
        var bench = Bench()
        bench.add(1, role: .regional, pools: [Bench.pool("gpu")])
        bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99)), to: r1)
        bench.console(.place(bench.request(1, key: "k", units: 1_000_000_000, at: r1)), correlationID: 1, at: r1)
        let outcome = try #require(bench.outcome(1))
        guard case .refused(let reason, _) = outcome.result else {
            Issue.record("expected a refusal, got \(outcome.result)")
            return
        }
        #expect(reason == .invalidDemand)
        #expect(outcome.explanation.decidedAt == bench.now, "not 1970-01-01")
    }
}

@Suite("NodeCore: logs")
struct NodeCoreLogTests {
    @Test func anUnreachableSeedIsAWarningAtMostOnceAMinuteWithTheFailuresBetween() {
        var bench = Bench()
        bench.add(1, role: .regional)
        let node = Bench.id(1)
        let seed = NetAddress(host: "127.0.0.1", port: 9)
        let warnings = { bench.logs.filter { $0.1.level == .warning && $0.1.message.contains("127.0.0.1:9") } }
        for _ in 0..<5 {
            bench.deliver(.connectFailed(seed, .seed, .connectionRefused), to: node)
            bench.run()
        }
        #expect(warnings().count == 1)
        bench.tick(to: bench.now + .milliseconds(60_000))
        bench.deliver(.connectFailed(seed, .seed, .connectionRefused), to: node)
        bench.run()
        #expect(warnings().count == 2)
        #expect(warnings().last?.1.message.contains("4 more failures since the last warning") == true, "\(warnings())")
    }

    @Test func everyPlacementDecisionAndRefusalIsOneInfoLineWithItsRequestID() throws {
        var bench = Bench()
        bench.add(1, role: .regional, pools: [Bench.pool("gpu", units: 10)])
        let node = Bench.id(1)
        bench.deliver(.sessionOpened(Bench.session, operator: Bench.id(99)), to: node)
        bench.console(.place(bench.request(1, key: "a", units: 5, at: node)), correlationID: 1, at: node)
        bench.console(.place(bench.request(2, key: "b", units: 50, at: node)), correlationID: 2, at: node)
        for n in 1...2 as ClosedRange<UInt128> {
            let lines = bench.logs.filter { $0.1.request == RequestID(value: n) && $0.1.message.hasPrefix("placement ") }
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.1.level == .info)
        }
        #expect(bench.logs.contains { $0.1.request == RequestID(value: 2) && $0.1.message.contains("refused (") })
    }
}

@Suite("NodeCore: reload")
struct NodeCoreReloadTests {
    @Test func aReloadRegistersOnlyNewOrChangedPoolsAndKeepsTheOthers() throws {
        var bench = Bench()
        bench.add(1, role: .regional, pools: [Bench.pool("cpu"), Bench.pool("old")])
        let node = Bench.id(1)
        let before = bench.nodes[node]!.owner.registeredPools
        bench.deliver(.reload(pools: [Bench.pool("cpu"), Bench.pool("gpu")]), to: node)
        bench.run()
        let after = bench.nodes[node]!.owner.registeredPools
        #expect(after.map { $0.descriptor.id.path } == [["cpu"], ["gpu"], ["old"]])
        #expect(after.first { $0.descriptor.id.path == ["cpu"] } == before.first { $0.descriptor.id.path == ["cpu"] })
        // A changed pool is registered again, at a new version.
        bench.deliver(.reload(pools: [Bench.pool("cpu", units: 500)]), to: node)
        bench.run()
        let cpu = try #require(bench.nodes[node]!.owner.registeredPools.first { $0.descriptor.id.path == ["cpu"] })
        #expect(cpu.descriptor.computeUnits == 500)
    }
}
