/// Where a node listens: a host (IP literal or DNS name) and a TCP port.
public struct NetAddress: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The longest host, in bytes (a DNS name's limit).
    public static let maxHostBytes = 253

    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses `host:port` or `[v6-host]:port`, refusing an empty or over-long host and a bad port.
    public init(parsing text: String) throws(VocabularyError) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw VocabularyError(what: "address", input: text, reason: "expected [host]:port")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw VocabularyError(what: "address", input: text, reason: "expected host:port, e.g. 127.0.0.1:7400")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host.isEmpty || host.utf8.count > NetAddress.maxHostBytes {
            throw VocabularyError(what: "address", input: text, reason: "the host must be 1 to \(NetAddress.maxHostBytes) bytes")
        }
        guard let port = UInt16(portText) else {
            throw VocabularyError(what: "address", input: text, reason: "the port must be a number from 0 to 65535")
        }
        self.init(host: String(host), port: port)
    }

    public static func < (lhs: NetAddress, rhs: NetAddress) -> Bool { (lhs.host, lhs.port) < (rhs.host, rhs.port) }
}

/// A member's liveness state as SWIM disseminates it. Raw values are the wire codes.
public enum MemberStatus: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case alive = 1
    case suspect = 2
    case dead = 3
    /// Left gracefully: not a failure, and not to be probed again.
    case left = 4

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

/// One membership fact, piggybacked on liveness messages: node N at incarnation I is S.
public struct MemberUpdate: Hashable, Sendable, Codable {
    public var node: NodeID
    public var address: NetAddress
    public var role: Role
    public var region: Region
    public var incarnation: UInt64
    public var status: MemberStatus
    /// On a suspect fact, the member whose own failed probe raised this suspicion (memberlist's
    /// `From`); relays copy it unchanged, so only distinct suspecters count as Lifeguard
    /// confirmations, never distinct relayers of one suspicion. Nil on every other status, and on
    /// suspicions from peers that predate the field (wire tag 0 of MemberUpdate, SPEC §5.4.6).
    public var suspectedBy: NodeID?
    /// The name the member declared for itself (wire tag 1 of MemberUpdate, SPEC §5.4.6): a label
    /// for consoles, never an identity. Nil when unknown (a peer that predates the field). A
    /// member sets it on its own facts; others copy it unchanged, and a fact that arrives without
    /// one keeps the name already held for that member.
    public var name: NodeName?

    public init(
        node: NodeID, address: NetAddress, role: Role, region: Region, incarnation: UInt64, status: MemberStatus,
        suspectedBy: NodeID? = nil, name: NodeName? = nil
    ) {
        self.node = node
        self.address = address
        self.role = role
        self.region = region
        self.incarnation = incarnation
        self.status = status
        self.suspectedBy = suspectedBy
        self.name = name
    }

    /// The same fact without a suspecter: what a non-suspect fact derived from this one carries.
    public var withoutSuspecter: MemberUpdate {
        var copy = self
        copy.suspectedBy = nil
        return copy
    }
}
