/// What a certificate lets its holder be in the federation.
///
/// The raw values are the wire encoding and are frozen.
public enum Role: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Owns most capacity, forms the backbone mesh and commits reservations on its own pools.
    case regional = 1
    /// Serves one sector: holds its tenants, may own sector pools and sends placement requests upward.
    case industry = 2
    /// An operator's debug console: may only use console messages.
    case operatorConsole = 3

    public var description: String {
        switch self {
        case .regional: "regional"
        case .industry: "industry"
        case .operatorConsole: "operator"
        }
    }

    /// Parses "regional", "industry" or "operator".
    public init(name: String) throws(VocabularyError) {
        switch name {
        case "regional": self = .regional
        case "industry": self = .industry
        case "operator", "console": self = .operatorConsole
        default: throw VocabularyError(what: "role", input: name, reason: "expected regional, industry or operator")
        }
    }
}

/// A region code such as `cn-east` or `cn-gd-shenzhen`: the area a regional node aggregates and
/// the data-residency zone of a pool.
public struct Region: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The longest region code, in bytes.
    public static let maxBytes = 32
    /// The validated code.
    public let code: String

    /// Validates `code` against ``IdentifierGrammar`` and ``maxBytes``.
    public init(_ code: String) throws(VocabularyError) {
        try IdentifierGrammar.validate(code, what: "region code", maxBytes: Region.maxBytes)
        self.code = code
    }

    /// Wraps a code the caller has already checked against the grammar (the wire decoder does,
    /// byte by byte); skips validating it a second time.
    package init(validated code: String) { self.code = code }

    public var description: String { code }
    public static func < (lhs: Region, rhs: Region) -> Bool { lhs.code < rhs.code }
}

/// An industry sector that industry nodes serve and pools may accept or refuse.
///
/// A sector is a validated name rather than a closed enum so that the federation can add sectors
/// without a new wire version; ``known`` lists the sectors this release recognises, and policy
/// layers refuse names outside it with a clear error.
public struct Sector: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The longest sector name, in bytes.
    public static let maxBytes = 32
    /// The validated name.
    public let name: String

    /// Validates `name` against ``IdentifierGrammar`` and ``maxBytes``.
    public init(_ name: String) throws(VocabularyError) {
        try IdentifierGrammar.validate(name, what: "sector", maxBytes: Sector.maxBytes)
        self.name = name
    }

    private init(known name: String) { self.name = name }

    /// Wraps a name the caller has already checked against the grammar.
    package init(validated name: String) { self.name = name }

    public static let manufacturing = Sector(known: "manufacturing")
    public static let finance = Sector(known: "finance")
    public static let healthcare = Sector(known: "healthcare")
    public static let energy = Sector(known: "energy")
    public static let transport = Sector(known: "transport")
    public static let education = Sector(known: "education")
    public static let government = Sector(known: "government")
    public static let research = Sector(known: "research")
    public static let telecom = Sector(known: "telecom")
    public static let media = Sector(known: "media")
    public static let agriculture = Sector(known: "agriculture")
    public static let retail = Sector(known: "retail")

    /// The sectors this release recognises, sorted by name.
    public static let known: [Sector] = [
        .agriculture, .education, .energy, .finance, .government, .healthcare, .manufacturing, .media,
        .research, .retail, .telecom, .transport,
    ]

    /// Whether this release recognises the sector.
    public var isKnown: Bool { Sector.known.contains(self) }

    public var description: String { name }
    public static func < (lhs: Sector, rhs: Sector) -> Bool { lhs.name < rhs.name }
}

extension Region {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(text) }

    /// The text form (see ``TextCodable``).
    public var text: String { code }
}

extension Sector {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(text) }

    /// The text form (see ``TextCodable``).
    public var text: String { name }
}
