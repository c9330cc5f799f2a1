public import MeshCore
public import MeshCrypto
public import MeshWire

/// Why the transport could not do what was asked.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidAddress(String)
    /// Plaintext was asked for on a non-loopback address, or not explicitly allowed.
    case plaintextNotAllowed(String)
    case system(String, String)
    case connectTimedOut(SocketAddress)
    case connectFailed(SocketAddress, String)
    /// The peer refused our HELLO.
    case rejected(RejectReason, String)
    /// The handshake failed (TLS, preface, or a protocol violation).
    case handshakeFailed(String)
    case shutDown
    case tooManyConnections(Int)

    public var description: String {
        switch self {
        case .invalidAddress(let a): "invalid address \(a); use an IPv4 or IPv6 literal"
        case .plaintextNotAllowed(let a): "plaintext refused for \(a): it needs allowPlaintext and a loopback address"
        case .system(let call, let text): "\(call): \(text)"
        case .connectTimedOut(let a): "connecting to \(a) timed out"
        case .connectFailed(let a, let text): "connecting to \(a) failed: \(text)"
        case .rejected(let reason, let text): "the peer rejected our HELLO (\(reason)): \(text)"
        case .handshakeFailed(let text): "handshake failed: \(text)"
        case .shutDown: "the transport is shut down"
        case .tooManyConnections(let n): "the connection limit (\(n)) is reached"
        }
    }
}

/// Who this node is on the wire: what goes into HELLO and WELCOME.
public struct LocalIdentity: Sendable {
    public var nodeID: NodeID
    public var role: Role
    public var region: Region
    public var sectors: [Sector]
    public var listenAddress: NetAddress?
    public var incarnation: UInt64
    public var features: FeatureSet
    public var software: String
    /// The configured node name, sent in HELLO and WELCOME (tag 1); nil sends none.
    public var name: NodeName?

    public init(
        nodeID: NodeID, role: Role, region: Region, sectors: [Sector] = [], listenAddress: NetAddress? = nil,
        incarnation: UInt64 = 1, features: FeatureSet = .all, software: String = "computemesh-transport/1",
        name: NodeName? = nil
    ) {
        self.nodeID = nodeID
        self.role = role
        self.region = region
        self.sectors = sectors
        self.listenAddress = listenAddress
        self.incarnation = incarnation
        self.features = features
        self.software = software
        self.name = name
    }
}

/// Everything the transport needs to know, with a limit on everything.
public struct TransportConfiguration: Sendable {
    /// The TLS setup; nil means plaintext, which also needs ``allowPlaintext`` and loopback.
    public var tls: TLSSetup?
    /// Plaintext must be asked for explicitly (tests, local debugging), and is loopback-only.
    public var allowPlaintext = false
    public var identity: LocalIdentity
    /// Roles accepted from connecting peers.
    public var acceptedPeerRoles: [Role] = Role.allCases
    public var gate = ConnectionGate.Configuration()
    public var maxFrameBytes = WireLimits.defaultMaxFrameBytes
    /// Bytes queued for sending per connection before sends are refused.
    public var maxOutboundBytes = 8 << 20
    /// A connection whose queued bytes make no progress for this long is cut off.
    public var writeStallMilliseconds: UInt64 = 10_000
    /// From accept (or connect) to WELCOME.
    public var handshakeTimeoutMilliseconds: UInt64 = 5_000
    /// From the first byte of a frame to its last.
    public var partialFrameTimeoutMilliseconds: UInt64 = 10_000
    public var connectTimeoutMilliseconds: UInt64 = 5_000
    /// Connections in the handshake at once; more are closed on accept (handshake floods).
    public var maxHandshakesInProgress = 512
    public var maxConnections = 4_096
    public var keepAliveIdleSeconds = 30
    public var keepAliveIntervalSeconds = 10
    public var keepAliveProbeCount = 3
    public var tcpUserTimeoutMilliseconds = 30_000
    /// Whether a HELLO from a NodeID that already has an open inbound connection here is
    /// refused with REJECT duplicate-node (SPEC §8.1.4). On by default; load generators that open
    /// many connections under one identity turn it off.
    public var refusesDuplicateNodes = true
    /// How often the reactor checks deadlines.
    public var tickMilliseconds: UInt64 = 50
    /// Whether ``TransportEvent/frame(_:_:correlationID:frame:)`` carries each frame's raw bytes
    /// (one allocation and copy per frame). Off by default: owners act on the decoded message;
    /// relays and byte-level tests turn it on.
    public var keepsFrameBytes = false

