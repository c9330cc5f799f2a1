public import MeshCore
public import MeshNode
public import MeshPlacement
import MeshStore
import MeshWire

/// The shape of one federation run: who is in it, what tenants ask, and which faults strike.
public struct FederationSimConfig: Sendable {
    public var seed: UInt64
    public var regions: Int
    public var regionalPerRegion: Int
    public var industryPerRegion: Int
    /// Pools each regional node registers, and each industry node (sector pools).
    public var poolsPerRegional: Int
    public var poolsPerIndustry: Int
    public var poolComputeUnits: UInt64
    /// Whether every node takes tenants' requests (else industry nodes take 3 in 4 of them).
    public var consolesEverywhere: Bool
    /// The safety phase, with faults and new requests; then the quiet phase: faults healed, no new
    /// keys, tenants finish their retries, renewals and releases, and unacknowledged leases lapse.
    public var safetyMilliseconds: UInt64
    public var quietMilliseconds: UInt64
    /// New keys per second, all entry nodes together; stops early at `maxKeys`.
    public var arrivalsPerSecond: Double
    public var maxKeys: Int
    public var deadlineMilliseconds: UInt64
    public var minLeaseMilliseconds: UInt64
    public var maxLeaseMilliseconds: UInt64
    /// Per mille of keys: submitted twice while the first is in flight; reused for other content
    /// after a final outcome; bad input; spread demands (of plain compute requests).
    public var duplicatePermille: UInt64
    public var conflictPermille: UInt64
    public var badInputPermille: UInt64
    public var spreadPermille: UInt64
    /// Per mille of placed keys whose tenant renews, and releases, its leases.
    public var renewPermille: UInt64
    public var releasePermille: UInt64
    /// Per mille of retries sent to another entry node of the same region.
    public var otherEntryPermille: UInt64
    public var faults: Faults
    public var node: NodeConfig
    /// Comma-separated strings (a key's name, a lease ID prefix): every message, durable change
    /// and submission whose description contains one is printed, for diagnosing one seed.
    public var trace: String? = nil

    func traces(_ text: @autoclosure () -> String) -> Bool {
        guard let trace else { return false }
        let t = text()
        return trace.split(separator: ",").contains { t.contains($0) }
    }

    /// The faults of the safety phase.
    public struct Faults: Sendable {
        public var network: SimNetworkConfig
        public var storage: SimStorageConfig
        /// Mean time between crashes (0: none), and how long a crashed node stays down.
        public var crashEveryMilliseconds: UInt64
        public var minDownMilliseconds: UInt64
        public var maxDownMilliseconds: UInt64
        /// Mean time between partitions (0: none), how long one lasts, and how many are one-way.
        public var partitionEveryMilliseconds: UInt64
        public var minPartitionMilliseconds: UInt64
        public var maxPartitionMilliseconds: UInt64
        public var oneWayPermille: UInt64

        public init(
            network: SimNetworkConfig, storage: SimStorageConfig, crashEveryMilliseconds: UInt64,
            minDownMilliseconds: UInt64 = 1_000, maxDownMilliseconds: UInt64 = 8_000, partitionEveryMilliseconds: UInt64,
            minPartitionMilliseconds: UInt64 = 2_000, maxPartitionMilliseconds: UInt64 = 12_000, oneWayPermille: UInt64 = 400
        ) {
            self.network = network
            self.storage = storage
            self.crashEveryMilliseconds = crashEveryMilliseconds
            self.minDownMilliseconds = minDownMilliseconds
            self.maxDownMilliseconds = maxDownMilliseconds
            self.partitionEveryMilliseconds = partitionEveryMilliseconds
            self.minPartitionMilliseconds = minPartitionMilliseconds
            self.maxPartitionMilliseconds = maxPartitionMilliseconds
            self.oneWayPermille = oneWayPermille
        }

        /// Every fault the simulator has: loss, delay tails, connection signals, slow commits,
        /// failed commits, crashes after a commit, crashes, symmetric and one-way partitions.
        public static let all = Faults(
            network: SimNetworkConfig(
                lossPermille: 5, duplicatePermille: 2, minDelayMilliseconds: 1, maxDelayMilliseconds: 5, tailPermille: 10,
                tailDelayMilliseconds: 200, signalsConnections: true),
            storage: SimStorageConfig(
                minCommitMilliseconds: 1, maxCommitMilliseconds: 15, failPermille: 1, crashAfterCommitPermille: 2),
            crashEveryMilliseconds: 6_000, partitionEveryMilliseconds: 15_000)

        /// None: a LAN with connection signals and instant disks.
        public static let none = Faults(
            network: SimNetworkConfig(minDelayMilliseconds: 1, maxDelayMilliseconds: 5, signalsConnections: true),
            storage: .instant, crashEveryMilliseconds: 0, partitionEveryMilliseconds: 0)
    }

