import Foundation
import MeshRuntime

// The subcommand dispatcher. Each benchmark is a `BenchCommand`; adding one (sim, transport,
// placement) means writing a type that conforms and listing it in `Dispatcher.commands`.

/// Exit codes shared by every subcommand. Only ``Dispatcher`` chooses one, from the command's
/// ``BenchOutcome``.
enum ExitCode {
    /// The benchmark ran, its figures are valid and it met every target it printed.
    static let success: Int32 = 0
    /// The benchmark missed a target it printed, or found a fault (e.g. a codec that does not
    /// round-trip).
    static let failure: Int32 = 1
    /// The command line was wrong; nothing was measured.
    static let usage: Int32 = 2
}

/// A command-line mistake: printed with the relevant usage, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    var message: String
    /// The usage line of the command concerned, or nil for the top-level usage.
    var usageLine: String?

    init(_ message: String, command: (any BenchCommand.Type)? = nil) {
        self.message = message
        self.usageLine = command?.usageLine
    }

    var description: String { message }
}

/// One option a subcommand accepts.
struct OptionSpec: Sendable {
    /// Long name without dashes, e.g. `json`.
    var name: String
    /// Name of the value (`PATH`, `S`), or nil for a flag that takes none.
    var valueName: String?
    var help: String

    /// `--json PATH` or `--quick`.
    var synopsis: String { valueName.map { "--\(name) \($0)" } ?? "--\(name)" }
}

/// A subcommand of `mesh-bench`.
protocol BenchCommand {
    /// The word that selects the command, e.g. `wire`.
    static var name: String { get }
    /// One line for the top-level help.
    static var summary: String { get }
    /// A paragraph for the command's own help.
    static var details: String { get }
    /// The options it accepts (`--help` is implicit).
    static var options: [OptionSpec] { get }
    /// Runs with parsed options and returns what the run found: every target it printed, as a
    /// ``Verdict``, or the fault that made its figures meaningless. The exit status follows from it
    /// (``Dispatcher/exitStatus(of:command:)``).
    static func run(_ options: ParsedOptions, commandLine: [String]) throws(UsageError) -> BenchOutcome
}

extension BenchCommand {
    static var usageLine: String {
        "usage: mesh-bench \(name)" + options.map { " [\($0.synopsis)]" }.joined()
    }

    static var help: String {
        var lines = [usageLine, "", details, "", "options:"]
        let all = options + [OptionSpec(name: "help", valueName: nil, help: "show this help and exit")]
        let width = all.map { $0.synopsis.count }.max() ?? 0
        for option in all {
            lines.append("  " + option.synopsis.padding(toLength: width + 2, withPad: " ", startingAt: 0) + option.help)
        }
        return lines.joined(separator: "\n")
    }
}

/// Options as parsed for one subcommand: flags seen and values given.
struct ParsedOptions {
    private(set) var flags: Set<String> = []
    private(set) var values: [String: String] = [:]

    func has(_ name: String) -> Bool { flags.contains(name) || values[name] != nil }
    func value(_ name: String) -> String? { values[name] }

    /// Parses `arguments` (after the subcommand word) against `command`'s options. Accepts
    /// `--name value` and `--name=value`. Returns nil when `--help` was asked for.
    static func parse(_ arguments: [String], for command: any BenchCommand.Type) throws(UsageError) -> ParsedOptions? {
        var parsed = ParsedOptions()
        let valid = command.options.map { $0.synopsis }.joined(separator: ", ") + ", --help"
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" { return nil }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw UsageError(
                    "unexpected argument '\(argument)' for '\(command.name)'; it takes only options: \(valid)",
                    command: command)
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String? = nil
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = command.options.first(where: { $0.name == name }) else {
                throw UsageError("unknown option '--\(name)' for '\(command.name)'; valid options: \(valid)", command: command)
            }
            if parsed.has(name) {
                throw UsageError("option '--\(name)' given more than once", command: command)
            }
            if let valueName = spec.valueName {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else if index < arguments.count, !arguments[index].hasPrefix("--") {
                    value = arguments[index]
                    index += 1
                } else {
                    throw UsageError("option '--\(name)' needs a value: --\(name) \(valueName)", command: command)
                }
                if value.isEmpty { throw UsageError("option '--\(name)' needs a non-empty \(valueName)", command: command) }
                parsed.values[name] = value
            } else {
                if inlineValue != nil { throw UsageError("option '--\(name)' takes no value", command: command) }
                parsed.flags.insert(name)
            }
        }
        return parsed
    }
}

/// Selects and runs a subcommand.
enum Dispatcher {
    /// Every subcommand, in the order the help lists them. Later benchmarks (sim, transport,
    /// placement) are added here.
    static var commands: [any BenchCommand.Type] {
        [
            WireCommand.self, PlacementCommand.self, DurabilityCommand.self, TransportCommand.self, SimCommand.self,
            DetectionTraceCommand.self,
        ]
    }

    static var help: String {
        let width = commands.map { $0.name.count }.max() ?? 0
        var lines = [
            "usage: mesh-bench <command> [options]",
            "       mesh-bench <command> --help",
            "",
            "ComputeMesh benchmarks. Each compares against a reference measured in the same run and",
            "reports ratios; absolute figures drift on shared machines.",
            "",
            "commands:",
        ]
        for command in commands {
            lines.append("  " + command.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + command.summary)
        }
        lines.append("")
        lines.append("Build with -c release: a debug build measures the wrong thing.")
        return lines.joined(separator: "\n")
    }

    /// Runs the command line and returns the exit code.
    static func main(_ argv: [String]) -> Int32 {
        let arguments = Array(argv.dropFirst())
        let names = commands.map { $0.name }.joined(separator: ", ")
        guard let first = arguments.first else {
            Console.error("mesh-bench: missing command; valid commands: \(names)\n\n" + help)
            return ExitCode.usage
        }
        if first == "--version" {
            print("mesh-bench \(MeshVersion.current) (wire protocol 1)")
            return ExitCode.success
        }
        if first == "--help" || first == "-h" || first == "help" {
            if first == "help", arguments.count > 1 {
                guard let command = commands.first(where: { $0.name == arguments[1] }) else {
                    Console.error("mesh-bench: unknown command '\(arguments[1])'; valid commands: \(names)")
                    return ExitCode.usage
                }
                print(command.help)
                return ExitCode.success
            }
            print(help)
            return ExitCode.success
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            let kind = first.hasPrefix("-") ? "option" : "command"
            let hint = nearestName(to: first, among: commands.map { $0.name }).map { "did you mean '\($0)'? " } ?? ""
            Console.error("mesh-bench: unknown \(kind) '\(first)'; \(hint)valid commands: \(names) (or --help)")
            return ExitCode.usage
        }
        do throws(UsageError) {
            guard let options = try ParsedOptions.parse(Array(arguments.dropFirst()), for: command) else {
                print(command.help)
                return ExitCode.success
            }
            return exitStatus(of: try command.run(options, commandLine: argv), command: command.name)
        } catch {
            let usage = error.usageLine ?? "usage: mesh-bench <command> [options]"
            Console.error(
                "mesh-bench \(command.name): \(error.message)\n\(usage)\n(mesh-bench \(command.name) --help for details)")
            return ExitCode.usage
        }
    }
}

extension Dispatcher {
    /// The exit status of a run, the one place it is chosen: 1 for a fault or for any target the
    /// run printed and missed (each named on standard error), else 0.
    static func exitStatus(of outcome: BenchOutcome, command: String) -> Int32 {
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
