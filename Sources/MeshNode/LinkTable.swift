public import MeshCore
public import MeshMembership
public import MeshWire

/// A connection as the daemon's shell numbers it (the transport's connection ID).
public struct LinkID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "link-\(rawValue)" }
}

/// What the daemon's shell does with its transport on a ``LinkTable``'s word.
public enum LinkAction: Hashable, Sendable {
    case send(WireMessage, correlationID: UInt64, on: LinkID, respondsToRequest: Bool)
    case dial(NetAddress)
    case close(LinkID, reason: String)
    case goAway(LinkID, reason: String)
    /// An input for this node's own core (a message it sent itself), through the same queue as
    /// every other input.
    case loopback(NodeInput)
    case log(NodeLog)
}

/// Which connection carries what, in the daemon: the pure bookkeeping between the transport's
/// connections and a ``NodeCore``, which speaks of nodes and console sessions only.
///
/// A node's first open link carries its frames (another takes over when it closes); a frame for a
/// node without a link waits (at most ``maxPendingPerPeer``, oldest dropped first) while the table
/// dials the node's address, and a failed dial hands what waited back to the core as
/// ``NodeInput/unreachable(_:_:dropped:)``. Links from operator consoles are console sessions. The
/// simulator has no connections; it produces the same node inputs from its network model.
public struct LinkTable: Sendable {
    public let identity: NodeIdentity
    /// Addresses of this node itself (its listen address, the address it advertises): never dialled.
    public let ownAddresses: [NetAddress]
    public let maxPendingPerPeer: Int

    struct Link: Sendable {
        var peer: PeerCredentials
        var console: Bool
    }

    enum Dial: Hashable, Sendable {
        case purpose(ConnectPurpose)
        case member(NodeID)
    }

    var links: [LinkID: Link] = [:]
    /// The link that carries each node's frames.
    var preferred: [NodeID: LinkID] = [:]
    var pending: [NodeID: [WireMessage]] = [:]
    var dialing: [NetAddress: Dial] = [:]

    public init(identity: NodeIdentity, ownAddresses: [NetAddress], maxPendingPerPeer: Int = 256) {
        self.identity = identity
        self.ownAddresses = ownAddresses
        self.maxPendingPerPeer = maxPendingPerPeer
    }

    public var linkedNodes: [NodeID] { preferred.keys.sorted() }
    public var openLinks: Int { links.count }

    // MARK: - Transport events

    /// A connection finished its handshake. For a connection this node opened, `listenAddress`
    /// is the address it dialled; `name` is what the peer's HELLO or WELCOME declared.
    public mutating func opened(
        _ id: LinkID, peer: PeerCredentials, listenAddress: NetAddress?, incarnation: UInt64, inbound: Bool,
        name: NodeName? = nil, terms: SessionTerms = SessionTerms()
    ) -> (inputs: [NodeInput], actions: [LinkAction]) {
        if peer.role == .operatorConsole {
            links[id] = Link(peer: peer, console: true)
            return ([.sessionOpened(SessionID(id.rawValue), operator: peer.node, terms: terms)], [])
        }
        links[id] = Link(peer: peer, console: false)
        var purpose: ConnectPurpose? = nil
        var dialed: NetAddress? = nil
        if !inbound, let address = listenAddress, let dial = dialing.removeValue(forKey: address) {
            dialed = address
            if case .purpose(let p) = dial { purpose = p }
        }
        var actions: [LinkAction] = []
        if preferred[peer.node] == nil {
            preferred[peer.node] = id
            for message in pending.removeValue(forKey: peer.node) ?? [] {
                actions.append(.send(message, correlationID: 0, on: id, respondsToRequest: false))
            }
        }
        let link = PeerLink(
            peer: peer, listenAddress: inbound ? listenAddress : (listenAddress ?? dialed), incarnation: incarnation,
            dialed: dialed, purpose: purpose, name: name)
        return ([.peerLinked(link)], actions)
    }

    /// A connection closed.
    public mutating func closed(_ id: LinkID) -> [NodeInput] {
        guard let link = links.removeValue(forKey: id) else { return [] }
        if link.console { return [.sessionClosed(SessionID(id.rawValue))] }
        guard preferred[link.peer.node] == id else { return [] }
        // Another open link to the same node takes over.
        if let other = links.keys.sorted().first(where: { links[$0]!.peer.node == link.peer.node && !links[$0]!.console }) {
            preferred[link.peer.node] = other
            return []
        }
        preferred[link.peer.node] = nil
        return [.peerUnlinked(link.peer.node)]
    }