    public init(
        seed: UInt64, regions: Int = 3, regionalPerRegion: Int = 3, industryPerRegion: Int = 2, poolsPerRegional: Int = 2,
        poolsPerIndustry: Int = 1, poolComputeUnits: UInt64 = 700, consolesEverywhere: Bool = false,
        safetyMilliseconds: UInt64 = 60_000, quietMilliseconds: UInt64 = 45_000, arrivalsPerSecond: Double = 60,
        maxKeys: Int = .max, deadlineMilliseconds: UInt64 = 3_000, minLeaseMilliseconds: UInt64 = 4_000,
        maxLeaseMilliseconds: UInt64 = 60_000, duplicatePermille: UInt64 = 30, conflictPermille: UInt64 = 5,
        badInputPermille: UInt64 = 5, spreadPermille: UInt64 = 100, renewPermille: UInt64 = 300, releasePermille: UInt64 = 300,
        otherEntryPermille: UInt64 = 300, faults: Faults = .all, node: NodeConfig = NodeConfig()
    ) {
        precondition(regions >= 1 && regionalPerRegion >= 1, "a federation needs a regional node")
        self.seed = seed
        self.regions = regions
        self.regionalPerRegion = regionalPerRegion
        self.industryPerRegion = industryPerRegion
        self.poolsPerRegional = poolsPerRegional
        self.poolsPerIndustry = poolsPerIndustry
        self.poolComputeUnits = poolComputeUnits
        self.consolesEverywhere = consolesEverywhere
        self.safetyMilliseconds = safetyMilliseconds
        self.quietMilliseconds = quietMilliseconds
        self.arrivalsPerSecond = arrivalsPerSecond
        self.maxKeys = maxKeys
        self.deadlineMilliseconds = deadlineMilliseconds
        self.minLeaseMilliseconds = minLeaseMilliseconds
        self.maxLeaseMilliseconds = maxLeaseMilliseconds
        self.duplicatePermille = duplicatePermille
        self.conflictPermille = conflictPermille
        self.badInputPermille = badInputPermille
        self.spreadPermille = spreadPermille
        self.renewPermille = renewPermille
        self.releasePermille = releasePermille
        self.otherEntryPermille = otherEntryPermille
        self.faults = faults
        self.node = node
    }

    /// A shorter run (20 s of faults instead of 60 s, partitions more often so that every seed has
    /// some), with the same faults and oracles: `swift test` and `mesh-bench sim --quick` run it.
    public static func quick(seed: UInt64) -> Self {
        var config = FederationSimConfig(seed: seed)
        config.safetyMilliseconds = 20_000
        config.arrivalsPerSecond = 30
        config.faults.partitionEveryMilliseconds = 5_000
        return config
    }

    /// The placement market (the configuration the placement simulation of issue 5 ran): regional
    /// nodes in four regions, each owning three pools and taking tenants' requests, demand at three
    /// times capacity, no faults: what the market costs in quote rounds, and that it never
    /// over-commits, at scale.
    public static func market(seed: UInt64, keys: Int, placement: PlacementConfig = PlacementConfig()) -> Self {
        var node = NodeConfig(placement: placement)
        node.placement.maxExplanations = 64
        // Demand at 3x: 32 nodes x 3 pools x 200 units, requests of 25 units on average held 10 s.
        let capacity = 32.0 * 3 * 200
        let rate = 3.0 * capacity / (25.0 * 10.0)
        return FederationSimConfig(
            seed: seed, regions: 4, regionalPerRegion: 8, industryPerRegion: 0, poolsPerRegional: 3, poolsPerIndustry: 0,
            poolComputeUnits: 200, consolesEverywhere: true,
            safetyMilliseconds: UInt64(Double(keys) / rate * 1_000) + 1, quietMilliseconds: 35_000, arrivalsPerSecond: rate,
            maxKeys: keys, deadlineMilliseconds: 3_000, minLeaseMilliseconds: 5_000, maxLeaseMilliseconds: 15_000,
            duplicatePermille: 30, conflictPermille: 5, badInputPermille: 5, spreadPermille: 100, renewPermille: 0,
            releasePermille: 0, otherEntryPermille: 0, faults: .none, node: node)
    }
}

/// What a federation run measured, and every oracle's verdict.
public struct FederationSimReport: Sendable, CustomStringConvertible {
    public var seed: UInt64
    /// Keys tenants asked for, PLACE frames they sent (retries and duplicates included), keys placed.
    public var keys = 0
    public var submissions = 0
    public var placed = 0
    public var finalRefusals: [String: Int] = [:]
    public var transientRefusals: [String: Int] = [:]
    public var retries = 0
    public var renewals = 0
    public var releases = 0
    public var crashes = 0
    public var haltsAndCrashesAfterCommit = 0
    public var partitions = 0
    public var leasesStarted = 0
    public var leasesAbandoned = 0
    public var inDoubtResumed = 0
    public var quoteRoundsOfPlaced = 0
    public var forwards = 0
    public var messages: UInt64 = 0
    /// The busiest message types: (name, frames).
    public var busiest: [String] = []
    public var virtualMilliseconds: UInt64 = 0
    /// How many times each oracle was checked, and its violations (oracle name first).
    public var checks: [String: Int] = [:]
    public var violations: [String] = []

    /// Quote rounds (at every node a request visited) per placed key.
    public var attemptsPerSuccess: Double { placed == 0 ? 0 : Double(quoteRoundsOfPlaced) / Double(placed) }

    public static let oracles = [
        "over-commit", "acknowledged-lease-lost", "orphaned-lease", "one-outcome-per-key", "answered-in-time",
        "membership-converged", "healthy-declared-dead", "every-key-ended", "simulator-invariants",
    ]

