import Testing

@testable import MeshCommandLine

/// A small tree shaped like meshctl's: a root, a group, leaves with every kind of argument.
struct Tool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tool", abstract: "A tool.", version: "tool 1.0", subcommands: [IssueCommand.self, Remote.self, Pass.self])
}

struct IssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "issue", abstract: "Issue a thing.")
    @Argument(help: "where the thing goes", valueName: "DIR") var directory: String
    @Option(help: "the thing's role", valueName: "ROLE") var role: String
    @Option(help: "days of validity", valueName: "N", range: 1...36_500) var days = 365
    @Option(help: "a sector it serves", valueName: "SECTOR") var sector: [String]
    @Option(help: "an existing key", valueName: "FILE") var key: String?
    @Flag(help: "replace what exists") var force = false
    func run() throws -> Int32 { 0 }
}

struct Connection: ParsableArguments {
    @Option(help: "the node", valueName: "HOST:PORT", environment: "TOOL_NODE") var node: String
    @Flag(help: "one JSON object") var json = false
}

struct Remote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote", abstract: "Talk to a node.", subcommands: [Status.self])
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The node's status.")
    @OptionGroup var connection: Connection
    @Option(help: "a region", valueName: "R") var region: String?
    func run() throws -> Int32 { 0 }
}

struct Pass: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pass", abstract: "Hand everything on.")
    @Argument(help: "arguments for the other parser", valueName: "ARGUMENT", parsing: .remaining) var rest: [String]
    func run() throws -> Int32 { 0 }
}

func parse(
    _ arguments: [String], environment: [String: String] = [:]
) throws(CommandParser.Failure)
    -> CommandParser.Outcome
{
    try CommandParser(root: Tool.self, environment: environment).parse(arguments)
}

func command<T: ParsableCommand>(_ arguments: [String], as _: T.Type, environment: [String: String] = [:]) throws -> T {
    guard case .run(let command, _) = try parse(arguments, environment: environment), let typed = command as? T else {
        Issue.record("\(arguments) did not give a runnable \(T.self)")
        throw CommandParser.Failure(path: [], message: "not runnable")
    }
    return typed
}

func failure(_ arguments: [String], environment: [String: String] = [:]) -> String {
    do {
        _ = try parse(arguments, environment: environment)
        return "(parsed)"
    } catch {
        return error.message
    }
}

@Suite("the command-line layer")
struct CommandParserTests {
    @Test func optionsFlagsAndPositionalsLandInTheCommandsProperties() throws {
        let issue = try command(
            ["issue", "out", "--role", "regional", "--days=30", "--sector", "finance", "--sector", "health", "--force"],
            as: IssueCommand.self)
        #expect(issue.directory == "out")
        #expect(issue.role == "regional")
        #expect(issue.days == 30)
        #expect(issue.sector == ["finance", "health"])
        #expect(issue.key == nil)
        #expect(issue.force)
    }

    @Test func defaultsHoldWhenAnOptionIsAbsent() throws {
        let issue = try command(["issue", "--role", "r", "out"], as: IssueCommand.self)
        #expect(issue.days == 365 && issue.sector.isEmpty && !issue.force)
    }

    @Test func aMisspeltOptionIsNamedWithTheNearestRealOne() {
        #expect(failure(["issue", "out", "--role", "r", "--dayz", "3"]) == "unknown option '--dayz'; did you mean '--days'?")
    }

    @Test func aMisspeltCommandIsNamedWithTheNearestRealOne() {
        #expect(failure(["isue"]).hasPrefix("unknown command 'isue'; did you mean 'issue'?"))
    }

    @Test func aNumberOutOfItsRangeOrNotANumberIsRefusedWithTheRange() {
        #expect(
            failure(["issue", "out", "--role", "r", "--days", "abc"]) == "--days needs a whole number from 1 to 36500, not 'abc'")
        #expect(
            failure(["issue", "out", "--role", "r", "--days", "0"]) == "--days needs a whole number from 1 to 36500, not '0'")
    }

    @Test func requiredArgumentsMissingAreNamed() {
        #expect(failure(["issue", "out"]) == "--role ROLE is required")
        #expect(failure(["issue", "--role", "r"]).hasPrefix("DIR is required"))
    }

    @Test func anOptionGivenTwiceIsRefusedRatherThanSilentlyReplaced() {
        #expect(failure(["issue", "out", "--role", "a", "--role", "b"]) == "--role given more than once; give it once")
    }

    @Test func anOptionWithoutItsValueSaysWhatValueItNeeds() {
        #expect(failure(["issue", "out", "--role"]) == "--role needs a value: --role ROLE")
        #expect(failure(["issue", "out", "--force=yes", "--role", "r"]) == "--force takes no value")
    }

    @Test func sharedOptionsMayComeBeforeOrAfterTheSubcommandWord() throws {
        let before = try command(["remote", "--node", "h:1", "--json", "status"], as: Status.self)
        let after = try command(["remote", "status", "--node", "h:1", "--region", "x"], as: Status.self)
        #expect(before.connection.node == "h:1" && before.connection.json)
        #expect(after.connection.node == "h:1" && after.region == "x" && !after.connection.json)
    }

    @Test func anEnvironmentVariableIsTheDefaultAndTheCommandLineWins() throws {
        let fromEnvironment = try command(["remote", "status"], as: Status.self, environment: ["TOOL_NODE": "env:1"])
        #expect(fromEnvironment.connection.node == "env:1")
        let fromLine = try command(["remote", "status", "--node", "cli:2"], as: Status.self, environment: ["TOOL_NODE": "env:1"])
        #expect(fromLine.connection.node == "cli:2")
        #expect(failure(["remote", "status"]) == "--node HOST:PORT is required (or set TOOL_NODE)")
    }

    @Test func helpIsFoundWhereverItStandsAndNamesTheDeepestCommand() throws {
        guard case .help(let path) = try parse(["remote", "status", "--node", "x", "--help"]) else {
            Issue.record("--help did not ask for help")
            return
        }
        #expect(Help.commandName(path) == "tool remote status")
        guard case .help(let viaWord) = try parse(["help", "issue"]) else {
            Issue.record("help issue did not ask for help")
            return
        }
        #expect(Help.commandName(viaWord) == "tool issue")
        guard case .version(let version) = try parse(["--version"]) else {
            Issue.record("--version did not ask for the version")
            return
        }
        #expect(version == "tool 1.0")
    }

    @Test func aPassthroughTakesEveryTokenVerbatimHelpIncluded() throws {
        let pass = try command(["pass", "--config", "x", "--help"], as: Pass.self)
        #expect(pass.rest == ["--config", "x", "--help"])
    }

    @Test func theHelpIsGeneratedFromTheDeclarationWithin80Columns() {
        let help = Help.text([Tool.self, IssueCommand.self])
        let usage = help.split(separator: "\n\n").first ?? ""
        #expect(
            usage.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
                == "usage: tool issue DIR --role ROLE [--days N] [--sector SECTOR]... [--key FILE] [--force]")
        #expect(help.contains("  --days N"))
        #expect(help.contains("days of validity"))
        #expect(help.contains("(repeatable)"))
        #expect(help.contains("-h, --help"))
        for line in help.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
        let remote = Help.text([Tool.self, Remote.self, Status.self])
        #expect(remote.contains("(default: $TOOL_NODE)"))
        let root = Help.text([Tool.self])
        #expect(root.contains("  issue") && root.contains("Issue a thing.") && root.contains("--version"))
    }
}
