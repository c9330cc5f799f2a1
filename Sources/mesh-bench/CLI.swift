import Foundation
import MeshCommandLine
import MeshRuntime

// The command tree: `mesh-bench` and one subcommand per benchmark, on the shared command-line
// layer (MeshCommandLine). Adding a benchmark means writing a `BenchCommand` and listing it in
// `MeshBench.configuration`.

/// Exit codes shared by every subcommand.
enum ExitCode {
    /// The benchmark ran, its figures are valid and it met every target it printed.
    static let success: Int32 = 0
    /// The benchmark missed a target it printed, or found a fault (e.g. a codec that does not
    /// round-trip).
    static let failure: Int32 = 1
    /// The command line was wrong; nothing was measured (chosen by the command-line layer).
    static let usage: Int32 = 2
}

/// `mesh-bench`: the root of the tree.
struct MeshBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh-bench",
        abstract: """
            ComputeMesh benchmarks. Each compares against a reference measured in the same run and \
            reports ratios; absolute figures drift on shared machines.
            """,
        discussion: "Build with -c release: a debug build measures the wrong thing.",
        version: "mesh-bench \(MeshVersion.current) (wire protocol 1)",
        subcommands: [
            WireCommand.self, PlacementCommand.self, DurabilityCommand.self, TransportCommand.self, SimCommand.self,
            DetectionTraceCommand.self, E2ECommand.self, NodeProcessCommand.self,
        ])
}

/// A benchmark: its options are its properties; it measures and reports what it found.
protocol BenchCommand: ParsableCommand {
    /// Runs the measurement and returns every target it printed, as a ``Verdict``, or the fault
    /// that made its figures meaningless. Throws ``ValidationError`` for a command-line mistake
    /// found only once options are combined with what is on disk.
    func measure() throws -> BenchOutcome
}

extension BenchCommand {
    /// The exit status follows from the outcome (``exitStatus(of:command:)``).
    func run() throws -> Int32 {
        exitStatus(of: try measure(), command: Self.configuration.commandName)
    }
}

/// `--json PATH`, shared by every benchmark: the path is checked before any time is spent
/// measuring.
struct JSONOutput: ParsableArguments {
    @Option(name: "json", help: "also write the figures as JSON to PATH", valueName: "PATH", transform: JSONOutput.check)
    var path: String?

    static func check(_ path: String) throws -> String {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArgumentValueError("names a file in '\(directory)', which is not a directory")
        }
        return path
    }
}

/// The exit status of a run, the one place it is chosen: 1 for a fault or for any target the run
/// printed and missed (each named on standard error), else 0.
func exitStatus(of outcome: BenchOutcome, command: String) -> Int32 {
    switch outcome {
    case .failed(let reason):
        Console.error("mesh-bench \(command): FAILED: \(reason)")
        return ExitCode.failure
    case .finished(let verdicts):
        let missed = verdicts.filter { !$0.met }
        if missed.isEmpty {
            if !verdicts.isEmpty { Console.progress("mesh-bench \(command): all \(verdicts.count) targets met") }
            return ExitCode.success
        }
        Console.error(
            "mesh-bench \(command): \(missed.count) of \(verdicts.count) targets NOT MET (exit 1):\n"
                + missed.map { "  " + $0.summary }.joined(separator: "\n"))
        return ExitCode.failure
    }
}

/// Output helpers: results go to stdout, progress and errors to stderr.
enum Console {
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