    public func violations(of oracle: String) -> Int { violations.filter { $0.hasPrefix(oracle + ":") }.count }

    public var description: String {
        let refused = finalRefusals.keys.sorted().map { "\($0)=\(finalRefusals[$0]!)" }.joined(separator: " ")
        let transient = transientRefusals.keys.sorted().map { "\($0)=\(transientRefusals[$0]!)" }.joined(separator: " ")
        let oracleLine = Self.oracles.map { "\($0) \(checks[$0, default: 0])/\(violations(of: $0))" }.joined(separator: ", ")
        return """
            seed \(seed): \(keys) keys, \(submissions) PLACE frames, \(placed) placed; final refusals: \(refused.isEmpty ? "none" : refused)
              transient refusals (retried): \(transient.isEmpty ? "none" : transient); retries \(retries); resumed in doubt \(inDoubtResumed)
              renewals \(renewals), releases \(releases); leases started \(leasesStarted), abandoned \(leasesAbandoned); forwards \(forwards)
              faults: \(crashes) crashes, \(haltsAndCrashesAfterCommit) halts or crashes after a commit, \(partitions) partitions; messages \(messages) (\(busiest.joined(separator: ", "))); virtual \(virtualMilliseconds) ms
              attempts per success \(attemptsPerSuccess)
              oracles (checked/violations): \(oracleLine)
              violations: \(violations.isEmpty ? "none" : violations.prefix(5).joined(separator: "; "))
            """
    }
}

/// A federation of whole nodes under tenants' traffic and faults, with oracles (TigerBeetle's VOPR
/// in spirit): see ``run(_:)``.
public enum FederationSimulation {
    /// The stated bound (SPEC §6.6.12): every PLACE is answered within its deadline plus this.
    public static let answerBoundMilliseconds: UInt64 = 3_000

    static let gpu = try! AcceleratorClass(kind: .gpu, vendor: "nvidia", model: "h800")

    /// Runs one seed: a safety phase with faults and tenants' traffic, a quiet phase after healing,
    /// then every oracle. One seed reproduces the run exactly.
    public static func run(_ config: FederationSimConfig) -> FederationSimReport {
        FederationRun(config: config).go()
    }
}

/// One run's state: the simulator, the tenants, and what the oracles have seen.
final class FederationRun {
    let config: FederationSimConfig
    let sim: Simulator
    var rng: SeededRandom
    var report: FederationSimReport
    var oracle = LedgerOracle()
    let tenant = try! TenantID("tenant-sim")
    /// The nodes that take tenants' requests.
    var entries: [Int] = []

    struct Key {
        var name: String
        var template: PlacementRequest
        var entry: Int
        var final: Outcome? = nil
        /// The first placed outcome's leases, and what the tenant knows of each.
        var leases: [Lease] = []
        /// The leases whose release the owner confirmed (released, or already expired).
        var releasedLeases: [LeaseID] = []
        var released: Bool { !leases.isEmpty && leases.allSatisfy { releasedLeases.contains($0.leaseID) } }
        var attempts = 0
        var inFlight = 0
        var conflict = false
        var badInput = false
        /// The requests (IDs) its attempts used.
        var requestIDs: [RequestID] = []
        /// What its attempts got, briefly (for the report of a key that never ended).
        var history: [String] = []
        /// Releases tried (a tenant gives up after three; the leases then run out on their own).
        var releaseTries = 0
    }
    var keys: [Key] = []

    enum Kind { case place(Int), renew(Int, LeaseID), release(Int, LeaseID) }
    struct Submission {
        var kind: Kind
        var node: Int
        var session: SessionID
        var answerBy: MeshInstant
    }
    var submissions: [UInt64: Submission] = [:]
    var nextCorrelation: UInt64 = 1
    var sessions: [Int: SessionID] = [:]
    /// Tenant actions to take later: (when, order, action).
    enum Action { case retry(Int), renew(Int), release(Int), restart(Int), heal }
    var actions: [(MeshInstant, UInt64, Action)] = []
    var actionOrder: UInt64 = 0
    /// Quote rounds on the wire, per request: (node, step) pairs that sent QUOTE_REQUESTs.
    var rounds: [RequestID: [UInt64]] = [:]
    /// Deaths declared during the quiet phase, of nodes up throughout it.
    var quietStart: MeshInstant = .zero
    var quietDeaths: [String] = []
    var downSince: [Int: MeshInstant] = [:]

    init(config: FederationSimConfig) {
        self.config = config
        rng = SeededRandom(seed: config.seed ^ 0xFED_E8A7)
        report = FederationSimReport(seed: config.seed)
        var specs: [SimNodeSpec] = []
        for r in 0..<config.regions {
            let region = try! Region("region-\(r)")
            for _ in 0..<config.regionalPerRegion {
                specs.append(SimNodeSpec(role: .regional, region: region))
            }
            for k in 0..<config.industryPerRegion {
                let sector = Sector.known[(r + k) % Sector.known.count]
                specs.append(SimNodeSpec(role: .industry, region: region, sectors: [sector]))
            }
        }
        for i in specs.indices {
            let count = specs[i].role == .regional ? config.poolsPerRegional : config.poolsPerIndustry
            specs[i].pools = (0..<count).map { Self.pool($0, spec: specs[i], units: config.poolComputeUnits) }
        }
        sim = Simulator(
            specs: specs, seed: config.seed, nodeConfig: config.node, network: config.faults.network,
            storage: config.faults.storage)
        entries = specs.indices.filter { config.consolesEverywhere || specs[$0].role == .industry || $0 % 3 == 0 }
    }

