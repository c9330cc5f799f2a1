public import MeshCore
public import MeshMembership
public import MeshPlacement
public import MeshWire

// The one road into a node and the one road out (DESIGN.md §2): every input a ``NodeCore`` takes
// and every directive it returns. The daemon's shell and the simulator produce the same inputs and
// interpret the same directives; neither decides anything a directive does not say.

/// A console session (one operator connection), numbered by the shell.
public struct SessionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "console-\(rawValue)" }
}

/// The terms a console session was opened on (SPEC §8.2): every answer the node sends it fits
/// `maxFrameBytes`, and only features in `features` are used.
public struct SessionTerms: Hashable, Sendable {
    public var maxFrameBytes: Int
    public var features: FeatureSet

    public init(maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes, features: FeatureSet = .all) {
        self.maxFrameBytes = maxFrameBytes
        self.features = features
    }
}

/// What the handshake proved about a peer node: who it is, its role and its region.
public struct PeerCredentials: Hashable, Sendable {
    public var node: NodeID
    public var role: Role
    public var region: Region

    public init(node: NodeID, role: Role, region: Region) {
        self.node = node
        self.role = role
        self.region = region
    }
}

/// Why a node dials an address whose node it does not know yet.
public enum ConnectPurpose: Hashable, Sendable {
    /// A seed of this node's region: join through it.
    case seed
    /// A regional node of another region (configured backbone): summaries and spillover.
    case backbone
}

/// A link to a peer node, as the shell reports it when the handshake completed.
public struct PeerLink: Hashable, Sendable {
    public var peer: PeerCredentials
    /// The address the peer announced in HELLO (where it listens), if any.
    public var listenAddress: NetAddress?
    public var incarnation: UInt64
    /// The address this node dialled and why, for links this node opened to a seed or backbone
    /// address (nil for accepted links and for dials to known members).
    public var dialed: NetAddress?
    public var purpose: ConnectPurpose?
    /// The name the peer declared in HELLO or WELCOME, if any: a label, never proof of anything.
    public var name: NodeName?

    public init(
        peer: PeerCredentials, listenAddress: NetAddress?, incarnation: UInt64, dialed: NetAddress? = nil,
        purpose: ConnectPurpose? = nil, name: NodeName? = nil
    ) {
        self.peer = peer
        self.listenAddress = listenAddress
        self.incarnation = incarnation
        self.dialed = dialed
        self.purpose = purpose
        self.name = name
    }
}

/// Everything that happens to a node, in the order it happens.
public enum NodeInput: Hashable, Sendable {
    /// Time passed (the shell calls at the instant of the last ``NodeDirective/scheduleTick(at:)``).
    case tick
    /// A link to a peer opened.
    case peerLinked(PeerLink)
    /// The last link to a peer closed.
    case peerUnlinked(NodeID)
    /// A seed or backbone address could not be reached.
    case connectFailed(NetAddress, ConnectPurpose, ProbeFailure)
    /// A frame from a peer node (or from this node to itself: self-addressed messages take the
    /// same queue as everyone else's). The shell has already checked a REVOCATION_LIST's signature.
    case peerMessage(WireMessage, from: PeerCredentials)
    /// Messages to a peer were dropped because it could not be reached (a failed dial).
    case unreachable(NodeID, ProbeFailure, dropped: [WireMessage])
    /// An operator console connected or went away.
    case sessionOpened(SessionID, operator: NodeID, terms: SessionTerms = SessionTerms())
    case sessionClosed(SessionID)
    /// A request from a console session.
    case consoleRequest(WireMessage, correlationID: UInt64, session: SessionID)
    /// Every persist directive with a token up to this one is durable.
    case committed(through: UInt64)
    /// A persist directive could not be made durable.
    case commitFailed(token: UInt64, reason: String)
    /// A revocation list read from the node's configured file (its signature checked).
    case revocations(RevocationList)
    /// Leave the mesh, let placements in flight finish, then report ``NodeDirective/drained``.
    /// The configuration was read again (SIGHUP): pools new or changed in it are registered and
    /// published; the others stay as they are.
    case reload(pools: [PoolSpec])
    case stop
}

/// How much a log line matters.
public enum NodeLogLevel: Int, Hashable, Sendable, Comparable {
    case debug, info, warning, error
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A log line a node's core asks its shell to write, with the peer or request it concerns.
public struct NodeLog: Hashable, Sendable {
    public var level: NodeLogLevel
    public var message: String
    public var peer: NodeID?
    public var request: RequestID?

    public init(_ level: NodeLogLevel, _ message: String, peer: NodeID? = nil, request: RequestID? = nil) {
        self.level = level
        self.message = message
        self.peer = peer
        self.request = request
    }
}

/// What a ``NodeCore`` asks its shell to do, in order. Exhaustive: shells switch without
/// `default:`.
public enum NodeDirective: Hashable, Sendable {
    /// Send `message` to a node over its link (dialling `address`, or its known address, when
    /// there is none), in `lane`. A message to this node itself comes back as a ``NodeInput/peerMessage(_:from:)``.
    case send(WireMessage, to: NodeID, address: NetAddress?, lane: Lane)
    /// Answer a console request.
    case answer(WireMessage, correlationID: UInt64, session: SessionID)
    /// Send a console an unsolicited frame (EVENT).
    case push(WireMessage, session: SessionID)
    /// Dial an address whose node is not known yet.
    case connect(NetAddress, ConnectPurpose)
    /// Close every link to a node.
    case disconnect(NodeID, reason: String)
    /// Make a batch durable; answer ``NodeInput/committed(through:)`` (or `commitFailed`) with
    /// `token`. Tokens grow by one; batches MUST become durable in token order.
    case persist(PersistBatch, token: UInt64)
    /// Hand a newer revocation list to the transport, which refuses revoked certificates.
    case applyRevocations(RevocationList)
    /// Send GOAWAY on every link: this node is stopping.
    case goAway(reason: String)
    case log(NodeLog)
    /// Something happened that observers may want (membership changes, records learned): a
    /// shell may count or ignore it; consoles get events through ``push(_:session:)``.
    case emit(NodeEvent)
    /// Deliver ``NodeInput/tick`` at this instant (replaces any earlier request). Every step ends
    /// with one.
    case scheduleTick(at: MeshInstant)
    /// Stop the process now with this exit status: the node cannot go on (a commit failed).
    case halt(exitCode: Int32, reason: String)
    /// A stop finished: nothing is in flight any more; the shell may shut down.
    case drained
}
