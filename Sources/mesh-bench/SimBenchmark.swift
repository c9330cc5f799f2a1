import Foundation
import MeshCommandLine
import MeshCore
import MeshSim

/// `mesh-bench sim --scenario NAME`: the simulator's scenarios of issue 3, ours beside the
/// memberlist-LAN and plain-SWIM baselines run through the same harness in the same run.
struct SimCommand: BenchCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "simulated dissemination, failure detection, partition heal, bandwidth (vs baselines)",
        discussion: details)

    /// The scenarios `--scenario` names.
    enum Scenario: String, CaseIterable, ExpressibleByArgument {
        case dissemination, detection, partition, bandwidth, cost, all, trace, federation
    }

    static let details = """
        Runs a scenario of the deterministic simulator over many seeds, for ComputeMesh (SWIM + Lifeguard,
        push-pull piggybacking) and, in the same run, the baselines memberlist-LAN (push-only gossip
        200 ms x 3, Lifeguard awareness) and plain SWIM (no Lifeguard). Every frame goes through the real
        codec. Reports p50/p99 over seeds.

        scenarios:
          dissemination  one event at a random node; 200 ms rounds until every live
                         node knows it (1 % and 30 % loss)
          detection      10 % slow nodes, some crashes: healthy nodes declared dead;
                         time to first suspicion and death
          partition      split in two halves, heal, time until every view converges
          bandwidth      one pool per node changing every 30 s: bytes/s per node
                         busy and idle, digest size, receipts
          cost           10 regions x 1,000 nodes (membership + inventory): wall
                         time and peak memory
          all            every scenario above with its defaults
          trace          diagnostics for dissemination: spread per round, churn,
                         which messages carried the event
          federation     whole nodes (3 regions x (3 regional + 2 industry)),
                         tenants placing, retrying, renewing and releasing,
                         crashes (between commit and send too), partitions
                         (one-way too), loss, slow and failing disks; oracles
                         after every seed (default 50 seeds; --seed N replays one)

        ComputeMesh's rows carry issue 3's targets (dissemination p99 <= 9 rounds at 1 % loss and <= 13 at
        30 %; no healthy node declared dead; crash -> suspicion and -> dead p50 <= 5 s, p99 <= 10 s;
        heal -> converged p99 <= 30 s; busy <= 16 KB/s and idle <= 1 KB/s per node; DIGEST <= 2,000 bytes;
        <= 2 receipts per update; cost within 8 GiB). A missed target, a seed without a figure in a row
        with a target, or an invariant violation in any row exits 1.
        """
    @Option(help: "the scenario: see below", valueName: "NAME") var scenario: Scenario
    @Option(help: "cluster size (default: the scenario's)", valueName: "N", range: 1...1_000_000) var nodes: Int?
    @Option(help: "seeds per preset (default: the scenario's)", valueName: "K", range: 1...100_000) var seeds: Int?
    @Option(
        help: "simulated minutes (detection: run length; partition: split length)", valueName: "M", range: 1...100_000)
    var minutes: Int?
    @OptionGroup var output: JSONOutput
    @Option(
        help: "trace, dissemination, detection, partition: only this preset (computeMesh, memberlist, plainSWIM)",
        valueName: "NAME")
    var preset: SimPreset?
    @Option(
        help: "dissemination/trace: run this long before the event (default 2.5)", valueName: "S", range: 1...3_600)
    var warmupSeconds: Int?
    @Option(help: "dissemination: seeds for the baselines (default: --seeds)", valueName: "K", range: 1...100_000)
    var baselineSeeds: Int?
    @Option(
        help: "trace: frame loss per mille (default 300); dissemination: only this loss (default 10 and 300)",
        valueName: "PERMILLE", range: 1...1_000)
    var loss: Int?
    @Flag(help: "small sizes and few seeds, for smoke checks") var quick = false
    @Option(help: "federation: run (replay) this one seed", valueName: "N") var seed: UInt64?
    @Option(help: "federation: length of the faulty phase (default 60)", valueName: "S", range: 1...86_400)
    var safetySeconds: Int?

    func measure() -> BenchOutcome {
        let commandLine = CommandLine.arguments
        let scenario = scenario.rawValue
        let options = self
        if scenario == "federation" {
            let seeds: [UInt64]
            if let one = options.seed {
                seeds = [one]
            } else {
                seeds = (1...UInt64(options.seeds ?? (quick ? 5 : 50))).map { $0 }
            }
            return FederationBench.run(seeds: seeds, quick: quick, safetySeconds: safetySeconds, json: output.path)
        }
        if scenario == "trace" {
            let n = nodes ?? 1000
            let seeds = options.seeds ?? 1
            let loss = UInt64(self.loss ?? 300)
            for preset in SimBench.presets where self.preset.map({ $0 == preset }) ?? true {
                for s in 0..<seeds {
                    let warmup = UInt64(warmupSeconds ?? 2) * 1000 + (warmupSeconds == nil ? 500 : 0)
                    for line in SimScenarios.disseminationTrace(
                        n: n, lossPermille: loss, seed: UInt64(s + 1), preset: preset, warmupMilliseconds: warmup)
                    {
                        print(line)
                    }
                }
            }
            return .finished([])
        }
        let valid = ["dissemination", "detection", "partition", "bandwidth", "cost", "all"]
        let seeds = options.seeds
        var report = SimReport(
            commandLine: commandLine.joined(separator: " "), buildConfiguration: isDebugBuild ? "debug" : "release",
            loadAverageAtStart: BenchEnvironment.loadAverage(), rows: [])
        let scenarios = scenario == "all" ? Array(valid.dropLast()) : [scenario]
        for name in scenarios {
            let started = Date()
            switch name {
            case "dissemination":
                let warmup = warmupSeconds.map { UInt64($0) * 1000 } ?? 2_500
                SimBench.dissemination(
                    n: nodes ?? (quick ? 200 : 1000), seeds: seeds ?? (quick ? 3 : 20), warmupMilliseconds: warmup,
                    baselineSeeds: baselineSeeds, only: preset?.rawValue,
                    losses: loss.map { [UInt64($0)] } ?? [10, 300], into: &report)
            case "detection":
                SimBench.detection(
                    n: nodes ?? (quick ? 200 : 1000), seeds: seeds ?? (quick ? 1 : 3), minutes: minutes ?? (quick ? 3 : 60),
                    only: preset?.rawValue, into: &report)
            case "partition":
                SimBench.partition(
                    n: nodes ?? (quick ? 200 : 2000), seeds: seeds ?? (quick ? 2 : 5), minutes: minutes ?? (quick ? 2 : 10),
                    only: preset?.rawValue, into: &report)
            case "bandwidth":
                SimBench.bandwidth(perRegion: nodes ?? (quick ? 200 : 1000), seeds: seeds ?? (quick ? 1 : 3), into: &report)
            default: SimBench.cost(perRegion: nodes ?? (quick ? 100 : 1000), into: &report)
            }
            Console.progress(String(format: "mesh-bench sim: %@ took %.1f s wall", name, Date().timeIntervalSince(started)))
        }
        print(report.table())
        if let path = output.path {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(report).write(to: URL(fileURLWithPath: path))
                Console.progress("wrote \(path)")
            } catch {
                return .failed("cannot write \(path): \(error)")
            }
        }
        return .finished(report.rows.flatMap(\.verdicts))
    }
}