    /// Pool `k` of a node: a plain compute pool, a GPU pool, or (industry) a pool of its sector.
    static func pool(_ k: Int, spec: SimNodeSpec, units: UInt64) -> PoolSpec {
        let gpu = try! AcceleratorGroup(kind: .gpu, vendor: "nvidia", model: "h800", count: 16, memoryMiBPerDevice: 81_920)
        let policy: PolicyExpr = spec.role == .industry ? .sectorIn(spec.sectors) : .acceptAll
        return PoolSpec(
            path: ["pool-\(k)"], architecture: .x86_64, accelerators: k % 3 == 1 ? [gpu] : [], computeUnits: units,
            memoryMiB: units << 10, pricePerUnitHour: Price(microYuan: 500_000 + UInt64(k) * 300_000), residency: spec.region,
            greenEnergyPermille: UInt16(100 * (k % 5)), policy: policy, displayName: "pool-\(k)")
    }

    func go() -> FederationSimReport {
        wire()
        // The registrations of every node's first start.
        let safetyEnd = MeshInstant(milliseconds: config.safetyMilliseconds)
        let end = safetyEnd + .milliseconds(config.quietMilliseconds)
        var nextArrival = MeshInstant(milliseconds: 500)
        var nextCrash =
            config.faults.crashEveryMilliseconds == 0
            ? MeshInstant(milliseconds: .max) : gap(config.faults.crashEveryMilliseconds)
        var nextPartition =
            config.faults.partitionEveryMilliseconds == 0
            ? MeshInstant(milliseconds: .max) : gap(config.faults.partitionEveryMilliseconds)
        var t = MeshInstant.zero
        var healed = false
        while t < end, sim.violation == nil {
            t = t + .milliseconds(50)
            sim.run(until: t)
            runActions(until: t)
            if t < safetyEnd {
                while nextArrival <= t && keys.count < config.maxKeys {
                    arrive()
                    nextArrival = nextArrival + .milliseconds(max(1, UInt64(exponential(1_000 / config.arrivalsPerSecond))))
                }
                if t >= nextCrash {
                    crashSomeNode()
                    nextCrash = t + gap(config.faults.crashEveryMilliseconds).since(.zero)
                }
                if t >= nextPartition {
                    partitionSomething()
                    nextPartition = t + gap(config.faults.partitionEveryMilliseconds).since(.zero)
                }
            } else if !healed {
                healed = true
                heal()
                quietStart = t
            }
            if t.milliseconds % 500 == 0 { checkAnswersInTime() }
        }
        finish()
        return report
    }

    // MARK: - Wiring

    /// Connects the oracles and the tenants to the simulator's callbacks.
    func wire() {
        sim.onConsole = { [unowned self] node, session, message, correlationID in
            onAnswer(node: node, session: session, message: message, correlationID: correlationID)
        }
        sim.onCrash = { [unowned self] node in
            if config.trace != nil { print("TRACE \(sim.now.milliseconds) CRASH \(sim.ids[node].short)") }
        }
        sim.onDurable = { [unowned self] node, changes in
            if config.trace != nil {
                for change in changes where config.traces("\(change)") {
                    print("TRACE \(sim.now.milliseconds) DURABLE at \(sim.ids[node].short): \(change.kind)")
                }
            }
            oracle.observe(changes, node: node, at: sim.now)
        }
        sim.onSend = { [unowned self] from, to, message, delivered in
            if config.trace != nil {
                let text = "\(message)"
                if config.traces(text) {
                    let brief: String
                    switch message {
                    case .renew(let r): brief = "RENEW extend \(r.extendBy.milliseconds) route \(r.route.map(\.short))"
                    case .leaseStatus(let st): brief = "LEASE_STATE \(st.state) route \(st.route.map(\.short))"
                    case .outcome(let o):
                        brief =
                            "OUTCOME \(o.isPlaced ? "placed" : "\(o.result)") path \(o.explanation.path.map(\.short)) acknowledged \(o.acknowledged)"
                    case .forward(let f): brief = "FORWARD \(f.request.requestID) path \(f.path.map(\.short))"
                    default: brief = String(text.prefix(160))
                    }
                    print(
                        "TRACE \(sim.now.milliseconds) \(sim.ids[from].short)->\(sim.ids[to].short) \(delivered ? "" : "LOST ")\(brief)"
                    )
                }
            }
            guard case .quoteRequest(let ask) = message else { return }
            // One round per (node, step) that sends QUOTE_REQUESTs for a request.
            let round = sim.steps
            if rounds[ask.requestID]?.last != round { rounds[ask.requestID, default: []].append(round) }
        }
        sim.onEvent = { [unowned self] observer, event, at in
            guard case .memberChanged(let update, _) = event, update.status == .dead, quietStart > .zero,
                at >= quietStart + .milliseconds(10_000), let victim = sim.ids.firstIndex(of: update.node), sim.isUp(victim)
            else { return }
            quietDeaths.append("node \(observer) declared node \(victim) dead at \(at.milliseconds) ms, in the quiet phase")
        }
    }

