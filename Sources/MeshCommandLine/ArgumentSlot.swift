/// What one declared argument is, as the parser and the help see it.
struct ArgumentDefinition {
    enum Kind {
        /// `--name VALUE` (or `--name=VALUE`).
        case option
        /// `--name`, no value.
        case flag
        /// A positional value.
        case positional
        /// Every remaining token, options included, verbatim (a passthrough to another parser).
        case remaining
    }
    var kind: Kind
    /// Options and flags: the long name without dashes. Positionals: the property's name.
    var name: String
    var help: String
    /// `DIR`, `N`, `FILE`: shown in the usage and the help.
    var valueName: String
    /// An environment variable giving the value when the command line does not.
    var environment: String?
    var isRequired: Bool
    var isRepeatable: Bool
    /// Receives one value as typed (options, positionals) or the flag's presence ("").
    var apply: (String) throws -> Void
    /// Whether the command line (or the environment) gave a value.
    var wasGiven: () -> Bool

    /// `--days N`, `--force`, `DIR`, `DIR...`.
    var synopsis: String {
        switch kind {
        case .option: "--\(name) \(valueName)"
        case .flag: "--\(name)"
        case .positional: isRepeatable ? "\(valueName)..." : valueName
        case .remaining: "\(valueName)..."
        }
    }
}

/// A property wrapper the parser can find by reflection and fill in.
protocol ArgumentSlot {
    /// The definition of this argument, named after the property `label` unless the declaration
    /// gave a name.
    func definition(label: String) -> ArgumentDefinition
}

/// `@OptionGroup`: its arguments are parsed as if declared in the command itself.
protocol ArgumentGroupSlot {
    var group: any ParsableArguments { get }
}

/// The storage of one wrapper: a reference, so that the parser fills in the instance the command
/// runs with. Written only while parsing, on the thread that parses, before the command runs;
/// read-only afterwards, which is what makes sharing it across threads safe.
final class ArgumentStorage<Value>: @unchecked Sendable {
    var value: Value?
    var given = false
    init(_ value: Value?) { self.value = value }
}

/// `dataDirectory` → `data-directory`.
func kebabCase(_ label: String) -> String {
    var name = label.hasPrefix("_") ? String(label.dropFirst()) : label
    var out = ""
    for character in name {
        if character.isUppercase {
            out += "-" + character.lowercased()
        } else {
            out.append(character)
        }
    }
    name = out
    return name
}

/// Collects the arguments `value` declares, in declaration order, groups flattened.
func argumentDefinitions(of value: any ParsableArguments) -> [ArgumentDefinition] {
    var definitions: [ArgumentDefinition] = []
    for child in Mirror(reflecting: value).children {
        guard let label = child.label else { continue }
        if let slot = child.value as? any ArgumentSlot {
            definitions.append(slot.definition(label: kebabCase(label)))
        } else if let group = child.value as? any ArgumentGroupSlot {
            definitions += argumentDefinitions(of: group.group)
        }
    }
    return definitions
}

/// Runs `validate()` of every `@OptionGroup` inside `value`, innermost first.
func validateGroups(of value: any ParsableArguments) throws {
    for child in Mirror(reflecting: value).children {
        guard let group = child.value as? any ArgumentGroupSlot else { continue }
        var inner = group.group
        try validateGroups(of: inner)
        try inner.validate()
    }
}