/// One line of the report: a figure for one preset, p50 and p99 over seeds.
struct SimRow: Codable {
    var scenario: String
    var preset: String
    var figure: String
    var p50: Double
    var p99: Double
    var max: Double
    var seeds: Int
    /// Seeds in which the figure could not be measured (e.g. some node never informed).
    var failures: Int
    /// Invariant violations seen.
    var violations: Int
    var note: String
    /// Issue 3's targets for this figure (ComputeMesh rows only).
    var targets: [SimTarget] = []

    /// What the row is judged on: no invariant violation (in any row); each target; and, when it
    /// has targets, a figure from every seed.
    var verdicts: [Verdict] {
        let label = "\(scenario) \(preset): \(figure)"
        var verdicts: [Verdict] = []
        if violations > 0 || !targets.isEmpty {
            verdicts.append(Verdict("\(label): invariant violations", measured: Double(violations), atMost: 0))
        }
        if !targets.isEmpty {
            verdicts.append(Verdict("\(label): seeds without a figure", measured: Double(failures), atMost: 0))
        }
        for target in targets {
            verdicts.append(
                Verdict("\(label) \(target.statistic.rawValue)", measured: value(target.statistic), atMost: target.atMost))
        }
        return verdicts
    }

    func value(_ statistic: SimTarget.Statistic) -> Double {
        switch statistic {
        case .p50: p50
        case .p99: p99
        case .max: max
        }
    }
}

