import MeshCore
import MeshNode
public import MeshPlacement
import MeshStore
import MeshWire

// A self-contained deterministic simulation of market placement: industry nodes that both ask for
// compute (requester core) and own pools (owner ledger core over an in-memory store), exchanging
// every placement message through the real wire codec on a virtual clock, with inventory views
// that lag the owners' ledgers by up to two seconds and demand at a multiple of capacity. An
// oracle replays every committed ledger batch independently of the cores and checks the safety
// properties of issue 5. One seed reproduces a run.

/// The shape of one placement simulation run.
public struct PlacementSimConfig: Sendable {
    public var seed: UInt64
    public var nodeCount: Int
    public var regionCount: Int
    /// Tenant requests (PLACE) to submit, in all.
    public var attempts: Int
    /// Offered load over capacity: 3 means tenants ask for three times what the pools can serve.
    public var demandFactor: Double
    /// How often an owner publishes its pools' availability, and the most a record may then take to
    /// reach a viewer: together they bound the staleness of a view (period + delay).
    public var publishPeriodMilliseconds: UInt64
    public var maxInventoryDelayMilliseconds: UInt64
    /// One-way message latency range.
    public var minLatencyMilliseconds: UInt64
    public var maxLatencyMilliseconds: UInt64
    /// Tenants that resubmit the same request (same key, same content), per mille.
    public var retryPermille: UInt64
    /// Tenants that reuse a key for different content, per mille.
    public var conflictPermille: UInt64
    /// Requests with bad input (unknown sector, empty demand, passed deadline), per mille.
    public var badInputPermille: UInt64
    /// Plain compute requests made as spread demands (over 2 to 4 pools), per mille of them.
    public var spreadPermille: UInt64
    public var placement: PlacementConfig

    public init(
        seed: UInt64, nodeCount: Int = 32, regionCount: Int = 4, attempts: Int = 10_000, demandFactor: Double = 3,
        publishPeriodMilliseconds: UInt64 = 1_000, maxInventoryDelayMilliseconds: UInt64 = 1_000,
        minLatencyMilliseconds: UInt64 = 1,
        maxLatencyMilliseconds: UInt64 = 8, retryPermille: UInt64 = 30, conflictPermille: UInt64 = 5,
        badInputPermille: UInt64 = 5, spreadPermille: UInt64 = 100,
        placement: PlacementConfig = PlacementConfig(maxExplanations: 64)
    ) {
        precondition(nodeCount >= regionCount && nodeCount % regionCount == 0, "nodes must split evenly into regions")
        self.seed = seed
        self.nodeCount = nodeCount
        self.regionCount = regionCount
        self.attempts = attempts
        self.demandFactor = demandFactor
        self.publishPeriodMilliseconds = publishPeriodMilliseconds
        self.maxInventoryDelayMilliseconds = maxInventoryDelayMilliseconds
        self.minLatencyMilliseconds = minLatencyMilliseconds
        self.maxLatencyMilliseconds = maxLatencyMilliseconds
        self.retryPermille = retryPermille
        self.conflictPermille = conflictPermille
        self.badInputPermille = badInputPermille
        self.spreadPermille = spreadPermille
        self.placement = placement
    }
}

