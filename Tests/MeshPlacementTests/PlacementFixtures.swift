import MeshCore
import MeshPlacement

/// Shared fixtures: node IDs, pools, requests, and a tiny in-process mesh that delivers the
/// placement cores' messages to each other in order (no wire, no clock).
enum Fixture {
    static func nodeID(_ n: UInt64) -> NodeID { NodeID(w0: n, w1: 0, w2: 0, w3: 0) }
    static let east = try! Region("cn-east")
    static let west = try! Region("cn-west")
    static let h800 = try! AcceleratorClass(kind: .gpu, vendor: "nvidia", model: "h800")
    static let ascend = try! AcceleratorClass(kind: .npu, vendor: "huawei", model: "ascend-910b")
    static let tenant = try! TenantID("acme")

    /// A descriptor as registered at inventory version (1, 1).
    static func registered(_ pool: PoolDescriptor) -> RegisteredPool { RegisteredPool(descriptor: pool, epoch: 1, sequence: 1) }

    static func pool(
        owner: NodeID, _ name: String, units: UInt64 = 100, gpus: UInt32 = 0, npus: UInt32 = 0, price: UInt64 = 1_000_000,
        region: Region = east, green: UInt16 = 500, certifications: [String] = [], policy: PolicyExpr = .acceptAll,
        architecture: CPUArchitecture = .x86_64
    ) -> PoolDescriptor {
        var groups: [AcceleratorGroup] = []
        if gpus > 0 {
            groups.append(
                try! AcceleratorGroup(kind: .gpu, vendor: "nvidia", model: "h800", count: gpus, memoryMiBPerDevice: 81920))
        }
        if npus > 0 {
            groups.append(
                try! AcceleratorGroup(kind: .npu, vendor: "huawei", model: "ascend-910b", count: npus, memoryMiBPerDevice: 65536))
        }
        return PoolDescriptor(
            id: try! ComputeID(owner: owner, path: [name]), architecture: architecture, accelerators: groups, computeUnits: units,
            memoryMiB: units * 1024, interconnect: .infiniband, pricePerUnitHour: Price(microYuan: price), residency: region,
            certifications: certifications.map { try! Certification($0) }.sorted(), greenEnergyPermille: green, policy: policy)
    }

    static func entry(
        _ d: PoolDescriptor, issuedAt: MeshInstant = .zero, validFor: UInt64 = 10_000, latency: UInt64 = 10
    ) -> ViewEntry {
        ViewEntry(
            descriptor: d,
            availability: PoolAvailability(
                id: d.id, freeComputeUnits: d.computeUnits, freeMemoryMiB: d.memoryMiB,
                freeAccelerators: d.accelerators.map(\.count),
                pricePerUnitHour: d.pricePerUnitHour), epoch: 1, sequence: 1, issuedAt: issuedAt,
            validUntil: issuedAt + .milliseconds(validFor), latency: .milliseconds(latency))
    }

    static func request(
        _ n: UInt128, key: String? = nil, units: UInt64 = 10, gpus: UInt32 = 0, sector: Sector = .manufacturing,
        constraints: Constraints = Constraints(), deadline: UInt64 = 5_000, origin: NodeID = nodeID(1), lease: UInt64 = 60_000
    ) -> PlacementRequest {
        PlacementRequest(
            requestID: RequestID(value: n), tenant: tenant, sector: sector, idempotencyKey: key ?? "key-\(n)",
            demand: Demand(accelerator: gpus > 0 ? h800 : nil, acceleratorCount: gpus, computeUnits: units),
            constraints: constraints, leaseDuration: .milliseconds(lease), deadline: MeshInstant(milliseconds: deadline),
            origin: origin)
    }
}

/// A few nodes, each with a requester and an owner ledger, exchanging placement messages in FIFO
/// order at one instant. Records every persisted change, every delivery and every send. Like a
/// node, it passes RENEW, RELEASE and LEASE_STATE along their routes (SPEC §6.6.13).
struct MiniMesh {
    var requesters: [NodeID: PlacementRequester] = [:]
    var owners: [NodeID: OwnerLedger] = [:]
    var rng = SeededRandom(seed: 7)
    var delivered: [(Outcome, NodeID, OutcomeDestination)] = []
    var persisted: [NodeID: [LedgerChange]] = [:]
    var sent: [(from: NodeID, to: NodeID, PlacementMessage)] = []
    /// Messages dropped on purpose (by type name) to test timeouts.
    var drop: (PlacementMessage) -> Bool = { _ in false }
    var queue: [(from: NodeID, to: NodeID, PlacementMessage)] = []