    // MARK: - Tenants

    func arrive() {
        let entry = entries[rng.index(below: entries.count)]
        let index = keys.count
        let name = "s\(config.seed)-k\(index)"
        var demand: Demand
        if rng.chance(permille: 250) {
            demand = Demand(
                accelerator: FederationSimulation.gpu, acceleratorCount: UInt32(1 + rng.next(below: 4)),
                computeUnits: 5 + rng.next(below: 16))
        } else {
            demand = Demand(computeUnits: 10 + rng.next(below: 31), memoryMiB: 1 << 10)
            if rng.chance(permille: config.spreadPermille) {
                demand.mode = .spread
                demand.maxPools = UInt16(2 + rng.next(below: 2))
            }
        }
        let spec = sim.spec(of: entry)
        var sector =
            spec.role == .industry && rng.chance(permille: 500)
            ? spec.sectors[0] : Sector.known[rng.index(below: Sector.known.count)]
        var bad = false
        if rng.chance(permille: config.badInputPermille) {
            bad = true
            if rng.chance(permille: 500) { sector = try! Sector("astrology") } else { demand = Demand(computeUnits: 0) }
        }
        let lease = config.minLeaseMilliseconds + rng.next(below: config.maxLeaseMilliseconds - config.minLeaseMilliseconds + 1)
        let template = PlacementRequest(
            requestID: RequestID(value: 1), tenant: tenant, sector: sector, idempotencyKey: name, demand: demand,
            weights: Weights(price: UInt16(rng.next(below: 1000)), latency: 300, green: UInt16(rng.next(below: 500))),
            leaseDuration: .milliseconds(lease), deadline: .zero, origin: sim.ids[entry])
        if demand.mode == .spread { oracle.maxLeasesPerKey["\(tenant.name)/\(name)"] = Int(demand.maxPools) }
        keys.append(Key(name: name, template: template, entry: entry, badInput: bad))
        report.keys += 1
        submit(index, at: entry)
        if !bad && rng.chance(permille: config.duplicatePermille) {
            // The same request again while the first is in flight: one outcome answers both.
            schedule(.retry(index), after: rng.next(below: 200))
        }
    }

    /// Sends a PLACE for key `index` through entry node `node`.
    func submit(_ index: Int, at node: Int) {
        guard let session = session(at: node) else {
            // The entry is down: try again in a while (perhaps elsewhere).
            schedule(.retry(index), after: 500)
            return
        }
        var request = keys[index].template
        request.requestID = RequestID(value: UInt128(config.seed) << 64 | UInt128(nextCorrelation))
        request.deadline = sim.now + .milliseconds(config.deadlineMilliseconds)
        request.origin = sim.ids[node]
        keys[index].attempts += 1
        keys[index].inFlight += 1
        keys[index].requestIDs.append(request.requestID)
        let correlation = nextCorrelation
        nextCorrelation += 1
        submissions[correlation] = Submission(
            kind: .place(index), node: node, session: session,
            answerBy: request.deadline + .milliseconds(FederationSimulation.answerBoundMilliseconds))
        report.submissions += 1
        if config.traces(keys[index].name + "\(keys[index].leases)") {
            print(
                "TRACE \(sim.now.milliseconds) tenant PLACE \(keys[index].name) as \(request.requestID) at \(sim.ids[node].short)"
            )
        }
        sim.submit(.place(request), correlationID: correlation, session: session)
    }

    func session(at node: Int) -> SessionID? {
        if let s = sessions[node], sim.isOpen(s) { return s }
        guard let s = sim.openSession(at: node, operator: NodeID(w0: 0xC0, w1: 0, w2: 0, w3: UInt64(node))) else {
            return nil
        }
        sessions[node] = s
        return s
    }

    func onAnswer(node: Int, session: SessionID, message: WireMessage, correlationID: UInt64) {
        guard correlationID != 0, let submission = submissions.removeValue(forKey: correlationID) else { return }
        switch submission.kind {
        case .place(let index):
            keys[index].inFlight -= 1
            switch message {
            case .outcome(let outcome): onOutcome(outcome, key: index)
            case .error(let e):
                // Only bad input is refused before the requester sees it.
                if !keys[index].badInput {
                    report.violations.append("every-key-ended: key \(keys[index].name) was refused with ERROR \(e.message)")
                }
                keys[index].final =
                    keys[index].final
                    ?? Outcome(
                        requestID: RequestID(value: 0), idempotencyKey: keys[index].name,
                        result: .refused(.invalidDemand, message: e.message),
                        explanation: Explanation(
                            requestID: RequestID(value: 0), decidedBy: sim.ids[node], decidedAt: .zero, path: [],
                            consideredCount: 0,
                            filteredCount: 0, scoredCount: 0, verdicts: [], chosen: nil))
            default:
                report.violations.append("answered-in-time: PLACE answered with \(message.type.name ?? "?")")
            }
        case .renew(let index, let lease), .release(let index, let lease):
            if case .leaseStatus(let status) = message {
                if case .release = submission.kind {
                    // `unknown` only says the node asked does not know the lease (say, it restarted
                    // and lost its routes): not that it ended.
                    if status.state == .released || status.state == .expired, !keys[index].releasedLeases.contains(lease) {
                        keys[index].releasedLeases.append(lease)
                    }
                    if !keys[index].released && keys[index].leases.first?.leaseID == lease && keys[index].releaseTries < 3 {
                        schedule(.release(index), after: 1_000)
                    }
                } else if status.state == .leased, let part = keys[index].leases.firstIndex(where: { $0.leaseID == lease }) {
                    keys[index].leases[part].expiresAt = status.expiresAt
                }
            } else if case .release = submission.kind, !keys[index].released,
                keys[index].leases.first?.leaseID == lease, keys[index].releaseTries < 3
            {
                schedule(.release(index), after: 1_000)  // no route or no answer in time: try again
            }
        }
    }

