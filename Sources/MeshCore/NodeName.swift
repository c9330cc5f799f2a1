/// A node's human name, e.g. `north-1`: what an operator configured (`name`, `MESH_NAME`) and
/// what consoles show beside the short NodeID.
///
/// A name is a **label, not an identity**: the node declares it itself (certificates do not bind
/// it), two nodes may declare the same one, and nothing is authorised by it. Identity and
/// authorisation stay on ``NodeID``s. The one rule for a name, in configuration files and on the
/// wire (SPEC §5.1.7), is ``IdentifierGrammar`` with at most ``maxBytes`` bytes.
public struct NodeName: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The longest name, in bytes (a DNS label's limit, so a name can be a host name too).
    public static let maxBytes = 63
    /// The validated name.
    public let name: String

    /// Validates `name` against ``IdentifierGrammar`` and ``maxBytes``.
    public init(_ name: String) throws(VocabularyError) {
        try IdentifierGrammar.validate(name, what: "node name", maxBytes: NodeName.maxBytes)
        self.name = name
    }

    /// Wraps a name the caller has already checked against the grammar (the wire decoder does,
    /// byte by byte); skips validating it a second time.
    package init(validated name: String) { self.name = name }

    public var description: String { name }
    public static func < (lhs: NodeName, rhs: NodeName) -> Bool { lhs.name < rhs.name }

    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(text) }

    /// The text form (see ``TextCodable``).
    public var text: String { name }
}

/// A node and the name it declared: one entry of the name directory that console answers carry
/// beside the rows that mention nodes (SPEC §5.4.22).
public struct NamedNode: Hashable, Sendable, Codable {
    public var node: NodeID
    public var name: NodeName

    public init(node: NodeID, name: NodeName) {
        self.node = node
        self.name = name
    }
}
