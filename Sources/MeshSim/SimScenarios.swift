public import MeshCore
public import MeshGossip
public import MeshMembership
public import MeshNode

/// The protocol variants compared in the same harness.
public enum SimPreset: String, CaseIterable, Sendable {
    /// SWIM + Lifeguard with push-pull piggybacking (this project).
    case computeMesh
    /// memberlist's LAN defaults: push-only gossip 200 ms × 3, Lifeguard awareness and nacks.
    case memberlist
    /// Plain SWIM: no Lifeguard, fixed suspicion timeout, push-only gossip.
    case plainSWIM

    /// The node configuration of the preset.
    public var nodeConfig: NodeConfig {
        switch self {
        case .computeMesh: NodeConfig(membership: .computeMesh)
        case .memberlist: NodeConfig(membership: .memberlistLAN)
        case .plainSWIM: NodeConfig(membership: .plainSWIM)
        }
    }
}

/// Result of one dissemination run.
public struct DisseminationRun: Sendable {
    /// 200 ms rounds from the event until the last live node knew it; nil if some never did.
    public var rounds: Int?
    public var informed: Int
    public var live: Int
    public var violation: SimViolation?
}

/// Result of one failure-detection run.
public struct DetectionRun: Sendable {
    /// Healthy (never crashed) nodes that some node declared dead.
    public var healthyDeclaredDead: Int
    /// Healthy nodes that some node suspected.
    public var healthySuspected: Int
    /// Per crashed node: milliseconds from the crash to the first suspicion anywhere.
    public var firstSuspicionMilliseconds: [UInt64]
    /// Per crashed node: milliseconds from the crash to the first "dead" anywhere.
    public var firstDeathMilliseconds: [UInt64]
    /// For each healthy node declared dead: who declared it first, whether either is slow, and
    /// how long the victim had been suspect there (diagnostics).
    public var falseDeaths: [String] = []
    public var violation: SimViolation?
}

/// Result of one partition-heal run.
public struct HealRun: Sendable {
    /// Milliseconds from the heal until every view converged; nil if not within the bound.
    public var convergeMilliseconds: UInt64?
    public var violation: SimViolation?
}

/// Result of one inventory-bandwidth run.
public struct BandwidthRun: Sendable {
    /// Mean bytes per second sent per node while records change.
    public var busyBytesPerSecondPerNode: Double
    /// Mean bytes per second sent per node when nothing changes.
    public var idleBytesPerSecondPerNode: Double
    /// The largest DIGEST frame, in bytes.
    public var maxDigestBytes: Int
    /// Records delivered per (update × receiving node).
    public var receiptsPerUpdatePerNode: Double
    /// Fraction of (node, origin) pairs whose newest record matched the origin's at the end.
    public var convergedFraction: Double
    /// With `waitForConvergence`: seconds from the last change until every node held every region
    /// peer's newest record (nil if not within the bound, or when not asked).
    public var convergenceSeconds: Double?
    public var violation: SimViolation?
}

/// The scenarios of issue 3, shared by the test suite's seed sweep and `mesh-bench sim`.
public enum SimScenarios {
    /// The dissemination event's new address for a node at `address`: the next port.
    static func eventAddress(_ address: NetAddress) -> NetAddress {
        NetAddress(host: address.host, port: address.port &+ 1)
    }