    func onOutcome(_ outcome: Outcome, key index: Int) {
        report.checks["one-outcome-per-key", default: 0] += 1
        if keys[index].history.count < 16 {
            keys[index].history.append(
                "\(sim.now.milliseconds): \(outcome.isPlaced ? "placed" : "\(outcome.result)") by \(outcome.explanation.decidedBy.short) path \(outcome.explanation.path.map(\.short))"
            )
        }
        switch outcome.result {
        case .refused(let reason, _) where reason.isTransient:
            report.transientRefusals["\(reason)", default: 0] += 1
            if keys[index].final == nil { schedule(.retry(index), after: 100 + rng.next(below: 700)) }
        case .refused(let reason, _):
            if let first = keys[index].final, first.result != outcome.result {
                report.violations.append(
                    "one-outcome-per-key: key \(keys[index].name) ended \(first.result) and then \(outcome.result)")
            }
            if keys[index].final == nil {
                keys[index].final = outcome
                if !keys[index].conflict { report.finalRefusals["\(reason)", default: 0] += 1 }
            }
        case .placed(let leases):
            if let first = keys[index].final {
                if first.result != outcome.result {
                    report.violations.append(
                        "one-outcome-per-key: key \(keys[index].name) ended \(first.result) and then placed \(leases.map(\.leaseID))"
                    )
                }
                return
            }
            if keys[index].conflict {
                report.violations.append("one-outcome-per-key: key \(keys[index].name) reused for other content was placed")
            }
            keys[index].final = outcome
            keys[index].leases = leases
            report.placed += 1
            report.quoteRoundsOfPlaced += rounds[outcome.requestID]?.count ?? 0
            // Every lease the tenant was told of is durable and acknowledged at its owner, or ended
            // there (expired or released) after it was acknowledged: a retry answered late.
            report.checks["acknowledged-lease-lost", default: 0] += leases.count
            for lease in leases {
                if let record = oracle.leaseRecords[lease.leaseID], record.acknowledged, let ended = record.ended {
                    switch ended {
                    case .leaseExpired, .leaseReleased: continue
                    default:
                        report.violations.append(
                            "acknowledged-lease-lost: lease \(lease.leaseID) of key \(keys[index].name) was reported after it ended \(ended.kind)"
                        )
                        continue
                    }
                }
                guard let owner = sim.ids.firstIndex(of: lease.pool.owner),
                    let active = sim.stores[owner].activeLease(lease.leaseID)
                else {
                    report.violations.append(
                        "acknowledged-lease-lost: lease \(lease.leaseID) of key \(keys[index].name) is not at its owner")
                    continue
                }
                if !active.isAcknowledged {
                    report.violations.append(
                        "acknowledged-lease-lost: lease \(lease.leaseID) of key \(keys[index].name) was reported before its owner recorded the acknowledgement"
                    )
                }
            }
            if rng.chance(permille: config.renewPermille) { schedule(.renew(index), after: rng.next(below: 3_000)) }
            if rng.chance(permille: config.releasePermille) { schedule(.release(index), after: 1_000 + rng.next(below: 5_000)) }
            if !keys[index].badInput && rng.chance(permille: config.conflictPermille) { reuse(index) }
        }
    }

    /// The key again, for different content, at the same entry: an idempotency conflict.
    func reuse(_ index: Int) {
        var conflict = keys[index]
        conflict.template.demand.computeUnits += 1
        conflict.final = nil
        conflict.leases = []
        conflict.conflict = true
        conflict.attempts = 0
        conflict.inFlight = 0
        conflict.requestIDs = []
        keys.append(conflict)
        submit(keys.count - 1, at: conflict.entry)
    }

    func retry(_ index: Int) {
        guard keys[index].final == nil else { return }
        report.retries += 1
        var node = keys[index].entry
        if rng.chance(permille: config.otherEntryPermille) {
            let region = sim.spec(of: node).region
            let others = entries.filter { sim.spec(of: $0).region == region && $0 != node }
            if !others.isEmpty { node = others[rng.index(below: others.count)] }
        }
        submit(index, at: node)
    }

