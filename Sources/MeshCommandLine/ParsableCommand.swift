// MeshCommandLine: the one command-line layer of meshd, meshctl and mesh-bench, shaped after
// swift-argument-parser. A command is a type whose properties are its options (`@Option`,
// `@Flag`, `@Argument`, `@OptionGroup`); parsing, `--help`, usage lines and errors (one line, a
// hint, a typo suggestion, exit 2) are generated from that one declaration.

/// A set of arguments that can be parsed: a command, or a group of options shared by commands
/// (`@OptionGroup`).
public protocol ParsableArguments {
    /// An instance with every argument unparsed; the parser fills it in.
    init()
    /// Checks the parsed values together (options that exclude each other, ranges that depend on
    /// another option). Throw ``ValidationError`` for a mistake on the command line.
    mutating func validate() throws
}

extension ParsableArguments {
    public mutating func validate() throws {}
}

/// A command: a node of the command tree, runnable when it is a leaf (or when it has a run of its
/// own besides its subcommands).
public protocol ParsableCommand: ParsableArguments {
    /// The command's name, summary, help text and subcommands.
    static var configuration: CommandConfiguration { get }
    /// Runs the command with its parsed arguments and returns the process's exit status. Throw
    /// ``ValidationError`` for a command-line mistake found late (exit 2 with the usage hint),
    /// ``CommandFailure`` for anything else with its own status.
    mutating func run() throws -> Int32
}

extension ParsableCommand {
    /// A command with subcommands and no run of its own: its usage on standard error, exit 2.
    public mutating func run() throws -> Int32 { throw MissingSubcommand() }
}

/// A command with subcommands was run without one.
struct MissingSubcommand: Error {}

/// What a command says about itself. (Sendable: metatypes and strings, never mutated once made.)
public struct CommandConfiguration: @unchecked Sendable {
    /// The word that selects it (the executable's name for the root).
    public var commandName: String
    /// One line: shown in the parent's command list and at the top of the command's help.
    public var abstract: String
    /// Paragraphs after the options in the command's help: exit statuses, examples, files.
    public var discussion: String
    /// The version line printed by `--version` (roots only).
    public var version: String?
    /// The subcommands, in the order the help lists them.
    public var subcommands: [any ParsableCommand.Type]

    public init(
        commandName: String, abstract: String, discussion: String = "", version: String? = nil,
        subcommands: [any ParsableCommand.Type] = []
    ) {
        self.commandName = commandName
        self.abstract = abstract
        self.discussion = discussion
        self.version = version
        self.subcommands = subcommands
    }
}

/// A mistake on the command line: printed as one line naming the command, with a hint to its
/// `--help`; exit status 2.
public struct ValidationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A command that ran and failed: its message on standard error and its own exit status (no usage
/// hint: the command line was right).
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var status: Int32
    public init(_ message: String, status: Int32 = 1) {
        self.message = message
        self.status = status
    }
    public var description: String { message }
}

/// An error type of a command's own that knows its exit status (e.g. meshctl's console errors).
public protocol ExitStatusError: Error, CustomStringConvertible {
    var exitStatus: Int32 { get }
}