    /// One membership event (a node re-announces itself with a new address, at a higher
    /// incarnation) at a random node of `n`; counts 200 ms rounds until every live node holds it.
    /// `warmupMilliseconds` of running under the same loss come first, so that the event competes
    /// with the suspicion churn the loss causes.
    public static func dissemination(
        n: Int, lossPermille: UInt64, seed: UInt64, preset: SimPreset, warmupMilliseconds: UInt64 = 2_500
    ) -> DisseminationRun {
        let sim = Simulator(
            count: n, seed: seed, nodeConfig: preset.nodeConfig,
            network: SimNetworkConfig(lossPermille: lossPermille, minDelayMilliseconds: 1, maxDelayMilliseconds: 20))
        sim.run(until: MeshInstant(milliseconds: warmupMilliseconds))
        var pick = SeededRandom(seed: seed ^ 0xD155)
        let origin = pick.index(below: n)
        let originID = sim.ids[origin]
        var informed = Array(repeating: false, count: n)
        informed[origin] = true
        var informedCount = 1
        var lastAt = sim.now
        let start = sim.now
        sim.with(origin) { core, rng, now in core.announce(address: eventAddress(sim.addresses[origin]), now: now, rng: &rng) }
        let target = sim.node(origin)!.me.incarnation
        sim.onEvent = { observer, event, at in
            if case .memberChanged(let update, _) = event, update.node == originID, update.incarnation >= target,
                !informed[observer]
            {
                informed[observer] = true
                informedCount += 1
                lastAt = at
            }
        }
        var t = start
        while informedCount < n, sim.violation == nil, t.since(start).milliseconds < 60_000 {
            t = t + .milliseconds(200)
            sim.run(until: t)
        }
        let rounds = informedCount == n ? Int((lastAt.since(start).milliseconds + 199) / 200) : nil
        return DisseminationRun(rounds: rounds, informed: informedCount, live: n, violation: sim.violation)
    }

    /// `n` nodes, `slowPermille` of them slow (they handle frames and timers up to
    /// `slowDelayMilliseconds` late), for `durationMilliseconds`; `crashes` healthy-looking nodes
    /// crash at random times in the middle of the run.
    public static func failureDetection(
        n: Int, slowPermille: UInt64, slowDelayMilliseconds: UInt64, durationMilliseconds: UInt64, crashes: Int, seed: UInt64,
        preset: SimPreset, progressEveryMilliseconds: UInt64 = 300_000,
        progress: ((_ at: MeshInstant, _ healthyDeclaredDead: Int, _ healthySuspected: Int) -> Void)? = nil
    ) -> DetectionRun {
        let sim = Simulator(
            count: n, seed: seed, nodeConfig: preset.nodeConfig,
            network: SimNetworkConfig(
                lossPermille: 0, minDelayMilliseconds: 1, maxDelayMilliseconds: 10,
                slowNodeDelayMilliseconds: slowDelayMilliseconds))
        var pick = SeededRandom(seed: seed ^ 0x5109)
        var order = pick.shuffled(Array(0..<n))
        let slowCount = Int(UInt64(n) * slowPermille / 1000)
        for i in order.prefix(slowCount) { sim.slow[i] = true }
        order.removeFirst(slowCount)
        let crashed = Array(order.prefix(crashes))
        var crashAt: [Int: UInt64] = [:]
        for c in crashed {
            crashAt[c] = durationMilliseconds / 4 + pick.next(below: durationMilliseconds / 2)
        }
        let ids = sim.ids
        var indexOf: [NodeID: Int] = [:]
        for (i, id) in ids.enumerated() { indexOf[id] = i }
        var suspected = Array(repeating: false, count: n)
        var dead = Array(repeating: false, count: n)
        var firstSuspicion: [Int: UInt64] = [:]
        var firstDeath: [Int: UInt64] = [:]
        var falseDeaths: [String] = []
        var suspectSince: [Int: UInt64] = [:]
        let slow = sim.slow
        sim.onEvent = { observer, event, at in
            guard case .memberChanged(let update, _) = event, let t = indexOf[update.node] else { return }
            if update.status == .suspect { suspectSince[observer * n + t] = at.milliseconds }
            if update.status == .dead, crashAt[t] == nil, !dead[t] {
                let since = suspectSince[observer * n + t].map { "\(at.milliseconds - $0) ms" } ?? "never suspect there"
                falseDeaths.append(
                    "t=\(at.milliseconds) ms: node \(observer) (slow \(slow[observer])) declared node \(t) (slow \(slow[t])) dead at incarnation \(update.incarnation), suspect there for \(since)"
                )
            }
            if update.status == .suspect {
                suspected[t] = true
                if let c = crashAt[t], at.milliseconds >= c, firstSuspicion[t] == nil { firstSuspicion[t] = at.milliseconds - c }
            }
            if update.status == .dead {
                dead[t] = true
                if let c = crashAt[t], at.milliseconds >= c, firstDeath[t] == nil { firstDeath[t] = at.milliseconds - c }
            }
        }
        let crashOrder = crashed.sorted { crashAt[$0]! < crashAt[$1]! }
        let healthy = (0..<n).filter { crashAt[$0] == nil }
        // Checkpoints: each crash, and every `progressEveryMilliseconds` a progress report (running
        // in steps changes nothing: the simulator only handles the events due up to each bound).
        var reportAt = progress == nil ? UInt64.max : Swift.max(progressEveryMilliseconds, 1)
        var crashIndex = 0
        while true {
            let nextCrash = crashIndex < crashOrder.count ? crashAt[crashOrder[crashIndex]]! : UInt64.max
            let next = Swift.min(nextCrash, reportAt, durationMilliseconds)
            sim.run(until: MeshInstant(milliseconds: next))
            if next == nextCrash {
                sim.crash(crashOrder[crashIndex])
                crashIndex += 1
            } else if next == reportAt {
                progress?(sim.now, healthy.filter { dead[$0] }.count, healthy.filter { suspected[$0] }.count)
                reportAt += progressEveryMilliseconds
            } else {
                break
            }
        }
        return DetectionRun(
            healthyDeclaredDead: healthy.filter { dead[$0] }.count, healthySuspected: healthy.filter { suspected[$0] }.count,
            firstSuspicionMilliseconds: crashOrder.compactMap { firstSuspicion[$0] },
            firstDeathMilliseconds: crashOrder.compactMap { firstDeath[$0] }, falseDeaths: falseDeaths,
            violation: sim.violation)
    }