    init(nodes: [NodeID], pools: [PoolDescriptor], config: PlacementConfig = PlacementConfig()) {
        for node in nodes {
            var requester = PlacementRequester(node: node, region: Fixture.east, config: config)
            for pool in pools { requester.view.upsert(Fixture.entry(pool)) }
            requesters[node] = requester
            var owner = OwnerLedger(node: node, config: config)
            for pool in pools where pool.id.owner == node {
                _ = owner.register(Fixture.registered(pool), now: .zero)
            }
            owners[node] = owner
        }
    }

    var tickets: UInt64 = 0
    /// Key decisions the requesters asked to keep, by node.
    var remembered: [NodeID: [KeyDecision]] = [:]

    mutating func place(_ request: PlacementRequest, at node: NodeID, now: MeshInstant) {
        tickets += 1
        let directives = requesters[node]!.onPlace(request, ticket: tickets, now: now, rng: &rng)
        handle(directives, at: node, now: now)
        run(now: now)
    }

    mutating func tick(_ node: NodeID, now: MeshInstant) {
        handle(requesters[node]!.onTick(now: now), at: node, now: now)
        handleOwner(owners[node]!.onTick(now: now), at: node)
        run(now: now)
    }

    mutating func handle(_ directives: [RequesterDirective], at node: NodeID, now: MeshInstant) {
        for directive in directives {
            switch directive {
            case .send(let to, let message): queue.append((node, to, message))
            case .deliver(let outcome, let destination, _):
                switch destination {
                case .tenant: delivered.append((outcome, node, destination))
                case .node(let peer): queue.append((node, peer, .outcome(outcome)))
                }
            case .remember(let decision): remembered[node, default: []].append(decision)
            case .explained, .scheduleTick: break
            }
        }
    }

    mutating func handleOwner(_ directives: [OwnerDirective], at node: NodeID, route: LeaseRoute = []) {
        for directive in directives {
            switch directive {
            case .persist(let changes, _): persisted[node, default: []].append(contentsOf: changes)
            case .reply(let to, .leaseState(var status)) where !route.isEmpty:
                // The owner's answer goes back along the route.
                status.route = route
                let index = route.firstIndex(of: node) ?? 0
                queue.append((node, index > 0 ? route[index - 1] : to, .leaseState(status)))
            case .reply(let to, let message): queue.append((node, to, message))
            case .scheduleSweep: break
            }
        }
    }

    mutating func run(now: MeshInstant) {
        var steps = 0
        while !queue.isEmpty {
            steps += 1
            precondition(steps < 10_000, "message storm")
            let (from, to, message) = queue.removeFirst()
            sent.append((from, to, message))
            if drop(message) { continue }
            switch message {
            case .quoteRequest(let ask):
                handleOwner(
                    owners[to]!.onQuoteRequest(ask, from: from, requesterRegion: Fixture.east, now: now, rng: &rng), at: to)
            case .confirm(let ask): handleOwner(owners[to]!.onConfirm(ask, from: from, now: now, rng: &rng), at: to)
            case .release(let r):
                if let next = Self.next(after: to, on: r.route) {
                    queue.append((to, next, message))
                } else {
                    handleOwner(owners[to]!.onRelease(r.reservation, from: from, now: now), at: to, route: r.route)
                }
            case .renew(let r):
                if let next = Self.next(after: to, on: r.route) {
                    queue.append((to, next, message))
                } else {
                    handleOwner(
                        owners[to]!.onRenew(r.leaseID, extendBy: r.extendBy, from: from, now: now), at: to, route: r.route)
                }
            case .leaseState(let s) where s.route.firstIndex(of: to).map { $0 > 0 } ?? false:
                _ = requesters[to]!.observe(s, now: now)
                queue.append((to, s.route[s.route.firstIndex(of: to)! - 1], message))
            case .forward(let ask): handle(requesters[to]!.onForward(ask, from: from, now: now, rng: &rng), at: to, now: now)
            case .quote, .refuse, .confirmed, .leaseState, .outcome:
                handle(requesters[to]!.onMessage(message, from: from, now: now), at: to, now: now)
            }
        }
    }

    /// The node after `node` on a route, when `node` is on it and not last.
    static func next(after node: NodeID, on route: LeaseRoute) -> NodeID? {
        guard let index = route.firstIndex(of: node), index + 1 < route.count else { return nil }
        return route[index + 1]
    }

    var quoteRequests: Int { sent.filter { if case .quoteRequest = $0.2 { true } else { false } }.count }
    var activeHolds: Int { owners.values.map(\.holdCount).reduce(0, +) }
    var activeLeases: Int { owners.values.map(\.leaseCount).reduce(0, +) }
}
