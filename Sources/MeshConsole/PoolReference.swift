public import MeshCore

/// A pool as an operator types it after reading a table: the full compute ID
/// (`<64 hex>/a100`), the owner's name and the pool's local name (`north-1/a100`), the owner's
/// short ID or any unambiguous prefix of its ID of at least 6 hex digits (`3f2a9c/a100`), or the
/// local name alone when only one candidate has it (`a100`).
public struct PoolReference: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var description: String { text }

    /// The one pool among `candidates` this reference names.
    ///
    /// - Throws: ``PoolReferenceError`` naming the candidates when none or several match.
    public func resolve(among candidates: [ComputeID], names: NodeDirectory) throws(PoolReferenceError) -> ComputeID {
        if let exact = try? ComputeID(parsing: text), candidates.contains(exact) { return exact }
        let matching = candidates.filter { refersTo($0, names: names) }
        if matching.count == 1 { return matching[0] }
        let listed = candidates.map { names.pool($0) }
        if matching.isEmpty { throw PoolReferenceError(reference: text, reason: .noMatch, candidates: listed) }
        throw PoolReferenceError(reference: text, reason: .ambiguous, candidates: matching.map { names.pool($0) })
    }

    private func refersTo(_ pool: ComputeID, names: NodeDirectory) -> Bool {
        guard let slash = text.firstIndex(of: "/") else { return pool.localName == text }
        let owner = String(text[..<slash])
        let local = String(text[text.index(after: slash)...])
        guard pool.localName == local else { return false }
        if names.name(of: pool.owner)?.name == owner { return true }
        let hex = owner.lowercased()
        return hex.count >= 6 && hex.allSatisfy(\.isHexDigit) && pool.owner.hex.hasPrefix(hex)
    }
}

/// A pool reference that names no candidate, or several.
public struct PoolReferenceError: Error, CustomStringConvertible, Equatable {
    public enum Reason: Sendable, Equatable {
        case noMatch, ambiguous
    }
    public var reference: String
    public var reason: Reason
    /// The candidates, as the tables print them.
    public var candidates: [String]

    public var description: String {
        switch reason {
        case .noMatch:
            let listed = candidates.isEmpty ? "it considered no pool" : "its candidates: " + candidates.joined(separator: ", ")
            return "'\(reference)' names no candidate of this request; \(listed)"
        case .ambiguous:
            return "'\(reference)' names several candidates (\(candidates.joined(separator: ", "))); write OWNER/POOL"
        }
    }
}
