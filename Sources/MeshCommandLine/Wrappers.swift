/// `--name VALUE`: an option of a command. Declared as a property; the property's name in kebab
/// case is the option's name unless `name` is given.
///
/// - `@Option(help:) var region: String`: required.
/// - `@Option(help:) var days = 365`: with a default.
/// - `@Option(help:) var out: String?`: optional.
/// - `@Option(help:) var sector: [String]`: repeatable, each occurrence appended.
/// - `range:` bounds a number; `transform:` parses any other type and throws
///   ``ArgumentValueError`` with the reason.
/// A non-repeatable option given twice is an error: the second value would silently win.
@propertyWrapper
public struct Option<Value>: ArgumentSlot, @unchecked Sendable {
    let storage: ArgumentStorage<Value>
    let name: String?
    let help: String
    let valueName: String
    let environment: String?
    let isRequired: Bool
    let isRepeatable: Bool
    let parse: (String, Value?) throws -> Value

    public var wrappedValue: Value {
        get {
            guard let value = storage.value else {
                preconditionFailure("option --\(name ?? "?") read before parsing (a required option the parser did not check)")
            }
            return value
        }
        set { storage.value = newValue }
    }

    init(
        initial: Value?, name: String?, help: String, valueName: String, environment: String?, isRequired: Bool,
        isRepeatable: Bool, parse: @escaping (String, Value?) throws -> Value
    ) {
        storage = ArgumentStorage(initial)
        self.name = name
        self.help = help
        self.valueName = valueName
        self.environment = environment
        self.isRequired = isRequired
        self.isRepeatable = isRepeatable
        self.parse = parse
    }

    func definition(label: String) -> ArgumentDefinition {
        let storage = storage
        let parse = parse
        return ArgumentDefinition(
            kind: .option, name: name ?? label, help: help, valueName: valueName, environment: environment,
            isRequired: isRequired, isRepeatable: isRepeatable,
            apply: { text in
                storage.value = try parse(text, storage.given ? storage.value : nil)
                storage.given = true
            }, wasGiven: { storage.given })
    }
}

extension Option where Value: ExpressibleByArgument {
    /// A required option.
    public init(name: String? = nil, help: String, valueName: String = "VALUE", environment: String? = nil) {
        self.init(
            initial: nil, name: name, help: help, valueName: valueName, environment: environment, isRequired: true,
            isRepeatable: false, parse: { text, _ in try parseValue(text, as: Value.self) })
    }

    /// An option with a default.
    public init(
        wrappedValue: Value, name: String? = nil, help: String, valueName: String = "VALUE", environment: String? = nil
    ) {
        self.init(
            initial: wrappedValue, name: name, help: help, valueName: valueName, environment: environment, isRequired: false,
            isRepeatable: false, parse: { text, _ in try parseValue(text, as: Value.self) })
    }
}

extension Option where Value: ExpressibleByArgument & Comparable {
    /// A number with a default, bounded by `range`.
    public init(wrappedValue: Value, name: String? = nil, help: String, valueName: String = "N", range: ClosedRange<Value>) {
        self.init(
            initial: wrappedValue, name: name, help: help, valueName: valueName, environment: nil, isRequired: false,
            isRepeatable: false, parse: { text, _ in try parseValue(text, as: Value.self, in: range) })
    }
}

extension Option {
    /// An optional option: nil when absent.
    public init<T: ExpressibleByArgument>(
        name: String? = nil, help: String, valueName: String = "VALUE", environment: String? = nil
    ) where Value == T? {
        self.init(
            initial: .some(nil), name: name, help: help, valueName: valueName, environment: environment, isRequired: false,
            isRepeatable: false, parse: { text, _ in try parseValue(text, as: T.self) })
    }

    /// An optional number bounded by `range`: nil when absent.
    public init<T: ExpressibleByArgument & Comparable>(
        name: String? = nil, help: String, valueName: String = "N", range: ClosedRange<T>
    ) where Value == T? {
        self.init(
            initial: .some(nil), name: name, help: help, valueName: valueName, environment: nil, isRequired: false,
            isRepeatable: false, parse: { text, _ in try parseValue(text, as: T.self, in: range) })
    }

    /// An optional option of any type, parsed by `transform`: nil when absent.
    public init<T>(
        name: String? = nil, help: String, valueName: String = "VALUE", environment: String? = nil,
        transform: @escaping (String) throws -> T
    ) where Value == T? {
        self.init(
            initial: .some(nil), name: name, help: help, valueName: valueName, environment: environment, isRequired: false,
            isRepeatable: false, parse: { text, _ in try transform(text) })
    }

    /// A required option of any type, parsed by `transform`.
    public init(
        name: String? = nil, help: String, valueName: String = "VALUE", environment: String? = nil,
        transform: @escaping (String) throws -> Value
    ) {
        self.init(
            initial: nil, name: name, help: help, valueName: valueName, environment: environment, isRequired: true,
            isRepeatable: false, parse: { text, _ in try transform(text) })
    }