    /// `n` nodes split in two halves for `partitionMilliseconds`, then healed; measures how long
    /// until every view is correct again (bounded by `boundMilliseconds`).
    public static func partitionHeal(
        n: Int, partitionMilliseconds: UInt64, boundMilliseconds: UInt64, seed: UInt64, preset: SimPreset
    ) -> HealRun {
        let sim = Simulator(count: n, seed: seed, nodeConfig: preset.nodeConfig, network: .lan)
        sim.run(until: MeshInstant(milliseconds: 5_000))
        sim.partition = .split(nodes: n, at: n / 2)
        sim.run(until: MeshInstant(milliseconds: 5_000 + partitionMilliseconds))
        sim.partition = .none(nodes: n)
        let healed = sim.now
        var t = healed
        while sim.violation == nil, t.since(healed).milliseconds <= boundMilliseconds {
            t = t + .milliseconds(500)
            sim.run(until: t)
            if sim.unconverged().isEmpty {
                return HealRun(convergeMilliseconds: t.since(healed).milliseconds, violation: sim.violation)
            }
        }
        return HealRun(convergeMilliseconds: nil, violation: sim.violation)
    }

    /// `regions × perRegion` nodes, one pool each; every node changes its pool's availability every
    /// `changeIntervalMilliseconds` (jittered) during the busy phase, then nothing changes.
    public static func bandwidth(
        regions: Int, perRegion: Int, changeIntervalMilliseconds: UInt64, busyMilliseconds: UInt64, idleMilliseconds: UInt64,
        seed: UInt64, waitForConvergence: Bool = false
    ) -> BandwidthRun {
        let n = regions * perRegion
        let sim = Simulator(count: n, seed: seed, nodeConfig: SimPreset.computeMesh.nodeConfig, network: .lan, regions: regions)
        var pick = SeededRandom(seed: seed ^ 0xBA5D)
        var sequence = Array(repeating: UInt64(0), count: n)
        let horizon = MeshInstant(milliseconds: 1 << 40)
        func issue(_ i: Int, descriptor: Bool) {
            sequence[i] += 1
            let id = sim.ids[i]
            let pool = try! ComputeID(owner: id, path: ["pool"])
            let body: RecordBody =
                descriptor
                ? .descriptor(
                    PoolDescriptor(
                        id: pool, architecture: .x86_64, accelerators: [], computeUnits: 1000, memoryMiB: 65_536,
                        interconnect: .roce, pricePerUnitHour: Price(microYuan: 1_500_000), residency: try! Region("sim-r0"),
                        certifications: [], greenEnergyPermille: 400))
                : .availability(
                    PoolAvailability(
                        id: pool, freeComputeUnits: pick.next(below: 1000), freeMemoryMiB: pick.next(below: 65_536),
                        freeAccelerators: [], pricePerUnitHour: Price(microYuan: 1_000_000 + pick.next(below: 1_000_000))))
            let record = InventoryRecord(
                origin: id, epoch: sim.epoch(of: i), sequence: sequence[i], issuedAt: sim.now, validUntil: horizon, body: body,
                signature: Array(repeating: 0xA5, count: 64))
            sim.with(i) { core, rng, now in core.issue(record, now: now) }
        }
        // Registration, then let it settle.
        for i in 0..<n { issue(i, descriptor: true) }
        sim.run(until: MeshInstant(milliseconds: 60_000))
        // Busy phase.
        var nextChange = (0..<n).map { _ in 60_000 + pick.next(below: changeIntervalMilliseconds) }
        let busyStart = sim.now
        let sentBefore = sim.sentBytes.reduce(0, +)
        let recordsBefore = sim.traffic.recordsDelivered
        var updates: UInt64 = 0
        let busyEnd = busyStart + .milliseconds(busyMilliseconds)
        var t = busyStart
        while t < busyEnd, sim.violation == nil {
            t = t + .milliseconds(100)
            sim.run(until: t)
            for i in 0..<n where nextChange[i] <= t.milliseconds {
                issue(i, descriptor: false)
                updates += 1
                nextChange[i] = t.milliseconds + changeIntervalMilliseconds / 2 + pick.next(below: changeIntervalMilliseconds)
            }
        }
        // Convergence of the inventory: every node holds every region peer's newest version.
        func convergence() -> (matched: Int, pairs: Int) {
            var matched = 0
            var pairs = 0
            for o in 0..<n {
                guard let core = sim.node(o) else { continue }
                for t in sim.regionMembers(of: o) where t != o {
                    pairs += 1
                    if core.gossip.inventory.version(of: sim.ids[t]).sequence == sequence[t] { matched += 1 }
                }
            }
            return (matched, pairs)
        }
        // Let the last changes spread; the busy figure's window always ends 20 s after the busy
        // phase, so that it stays comparable between runs.
        sim.run(until: busyEnd + .milliseconds(20_000))
        let busyBytes = sim.sentBytes.reduce(0, +) - sentBefore
        let busyRecords = sim.traffic.recordsDelivered - recordsBefore
        // "When nothing changes" means after the last changes have spread: in a large region anti-
        // entropy needs longer than 20 s (about 40 s at 1,000 nodes), and idle traffic measured
        // before that counts the tail of the spreading. Checked every second, bounded at 120 s.
        var convergenceSeconds: Double? = nil
        if waitForConvergence {
            let bound = busyEnd + .milliseconds(140_000)
            while sim.violation == nil {
                let c = convergence()
                if c.matched == c.pairs {
                    convergenceSeconds = Double(sim.now.milliseconds - busyEnd.milliseconds) / 1000
                    break
                }
                if sim.now >= bound { break }
                sim.run(until: sim.now + .milliseconds(1_000))
            }
        }
        let idleStart = sim.now
        let idleBefore = sim.sentBytes.reduce(0, +)
        sim.run(until: idleStart + .milliseconds(idleMilliseconds))
        let idleBytes = sim.sentBytes.reduce(0, +) - idleBefore
        let (matched, pairs) = convergence()
        let busySeconds = Double(busyMilliseconds + 20_000) / 1000
        return BandwidthRun(
            busyBytesPerSecondPerNode: Double(busyBytes) / busySeconds / Double(n),
            idleBytesPerSecondPerNode: Double(idleBytes) / (Double(idleMilliseconds) / 1000) / Double(n),
            maxDigestBytes: sim.traffic.maxDigestBytes,
            receiptsPerUpdatePerNode: updates == 0 ? 0 : Double(busyRecords) / Double(updates) / Double(perRegion - 1),
            convergedFraction: pairs == 0 ? 1 : Double(matched) / Double(pairs), convergenceSeconds: convergenceSeconds,
            violation: sim.violation)
    }
}