/// What a run measured and every safety violation it found (empty when the run is correct).
public struct PlacementSimReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    public var attempts = 0
    public var placed = 0
    public var refused: [String: Int] = [:]
    /// Quote rounds run, at every node, for every request.
    public var quoteRounds = 0
    /// Quote rounds the requesters credit to requests that ended placed (each node counts the
    /// rounds it ran itself if its part of the request ended placed; rounds run at a peer that
    /// then refused are not included).
    public var quoteRoundsOfPlaced = 0
    /// Quote rounds run for requests that ended placed, at every node the request visited,
    /// including peers that refused it: counted on the wire, one per (node, request) batch of
    /// QUOTE_REQUESTs sent in one step.
    public var attemptsOfPlaced = 0
    /// Requests refused without any quote round anywhere (the view showed nothing fits, or bad input).
    public var refusedWithoutAttempt = 0
    public var candidatesSkipped = 0
    /// Spread requests submitted, placed, placed over more than one pool, and rolled back.
    public var spreadRequests = 0
    public var spreadPlaced = 0
    public var spreadMultiPool = 0
    public var spreadRolledBack = 0
    /// Placed requests by (quote rounds, nodes on the path): "2 rounds, 2 nodes" = 40 and so on.
    public var placedByRoundsAndNodes: [String: Int] = [:]
    /// Candidates a node serving a spilled request did not ask (figures neither fresh nor roomy).
    public var spilloverCandidatesSkipped = 0
    public var quotesAsked = 0
    public var confirmsSent = 0
    public var forwards = 0
    public var lateReleases = 0
    public var messages = 0
    public var wireBytes = 0
    public var ledgerBatches = 0
    public var holdsPlaced = 0
    public var holdsReleased = 0
    public var holdsLapsed = 0
    public var leasesStarted = 0
    public var maxInventoryAgeMilliseconds: UInt64 = 0
    public var explanationsChecked = 0
    public var virtualMilliseconds: UInt64 = 0
    public var holdsLeftAtEnd = 0
    public var leasesLeftAtEnd = 0
    public var violations: [String] = []

    /// Attempts per success: quote rounds run for requests that ended placed, at every node they
    /// visited, per placement (see BENCHMARKS.md for why a quote round is the attempt).
    public var attemptsPerSuccess: Double { placed == 0 ? 0 : Double(attemptsOfPlaced) / Double(placed) }
    /// The requesters' own figure (rounds credited to placed requests, per placement): the
    /// figure reported before; excludes rounds at peers that refused.
    public var requesterRoundsPerSuccess: Double { placed == 0 ? 0 : Double(quoteRoundsOfPlaced) / Double(placed) }
    /// Every quote round, for placed and refused requests alike, per placement.
    public var allRoundsPerSuccess: Double { placed == 0 ? 0 : Double(quoteRounds) / Double(placed) }
    /// Tenant submissions (PLACE, retries not counted) per placement: bounded below by the demand
    /// factor, whatever the placement does.
    public var submissionsPerSuccess: Double { placed == 0 ? 0 : Double(attempts) / Double(placed) }
    /// Confirms sent per lease made.
    public var confirmsPerLease: Double { leasesStarted == 0 ? 0 : Double(confirmsSent) / Double(leasesStarted) }

    public var description: String {
        let refusals = refused.keys.sorted().map { "\($0)=\(refused[$0]!)" }.joined(separator: " ")
        return """
            seed \(seed): \(attempts) attempts, \(placed) placed, refused: \(refusals)
              attempts (quote rounds) of placed requests \(attemptsOfPlaced): \(attemptsPerSuccess) per success; \
            requester-credited \(quoteRoundsOfPlaced) (\(requesterRoundsPerSuccess)); all rounds \(quoteRounds) \
            (\(allRoundsPerSuccess)); refused without a round \(refusedWithoutAttempt); candidates skipped \(candidatesSkipped), \
            for spilled requests \(spilloverCandidatesSkipped)
              spread: \(spreadRequests) asked, \(spreadPlaced) placed (\(spreadMultiPool) over several pools), \
            \(spreadRolledBack) rolled back; confirms/lease \(confirmsPerLease), forwards \(forwards), late releases \(lateReleases)
              holds placed \(holdsPlaced), released \(holdsReleased), lapsed \(holdsLapsed); leases \(leasesStarted); \
            batches \(ledgerBatches); messages \(messages) (\(wireBytes) bytes)
              max inventory age used \(maxInventoryAgeMilliseconds) ms; explanations checked \(explanationsChecked); \
            virtual time \(virtualMilliseconds) ms; left at end: \(holdsLeftAtEnd) holds, \(leasesLeftAtEnd) leases
              placed by rounds and path: \(placedByRoundsAndNodes.keys.sorted().map { "\($0)=\(placedByRoundsAndNodes[$0]!)" }.joined(separator: " "))
              violations: \(violations.isEmpty ? "none" : violations.prefix(5).joined(separator: "; "))
            """
    }
}