/// A target of issue 3 on one statistic of a row: at most `atMost`.
struct SimTarget: Codable {
    enum Statistic: String, Codable {
        case p50, p99, max
    }
    var statistic: Statistic
    var atMost: Double

    static func p50(_ bound: Double) -> SimTarget { SimTarget(statistic: .p50, atMost: bound) }
    static func p99(_ bound: Double) -> SimTarget { SimTarget(statistic: .p99, atMost: bound) }
    static func max(_ bound: Double) -> SimTarget { SimTarget(statistic: .max, atMost: bound) }

    /// `p99 <= 9`.
    var label: String { "\(statistic.rawValue) <= \(Verdict.figure(atMost))" }
}

struct SimReport: Codable {
    var commandLine: String
    var buildConfiguration: String
    var loadAverageAtStart: Double?
    var rows: [SimRow]

    func table() -> String {
        var lines = [
            "scenario        preset        figure                                   p50        p99        max   seeds fail viol"
        ]
        for r in rows {
            func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
            func num(_ v: Double) -> String {
                let s = v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.2f", v)
                return String(repeating: " ", count: Swift.max(0, 10 - s.count)) + s
            }
            let targets = zip(r.targets, r.verdicts.suffix(r.targets.count)).map { target, verdict in
                "\(target.label) \(verdict.met ? "met" : "NOT MET")"
            }
            lines.append(
                pad(r.scenario, 16) + pad(r.preset, 14) + pad(r.figure, 38) + num(r.p50) + " " + num(r.p99) + " " + num(r.max)
                    + String(format: " %6d %4d %4d", r.seeds, r.failures, r.violations)
                    + (targets.isEmpty ? "" : "  target " + targets.joined(separator: ", "))
                    + (r.note.isEmpty ? "" : "  " + r.note))
        }
        return lines.joined(separator: "\n")
    }
}

enum SimBench {
    static let presets: [SimPreset] = [.computeMesh, .memberlist, .plainSWIM]

    /// A row; `targets` apply to ComputeMesh's preset only (the baselines are measured beside it,
    /// not held to it).
    static func row(
        _ scenario: String, _ preset: String, _ figure: String, _ values: [Double], seeds: Int, failures: Int = 0,
        violations: Int = 0, note: String = "", targets: [SimTarget] = []
    ) -> SimRow {
        SimRow(
            scenario: scenario, preset: preset, figure: figure, p50: Stats.percentile(values, 0.5),
            p99: Stats.percentile(values, 0.99), max: values.max() ?? 0, seeds: seeds, failures: failures, violations: violations,
            note: note, targets: preset == SimPreset.computeMesh.rawValue ? targets : [])
    }

    /// Issue 3's dissemination targets: rounds to 100 %, p99, at 1 % and 30 % loss.
    static func disseminationTargets(lossPermille: UInt64) -> [SimTarget] {
        switch lossPermille {
        case 10: [.p99(9)]
        case 300: [.p99(13)]
        default: []
        }
    }