    func leaseAction(_ index: Int, renew: Bool) {
        guard !keys[index].released, let lease = keys[index].leases.first, lease.expiresAt > sim.now + .milliseconds(500)
        else { return }
        guard let session = session(at: keys[index].entry) else {
            schedule(renew ? .renew(index) : .release(index), after: 1_000)
            return
        }
        if !renew { keys[index].releaseTries += 1 }
        let correlation = nextCorrelation
        nextCorrelation += 1
        let relayBound = MeshDuration(milliseconds: config.node.relayTimeoutMilliseconds + 2_000)
        // Half the tenants send the lease's route (the path of the outcome, then the owner); the
        // others leave it to the entry node, which learned it when it reported the lease.
        let sendsRoute = rng.chance(permille: 500)
        for part in keys[index].leases {
            var route: LeaseRoute = []
            if sendsRoute, let path = keys[index].final?.explanation.path {
                route = path
                if route.last != part.pool.owner { route.append(part.pool.owner) }
            }
            let message: WireMessage =
                renew
                ? .renew(Renew(leaseID: part.leaseID, extendBy: .milliseconds(5_000), route: route))
                : .release(Release(reservation: .lease(part.leaseID), route: route))
            let c = part.leaseID == lease.leaseID ? correlation : nextCorrelation
            if part.leaseID != lease.leaseID { nextCorrelation += 1 }
            submissions[c] = Submission(
                kind: renew ? .renew(index, part.leaseID) : .release(index, part.leaseID), node: keys[index].entry,
                session: session, answerBy: sim.now + relayBound)
            sim.submit(message, correlationID: c, session: session)
        }
        if renew { report.renewals += 1 } else { report.releases += 1 }
    }

    // MARK: - Scheduling tenants' actions

    func schedule(_ action: Action, after milliseconds: UInt64) {
        actionOrder += 1
        let at = sim.now + .milliseconds(milliseconds)
        let position = actions.firstIndex { ($0.0, $0.1) > (at, actionOrder) } ?? actions.count
        actions.insert((at, actionOrder, action), at: position)
    }

    func runActions(until t: MeshInstant) {
        while let first = actions.first, first.0 <= t {
            actions.removeFirst()
            switch first.2 {
            case .retry(let index): retry(index)
            case .renew(let index): leaseAction(index, renew: true)
            case .release(let index): leaseAction(index, renew: false)
            case .restart(let node):
                if !sim.isUp(node) {
                    sim.restart(node)
                    downSince[node] = nil
                }
            case .heal:
                sim.partition = .none(nodes: sim.count)
            }
        }
    }

    /// A time uniform in (0, 2 × mean].
    func gap(_ mean: UInt64) -> MeshInstant {
        MeshInstant(milliseconds: 1 + rng.next(below: 2 * mean))
    }

    func exponential(_ mean: Double) -> Double {
        -mean * Self.log1pNegative(rng.unitInterval())
    }