/// Replays committed ledger batches, independently of the owner core, and checks that holds plus
/// leases never exceed any pool's capacity and that no idempotency key gets two leases.
struct PlacementOracle {
    struct Usage {
        var capacityUnits: UInt64
        var capacityMemory: UInt64
        var capacityAccelerators: [UInt32]
        var units: UInt64 = 0
        var memory: UInt64 = 0
        var accelerators: [UInt32]
    }
    struct Reservation {
        var pool: ComputeID
        var units: UInt64
        var memory: UInt64
        var accelerators: UInt32
        var group: Int?
    }
    var pools: [ComputeID: Usage] = [:]
    var holds: [HoldID: Reservation] = [:]
    var leases: [LeaseID: Reservation] = [:]
    var leasesPerKey: [String: Int] = [:]
    /// The leases started under each idempotency key, and how each lease ended.
    var leasesOfKey: [String: [LeaseID]] = [:]
    var activePerKey: [String: Int] = [:]
    var keyOfLease: [LeaseID: String] = [:]
    var leaseReleased: Set<LeaseID> = []
    var leaseExpired: Set<LeaseID> = []
    /// The most leases a key may hold at once: its spread demand's `maxPools` (1 for a gang).
    var maxLeasesPerKey: [String: Int] = [:]
    var violations: [String] = []
    var holdsPlaced = 0, holdsReleased = 0, holdsLapsed = 0, leasesStarted = 0, batches = 0

    mutating func observe(_ entries: [LedgerChange], node: Int) {
        batches += 1
        for entry in entries {
            switch entry {
            case .poolRegistered(let p):
                let d = p.descriptor
                pools[d.id] = Usage(
                    capacityUnits: d.computeUnits, capacityMemory: d.memoryMiB, capacityAccelerators: d.accelerators.map(\.count),
                    accelerators: d.accelerators.map { _ in 0 })
            case .holdPlaced(let h):
                holdsPlaced += 1
                let r = Reservation(
                    pool: h.pool, units: h.computeUnits, memory: h.memoryMiB, accelerators: h.acceleratorCount,
                    group: h.acceleratorGroup)
                holds[h.holdID] = r
                add(r, sign: 1)
            case .holdReleased(let id), .holdExpired(let id):
                if case .holdReleased = entry { holdsReleased += 1 } else { holdsLapsed += 1 }
                guard let r = holds.removeValue(forKey: id) else {
                    violations.append("node \(node): ended hold \(id) that is not active")
                    continue
                }
                add(r, sign: -1)
            case .leaseStarted(let l):
                leasesStarted += 1
                guard let r = holds.removeValue(forKey: l.lease.holdID) else {
                    violations.append("node \(node): lease \(l.lease.leaseID) from inactive hold \(l.lease.holdID)")
                    continue
                }
                leases[l.lease.leaseID] = r
                let key = l.idempotencyKey
                leasesPerKey[key, default: 0] += 1
                leasesOfKey[key, default: []].append(l.lease.leaseID)
                keyOfLease[l.lease.leaseID] = key
                activePerKey[key, default: 0] += 1
                let most = maxLeasesPerKey[key] ?? 1
                if most == 1 && leasesPerKey[key]! > 1 {
                    violations.append("idempotency key \(key) got a second lease \(l.lease.leaseID)")
                } else if activePerKey[key]! > most {
                    violations.append("idempotency key \(key) holds \(activePerKey[key]!) leases at once, more than \(most)")
                }
            case .leaseRenewed, .leaseAcknowledged, .leaseReconfirmed: break
            case .leaseReleased(let id), .leaseExpired(let id), .leaseAbandoned(let id):
                guard let r = leases.removeValue(forKey: id) else {
                    violations.append("node \(node): ended lease \(id) that is not active")
                    continue
                }
                if case .leaseReleased = entry { leaseReleased.insert(id) } else { leaseExpired.insert(id) }
                if let key = keyOfLease[id] { activePerKey[key, default: 1] -= 1 }
                add(r, sign: -1)
            }
        }
        // Checked after every committed batch: what any reader of the ledger could observe.
        for entry in entries {
            let pool: ComputeID
            switch entry {
            case .holdPlaced(let h): pool = h.pool
            default: continue
            }
            let u = pools[pool]!
            var over = u.units > u.capacityUnits || u.memory > u.capacityMemory
            for (used, capacity) in zip(u.accelerators, u.capacityAccelerators) where used > capacity { over = true }
            if over {
                violations.append(
                    "over-commit on \(pool.localName) of node \(node): \(u.units)/\(u.capacityUnits) units, \(u.accelerators)/\(u.capacityAccelerators) accelerators"
                )
            }
        }
    }

    private mutating func add(_ r: Reservation, sign: Int) {
        guard var u = pools[r.pool] else {
            violations.append("reservation on unregistered pool \(r.pool)")
            return
        }
        if sign > 0 {
            u.units += r.units
            u.memory += r.memory
            if let g = r.group { u.accelerators[g] += r.accelerators }
        } else {
            u.units -= r.units
            u.memory -= r.memory
            if let g = r.group { u.accelerators[g] -= r.accelerators }
        }
        pools[r.pool] = u
    }
}