    static func dissemination(
        n: Int, seeds: Int, warmupMilliseconds: UInt64, baselineSeeds: Int?, only: String?, losses: [UInt64],
        into report: inout SimReport
    ) {
        for loss in losses {
            for preset in presets {
                var rounds: [Double] = []
                var failures = 0
                var violations = 0
                let seeds = preset == .computeMesh ? seeds : (baselineSeeds ?? seeds)
                if let only, only != preset.rawValue { continue }
                for s in 0..<seeds {
                    let run = SimScenarios.dissemination(
                        n: n, lossPermille: loss, seed: UInt64(s + 1), preset: preset, warmupMilliseconds: warmupMilliseconds)
                    if let r = run.rounds { rounds.append(Double(r)) } else { failures += 1 }
                    if run.violation != nil { violations += 1 }
                    Console.progress(
                        "dissemination n=\(n) loss=\(loss)‰ \(preset.rawValue) seed \(s + 1): "
                            + (run.rounds.map { "\($0) rounds" } ?? "\(run.informed) of \(run.live) informed at the bound"))
                }
                Console.progress("dissemination n=\(n) loss=\(loss)‰ \(preset.rawValue): \(rounds)")
                report.rows.append(
                    row(
                        "dissemination", preset.rawValue,
                        "rounds to 100% (n=\(n), loss \(Double(loss) / 10)%, warm-up \(Double(warmupMilliseconds) / 1000) s)",
                        rounds,
                        seeds: seeds,
                        failures: failures, violations: violations, targets: disseminationTargets(lossPermille: loss)))
            }
        }
    }

    static func detection(n: Int, seeds: Int, minutes: Int, only: String?, into report: inout SimReport) {
        for preset in presets where only.map({ $0 == preset.rawValue }) ?? true {
            var falseDead: [Double] = []
            var falseSuspect: [Double] = []
            var suspicion: [Double] = []
            var death: [Double] = []
            var violations = 0
            for s in 0..<seeds {
                let run = SimScenarios.failureDetection(
                    n: n, slowPermille: 100, slowDelayMilliseconds: 2_000, durationMilliseconds: UInt64(minutes) * 60_000,
                    crashes: 10, seed: UInt64(s + 1), preset: preset
                ) { at, dead, suspected in
                    Console.progress(
                        "detection n=\(n) \(preset.rawValue) seed \(s + 1): \(at.milliseconds / 60_000) of \(minutes) simulated min, "
                            + "\(dead) healthy declared dead, \(suspected) suspected so far")
                }
                falseDead.append(Double(run.healthyDeclaredDead))
                falseSuspect.append(Double(run.healthySuspected))
                suspicion += run.firstSuspicionMilliseconds.map { Double($0) / 1000 }
                death += run.firstDeathMilliseconds.map { Double($0) / 1000 }
                if run.violation != nil { violations += 1 }
                Console.progress("detection n=\(n) \(preset.rawValue) seed \(s + 1): false dead \(run.healthyDeclaredDead)")
                for line in run.falseDeaths { Console.progress("  " + line) }
            }
            let label = "(n=\(n), 10% slow, \(minutes) min)"
            report.rows.append(
                row(
                    "detection", preset.rawValue, "healthy declared dead \(label)", falseDead, seeds: seeds,
                    violations: violations, targets: [.max(0)]))
            report.rows.append(row("detection", preset.rawValue, "healthy suspected", falseSuspect, seeds: seeds))
            report.rows.append(
                row(
                    "detection", preset.rawValue, "crash -> first suspicion (s)", suspicion, seeds: seeds,
                    targets: [.p50(5), .p99(10)]))
            report.rows.append(
                row(
                    "detection", preset.rawValue, "crash -> first declared dead (s)", death, seeds: seeds,
                    targets: [.p50(5), .p99(10)]))
        }
    }

