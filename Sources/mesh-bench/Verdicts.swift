// Verdicts: every target a benchmark prints is also a `Verdict` it returns, and the dispatcher
// (`Dispatcher.exitStatus(of:command:)`) alone turns them into the exit status. A command cannot
// print "NOT MET" and exit 0, because it no longer chooses its exit status.
import Foundation

/// One judgement a benchmark printed: a figure against its target.
struct Verdict: Codable, Sendable {
    /// Whether the figure must reach the target or stay within it.
    enum Comparison: String, Codable, Sendable {
        case atLeast = ">="
        case atMost = "<="
    }

    /// What is judged, as the table prints it (e.g. `DELTA binary decode / JSONDecoder`).
    var name: String
    var measured: Double
    var comparison: Comparison
    var target: Double
    var met: Bool

    /// A figure that must be at least `target`.
    init(_ name: String, measured: Double, atLeast target: Double) {
        self.name = name
        self.measured = measured
        self.comparison = .atLeast
        self.target = target
        self.met = measured >= target
    }

    /// A figure that must be at most `target`.
    init(_ name: String, measured: Double, atMost target: Double) {
        self.name = name
        self.measured = measured
        self.comparison = .atMost
        self.target = target
        self.met = measured <= target
    }

    /// `name: measured >= target`, for the summary line of a missed target.
    var summary: String {
        "\(name): \(Verdict.figure(measured)) (target \(comparison.rawValue) \(Verdict.figure(target)))"
    }

    /// A figure with at most three decimals and no trailing zeros.
    static func figure(_ value: Double) -> String {
        if value.isNaN || value.isInfinite { return String(value) }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}

/// What one run of a benchmark command found.
enum BenchOutcome {
    /// The run finished and judged these targets (none for a diagnostic command).
    case finished([Verdict])
    /// The run found a fault that makes its figures meaningless (a codec that does not round-trip,
    /// an unwritable report); the reason is printed as `FAILED`.
    case failed(String)
}

// MARK: - Guard mode

/// `--guard`: a short run for CI that fails on a large regression and passes through the noise of
/// a loaded, shared 2-core machine.
///
/// A guard judges figures that are ratios to a reference measured in the same run (binary codec to
/// Foundation JSON, MeshTransport to the C epoll reference, decisions to a fixed CPU workload), never
/// absolute rates. Each guarded figure has a **baseline**, the figure this code gave in guard runs
/// on the project's build machine (BENCHMARKS.md, "Guards", names the commit and the command), and
/// fails below its baseline divided by ``tolerance``. Acceptance targets are still printed in a
/// guard run but judged only in full runs: a short run on a busy machine misses some of them by noise
/// alone (transport TLS / C, placement wall-clock p99).
enum Guard {
    /// A guarded figure fails below `baseline / tolerance`. 1.5: in guard runs with both cores
    /// busy (other builds and benchmarks) no figure fell more than about 15 % below its baseline,
    /// and a two-fold regression (a figure at half its baseline) lands a third below the floor.
    /// With 2, a two-fold regression would sit on the floor and pass about half the time.
    static let tolerance = 1.5

    /// The figure one guard run is expected to reach.
    struct Baseline: Sendable {
        /// What the figure is, as the guard table prints it.
        var name: String
        /// The figure in guard runs of the code named in BENCHMARKS.md ("Guards").
        var value: Double

        /// The lowest figure that passes.
        var floor: Double { value / Guard.tolerance }

        /// The verdict on `measured`.
        func verdict(measured: Double) -> Verdict {
            Verdict("guard: \(name)", measured: measured, atLeast: floor)
        }
    }

    /// The guard's table: one line per figure with its baseline, floor and verdict.
    static func table(_ judged: [(baseline: Baseline, verdict: Verdict)]) -> String {
        var lines = [
            "guard (tolerance \(Verdict.figure(tolerance))×: a figure fails below its baseline ÷ \(Verdict.figure(tolerance));"
                + " baselines in BENCHMARKS.md, \"Guards\")"
        ]
        let width = judged.map(\.baseline.name.count).max() ?? 0
        for (baseline, verdict) in judged {
            lines.append(
                "  " + baseline.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    + "  measured " + String(format: "%8.2f", verdict.measured)
                    + "  baseline " + String(format: "%8.2f", baseline.value)
                    + "  floor " + String(format: "%8.2f", baseline.floor)
                    + "  -> " + (verdict.met ? "met" : "NOT MET"))
        }
        return lines.joined(separator: "\n")
    }
}
