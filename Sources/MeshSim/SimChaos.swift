public import MeshCore
public import MeshGossip
public import MeshNode

/// Result of one chaos run: faults in a safety phase, then a liveness phase after healing.
public struct ChaosRun: Sendable, CustomStringConvertible {
    public var seed: UInt64
    /// The first invariant broken (safety).
    public var violation: SimViolation?
    /// Milliseconds after healing until membership converged; nil if it did not within the bound.
    public var membershipConvergeMilliseconds: UInt64?
    /// Milliseconds after healing until every running node held every running peer's newest
    /// inventory version; nil if not within the bound.
    public var inventoryConvergeMilliseconds: UInt64?
    /// Frames the network dropped.
    public var dropped: UInt64
    /// When a phase did not converge: a few of the nodes that lag, and how.
    public var laggards: [String]

    public var passed: Bool { violation == nil && membershipConvergeMilliseconds != nil && inventoryConvergeMilliseconds != nil }

    public var description: String {
        if let violation { return violation.description }
        if membershipConvergeMilliseconds == nil {
            return "membership did not converge after healing (replay with MESH_SIM_SEED=\(seed))"
        }
        if inventoryConvergeMilliseconds == nil {
            return "inventory did not converge after healing (replay with MESH_SIM_SEED=\(seed))"
        }
        return
            "seed \(seed): converged \(membershipConvergeMilliseconds!) ms / \(inventoryConvergeMilliseconds!) ms after healing"
    }
}

extension SimScenarios {
    /// A small cluster under every fault the simulator has, all drawn from `seed`.
    ///
    /// Safety phase (90 s): 5 % loss, 2 % duplicates, 5 % of frames delayed up to 400 ms
    /// (reordering), a one-way partition, then a symmetric one, two slow nodes, two crashes (one
    /// restarted later with a higher incarnation and a new inventory epoch), inventory changes
    /// throughout. Liveness phase: faults healed; membership and inventory must converge within
    /// `boundMilliseconds`. Invariants are checked throughout.
    public static func chaos(seed: UInt64, n: Int = 16, boundMilliseconds: UInt64 = 120_000) -> ChaosRun {
        let faulty = SimNetworkConfig(
            lossPermille: 50, duplicatePermille: 20, minDelayMilliseconds: 1, maxDelayMilliseconds: 30, tailPermille: 50,
            tailDelayMilliseconds: 400, slowNodeDelayMilliseconds: 800)
        let sim = Simulator(count: n, seed: seed, nodeConfig: SimPreset.computeMesh.nodeConfig, network: faulty)
        var pick = SeededRandom(seed: seed ^ 0xC4A0_5000)
        let order = pick.shuffled(Array(0..<n))
        sim.slow[order[0]] = true
        sim.slow[order[1]] = true
        let crashA = order[2]
        let crashB = order[3]
        let crashAAt = 5_000 + pick.next(below: 40_000)
        let crashBAt = 5_000 + pick.next(below: 60_000)
        let restartAAt = crashAAt + 10_000 + pick.next(below: 30_000)
        var sequence = Array(repeating: UInt64(0), count: n)
        let horizon = MeshInstant(milliseconds: 1 << 40)
        func issue(_ i: Int) {
            guard sim.isUp(i) else { return }
            sequence[i] += 1
            let id = sim.ids[i]
            let record = InventoryRecord(
                origin: id, epoch: sim.epoch(of: i), sequence: sequence[i], issuedAt: sim.now, validUntil: horizon,
                body: .availability(
                    PoolAvailability(
                        id: try! ComputeID(owner: id, path: ["pool"]), freeComputeUnits: pick.next(below: 100), freeMemoryMiB: 1,
                        freeAccelerators: [], pricePerUnitHour: Price(microYuan: 1))))
            sim.with(i) { core, rng, now in core.issue(record, now: now) }
        }
        var restartedA = false
        var crashedA = false
        var crashedB = false
        var t: UInt64 = 0
        while t < 90_000, sim.violation == nil {
            t += 500
            switch t {
            case 10_000: sim.partition = .split(nodes: n, at: n / 3, oneWay: true)
            case 25_000: sim.partition = .none(nodes: n)
            case 40_000: sim.partition = .split(nodes: n, at: n / 2)
            case 55_000: sim.partition = .none(nodes: n)
            default: break
            }
            sim.run(until: MeshInstant(milliseconds: t))
            if !crashedA, t >= crashAAt {
                sim.crash(crashA)
                crashedA = true
            }
            if !crashedB, t >= crashBAt {
                sim.crash(crashB)
                crashedB = true
            }
            if crashedA, !restartedA, t >= restartAAt {
                sim.restart(crashA)
                sequence[crashA] = 0
                restartedA = true
            }
            if pick.chance(permille: 300) { issue(pick.index(below: n)) }
        }
        // Liveness phase: heal everything.
        sim.partition = .none(nodes: n)
        sim.network = .lan
        for i in 0..<n { sim.slow[i] = false }
        if !restartedA {
            sim.restart(crashA)
            sequence[crashA] = 0
        }
        for i in 0..<n where sim.isUp(i) && sequence[i] == 0 { issue(i) }
        let healed = sim.now
        var membershipAt: UInt64?
        var inventoryAt: UInt64?
        var now = healed
        while sim.violation == nil, now.since(healed).milliseconds <= boundMilliseconds, membershipAt == nil || inventoryAt == nil
        {
            now = now + .milliseconds(500)
            sim.run(until: now)
            if membershipAt == nil, sim.unconverged().isEmpty { membershipAt = now.since(healed).milliseconds }
            if inventoryAt == nil {
                var converged = true
                outer: for o in 0..<n where sim.isUp(o) {
                    for p in 0..<n where p != o && sim.isUp(p) {
                        let v = sim.node(o)!.gossip.inventory.version(of: sim.ids[p])
                        if v.epoch != sim.epoch(of: p) || v.sequence != sequence[p] {
                            converged = false
                            break outer
                        }
                    }
                }
                if converged { inventoryAt = now.since(healed).milliseconds }
            }
        }
        var laggards: [String] = []
        if inventoryAt == nil {
            for o in 0..<n where sim.isUp(o) {
                for p in 0..<n where p != o && sim.isUp(p) && laggards.count < 5 {
                    let v = sim.node(o)!.gossip.inventory.version(of: sim.ids[p])
                    if v.epoch != sim.epoch(of: p) || v.sequence != sequence[p] {
                        laggards.append(
                            "node \(o) holds node \(p) at \(v.epoch).\(v.sequence), not \(sim.epoch(of: p)).\(sequence[p])")
                    }
                }
            }
        }
        if membershipAt == nil {
            laggards += sim.unconverged().prefix(5).map { "node \($0)'s membership view is wrong" }
        }
        return ChaosRun(
            seed: seed, violation: sim.violation, membershipConvergeMilliseconds: membershipAt,
            inventoryConvergeMilliseconds: inventoryAt, dropped: sim.traffic.dropped, laggards: laggards)
    }
}
