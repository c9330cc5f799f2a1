import Foundation
public import MeshCommandLine
import MeshCore
import MeshMembership
import MeshNode
import MeshSim
import MeshWire

/// `mesh-bench detection-trace`: the timeline behind each false death of the detection scenario.
///
/// Runs the detection scenario of `mesh-bench sim` (same seeding: the same slow and crashed nodes)
/// once to find each healthy node declared dead, then replays the seed (the simulator is
/// deterministic) and prints, for each declarer D and victim T: every status change D saw about T,
/// every fact about T handed to the network for D (sender, status, incarnation, send time), when T
/// was first told it was suspect and when it first sent its refutation.
struct DetectionTraceCommand: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "detection-trace",
        abstract: "diagnostics for detection: the timeline of each healthy node declared dead", discussion: details)
    static let details = """
        Replays one seed of the detection scenario (10 % slow nodes handled up to 2 s late, 10 crashes)
        and prints, for each healthy node declared dead, who suspected it when, every suspect/alive/dead
        fact about it sent to the declarer, when it learned it was suspect and when it refuted.
        """
    @Option(help: "cluster size", valueName: "N", range: 1...1_000_000) var nodes = 200
    @Option(help: "simulated minutes", valueName: "M", range: 1...100_000) var minutes = 5
    @Option(help: "seed", valueName: "S", range: 1...UInt64.max) var seed: UInt64 = 1
    @Option(help: "the preset: computeMesh, memberlist or plainSWIM", valueName: "NAME") var preset = SimPreset.computeMesh
    @Option(help: "trace at most K false deaths", valueName: "K", range: 1...10_000) var max = 5
    @Flag(help: "ablation: turn off MembershipConfig.correctsStaleFacts in the preset") var withoutStaleCorrections = false
    @Flag(help: "turn on MembershipConfig.refreshesYield in the preset (computeMesh has it already)")
    var refreshesYield = false
    @Option(help: "seconds of timeline before each death", valueName: "S", range: 1...3_600) var window = 40

    /// A diagnostic: it prints timelines and judges no target, so it always finishes with none.
    func measure() -> BenchOutcome {
        let (n, seed, maxTraced) = (nodes, seed, max)
        let duration = UInt64(minutes) * 60_000
        var nodeConfig = preset.nodeConfig
        if withoutStaleCorrections { nodeConfig.membership.correctsStaleFacts = false }
        if refreshesYield { nodeConfig.membership.refreshesYield = true }
        let window = UInt64(window) * 1000
        let first = DetectionTrace(
            n: n, seed: seed, durationMilliseconds: duration, preset: preset, nodeConfig: nodeConfig, pairs: [],
            windowMilliseconds: window)
        first.run()
        print("seed \(seed) \(preset.rawValue) n=\(n): \(first.deaths.count) false deaths")
        let pairs = Array(first.deaths.prefix(maxTraced))
        guard !pairs.isEmpty else { return .finished([]) }
        let second = DetectionTrace(
            n: n, seed: seed, durationMilliseconds: duration, preset: preset, nodeConfig: nodeConfig,
            pairs: pairs.map { ($0.declarer, $0.victim) }, windowMilliseconds: window)
        second.run()
        for line in second.lines { print(line) }
        return .finished([])
    }
}

/// One replayable detection run with per-pair tracing.
final class DetectionTrace {
    struct Death {
        var declarer: Int
        var victim: Int
        var at: UInt64
    }

    let n: Int
    let seed: UInt64
    let durationMilliseconds: UInt64
    let preset: SimPreset
    let nodeConfig: NodeConfig
    let pairs: [(Int, Int)]
    let windowMilliseconds: UInt64
    var deaths: [Death] = []
    var lines: [String] = []

    init(
        n: Int, seed: UInt64, durationMilliseconds: UInt64, preset: SimPreset, nodeConfig: NodeConfig, pairs: [(Int, Int)],
        windowMilliseconds: UInt64
    ) {
        self.windowMilliseconds = windowMilliseconds
        self.n = n
        self.seed = seed
        self.durationMilliseconds = durationMilliseconds
        self.preset = preset
        self.nodeConfig = nodeConfig
        self.pairs = pairs
    }