extension SimScenarios {
    /// The dissemination scenario with instruments on (diagnostics, not a figure): how fast the
    /// event spread round by round, how much membership churn ran beside it, which messages carried
    /// the event and how often each node forwarded it, and the queues and health at the end.
    public static func disseminationTrace(
        n: Int, lossPermille: UInt64, seed: UInt64, preset: SimPreset, warmupMilliseconds: UInt64 = 2_500
    ) -> [String] {
        let sim = Simulator(
            count: n, seed: seed, nodeConfig: preset.nodeConfig,
            network: SimNetworkConfig(lossPermille: lossPermille, minDelayMilliseconds: 1, maxDelayMilliseconds: 20))
        // Churn before the event (the warm-up the scenario runs).
        var warmChanges = [0, 0, 0, 0]
        sim.onEvent = { _, event, _ in
            if case .memberChanged(let u, _) = event { warmChanges[Int(u.status.rawValue) % 4] += 1 }
        }
        sim.run(until: MeshInstant(milliseconds: warmupMilliseconds))
        var pick = SeededRandom(seed: seed ^ 0xD155)
        let origin = pick.index(below: n)
        let originID = sim.ids[origin]
        var informed = Array(repeating: false, count: n)
        informed[origin] = true
        var informedCount = 1
        let start = sim.now
        sim.with(origin) { core, rng, now in core.announce(address: eventAddress(sim.addresses[origin]), now: now, rng: &rng) }
        let target = sim.node(origin)!.me.incarnation
        var changes = [0, 0, 0, 0]
        var facts: Set<String> = []
        var newFacts = [0, 0, 0, 0]
        sim.onEvent = { observer, event, _ in
            guard case .memberChanged(let u, _) = event else { return }
            changes[Int(u.status.rawValue) % 4] += 1
            if facts.insert("\(u.node)/\(u.incarnation)/\(u.status.rawValue)").inserted {
                newFacts[Int(u.status.rawValue) % 4] += 1
            }
            if u.node == originID, u.incarnation >= target, !informed[observer] {
                informed[observer] = true
                informedCount += 1
            }
        }
        var carried: [String: (sent: Int, delivered: Int)] = [:]
        var forwardsBy = Array(repeating: 0, count: n)
        var forwardsWhileUninformedTarget = 0
        var messagesByType: [String: (count: Int, updates: Int)] = [:]
        // Per receiver: frames delivered while it did not know the event, and how many carried it.
        var deliveredUninformed = Array(repeating: 0, count: n)
        var carryingToUninformed = Array(repeating: (sent: 0, delivered: 0), count: n)
        sim.onSend = { from, to, message, delivered in
            if delivered, !informed[to] { deliveredUninformed[to] += 1 }
            let updates: [MemberUpdate]
            let name: String
            switch message {
            case .probe(let p):
                updates = p.updates
                name = "PROBE"
            case .probeAck(let a):
                updates = a.updates
                name = "PROBE_ACK"
            case .indirectProbe(let i):
                updates = i.updates
                name = "INDIRECT_PROBE"
            default: return
            }
            messagesByType[name, default: (0, 0)].count += 1
            messagesByType[name, default: (0, 0)].updates += updates.count
            if updates.contains(where: { $0.node == originID && $0.incarnation >= target }) {
                carried[name, default: (0, 0)].sent += 1
                if delivered { carried[name, default: (0, 0)].delivered += 1 }
                forwardsBy[from] += 1
                if !informed[to] {
                    forwardsWhileUninformedTarget += 1
                    carryingToUninformed[to].sent += 1
                    if delivered { carryingToUninformed[to].delivered += 1 }
                }
            }
        }
        var timeline: [Int] = []
        var informedRound = Array(repeating: 0, count: n)
        var t = start
        var queueSamples: [Double] = []
        var healthSamples: [Double] = []
        while informedCount < n, sim.violation == nil, t.since(start).milliseconds < 60_000 {
            t = t + .milliseconds(200)
            sim.run(until: t)
            timeline.append(informedCount)
            for i in 0..<n where informed[i] && informedRound[i] == 0 && i != origin { informedRound[i] = timeline.count }
            if timeline.count % 5 == 1 {
                var q = 0
                var h = 0
                for i in 0..<n {
                    q += sim.node(i)?.gossip.membership.pendingBroadcastCount ?? 0
                    h += sim.node(i)?.gossip.membership.localHealth ?? 0
                }
                queueSamples.append(Double(q) / Double(n))
                healthSamples.append(Double(h) / Double(n))
            }
        }
        let seconds = Double(t.since(start).milliseconds) / 1000
        var lines: [String] = []
        lines.append(
            "trace n=\(n) loss=\(lossPermille)‰ preset=\(preset.rawValue) seed=\(seed): \(timeline.count) rounds, informed \(informedCount)/\(n)"
        )
        lines.append("  informed by round: \(timeline)")
        lines.append("  warm-up (\(warmupMilliseconds) ms) view changes left/alive/suspect/dead: \(warmChanges)")
        lines.append(
            "  after event (\(seconds) s): view changes left/alive/suspect/dead \(changes); new facts \(newFacts) = \(Double(newFacts.reduce(0, +)) / seconds)/s cluster-wide"
        )
        lines.append("  mean pending broadcasts per node every second: \(queueSamples.map { Int($0) })")
        lines.append("  mean local health every second: \(healthSamples.map { ($0 * 10).rounded() / 10 })")
        for name in messagesByType.keys.sorted() {
            let m = messagesByType[name]!
            let c = carried[name] ?? (0, 0)
            lines.append(
                "  \(name): \(m.count) sent, \(Double(m.updates) / Double(Swift.max(m.count, 1))) updates each; carried the event \(c.sent) times (\(c.delivered) delivered)"
            )
        }
        let senders = forwardsBy.filter { $0 > 0 }
        var histogram = Array(repeating: 0, count: 8)
        for f in forwardsBy { histogram[Swift.min(f, 7)] += 1 }
        lines.append(
            "  nodes that forwarded the event: \(senders.count); forwards per node histogram [0,1,...,7+]: \(histogram); to a still-uninformed node: \(forwardsWhileUninformedTarget)"
        )
        // The last nodes to learn it: what reached them before they did.
        let late = (0..<n).filter { i in i != origin && (!informed[i] || informedRound[i] > 6) }
            .sorted { informedRound[$0] == 0 ? true : (informedRound[$1] == 0 ? false : informedRound[$0] > informedRound[$1]) }
        for i in late.prefix(3) {
            let core = sim.node(i)
            lines.append(
                "  late node \(i): informed in round \(informed[i] ? String(informedRound[i]) : "never"), slow \(sim.slow[i]); "
                    + "frames delivered to it before: \(deliveredUninformed[i]); of those sent to it carrying the event "
                    + "\(carryingToUninformed[i].sent) (\(carryingToUninformed[i].delivered) delivered); local health now "
                    + "\(core?.gossip.membership.localHealth ?? -1), pending \(core?.gossip.membership.pendingBroadcastCount ?? -1), "
                    + "its view of the origin \(core?.gossip.membership.member(originID).map { "\($0.status)@\($0.incarnation)" } ?? "none")"
            )
        }
        return lines
    }
}