    static func partition(n: Int, seeds: Int, minutes: Int, only: String?, into report: inout SimReport) {
        for preset in presets where only.map({ $0 == preset.rawValue }) ?? true {
            var times: [Double] = []
            var failures = 0
            var violations = 0
            for s in 0..<seeds {
                let run = SimScenarios.partitionHeal(
                    n: n, partitionMilliseconds: UInt64(minutes) * 60_000, boundMilliseconds: 180_000, seed: UInt64(s + 1),
                    preset: preset)
                if let ms = run.convergeMilliseconds { times.append(Double(ms) / 1000) } else { failures += 1 }
                if run.violation != nil { violations += 1 }
                Console.progress(
                    "partition n=\(n) \(preset.rawValue) seed \(s + 1): \(run.convergeMilliseconds.map(String.init) ?? "no convergence")"
                )
            }
            report.rows.append(
                row(
                    "partition", preset.rawValue, "heal -> all views converge (s), \(minutes) min split", times, seeds: seeds,
                    failures: failures, violations: violations, note: failures > 0 ? "fail = not within 180 s" : "",
                    targets: [.p99(30)]))
        }
    }

    static func bandwidth(perRegion: Int, seeds: Int, into report: inout SimReport) {
        var busy: [Double] = []
        var idle: [Double] = []
        var digest: [Double] = []
        var receipts: [Double] = []
        var converged: [Double] = []
        var convergence: [Double] = []
        var unconverged = 0
        var violations = 0
        for s in 0..<seeds {
            let run = SimScenarios.bandwidth(
                regions: 1, perRegion: perRegion, changeIntervalMilliseconds: 30_000, busyMilliseconds: 120_000,
                idleMilliseconds: 60_000, seed: UInt64(s + 1), waitForConvergence: true)
            if let seconds = run.convergenceSeconds { convergence.append(seconds) } else { unconverged += 1 }
            busy.append(run.busyBytesPerSecondPerNode / 1000)
            idle.append(run.idleBytesPerSecondPerNode / 1000)
            digest.append(Double(run.maxDigestBytes))
            receipts.append(run.receiptsPerUpdatePerNode)
            converged.append(run.convergedFraction * 100)
            if run.violation != nil { violations += 1 }
        }
        let p = SimPreset.computeMesh.rawValue
        let label = "(region of \(perRegion), change every 30 s)"
        report.rows.append(
            row(
                "bandwidth", p, "KB/s sent per node, busy \(label)", busy, seeds: seeds, violations: violations,
                targets: [.max(16)]))
        report.rows.append(
            row(
                "bandwidth", p, "last change -> converged (s, checked from 20)", convergence, seeds: seeds, failures: unconverged,
                note: unconverged > 0 ? "fail = not within 140 s" : ""))
        report.rows.append(
            row("bandwidth", p, "KB/s sent per node, idle (after convergence)", idle, seeds: seeds, targets: [.max(1)]))
        report.rows.append(row("bandwidth", p, "largest DIGEST frame (bytes)", digest, seeds: seeds, targets: [.max(2_000)]))
        report.rows.append(
            row("bandwidth", p, "records received per update per node", receipts, seeds: seeds, targets: [.max(2)]))
        report.rows.append(row("bandwidth", p, "inventory converged at end (%)", converged, seeds: seeds))
    }

    static func cost(perRegion: Int, into report: inout SimReport) {
        let started = Date()
        let run = SimScenarios.bandwidth(
            regions: 10, perRegion: perRegion, changeIntervalMilliseconds: 30_000, busyMilliseconds: 30_000,
            idleMilliseconds: 10_000, seed: 1)
        let wall = Date().timeIntervalSince(started)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakMiB = Double(usage.ru_maxrss) / 1024
        let p = SimPreset.computeMesh.rawValue
        report.rows.append(
            row(
                "cost", p,
                "wall seconds, 10 x \(perRegion) nodes, 120 s simulated (60 s settling, 30 s busy, 20 s spreading, 10 s idle)",
                [wall], seeds: 1,
                violations: run.violation == nil ? 0 : 1))
        report.rows.append(row("cost", p, "peak resident memory (MiB)", [peakMiB], seeds: 1, targets: [.max(8 * 1024)]))
        report.rows.append(
            row("cost", p, "KB/s sent per node (busy)", [run.busyBytesPerSecondPerNode / 1000], seeds: 1, targets: [.max(16)]))
    }
}