    public init(identity: LocalIdentity, tls: TLSSetup?, allowPlaintext: Bool = false) {
        self.identity = identity
        self.tls = tls
        self.allowPlaintext = allowPlaintext
    }
}

/// TLS contexts for both directions and the trust they verify against.
public struct TLSSetup: Sendable {
    public var server: TLSContext
    public var client: TLSContext
    public var trust: FederationTrust

    public init(identity: TLSIdentity, trust: FederationTrust) throws(CryptoError) {
        server = try TLSContext(identity: identity, trust: trust, isServer: true)
        client = try TLSContext(identity: identity, trust: trust, isServer: false)
        self.trust = trust
    }
}

/// Identifies a connection for the life of a ``Transport``.
public struct ConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64
    /// Names a connection by the number the transport gave it (an owner that keeps its own
    /// numbering of links turns it back into an ID).
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (a: ConnectionID, b: ConnectionID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "c\(rawValue)" }
}

/// The peer of an open connection, as admitted.
public struct PeerInfo: Sendable, Equatable {
    public var nodeID: NodeID
    public var role: Role
    public var region: Region
    public var address: SocketAddress?
    /// Whether we accepted the connection (false: we connected).
    public var inbound: Bool
    /// The certificate binding when TLS is on.
    public var certificate: NodeBinding?
    /// Where the peer accepts connections: from its HELLO (inbound; absent for consoles) or the
    /// address we dialed (outbound).
    public var listenAddress: NetAddress? = nil
    /// The peer's membership incarnation from its HELLO or WELCOME.
    public var incarnation: UInt64 = 0
    /// The name the peer declared in its HELLO or WELCOME: self-declared, so a label only (the
    /// certificate binds the NodeID, role and region, not the name).
    public var name: NodeName? = nil
    /// The frame limit in force on the connection since WELCOME, in both directions (SPEC §8.2).
    public var maxFrameBytes: Int = WireLimits.defaultMaxFrameBytes
    /// The features in force on the connection (WELCOME's intersection).
    public var features: FeatureSet = .all
}

/// What the transport reports to its owner, on the reactor thread.
public enum TransportEvent: Sendable {
    /// HELLO/WELCOME completed.
    case opened(ConnectionID, PeerInfo)
    /// A frame from an open connection, decoded and admitted by the ``ConnectionGate``; `frame`
    /// holds its raw bytes when ``TransportConfiguration/keepsFrameBytes`` is on, else nil.
    case frame(ConnectionID, WireMessage, correlationID: UInt64, frame: Frame?)
    /// The connection closed; `reason` says why.
    case closed(ConnectionID, reason: String)
}

/// Send priority: control and liveness frames go ahead of bulk gossip and placement.
public enum SendPriority: Sendable {
    case control
    case bulk

    /// The priority for a message type: control and liveness ranges are `.control`.
    public static func of(_ type: MessageType) -> SendPriority {
        switch type.range {
        case .control, .liveness: .control
        case .gossip, .placement, .console, .reserved: .bulk
        }
    }
}

/// The result of a send.
public enum SendResult: Sendable, Equatable {
    case queued
    /// The connection's outbound queue is full (it will be cut off if it stays stalled).
    case queueFull
    case notOpen
}