    func run() {
        // The same setup as SimScenarios.failureDetection, so the slow and crashed nodes match.
        let sim = Simulator(
            count: n, seed: seed, nodeConfig: nodeConfig,
            network: SimNetworkConfig(
                lossPermille: 0, minDelayMilliseconds: 1, maxDelayMilliseconds: 10, slowNodeDelayMilliseconds: 2_000))
        var pick = SeededRandom(seed: seed ^ 0x5109)
        var order = pick.shuffled(Array(0..<n))
        let slowCount = n / 10
        for i in order.prefix(slowCount) { sim.slow[i] = true }
        order.removeFirst(slowCount)
        let crashed = Array(order.prefix(10))
        var crashAt: [Int: UInt64] = [:]
        for c in crashed { crashAt[c] = durationMilliseconds / 4 + pick.next(below: durationMilliseconds / 2) }
        var indexOf: [NodeID: Int] = [:]
        for (i, id) in sim.ids.enumerated() { indexOf[id] = i }
        let slow = sim.slow
        let n = self.n
        let pairs = self.pairs
        let victims = Set(pairs.map { $0.1 })
        let declarers = Set(pairs.map { $0.0 })
        var dead = Array(repeating: false, count: n)
        var suspecters: [Int: [String]] = [:]
        var perPair: [Int: [String]] = [:]
        var victimNotes: [Int: [String]] = [:]
        var lastOwnIncarnation: [Int: UInt64] = [:]
        var spread:
            [String: (first: UInt64, last: UInt64, sends: Int, receivers: Set<Int>, firstSeen: [Int: UInt64], times: [UInt64])] =
                [:]
        func tag(_ i: Int) -> String { "\(i)\(slow[i] ? "s" : "")" }
        sim.onEvent = { observer, event, at in
            guard case .memberChanged(let update, let previous) = event, let t = indexOf[update.node] else { return }
            if victims.contains(t), update.status == .suspect || (update.status == .alive && previous == .suspect) {
                // Who holds T suspect at which incarnation (first 40 changes).
                if suspecters[t, default: []].count < 4000 {
                    suspecters[t, default: []].append(
                        "t=\(at.milliseconds) \(tag(observer)): \(update.status) inc \(update.incarnation)")
                }
            }
            if declarers.contains(observer), pairs.contains(where: { $0 == (observer, t) }) {
                perPair[observer * n + t, default: []].append(
                    "t=\(at.milliseconds) D sees \(update.status) inc \(update.incarnation) (was \(previous.map { "\($0)" } ?? "-"))"
                )
            }
            if update.status == .dead, crashAt[t] == nil, !dead[t] {
                self.deaths.append(Death(declarer: observer, victim: t, at: at.milliseconds))
            }
            if update.status == .dead { dead[t] = true }
        }
        if !pairs.isEmpty {
            sim.onSend = { from, to, message, delivered in
                let updates: [MemberUpdate]
                switch message {
                case .probe(let p): updates = p.updates
                case .probeAck(let a): updates = a.updates
                case .indirectProbe(let p): updates = p.updates
                default: return
                }
                let now = sim.now.milliseconds
                for u in updates {
                    guard let t = indexOf[u.node], victims.contains(t) else { continue }
                    if pairs.contains(where: { $0 == (to, t) }) {
                        perPair[to * n + t, default: []].append(
                            "t=\(now) sent to D by \(tag(from)): \(u.status) inc \(u.incarnation)\(delivered ? "" : " (lost)")")
                    }
                    if pairs.contains(where: { $0 == (from, t) }) {
                        perPair[from * n + t, default: []].append(
                            "t=\(now) D sends to \(tag(to)): \(u.status) inc \(u.incarnation) in \(message.type.name ?? "?")\(delivered ? "" : " (lost)")"
                        )
                    }
                    let key = "\(t) \(u.status) inc \(u.incarnation)"
                    var agg = spread[key] ?? (first: now, last: now, sends: 0, receivers: [], firstSeen: [:], times: [])
                    agg.last = now
                    agg.sends += 1
                    agg.times.append(now)
                    agg.receivers.insert(to)
                    if agg.firstSeen[to] == nil { agg.firstSeen[to] = now }
                    spread[key] = agg
                    if to == t, u.status != .alive {
                        victimNotes[t, default: []].append("t=\(now) T told by \(tag(from)): \(u.status) inc \(u.incarnation)")
                    }
                    if from == t, u.status == .alive, u.incarnation > lastOwnIncarnation[t, default: 0] {
                        lastOwnIncarnation[t] = u.incarnation
                        victimNotes[t, default: []].append("t=\(now) T first sends alive inc \(u.incarnation)")
                    }
                }
            }
        }
        for c in crashed.sorted(by: { crashAt[$0]! < crashAt[$1]! }) {
            sim.run(until: MeshInstant(milliseconds: crashAt[c]!))
            sim.crash(c)
        }
        sim.run(until: MeshInstant(milliseconds: durationMilliseconds))
        for (d, t) in pairs {
            let death = deaths.first { $0.declarer == d && $0.victim == t }
            lines.append("=== declarer \(tag(d)) victim \(tag(t)) dead at t=\(death.map { "\($0.at)" } ?? "?")")
            let horizon = (death?.at ?? durationMilliseconds)
            let from = horizon > windowMilliseconds ? horizon - windowMilliseconds : 0
            func inWindow(_ line: String) -> Bool {
                guard line.hasPrefix("t="), let value = UInt64(line.dropFirst(2).prefix { $0.isNumber }) else { return true }
                return value >= from && value <= horizon + 3_000
            }
            lines.append("--- suspect/alive changes about T anywhere (window)")
            lines += (suspecters[t] ?? []).filter(inWindow).map { "  " + $0 }
            lines.append("--- T itself")
            lines += (victimNotes[t] ?? []).filter(inWindow).map { "  " + $0 }
            lines.append("--- every fact about T sent (first, last send, sends, distinct receivers, D among them)")
            for (key, agg) in spread.sorted(by: { $0.value.first < $1.value.first }) where key.hasPrefix("\(t) ") {
                let byDeath = agg.firstSeen.values.filter { $0 <= horizon }.count
                lines.append(
                    "  \(key): \(byDeath) receivers and \(agg.times.filter { $0 <= horizon }.count) sends by the death; \(agg.first)...\(agg.last) ms, \(agg.sends) sends, \(agg.receivers.count) receivers, D \(agg.receivers.contains(d))"
                )
            }
            lines.append("--- at D")
            lines += (perPair[d * n + t] ?? []).filter(inWindow).map { "  " + $0 }
        }
    }
}

extension SimPreset: ExpressibleByArgument {}
