import Foundation
import MeshCore

/// Runs a command tree on a process's command line: the entry point of every executable.
///
/// Exit statuses: what the command's `run()` returns; 0 for `--help`, `help` and `--version`;
/// 2 for a mistake on the command line (one line naming the command and the problem, with a typo
/// suggestion where one is near, then a line pointing at `--help`; never the whole usage) and for
/// a command with subcommands run without one (its help on standard error); a ``CommandFailure``
/// or ``ExitStatusError``'s own status; 1 for any other error.
public enum CommandLineTool {
    public static func main(
        _ root: any ParsableCommand.Type, arguments: [String],
        environment: [String: String]? = nil
    ) -> Int32 {
        let parser = CommandParser(root: root, environment: environment ?? ProcessInfo.processInfo.environment)
        let outcome: CommandParser.Outcome
        do {
            outcome = try parser.parse(arguments)
        } catch {
            return usageError(error.message, path: error.path)
        }
        switch outcome {
        case .version(let version):
            print(version)
            return 0
        case .help(let path):
            print(Help.text(path))
            return 0
        case .run(var command, let path):
            do {
                return try command.run()
            } catch is MissingSubcommand {
                standardError(Help.text(path))
                return 2
            } catch let error as ValidationError {
                return usageError(error.message, path: path)
            } catch let error as CommandFailure {
                standardError("\(Help.commandName(path)): \(error.message)")
                return error.status
            } catch let error as any ExitStatusError {
                standardError("\(Help.commandName(path)): \(error.description)")
                return error.exitStatus
            } catch {
                standardError("\(Help.commandName(path)): \(error)")
                return 1
            }
        }
    }

    /// The help of the command `path` names, for tests and for commands that print it themselves.
    public static func helpText(_ path: [any ParsableCommand.Type]) -> String { Help.text(path) }

    static func usageError(_ message: String, path: [any ParsableCommand.Type]) -> Int32 {
        let name = Help.commandName(path)
        standardError("\(name): \(message)\n('\(name) --help' shows the usage)")
        return 2
    }

    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
