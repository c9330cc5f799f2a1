/// The identity of a pool of compute: a path issued under its owning node's namespace.
///
/// Text form: `<owner node ID hex>/<segment>/<segment>…`, e.g. `3f2a…/gpu/a100-hall-2`. Only the
/// owner issues ComputeIDs under its namespace, so two nodes can never mint the same one, and the
/// owner is known from the ID alone (the single writer of the pool's reservations).
///
/// Together with ``ServiceID`` and ``ServiceInstanceID`` this follows IETF CATS: the service
/// identifier names *what* is offered independent of location; the instance identifier names one
/// place it is offered.
public struct ComputeID: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The most path segments below the owner.
    public static let maxSegments = 8
    /// The longest path segment, in bytes.
    public static let maxSegmentBytes = 63

    /// The node whose namespace issued this ID, and which owns the pool.
    public let owner: NodeID
    /// One or more validated segments below the owner.
    public let path: [String]

    /// Validates each segment against ``IdentifierGrammar``.
    public init(owner: NodeID, path: [String]) throws(VocabularyError) {
        if path.isEmpty {
            throw VocabularyError(what: "compute ID", input: owner.short + "/", reason: "needs at least one path segment")
        }
        if path.count > ComputeID.maxSegments {
            throw VocabularyError(
                what: "compute ID", input: path.joined(separator: "/"),
                reason: "has \(path.count) segments; the limit is \(ComputeID.maxSegments)")
        }
        for segment in path {
            try IdentifierGrammar.validate(segment, what: "compute ID segment", maxBytes: ComputeID.maxSegmentBytes)
        }
        self.owner = owner
        self.path = path
    }

    /// Wraps a path the caller has already checked (1 to ``maxSegments`` segments, each valid).
    package init(owner: NodeID, validatedPath path: [String]) {
        self.owner = owner
        self.path = path
    }

    /// Parses the text form `<64 hex>/<segment>[/<segment>…]`.
    public init(parsing text: String) throws(VocabularyError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else {
            throw VocabularyError(what: "compute ID", input: text, reason: "expected <owner node ID>/<segment>[/<segment>...]")
        }
        try self.init(owner: NodeID(hex: parts[0]), path: Array(parts.dropFirst()))
    }

    public var description: String { owner.hex + "/" + path.joined(separator: "/") }

    /// The path alone, for displays where the owner is already shown.
    public var localName: String { path.joined(separator: "/") }

    public static func < (lhs: ComputeID, rhs: ComputeID) -> Bool {
        if lhs.owner != rhs.owner { return lhs.owner < rhs.owner }
        return lhs.path.lexicographicallyPrecedes(rhs.path)
    }
}

/// A location-independent service identifier (CATS "CS-ID"), e.g. `train.llm` or `infer.vision`.
public struct ServiceID: Hashable, Comparable, Sendable, TextCodable, CustomStringConvertible {
    /// The longest service name, in bytes.
    public static let maxBytes = 64
    /// The validated name.
    public let name: String

    public init(_ name: String) throws(VocabularyError) {
        try IdentifierGrammar.validate(name, what: "service ID", maxBytes: ServiceID.maxBytes)
        self.name = name
    }

    /// Wraps a name the caller has already checked against the grammar.
    package init(validated name: String) { self.name = name }

    public var description: String { name }
    public static func < (lhs: ServiceID, rhs: ServiceID) -> Bool { lhs.name < rhs.name }
}

/// One instance of a service at one pool (CATS "CSCI-ID"): the service and where it runs.
public struct ServiceInstanceID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let service: ServiceID
    public let compute: ComputeID

    public init(service: ServiceID, compute: ComputeID) {
        self.service = service
        self.compute = compute
    }

    /// `<service>@<compute ID>`.
    public var description: String { "\(service)@\(compute)" }

    public static func < (lhs: ServiceInstanceID, rhs: ServiceInstanceID) -> Bool {
        (lhs.service, lhs.compute) < (rhs.service, rhs.compute)
    }
}

extension ComputeID {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(parsing: text) }

    /// The text form (see ``TextCodable``).
    public var text: String { description }
}

extension ServiceID {
    /// Parses the text form (see ``TextCodable``).
    public init(text: String) throws(VocabularyError) { try self.init(text) }

    /// The text form (see ``TextCodable``).
    public var text: String { name }
}
