// A small measurement harness shared by the benchmarks.
//
// A benchmark is a set of cells (one operation each, e.g. "DELTA binary decode"). The harness
// calibrates each cell to a number of iterations per round, then runs rounds in which every cell
// runs once, alternating the order of the cells from round to round, so that drift of a shared
// machine (frequency, neighbours) falls on all cells alike. A cell's figure is the median of its
// rounds.
import Glibc

/// One operation to measure. `body` runs the operation once and returns a number derived from its
/// result, which the harness accumulates so the optimizer cannot drop the work.
struct BenchCell {
    var label: String
    var body: () throws -> Int
}

/// Which clock times the rounds.
enum BenchClock: String, Sendable, Codable {
    /// Monotonic wall time (`ContinuousClock`): what a caller waits, preemption included.
    case wall
    /// The measuring thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): the work itself, without the
    /// time other processes held the core. Guard runs use it, since CI shares two cores with
    /// other people's builds.
    case threadCPU
}

/// How long to measure.
struct BenchPlan: Sendable {
    /// Timed rounds per cell.
    var rounds: Int
    /// Target duration of one cell in one round, in seconds.
    var secondsPerCellRound: Double
    /// Calibration stops doubling the iteration count once a batch takes this long (seconds).
    /// Calibration also serves as the warm-up.
    var calibrationSeconds: Double
    /// The clock that times the rounds (and the calibration).
    var clock: BenchClock = .wall

    /// A plan giving each of `cellsPerMessage` cells an equal share of `secondsPerMessage`.
    static func make(secondsPerMessage: Double, cellsPerMessage: Int, quick: Bool) -> BenchPlan {
        let rounds = quick ? 5 : min(31, max(7, Int((secondsPerMessage * 2.5).rounded())))
        let perCell = secondsPerMessage / Double(cellsPerMessage)
        return BenchPlan(
            rounds: rounds, secondsPerCellRound: perCell / Double(rounds),
            calibrationSeconds: quick ? 0.008 : min(0.05, max(0.01, perCell / 20)))
    }
}

/// The measured rounds of one cell.
struct CellMeasurement {
    var label: String
    var iterationsPerRound: Int
    /// Operations per second, one per round, in round order.
    var samples: [Double]

    var median: Double { Stats.median(samples) }
    var min: Double { samples.min() ?? 0 }
    var max: Double { samples.max() ?? 0 }
    /// Half the range between the 25th and 75th percentiles, relative to the median: how noisy
    /// the rounds were.
    var relativeSpread: Double {
        let m = median
        return m > 0 ? (Stats.percentile(samples, 0.75) - Stats.percentile(samples, 0.25)) / 2 / m : 0
    }
}

enum Stats {
    static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    /// Linear-interpolated percentile, `p` in 0...1.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        if values.isEmpty { return 0 }
        let sorted = values.sorted()
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}

/// A monotonic stopwatch over `ContinuousClock` (CLOCK_MONOTONIC on Linux).
struct Stopwatch {
    private let clock = ContinuousClock()
    private var start: ContinuousClock.Instant

    init() { start = clock.now }

    var elapsedSeconds: Double {
        let d = clock.now - start
        let (seconds, attoseconds) = d.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

/// The calling thread's CPU time, in seconds (`CLOCK_THREAD_CPUTIME_ID`).
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Keeps results alive and observable so that measured work is not optimised away.
struct Sink {
    private(set) var checksum: UInt64 = 0

    @inline(never)
    mutating func consume(_ value: Int) {
        checksum = checksum &* 31 &+ UInt64(truncatingIfNeeded: value)
    }
}

enum Harness {
    /// Runs `cell` `iterations` times and returns the elapsed seconds on `clock`.
    static func time(_ cell: BenchCell, iterations: Int, clock: BenchClock, sink: inout Sink) throws -> Double {
        var local = 0
        let watch = Stopwatch()
        let cpuStart = clock == .threadCPU ? threadCPUSeconds() : 0
        for _ in 0..<iterations {
            local &+= try cell.body()
        }
        let elapsed = clock == .threadCPU ? threadCPUSeconds() - cpuStart : watch.elapsedSeconds
        sink.consume(local)
        return elapsed
    }

    /// Finds how many iterations fill `plan.secondsPerCellRound`, doubling a batch until it takes
    /// at least `plan.calibrationSeconds` (which also warms caches, allocator and branch predictors).
    static func calibrate(_ cell: BenchCell, plan: BenchPlan, sink: inout Sink) throws -> Int {
        var iterations = 1
        while true {
            let elapsed = try time(cell, iterations: iterations, clock: plan.clock, sink: &sink)
            if elapsed >= plan.calibrationSeconds || iterations >= 1 << 30 {
                let perIteration = elapsed / Double(iterations)
                return Swift.max(1, Int((plan.secondsPerCellRound / Swift.max(perIteration, 1e-9)).rounded()))
            }
            iterations *= 2
        }
    }

    /// Calibrates every cell, then runs `plan.rounds` rounds, each cell once per round, with the
    /// order of cells reversed on every other round.
    static func run(
        _ cells: [BenchCell], plan: BenchPlan, sink: inout Sink, progress: (String) -> Void
    ) throws -> [CellMeasurement] {
        var iterations: [Int] = []
        for cell in cells {
            iterations.append(try calibrate(cell, plan: plan, sink: &sink))
        }
        var samples = [[Double]](repeating: [], count: cells.count)
        for round in 0..<plan.rounds {
            let order = round % 2 == 0 ? Array(cells.indices) : Array(cells.indices.reversed())
            for index in order {
                let elapsed = try time(cells[index], iterations: iterations[index], clock: plan.clock, sink: &sink)
                samples[index].append(Double(iterations[index]) / elapsed)
            }
            progress("  round \(round + 1)/\(plan.rounds)")
        }
        return cells.indices.map {
            CellMeasurement(label: cells[$0].label, iterationsPerRound: iterations[$0], samples: samples[$0])
        }
    }
}
