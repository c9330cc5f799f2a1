import MeshCore

/// Turns a command line into a command ready to run, its help, or its version.
///
/// Subcommand words are resolved first: while the current command has subcommands, the first
/// word that is not an option (nor an option's value) selects one. Everything else is parsed
/// against the selected command's arguments, wherever it stood, so that shared options may come
/// before or after the subcommand word (`meshctl console --node X status` and
/// `meshctl console status --node X` are the same).
struct CommandParser {
    let root: any ParsableCommand.Type
    let environment: [String: String]

    enum Outcome {
        case run(any ParsableCommand, path: [any ParsableCommand.Type])
        case help(path: [any ParsableCommand.Type])
        case version(String)
    }

    /// A command-line mistake, with the command it was found in.
    struct Failure: Error, @unchecked Sendable {
        var path: [any ParsableCommand.Type]
        var message: String
    }

    func parse(_ arguments: [String]) throws(Failure) -> Outcome {
        if arguments.first == "--version", let version = root.configuration.version { return .version(version) }
        var path: [any ParsableCommand.Type] = [root]
        var rest: [String] = []
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            let current = path[path.count - 1]
            let subcommands = current.configuration.subcommands
            if subcommands.isEmpty || token == "--" {
                rest += arguments[index...]
                break
            }
            if token.hasPrefix("-") && token != "-" {
                rest.append(token)
                index += 1
                if !token.contains("="), Self.optionTakesValue(token, under: current), index < arguments.count {
                    rest.append(arguments[index])
                    index += 1
                }
                continue
            }
            if let next = subcommands.first(where: { $0.configuration.commandName == token }) {
                path.append(next)
            } else if token == "help" {
                return .help(path: try helpPath(from: path, words: Array(arguments[(index + 1)...])))
            } else if Self.definitions(of: current).contains(where: { $0.kind == .positional || $0.kind == .remaining }) {
                rest.append(token)
            } else {
                let names = subcommands.map { $0.configuration.commandName }
                let hint = nearestName(to: token, among: names).map { "; did you mean '\($0)'?" } ?? ""
                throw Failure(
                    path: path, message: "unknown command '\(token)'\(hint) (commands: \(names.joined(separator: ", ")))")
            }
            index += 1
        }
        let leaf = path[path.count - 1]
        var command = leaf.init()
        let definitions = argumentDefinitions(of: command)
        let passthrough = definitions.contains { $0.kind == .remaining }
        if !passthrough, rest.prefix(while: { $0 != "--" }).contains(where: { $0 == "--help" || $0 == "-h" }) {
            return .help(path: path)
        }
        do {
            try fill(definitions, from: rest, path: path)
            try validateGroups(of: command)
            try command.validate()
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(path: path, message: String(describing: error))
        }
        return .run(command, path: path)
    }

    /// `help authority admit`: the path those words name.
    private func helpPath(
        from start: [any ParsableCommand.Type], words: [String]
    ) throws(Failure)
        -> [any ParsableCommand.Type]
    {
        var path = start
        for word in words {
            let subcommands = path[path.count - 1].configuration.subcommands
            guard let next = subcommands.first(where: { $0.configuration.commandName == word }) else {
                let names = subcommands.map { $0.configuration.commandName }
                let hint = nearestName(to: word, among: names).map { "; did you mean '\($0)'?" } ?? ""
                throw Failure(path: path, message: "no help for '\(word)'\(hint)")
            }
            path.append(next)
        }
        return path
    }

    /// Gives every token to the argument it belongs to, then the environment's values, then
    /// checks that every required argument was given.
    private func fill(
        _ definitions: [ArgumentDefinition], from tokens: [String], path: [any ParsableCommand.Type]
    )
        throws(Failure)
    {
        func fail(_ message: String) -> Failure { Failure(path: path, message: message) }
        func apply(_ definition: ArgumentDefinition, _ text: String, as spelled: String) throws(Failure) {
            do { try definition.apply(text) } catch let error as ArgumentValueError {
                throw fail("\(spelled) \(error)")
            } catch {
                throw fail("\(spelled): \(error)")
            }
        }
        let options = definitions.filter { $0.kind == .option || $0.kind == .flag }
        let positionals = definitions.filter { $0.kind == .positional || $0.kind == .remaining }
        var positionalIndex = 0
        var onlyPositionals = false
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            if !onlyPositionals && token == "--" {
                onlyPositionals = true
                continue
            }
            if onlyPositionals || !token.hasPrefix("-") || token == "-" {
                guard positionalIndex < positionals.count else {
                    let subcommands = path[path.count - 1].configuration.subcommands.map { $0.configuration.commandName }
                    let hint = nearestName(to: token, among: subcommands).map { "; did you mean '\($0)'?" } ?? ""
                    throw fail("unexpected argument '\(token)'\(hint)")
                }
                let positional = positionals[positionalIndex]
                if positional.kind == .remaining {
                    for text in tokens[(index - 1)...] { try apply(positional, text, as: positional.valueName) }
                    break
                }
                try apply(positional, token, as: positional.valueName)
                if !positional.isRepeatable { positionalIndex += 1 }
                continue
            }
            if let remaining = positionals.dropFirst(positionalIndex).first, remaining.kind == .remaining {
                for text in tokens[(index - 1)...] { try apply(remaining, text, as: remaining.valueName) }
                break
            }
            guard token.hasPrefix("--"), token.count > 2 else {
                throw fail("unknown option '\(token)'; options are spelled --name (--help lists them)")
            }
            var name = String(token.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = options.first(where: { $0.name == name }) else {
                let hint = nearestName(to: name, among: options.map(\.name)).map { "; did you mean '--\($0)'?" } ?? ""
                throw fail("unknown option '--\(name)'\(hint)")
            }
            if option.wasGiven() && !option.isRepeatable { throw fail("--\(name) given more than once; give it once") }
            if option.kind == .flag {
                if inline != nil { throw fail("--\(name) takes no value") }
                try apply(option, "", as: "--\(name)")
                continue
            }
            let value: String
            if let inline {
                value = inline
            } else if index < tokens.count, !tokens[index].hasPrefix("--") {
                value = tokens[index]
                index += 1
            } else {
                throw fail("--\(name) needs a value: --\(name) \(option.valueName)")
            }
            if value.isEmpty { throw fail("--\(name) needs a value, not an empty string") }
            try apply(option, value, as: "--\(name)")
        }
        for option in options where !option.wasGiven() {
            guard let variable = option.environment, let value = environment[variable], !value.isEmpty else { continue }
            try apply(option, value, as: "\(variable) (the default of --\(option.name))")
        }
        for definition in definitions where definition.isRequired && !definition.wasGiven() {
            switch definition.kind {
            case .option:
                let alternative = definition.environment.map { " (or set \($0))" } ?? ""
                throw fail("--\(definition.name) \(definition.valueName) is required\(alternative)")
            case .positional, .remaining:
                throw fail("\(definition.valueName) is required: \(definition.help)")
            case .flag:
                continue
            }
        }
    }

    /// The arguments `command` declares.
    static func definitions(of command: any ParsableCommand.Type) -> [ArgumentDefinition] {
        argumentDefinitions(of: command.init())
    }

    /// Whether `token` (`--name`) is an option with a value in `command` or any command below it:
    /// while subcommand words are being looked for, an option's value must not be taken for one.
    static func optionTakesValue(_ token: String, under command: any ParsableCommand.Type) -> Bool {
        let name = String(token.drop(while: { $0 == "-" }))
        if definitions(of: command).contains(where: { $0.kind == .option && $0.name == name }) { return true }
        return command.configuration.subcommands.contains { optionTakesValue(token, under: $0) }
    }
}
