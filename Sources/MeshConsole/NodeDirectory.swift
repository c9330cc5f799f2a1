public import MeshCore
public import MeshWire

/// The names of the nodes an answer mentions, for people: every table shows a node as its name
/// beside its short ID, and every short form a table prints is accepted back
/// (``PoolReference``).
///
/// Names are self-declared labels (SPEC §5.1.7): they help people read, they never identify. A
/// node whose name is not known is shown by its short ID alone.
public struct NodeDirectory: Sendable, Equatable {
    private var names: [NodeID: NodeName] = [:]

    public init() {}

    /// A directory of `entries` (a console answer's name directory).
    public init(_ entries: [NamedNode]) {
        for entry in entries { names[entry.node] = entry.name }
    }

    /// Adds or replaces one node's name.
    public mutating func add(_ node: NodeID, _ name: NodeName?) {
        guard let name else { return }
        names[node] = name
    }

    /// Adds every entry of `other`.
    public mutating func merge(_ entries: [NamedNode]) {
        for entry in entries { names[entry.node] = entry.name }
    }

    /// The node's name, if known.
    public func name(of node: NodeID) -> NodeName? { names[node] }

    /// `north-1`, or the short ID when the name is not known: the shortest unambiguous label.
    public func label(_ node: NodeID) -> String { names[node]?.name ?? node.short }

    /// `north-1 (3f2a9c1d4e5f)`, or the short ID alone: a node named in a sentence.
    public func labelWithID(_ node: NodeID) -> String {
        names[node].map { "\($0.name) (\(node.short))" } ?? node.short
    }

    /// `north-1/a100`, or `3f2a9c1d4e5f/a100`: a pool as tables print it, and as `--pool` takes it.
    public func pool(_ id: ComputeID) -> String { "\(label(id.owner))/\(id.localName)" }

    /// Every named node, in NodeID order (for JSON).
    public var entries: [NamedNode] {
        names.keys.sorted().map { NamedNode(node: $0, name: names[$0]!) }
    }
}

extension Status {
    /// The answering node's own name, as a directory entry.
    public var directory: NodeDirectory {
        var directory = NodeDirectory()
        directory.add(nodeID, name)
        return directory
    }
}

extension Array where Element == MemberRow {
    /// The members' names.
    public var directory: NodeDirectory {
        var directory = NodeDirectory()
        for row in self { directory.add(row.update.node, row.update.name) }
        return directory
    }
}
