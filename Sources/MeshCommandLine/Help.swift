/// The help of a command, generated from its declaration: usage, summary, arguments, options,
/// subcommands and discussion, within 80 columns.
enum Help {
    static let width = 80

    /// `meshctl authority admit`.
    static func commandName(_ path: [any ParsableCommand.Type]) -> String {
        path.map { $0.configuration.commandName }.joined(separator: " ")
    }

    /// `usage: meshctl cert issue --operator DIR ... [--force]`, wrapped under its first word.
    static func usage(_ path: [any ParsableCommand.Type]) -> String {
        let command = path[path.count - 1]
        var words: [String] = []
        if !command.configuration.subcommands.isEmpty { words.append("<command>") }
        for definition in CommandParser.definitions(of: command) {
            switch definition.kind {
            case .option where definition.isRequired: words.append(definition.synopsis)
            case .option where definition.isRepeatable: words.append("[\(definition.synopsis)]...")
            case .option, .flag: words.append("[\(definition.synopsis)]")
            case .positional where definition.isRequired: words.append(definition.synopsis)
            case .positional, .remaining: words.append("[\(definition.synopsis)]")
            }
        }
        if !command.configuration.subcommands.isEmpty { words.append("[options]") }
        let head = "usage: \(commandName(path))"
        return wrap(words, first: head, indent: String(repeating: " ", count: min(head.count + 1, 24)))
    }

    /// The whole help of the command at the end of `path`.
    static func text(_ path: [any ParsableCommand.Type]) -> String {
        let command = path[path.count - 1]
        let configuration = command.configuration
        var lines = [usage(path), ""]
        if !configuration.abstract.isEmpty { lines += [paragraphs(configuration.abstract), ""] }
        let definitions = CommandParser.definitions(of: command)
        let positionals = definitions.filter { $0.kind == .positional || $0.kind == .remaining }.map { ($0.synopsis, $0.help) }
        let commands = configuration.subcommands.map { ($0.configuration.commandName, $0.configuration.abstract) }
        var options = definitions.filter { $0.kind == .option || $0.kind == .flag }.map { definition in
            var help = definition.help
            if definition.isRepeatable { help += " (repeatable)" }
            if let variable = definition.environment { help += " (default: $\(variable))" }
            return (definition.synopsis, help)
        }
        if path.count == 1, configuration.version != nil { options.append(("--version", "print the version and exit")) }
        options.append(("-h, --help", "show this help and exit"))
        let column = min(26, ((positionals + commands + options).map { $0.0.count }.max() ?? 0) + 4)
        if !positionals.isEmpty { lines += ["arguments:"] + table(positionals, column: column) }
        if !commands.isEmpty { lines += ["commands:"] + table(commands, column: column) }
        lines += ["options:"] + table(options, column: column)
        if !configuration.subcommands.isEmpty {
            let name = commandName(path)
            lines += ["", paragraphs("'\(name) help COMMAND' or '\(name) COMMAND --help' shows a command's help.")]
        }
        if !configuration.discussion.isEmpty { lines += ["", paragraphs(configuration.discussion)] }
        return lines.joined(separator: "\n")
    }

    /// `text` reflowed to ``width``: a block (lines between blank lines) with no indented line is a
    /// paragraph, joined and wrapped; a block with indented lines (a table, a list, an example) is
    /// kept as written, and must fit ``width`` itself.
    static func paragraphs(_ text: String) -> String {
        var blocks: [[Substring]] = [[]]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy({ $0 == " " }) {
                blocks.append([])
            } else {
                blocks[blocks.count - 1].append(line)
            }
        }
        return blocks.filter { !$0.isEmpty }.map { block in
            if !block.contains(where: { $0.hasPrefix(" ") }) {
                return wrap(block.flatMap { $0.split(separator: " ").map(String.init) }, first: "", indent: "")
            }
            return block.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }

    /// Two columns: names padded to `column`, help wrapped beside them (under the name when the
    /// name is wider).
    static func table(_ rows: [(String, String)], column: Int) -> [String] {
        var lines: [String] = []
        for (name, help) in rows {
            let lead = "  " + name
            let indent = String(repeating: " ", count: column)
            let words = help.split(separator: " ").map(String.init)
            if lead.count + 2 > column {
                lines.append(lead)
                lines.append(wrap(words, first: indent.dropLast().description, indent: indent))
            } else {
                let first = lead + String(repeating: " ", count: column - lead.count - 1)
                lines.append(wrap(words, first: first, indent: indent))
            }
        }
        return lines
    }

    /// `words` after `first`, separated by spaces, continued on lines that start with `indent`.
    static func wrap(_ words: [String], first: String, indent: String) -> String {
        var lines: [String] = []
        var line = first
        for word in words {
            if line.count + 1 + word.count > width && line.count > indent.count {
                lines.append(line)
                line = indent + word
            } else {
                line += (line.isEmpty ? "" : " ") + word
            }
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }
}