    /// A repeatable option: every occurrence appended, empty when absent.
    public init<T: ExpressibleByArgument>(name: String? = nil, help: String, valueName: String = "VALUE")
    where Value == [T] {
        self.init(
            initial: [], name: name, help: help, valueName: valueName, environment: nil, isRequired: false,
            isRepeatable: true, parse: { text, previous in (previous ?? []) + [try parseValue(text, as: T.self)] })
    }
}

/// `--name`: a flag, false unless given.
@propertyWrapper
public struct Flag: ArgumentSlot, @unchecked Sendable {
    let storage: ArgumentStorage<Bool>
    let name: String?
    let help: String

    public var wrappedValue: Bool {
        get { storage.value ?? false }
        set { storage.value = newValue }
    }

    public init(wrappedValue: Bool = false, name: String? = nil, help: String) {
        storage = ArgumentStorage(wrappedValue)
        self.name = name
        self.help = help
    }

    func definition(label: String) -> ArgumentDefinition {
        let storage = storage
        return ArgumentDefinition(
            kind: .flag, name: name ?? label, help: help, valueName: "", environment: nil, isRequired: false,
            isRepeatable: false,
            apply: { _ in
                storage.value = true
                storage.given = true
            }, wasGiven: { storage.given })
    }
}

/// How a positional argument takes tokens.
public enum ArgumentParsing: Sendable {
    /// One token (or, for an array, every remaining positional token).
    case positional
    /// Every token from here on, options included, verbatim: a passthrough to another parser.
    case remaining
}

/// A positional argument, in declaration order.
@propertyWrapper
public struct Argument<Value>: ArgumentSlot, @unchecked Sendable {
    let storage: ArgumentStorage<Value>
    let help: String
    let valueName: String
    let isRequired: Bool
    let isRepeatable: Bool
    let parsing: ArgumentParsing
    let parse: (String, Value?) throws -> Value

    public var wrappedValue: Value {
        get {
            guard let value = storage.value else {
                preconditionFailure("argument \(valueName) read before parsing (a required argument the parser did not check)")
            }
            return value
        }
        set { storage.value = newValue }
    }

    init(
        initial: Value?, help: String, valueName: String, isRequired: Bool, isRepeatable: Bool, parsing: ArgumentParsing,
        parse: @escaping (String, Value?) throws -> Value
    ) {
        storage = ArgumentStorage(initial)
        self.help = help
        self.valueName = valueName
        self.isRequired = isRequired
        self.isRepeatable = isRepeatable
        self.parsing = parsing
        self.parse = parse
    }

    func definition(label: String) -> ArgumentDefinition {
        let storage = storage
        let parse = parse
        return ArgumentDefinition(
            kind: parsing == .remaining ? .remaining : .positional, name: label, help: help, valueName: valueName,
            environment: nil, isRequired: isRequired, isRepeatable: isRepeatable,
            apply: { text in
                storage.value = try parse(text, storage.given ? storage.value : nil)
                storage.given = true
            }, wasGiven: { storage.given })
    }
}

extension Argument where Value: ExpressibleByArgument {
    /// A required positional argument.
    public init(help: String, valueName: String) {
        self.init(
            initial: nil, help: help, valueName: valueName, isRequired: true, isRepeatable: false, parsing: .positional,
            parse: { text, _ in try parseValue(text, as: Value.self) })
    }
}

extension Argument {
    /// An optional positional argument: nil when absent.
    public init<T: ExpressibleByArgument>(help: String, valueName: String) where Value == T? {
        self.init(
            initial: .some(nil), help: help, valueName: valueName, isRequired: false, isRepeatable: false,
            parsing: .positional, parse: { text, _ in try parseValue(text, as: T.self) })
    }

    /// A required positional argument of any type, parsed by `transform`.
    public init(help: String, valueName: String, transform: @escaping (String) throws -> Value) {
        self.init(
            initial: nil, help: help, valueName: valueName, isRequired: true, isRepeatable: false, parsing: .positional,
            parse: { text, _ in try transform(text) })
    }

    /// Every remaining positional token (`.positional`), or every remaining token verbatim
    /// (`.remaining`); empty when there are none.
    public init(help: String, valueName: String, parsing: ArgumentParsing = .positional) where Value == [String] {
        self.init(
            initial: [], help: help, valueName: valueName, isRequired: false, isRepeatable: true, parsing: parsing,
            parse: { text, previous in (previous ?? []) + [text] })
    }
}

/// Options declared once in a ``ParsableArguments`` type and shared by several commands; parsed
/// as if declared in the command itself, and validated before it.
@propertyWrapper
public struct OptionGroup<Value: ParsableArguments>: ArgumentGroupSlot {
    public var wrappedValue: Value
    public init() { wrappedValue = Value() }
    var group: any ParsableArguments { wrappedValue }
}

extension OptionGroup: Sendable where Value: Sendable {}