/// A binary min-heap of events by (time, sequence): ties keep insertion order, so runs are
/// reproducible.
struct PlacementEventQueue<Event> {
    private var heap: [(UInt64, UInt64, Event)] = []
    private var sequence: UInt64 = 0
    var count: Int { heap.count }

    mutating func push(_ time: UInt64, _ event: Event) {
        sequence += 1
        heap.append((time, sequence, event))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if (heap[parent].0, heap[parent].1) <= (heap[i].0, heap[i].1) { break }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (UInt64, Event)? {
        guard !heap.isEmpty else { return nil }
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < heap.count && (heap[l].0, heap[l].1) < (heap[m].0, heap[m].1) { m = l }
                if r < heap.count && (heap[r].0, heap[r].1) < (heap[m].0, heap[m].1) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return (top.0, top.2)
    }
}

/// The simulation itself.
public enum PlacementSimulation {
    enum Event {
        case arrival(Int)
        case resubmit(Int, PlacementRequest)
        case message(from: Int, to: Int, [UInt8])
        case requesterTick(Int)
        case ownerTick(Int)
        case publish(Int)
        case inventory(viewer: Int, [PoolAvailability], sequence: UInt64, issuedAt: MeshInstant)
    }

    struct Node {
        var id: NodeID
        var region: Region
        var requester: PlacementRequester
        var owner: OwnerLedger
        var store: InMemoryLedgerStore
        var pools: [PoolDescriptor]
        var publishSequence: UInt64 = 1
    }

    /// What the tenants saw for one idempotency key.
    struct KeyRecord {
        var requestID: RequestID
        var content: RequestContent
        var expectedDeliveries: Int
        var outcome: Outcome? = nil
        var deliveries = 0
        var badInput: RefuseReason? = nil
    }

    static let h800 = try! AcceleratorClass(kind: .gpu, vendor: "nvidia", model: "h800")
    static let ascend = try! AcceleratorClass(kind: .npu, vendor: "huawei", model: "ascend-910b")

    static func makePools(owner: NodeID, region: Region) -> [PoolDescriptor] {
        let gpu = try! AcceleratorGroup(kind: .gpu, vendor: "nvidia", model: "h800", count: 8, memoryMiBPerDevice: 81_920)
        let npu = try! AcceleratorGroup(kind: .npu, vendor: "huawei", model: "ascend-910b", count: 16, memoryMiBPerDevice: 65_536)
        let restricted = PolicyExpr.sectorIn([.energy, .finance, .government, .healthcare, .manufacturing, .research])
        return [
            PoolDescriptor(
                id: try! ComputeID(owner: owner, path: ["cpu"]), architecture: .x86_64, accelerators: [], computeUnits: 200,
                memoryMiB: 200 << 10, interconnect: .ethernet, pricePerUnitHour: Price(microYuan: 400_000), residency: region,
                certifications: [], greenEnergyPermille: 300),
            PoolDescriptor(
                id: try! ComputeID(owner: owner, path: ["gpu"]), architecture: .x86_64, accelerators: [gpu], computeUnits: 100,
                memoryMiB: 100 << 10, interconnect: .nvlink, pricePerUnitHour: Price(microYuan: 2_000_000), residency: region,
                certifications: [try! Certification("finance-grade")], greenEnergyPermille: 500),
            PoolDescriptor(
                id: try! ComputeID(owner: owner, path: ["npu"]), architecture: .aarch64, accelerators: [npu], computeUnits: 100,
                memoryMiB: 100 << 10, interconnect: .hccs, pricePerUnitHour: Price(microYuan: 1_200_000), residency: region,
                certifications: [try! Certification("healthcare")], greenEnergyPermille: 800, policy: restricted),
        ]
    }

