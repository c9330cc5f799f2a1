/// A type a command-line value can be parsed into.
public protocol ExpressibleByArgument {
    /// Parses one value as typed, or nil when it is not one.
    init?(argument: String)
    /// What a value must look like, for the error when one is not: "a whole number".
    static var expectation: String { get }
}

extension String: ExpressibleByArgument {
    public init?(argument: String) { self = argument }
    public static var expectation: String { "a string" }
}

extension Int: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var expectation: String { "a whole number" }
}

extension UInt64: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var expectation: String { "a whole number" }
}

extension Double: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Double(argument), value.isFinite else { return nil }
        self = value
    }
    public static var expectation: String { "a number" }
}

/// Parses `text` as `T`, or throws the error that names the option and what was expected.
func parseValue<T: ExpressibleByArgument>(_ text: String, as _: T.Type, in range: ClosedRange<T>?) throws -> T
where T: Comparable {
    let bounds = range.map { " from \(plain($0.lowerBound)) to \(plain($0.upperBound))" } ?? ""
    guard let value = T(argument: text), range?.contains(value) ?? true else {
        throw ArgumentValueError("needs \(T.expectation)\(bounds), not '\(text)'")
    }
    return value
}

/// A bound as people write it: `600`, not `600.0`.
func plain(_ value: some Any) -> String {
    let text = "\(value)"
    return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
}

/// Parses `text` as `T`, or throws the error that says what was expected.
func parseValue<T: ExpressibleByArgument>(_ text: String, as _: T.Type) throws -> T {
    guard let value = T(argument: text) else { throw ArgumentValueError("needs \(T.expectation), not '\(text)'") }
    return value
}

/// A value that does not parse: the reason, without the option's name (the parser adds it).
public struct ArgumentValueError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    /// `reason` reads after the option's name: "--days needs a whole number, not 'abc'".
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// An enumeration of named values (`enum Scenario: String, CaseIterable`) parses from its raw
/// values; the error lists them.
extension ExpressibleByArgument where Self: CaseIterable & RawRepresentable, RawValue == String {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var expectation: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
}