    /// `log(1 - u)` for u in [0, 1): the exponential gap of a Poisson process, without Foundation.
    static func log1pNegative(_ u: Double) -> Double {
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

    // MARK: - Faults

    func crashSomeNode() {
        let up = (0..<sim.count).filter { sim.isUp($0) }
        guard up.count > 1 else { return }
        let node = up[rng.index(below: up.count)]
        sim.crash(node)
        downSince[node] = sim.now
        report.crashes += 1
        let down =
            config.faults.minDownMilliseconds
            + rng.next(below: config.faults.maxDownMilliseconds - config.faults.minDownMilliseconds + 1)
        schedule(.restart(node), after: down)
    }

    func partitionSomething() {
        let n = sim.count
        var groups = Array(repeating: UInt8(0), count: n)
        if rng.chance(permille: 500) {
            groups[rng.index(below: n)] = 1  // one node cut off
        } else {
            let region = sim.spec(of: rng.index(below: n)).region
            for i in 0..<n where sim.spec(of: i).region == region { groups[i] = 1 }  // a region cut off
        }
        let oneWay = rng.chance(permille: config.faults.oneWayPermille)
        sim.partition = SimPartition(groupOf: groups, blocked: [[false, true], [!oneWay, false]])
        report.partitions += 1
        let lasts =
            config.faults.minPartitionMilliseconds
            + rng.next(below: config.faults.maxPartitionMilliseconds - config.faults.minPartitionMilliseconds + 1)
        schedule(.heal, after: lasts)
    }

    func heal() {
        sim.partition = .none(nodes: sim.count)
        var network = config.faults.network
        network.lossPermille = 0
        network.duplicatePermille = 0
        network.tailPermille = 0
        sim.network = network
        sim.storage = SimStorageConfig(
            minCommitMilliseconds: config.faults.storage.minCommitMilliseconds,
            maxCommitMilliseconds: config.faults.storage.maxCommitMilliseconds)
        for node in 0..<sim.count where !sim.isUp(node) {
            sim.restart(node)
            downSince[node] = nil
        }
    }

    // MARK: - Oracles

    func checkAnswersInTime() {
        for correlation in submissions.keys.sorted() {
            let s = submissions[correlation]!
            guard sim.now > s.answerBy else { continue }
            submissions[correlation] = nil
            report.checks["answered-in-time", default: 0] += 1
            guard sim.isOpen(s.session) else {
                // The entry crashed under it: the tenant retries (the same key).
                if case .place(let index) = s.kind {
                    keys[index].inFlight -= 1
                    schedule(.retry(index), after: 200)
                }
                continue
            }
            switch s.kind {
            case .place(let index):
                keys[index].inFlight -= 1
                report.violations.append(
                    "answered-in-time: a PLACE of key \(keys[index].name) at node \(s.node) was not answered within its deadline plus \(FederationSimulation.answerBoundMilliseconds) ms"
                )
            case .renew(let index, _), .release(let index, _):
                report.violations.append(
                    "answered-in-time: a RENEW or RELEASE of key \(keys[index].name) at node \(s.node) was not answered in time")
            }
        }
    }

    func finish() {
        report.virtualMilliseconds = sim.now.milliseconds
        report.haltsAndCrashesAfterCommit = sim.halts + sim.crashesAfterCommit
        report.messages = sim.traffic.framesByType.values.reduce(0, +)
        report.busiest = sim.traffic.framesByType.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(4).map {
            "\($0.key) \($0.value)"
        }
        if let violation = sim.violation {
            report.violations.append("simulator-invariants: \(violation.what)")
        }
        report.checks["simulator-invariants", default: 0] += 1
        // Every key ended (its tenant retried transient refusals until it did).
        for key in keys where key.final == nil {
            var states: [String] = []
            for node in 0..<sim.count {
                if let core = sim.node(node) {
                    let d = core.requester.describe(tenant: tenant, key: key.name)
                    if d != "nothing" { states.append("\(sim.ids[node].short)(\(sim.spec(of: node).role)): \(d)") }
                }
            }
            report.violations.append("every-key-ended-debug: \(states)")
            report.violations.append(
                "every-key-ended: key \(key.name) has no final outcome after \(key.attempts) attempts: \(key.history.joined(separator: " | "))"
            )
        }
        report.checks["every-key-ended", default: 0] += keys.count
        // No lease outlives what a tenant holds: a lease no tenant was told of is never
        // acknowledged, and ends (abandoned, released or expired) within the acknowledgement bound
        // of its last confirmation, give or take an owner's time down; at the end, every lease still
        // held is one a tenant holds and did not release.
        var held: [LeaseID: (Int, Bool)] = [:]
        for (index, key) in keys.enumerated() where !key.conflict {
            for lease in key.leases { held[lease.leaseID] = (index, key.releasedLeases.contains(lease.leaseID)) }
        }
        let slack = MeshDuration(milliseconds: config.faults.maxDownMilliseconds + 2_000)
        for (lease, record) in oracle.leaseRecords.sorted(by: { $0.key < $1.key }) {
            report.checks["orphaned-lease", default: 0] += 1
            if let (index, released) = held[lease] {
                if released && record.ended == nil {
                    report.violations.append(
                        "orphaned-lease: lease \(lease) of key \(keys[index].name) was released by its tenant but is still held")
                }
                continue
            }
            // Acknowledged or not, a lease no tenant holds (say, one part of a spread given back
            // when another failed) ends within the bound.
            let bound = (record.acknowledgeBy ?? record.startedAt) + slack
            let ended = record.endedAt ?? sim.now
            if ended > bound {
                let name = String(record.key.split(separator: "/").last ?? "")
                let k = keys.first { $0.name == name && !$0.conflict }
                report.violations.append(
                    "orphaned-lease: lease \(lease) of key \(record.key), which no tenant holds (acknowledged: \(record.acknowledged); its owner \(sim.isUp(record.owner) ? "up" : "down"), its store: \(sim.stores[record.owner].activeLease(lease).map { "acknowledge by \($0.acknowledgeBy.map { "\($0.milliseconds)" } ?? "-")" } ?? "gone")), lived until \(ended.milliseconds) ms, past its bound \(bound.milliseconds) ms; the key's outcome: \(k?.final.map { "\($0.result)" } ?? "none"); history: \(k?.history.joined(separator: " | ") ?? "")"
                )
            }
        }
        // Every lease a tenant holds is still at its owner until it expires (unless the tenant
        // asked to release it: an answer lost on the way leaves it not knowing).
        for key in keys where !key.released && key.releaseTries == 0 && !key.conflict {
            for lease in key.leases {
                guard let owner = sim.ids.firstIndex(of: lease.pool.owner) else { continue }
                report.checks["acknowledged-lease-lost", default: 0] += 1
                let active = sim.stores[owner].activeLease(lease.leaseID)
                if active == nil && lease.expiresAt > sim.now {
                    report.violations.append(
                        "acknowledged-lease-lost: lease \(lease.leaseID) of key \(key.name) ended before its expiry \(lease.expiresAt)"
                    )
                }
            }
        }
        // Membership converged after the heal, and no node up through the quiet phase was declared dead in it.
        report.checks["membership-converged", default: 0] += 1
        let lagging = sim.unconverged()
        if !lagging.isEmpty {
            report.violations.append("membership-converged: nodes \(lagging.prefix(5)) still see their region wrongly")
        }
        report.checks["healthy-declared-dead", default: 0] += 1
        for death in quietDeaths { report.violations.append("healthy-declared-dead: \(death)") }
        report.checks["over-commit", default: 0] += oracle.batches
        for violation in oracle.violations {
            report.violations.append(violation.hasPrefix("over-commit") ? violation : "over-commit: \(violation)")
        }
        report.leasesStarted = oracle.leasesStarted
        report.leasesAbandoned = oracle.leasesAbandoned
        for node in 0..<sim.count {
            guard let core = sim.node(node) else { continue }
            report.inDoubtResumed += core.requester.counters.resumed
            report.forwards += core.requester.counters.forwardsSent
        }
    }
}