    /// Runs one seed to completion (all attempts submitted, then drained until every hold and lease
    /// has ended) and returns what it measured and found.
    public static func run(_ config: PlacementSimConfig) -> PlacementSimReport {
        var rng = SeededRandom(seed: config.seed)
        var report = PlacementSimReport(seed: config.seed)
        var queue = PlacementEventQueue<Event>()
        var oracle = PlacementOracle()
        let regions = (0..<config.regionCount).map { try! Region("region-\($0)") }
        let perRegion = config.nodeCount / config.regionCount

        // Nodes, pools (registered through the owner core and committed to each node's store).
        var nodes: [Node] = []
        var index: [NodeID: Int] = [:]
        for i in 0..<config.nodeCount {
            var idRng = rng.fork()
            let id = NodeID(w0: idRng.next(), w1: idRng.next(), w2: idRng.next(), w3: UInt64(i))
            let region = regions[i / perRegion]
            let pools = makePools(owner: id, region: region)
            var owner = OwnerLedger(node: id, config: config.placement)
            var store = InMemoryLedgerStore()
            for pool in pools {
                for case .persist(let changes, let version) in owner.register(
                    RegisteredPool(descriptor: pool, epoch: 1, sequence: 1), now: .zero)
                {
                    try! store.commit(changes, ledgerVersion: version, at: .zero)
                    oracle.observe(changes, node: i)
                }
            }
            nodes.append(
                Node(
                    id: id, region: region, requester: PlacementRequester(node: id, region: region, config: config.placement),
                    owner: owner, store: store, pools: pools))
            index[id] = i
        }
        // Views: each node sees its region's pools; it spills over to one peer in every other region.
        for i in 0..<config.nodeCount {
            let r = i / perRegion
            for j in (r * perRegion)..<((r + 1) * perRegion) {
                for pool in nodes[j].pools {
                    let latency = MeshDuration(
                        milliseconds: rng.next(in: config.minLatencyMilliseconds...config.maxLatencyMilliseconds) * 2)
                    nodes[i].requester.view.upsert(
                        ViewEntry(
                            descriptor: pool,
                            availability: PoolAvailability(
                                id: pool.id, freeComputeUnits: pool.computeUnits, freeMemoryMiB: pool.memoryMiB,
                                freeAccelerators: pool.accelerators.map(\.count), pricePerUnitHour: pool.pricePerUnitHour),
                            epoch: 1,
                            sequence: 1, issuedAt: .zero,
                            validUntil: .zero
                                + .milliseconds(config.publishPeriodMilliseconds + config.maxInventoryDelayMilliseconds + 1_000),
                            latency: latency))
                }
            }
            let peers = (0..<config.regionCount).filter { $0 != r }.map { nodes[$0 * perRegion + i % perRegion].id }
            nodes[i].requester.setSpilloverPeers(peers)
        }

        // Offered load: per-node arrival rate so that units asked × lease time = factor × capacity.
        let meanUnits = 17.5
        let meanLeaseSeconds = 10.0
        let capacityPerNode = 400.0
        let ratePerNode = config.demandFactor * capacityPerNode / (meanUnits * meanLeaseSeconds)
        let meanGapMilliseconds = 1_000.0 / ratePerNode
        for i in 0..<config.nodeCount {
            queue.push(rng.next(below: UInt64(meanGapMilliseconds) + 1), .arrival(i))
            queue.push(rng.next(below: config.publishPeriodMilliseconds), .publish(i))
        }

        var keys: [String: KeyRecord] = [:]
        var submitted = 0
        var nextRequest: UInt64 = 1
        var now = MeshInstant.zero
        var arrivalsOpen = true

        func send(_ message: PlacementMessage, from: Int, to: NodeID) {
            guard let target = index[to] else {
                report.violations.append("message to unknown node \(to.short)")
                return
            }
            let bytes = try! FrameEncoder.frame(PlacementWire.wire(message))
            report.messages += 1
            report.wireBytes += bytes.count
            let latency = rng.next(in: config.minLatencyMilliseconds...config.maxLatencyMilliseconds)
            queue.push(now.milliseconds + latency, .message(from: from, to: target, bytes))
        }

        func deliverToTenant(_ outcome: Outcome, at node: Int) {
            report.explanationsChecked += 1
            if !outcome.explanation.obeysSumRule {
                report.violations.append("explanation of \(outcome.requestID) breaks the sum rule")
            }
            for verdict in outcome.explanation.verdicts {
                report.maxInventoryAgeMilliseconds = max(report.maxInventoryAgeMilliseconds, verdict.inventoryAge.milliseconds)
            }
            let key = outcome.idempotencyKey
            guard var record = keys[key] else {
                report.violations.append("outcome for unknown key \(key)")
                return
            }
            if case .refused(.idempotencyConflict, _) = outcome.result, outcome.requestID != record.requestID {
                return  // the conflicting reuse was refused; the original is untouched
            }
            record.deliveries += 1
            if let first = record.outcome {
                if first != outcome { report.violations.append("key \(key) ended twice with different outcomes") }
            } else {
                record.outcome = outcome
                switch outcome.result {
                case .placed: report.placed += 1
                case .refused(let reason, _):
                    report.refused[reason.description, default: 0] += 1
                    if let expected = record.badInput, expected != reason {
                        report.violations.append("bad input \(key) refused as \(reason), expected \(expected)")
                    }
                }
                if record.badInput != nil, outcome.isPlaced { report.violations.append("bad input \(key) was placed") }
            }
            keys[key] = record
        }

        // Attempts counted on the wire: one per (node, request) step that sends QUOTE_REQUESTs.
        var attemptsByRequest: [RequestID: Int] = [:]
        func perform(_ directives: [RequesterDirective], at node: Int) {
            var asked: [RequestID] = []
            for case .send(_, .quoteRequest(let ask)) in directives where !asked.contains(ask.requestID) {
                asked.append(ask.requestID)
                attemptsByRequest[ask.requestID, default: 0] += 1
            }
            for directive in directives {
                switch directive {
                case .send(let to, let message): send(message, from: node, to: to)
                case .deliver(let outcome, let destination):
                    switch destination {
                    case .tenant: deliverToTenant(outcome, at: node)
                    case .node(let peer): send(.outcome(outcome), from: node, to: peer)
                    }
                case .scheduleTick(let at): queue.push(at.milliseconds, .requesterTick(node))
                }
            }
        }

        func perform(_ directives: [OwnerDirective], at node: Int) {
            for directive in directives {
                switch directive {
                case .persist(let changes, let version):
                    let entries = changes
                    do { try nodes[node].store.commit(entries, ledgerVersion: version, at: now) } catch {
                        report.violations.append("store refused a batch at node \(node): \(error)")
                    }
                    oracle.observe(entries, node: node)
                case .reply(let to, let message): send(message, from: node, to: to)
                case .scheduleSweep(let at): queue.push(at.milliseconds, .ownerTick(node))
                }
            }
        }

        func makeRequest(at node: Int) -> (PlacementRequest, RefuseReason?) {
            let id = RequestID(value: UInt128(config.seed) << 64 | UInt128(nextRequest))
            nextRequest += 1
            let kind = rng.next(below: 4)
            var demand: Demand
            var constraints = Constraints()
            switch kind {
            case 0:
                demand = Demand(
                    accelerator: h800, acceleratorCount: UInt32(1 + rng.next(below: 4)), computeUnits: 5 + rng.next(below: 11))
            case 1:
                demand = Demand(
                    accelerator: ascend, acceleratorCount: UInt32(2 + rng.next(below: 7)), computeUnits: 5 + rng.next(below: 11))
            default:
                demand = Demand(computeUnits: 10 + rng.next(below: 31), memoryMiB: 1 << 10)
                if rng.chance(permille: 200) { constraints.maxPricePerUnitHour = Price(microYuan: 1_000_000) }
                if rng.chance(permille: config.spreadPermille) {
                    demand.mode = .spread
                    demand.maxPools = UInt16(2 + rng.next(below: 3))
                }
            }
            var sector = Sector.known[rng.index(below: Sector.known.count)]
            var deadline = now + .milliseconds(3_000)
            var bad: RefuseReason? = nil
            if rng.chance(permille: config.badInputPermille) {
                switch rng.next(below: 3) {
                case 0:
                    sector = try! Sector("astrology")
                    bad = .unknownSector
                case 1:
                    demand = Demand(computeUnits: 0)
                    bad = .invalidDemand
                default:
                    deadline = now
                    bad = .deadlineExpired
                }
            }
            let request = PlacementRequest(
                requestID: id, tenant: try! TenantID("tenant-\(node)-\(rng.next(below: 8))"), sector: sector,
                idempotencyKey: "s\(config.seed)-k\(nextRequest)", demand: demand, constraints: constraints,
                weights: Weights(price: UInt16(rng.next(below: 1000)), latency: 300, green: UInt16(rng.next(below: 500))),
                leaseDuration: .milliseconds(5_000 + rng.next(below: 10_001)), deadline: deadline, origin: nodes[node].id)
            return (request, bad)
        }

        while let (time, event) = queue.pop() {
            now = MeshInstant(milliseconds: time)
            switch event {
            case .arrival(let i):
                guard arrivalsOpen else { continue }
                let (request, bad) = makeRequest(at: i)
                submitted += 1
                report.attempts += 1
                var expected = 1
                if bad == nil && rng.chance(permille: config.retryPermille) {
                    expected += 1
                    var retry = request
                    retry.requestID = RequestID(value: request.requestID.value ^ (1 << 63))
                    retry.deadline = request.deadline + .milliseconds(1_000)
                    queue.push(time + rng.next(below: 2_000), .resubmit(i, retry))
                }
                if bad == nil && rng.chance(permille: config.conflictPermille) {
                    var conflict = request
                    conflict.requestID = RequestID(value: request.requestID.value ^ (1 << 62))
                    conflict.demand.computeUnits += 1
                    queue.push(time + rng.next(below: 2_000), .resubmit(i, conflict))
                }
                if request.demand.mode == .spread {
                    report.spreadRequests += 1
                    oracle.maxLeasesPerKey[request.idempotencyKey] = Int(request.demand.maxPools)
                }
                keys[request.idempotencyKey] = KeyRecord(
                    requestID: request.requestID, content: RequestContent(request), expectedDeliveries: expected, badInput: bad)
                perform(nodes[i].requester.onPlace(request, now: now, rng: &rng), at: i)
                if submitted >= config.attempts {
                    arrivalsOpen = false
                } else {
                    let gap = UInt64(-meanGapMilliseconds * log1pNegative(rng.unitInterval()))
                    queue.push(time + max(1, gap), .arrival(i))
                }
            case .resubmit(let i, let request):
                perform(nodes[i].requester.onPlace(request, now: now, rng: &rng), at: i)
            case .message(let from, let to, let bytes):
                let decoded: PlacementMessage
                do {
                    guard case .message(let wire, _, _) = try WireMessage.decode(frameBytes: bytes),
                        let message = PlacementWire.placement(wire)
                    else {
                        report.violations.append("a placement frame decoded to something else")
                        continue
                    }
                    decoded = message
                } catch {
                    report.violations.append("a placement frame did not decode: \(error)")
                    continue
                }
                let sender = nodes[from].id
                switch decoded {
                case .quoteRequest(let ask):
                    perform(
                        nodes[to].owner.onQuoteRequest(
                            ask, from: sender, requesterRegion: nodes[from].region, now: now, rng: &rng), at: to)
                case .confirm(let ask): perform(nodes[to].owner.onConfirm(ask, from: sender, now: now, rng: &rng), at: to)
                case .release(let r): perform(nodes[to].owner.onRelease(r.reservation, from: sender, now: now), at: to)
                case .renew(let r):
                    perform(nodes[to].owner.onRenew(r.leaseID, extendBy: r.extendBy, from: sender, now: now), at: to)
                case .forward(let ask): perform(nodes[to].requester.onForward(ask, from: sender, now: now, rng: &rng), at: to)
                case .quote, .refuse, .confirmed, .leaseState, .outcome:
                    perform(nodes[to].requester.onMessage(decoded, from: sender, now: now), at: to)
                }
            case .requesterTick(let i):
                perform(nodes[i].requester.onTick(now: now), at: i)
            case .ownerTick(let i):
                perform(nodes[i].owner.onTick(now: now), at: i)
            case .publish(let i):
                guard arrivalsOpen else { continue }
                nodes[i].publishSequence += 1
                let records = nodes[i].pools.map { nodes[i].owner.availability(of: $0.id)! }
                let r = i / perRegion
                for viewer in (r * perRegion)..<((r + 1) * perRegion) {
                    let delay = rng.next(below: config.maxInventoryDelayMilliseconds + 1)
                    queue.push(
                        time + delay, .inventory(viewer: viewer, records, sequence: nodes[i].publishSequence, issuedAt: now))
                }
                queue.push(time + config.publishPeriodMilliseconds, .publish(i))
            case .inventory(let viewer, let records, let sequence, let issuedAt):
                let validUntil =
                    issuedAt + .milliseconds(config.publishPeriodMilliseconds + config.maxInventoryDelayMilliseconds + 1_000)
                for availability in records {
                    nodes[viewer].requester.view.updateAvailability(
                        availability, epoch: 1, sequence: sequence, issuedAt: issuedAt, validUntil: validUntil)
                }
            }
        }
        report.virtualMilliseconds = now.milliseconds

        // Every key ended exactly once (plus the same outcome once per identical resubmission).
        for (key, record) in keys where record.deliveries != record.expectedDeliveries {
            report.violations.append("key \(key) delivered \(record.deliveries) outcomes, expected \(record.expectedDeliveries)")
        }
        // Every lease started under a key is either one of the leases its outcome reported, or was
        // given back (released, never left to expire): no partial or duplicate lease is left behind.
        // A placed outcome's leases cover the demand exactly, one part per lease.
        for key in keys.keys.sorted() {
            let record = keys[key]!
            var reported: [LeaseID] = []
            if let outcome = record.outcome, case .placed(let leases) = outcome.result {
                reported = leases.map(\.leaseID)
                let demand = record.content.demand
                let units = leases.reduce(UInt64(0)) { $0 + $1.computeUnits }
                let accelerators = leases.reduce(UInt64(0)) { $0 + UInt64($1.acceleratorCount) }
                let owners = Set(leases.map(\.pool.owner))
                if units != demand.computeUnits || accelerators != UInt64(demand.acceleratorCount)
                    || leases.count > Int(demand.maxPools) || owners.count != leases.count
                {
                    report.violations.append(
                        "key \(key) placed \(leases.count) leases (\(units) units, \(accelerators) accelerators) for \(demand)")
                }
                if leases.count > 1 { report.spreadMultiPool += 1 }
                if demand.mode == .spread { report.spreadPlaced += 1 }
                report.attemptsOfPlaced += attemptsByRequest[outcome.requestID] ?? 0
                report.placedByRoundsAndNodes[
                    "\(attemptsByRequest[outcome.requestID] ?? 0) rounds/\(outcome.explanation.path.count) nodes", default: 0] +=
                    1
                for lease in reported where oracle.keyOfLease[lease] != key {
                    report.violations.append("key \(key) reported lease \(lease) that no owner started")
                }
            } else if let outcome = record.outcome, attemptsByRequest[outcome.requestID] == nil {
                report.refusedWithoutAttempt += 1
            }
            for lease in oracle.leasesOfKey[key] ?? [] where !reported.contains(lease) {
                if !oracle.leaseReleased.contains(lease) {
                    report.violations.append("key \(key): lease \(lease) outside its outcome was not given back")
                }
            }
        }
        for node in nodes {
            report.holdsLeftAtEnd += node.store.activeHoldCount + node.owner.holdCount
            report.leasesLeftAtEnd += node.store.activeLeaseCount + node.owner.leaseCount
            report.quoteRounds += node.requester.counters.quoteRounds
            report.quoteRoundsOfPlaced += node.requester.counters.quoteRoundsOfPlaced
            report.quotesAsked += node.requester.counters.quotesAsked
            report.confirmsSent += node.requester.counters.confirmsSent
            report.forwards += node.requester.counters.forwardsSent
            report.lateReleases += node.requester.counters.lateReleases
            report.candidatesSkipped += node.requester.counters.candidatesSkipped
            report.spreadRolledBack += node.requester.counters.spreadRolledBack
            report.spilloverCandidatesSkipped += node.requester.counters.spilloverCandidatesSkipped
            if node.requester.inFlightCount != 0 {
                report.violations.append("node \(node.id.short) ended with requests in flight")
            }
        }
        if report.holdsLeftAtEnd != 0 { report.violations.append("\(report.holdsLeftAtEnd) holds left behind") }
        if !oracle.holds.isEmpty { report.violations.append("oracle replay ends with \(oracle.holds.count) active holds") }
        for (id, usage) in oracle.pools where usage.units != 0 && oracle.leases.isEmpty {
            report.violations.append("pool \(id.localName) ends with \(usage.units) units in use and no reservation")
        }
        report.ledgerBatches = oracle.batches
        report.holdsPlaced = oracle.holdsPlaced
        report.holdsReleased = oracle.holdsReleased
        report.holdsLapsed = oracle.holdsLapsed
        report.leasesStarted = oracle.leasesStarted
        report.violations.append(contentsOf: oracle.violations)
        return report
    }

    /// `log(1 - u)` for u in [0, 1): the exponential gap of a Poisson process, without Foundation.
    static func log1pNegative(_ u: Double) -> Double {
        // ln(1 - u) by the identity ln(x) = 2 atanh((x - 1) / (x + 1)), summed to double precision.
        let x = max(1 - u, 1e-12)
        let y = (x - 1) / (x + 1)
        let y2 = y * y
        var term = y
        var sum = 0.0
        var k = 1.0
        while k < 400 {
            sum += term / k
            term *= y2
            k += 2
            if abs(term) < 1e-17 { break }
        }
        return 2 * sum
    }
}