    /// PING is the link's keepalive (SPEC §6.3.6) from any peer, member or console: answered on
    /// the link it came on with PONG echoing its nonce, sentAt and correlation ID (§3.4). The core
    /// never sees it (its messages to members carry no correlation ID to echo).
    public func pong(_ ping: Ping, correlationID: UInt64, on id: LinkID) -> [LinkAction] {
        guard links[id] != nil else { return [] }
        return [
            .send(
                .pong(Pong(nonce: ping.nonce, sentAt: ping.sentAt)), correlationID: correlationID, on: id, respondsToRequest: true
            )
        ]
    }

    /// A frame arrived on a connection.
    public func frame(_ message: WireMessage, correlationID: UInt64, on id: LinkID) -> NodeInput? {
        guard let link = links[id] else { return nil }
        if link.console { return .consoleRequest(message, correlationID: correlationID, session: SessionID(id.rawValue)) }
        return .peerMessage(message, from: link.peer)
    }

    /// A dial failed: a seed or backbone address is reported; a member's waiting frames are
    /// handed back.
    public mutating func dialFailed(_ address: NetAddress, _ failure: ProbeFailure) -> [NodeInput] {
        guard let dial = dialing.removeValue(forKey: address) else { return [] }
        switch dial {
        case .purpose(let purpose): return [.connectFailed(address, purpose, failure)]
        case .member(let node):
            let dropped = pending.removeValue(forKey: node) ?? []
            return [.unreachable(node, failure, dropped: dropped)]
        }
    }

    /// A dial was refused with REJECT duplicate-node (SPEC §8.1.4): the peer already has a
    /// connection from this node open, so this is no failure of the peer and the core hears
    /// nothing of it. What waited for the dial goes over the open link, or waits for it.
    public mutating func dialDuplicate(_ address: NetAddress) -> [LinkAction] {
        guard let dial = dialing.removeValue(forKey: address) else { return [] }
        guard case .member(let node) = dial, let id = preferred[node] else { return [] }
        return (pending.removeValue(forKey: node) ?? []).map {
            .send($0, correlationID: 0, on: id, respondsToRequest: false)
        }
    }

    // MARK: - The core's directives

    /// What a directive means for connections; directives that are not about links give none.
    public mutating func route(_ directive: NodeDirective) -> [LinkAction] {
        switch directive {
        case .send(let message, let to, let address, _):
            return send(message, to: to, address: address)
        case .answer(let message, let correlationID, let session):
            let id = LinkID(session.rawValue)
            guard links[id] != nil else { return [] }
            return [.send(message, correlationID: correlationID, on: id, respondsToRequest: true)]
        case .push(let message, let session):
            let id = LinkID(session.rawValue)
            guard links[id] != nil else { return [] }
            return [.send(message, correlationID: 0, on: id, respondsToRequest: false)]
        case .connect(let address, let purpose):
            guard dialable(address), dialing[address] == nil else { return [] }
            dialing[address] = .purpose(purpose)
            return [.dial(address)]
        case .disconnect(let node, let reason):
            pending[node] = nil
            return links.keys.sorted().filter { links[$0]!.peer.node == node && !links[$0]!.console }.map {
                .close($0, reason: reason)
            }
        case .goAway(let reason):
            return links.keys.sorted().map { .goAway($0, reason: reason) }
        case .persist, .applyRevocations, .log, .emit, .scheduleTick, .halt, .drained:
            return []
        }
    }

    mutating func send(_ message: WireMessage, to node: NodeID, address: NetAddress?) -> [LinkAction] {
        if node == identity.node { return [.loopback(.peerMessage(message, from: identity.credentials))] }
        if let id = preferred[node] { return [.send(message, correlationID: 0, on: id, respondsToRequest: false)] }
        guard let address, dialable(address) else {
            return [.log(NodeLog(.debug, "no address for \(node.short); \(message.type.name ?? "frame") dropped", peer: node))]
        }
        var actions: [LinkAction] = []
        var queue = pending[node] ?? []
        if queue.count >= maxPendingPerPeer {
            queue.removeFirst()
            actions.append(
                .log(
                    NodeLog(
                        .warning, "frames waiting for \(node.short) over \(maxPendingPerPeer); the oldest dropped", peer: node)))
        }
        queue.append(message)
        pending[node] = queue
        if dialing[address] == nil {
            dialing[address] = .member(node)
            actions.append(.dial(address))
        }
        return actions
    }

    func dialable(_ address: NetAddress) -> Bool { !ownAddresses.contains(address) }
}
