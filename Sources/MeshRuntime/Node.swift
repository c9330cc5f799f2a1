import Foundation
import Glibc
public import MeshCore
import MeshCrypto
import MeshGossip
import MeshMembership
import MeshNode
import MeshPlacement
import MeshStore
public import MeshTransport
import MeshWire

/// A consistent view of a running node's state, taken on its event loop.
public struct NodeSnapshot: Sendable {
    /// Nodes with an open link, in node order.
    public var linkedPeers: [NodeID]
    /// Every member this node knows (itself excluded), in node order.
    public var members: [MemberUpdate]
    /// The serial of the revocation list in force (0: none).
    public var revocationSerial: UInt64
    /// Regional nodes of other regions this node exchanges summaries with.
    public var backbone: [NodeID]
    /// Pools this node owns.
    public var pools: [ComputeID]
    public var holds: Int
    public var leases: Int
    /// Origins whose records the inventory store holds.
    public var inventoryOrigins: Int
    /// Pools in the placement view (own and gossiped, live or not).
    public var viewPools: Int
    /// The requester's counters: outcomes and work.
    public var placed: Int
    public var refused: Int
    public var quoteRounds: Int
    public var forwardsSent: Int
    /// Durable ledger commits since the node started.
    public var ledgerCommits: Int
}

/// A failure that stops the node from starting or running: names what and what to do.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The node process (DESIGN.md §2): the shell around ``NodeCore`` (membership, inventory gossip,
/// region summaries), the placement cores (``PlacementRequester`` and ``OwnerLedger``), the
/// durable ledger and the transport.
///
/// **One road for events.** Transport events, timer ticks, dial completions and the stop request
/// enter through one `AsyncStream` and are handled one at a time by ``run()``; every piece of
/// state below is touched only there, which is why the class is `@unchecked Sendable`. The cores
/// decide; this class performs their directives (send, connect, disconnect, persist, emit,
/// schedule) and nothing else.
///
/// **Durability.** The owner ledger's changes are committed to SQLite (WAL, `synchronous=FULL`)
/// before the answer they belong to is queued: `persist` directives precede their `reply`
/// directives and are executed in order. A failed commit stops the node (fail-stop): it never
/// answers for a reservation it could not store.
public final class Node: @unchecked Sendable {
    enum Input: Sendable {
        case transport(TransportEvent)
        case tick
        case dialed(NetAddress, DialPurpose, Result<ConnectionID, TransportError>, PeerInfo?)
        case inspect(@Sendable (NodeSnapshot?) -> Void)
        case stop
    }

    enum DialPurpose: Sendable, Equatable {
        /// A seed of this region: join through it.
        case seed
        /// A regional node of another region: summaries and spillover.
        case backbone
        /// A known member or owner that has no link yet.
        case member(NodeID)
    }

    public let configuration: ResolvedConfiguration
    public let nodeID: NodeID
    let logger: TransportLogger
    let transport: Transport
    let store: SQLiteLedgerStore
    let trustRoot: Certificate?
    let startedAt: MeshInstant
    let epoch: UInt64

    var core: NodeCore
    var requester: PlacementRequester
    var owner: OwnerLedger
    var registry: PoolRegistry
    var explanations = ExplanationLog(capacity: 10_000)
    var rng: SeededRandom

    let inputs: AsyncStream<Input>
    let feed: AsyncStream<Input>.Continuation

    // Links.
    var links: [NodeID: ConnectionID] = [:]
    var peers: [ConnectionID: PeerInfo] = [:]
    var consoles: [ConnectionID: Bool] = [:]
    var dialing: [NetAddress: DialPurpose] = [:]
    var pendingSends: [NodeID: [WireMessage]] = [:]
    var backboneAddresses: [NetAddress]
    var backboneNodes: [NodeID: NetAddress] = [:]
    static let maxPendingSendsPerPeer = 256

    // Console requests waiting for an answer from the mesh.
    var waitingPlacements: [RequestID: [(ConnectionID, UInt64)]] = [:]
    static let maxWaitingPlacements = 4_096
    var eventSequence: UInt64 = 0
    /// When each member's status last changed, as this node saw it (for the console).
    var memberChangedAt: [NodeID: MeshInstant] = [:]

    // Timers.
    var coreWake: MeshInstant
    var requesterWake: MeshInstant?
    /// Starts due: restored holds and leases are swept (and the next sweep scheduled) at the first tick.
    var ownerWake: MeshInstant? = .zero
    var nextRefreshAt: MeshInstant
    var nextRevocationCheckAt: MeshInstant
    var nextBackboneDialAt: MeshInstant

    /// Records arrived or expired since the requester's view was last rebuilt.
    var viewDirty = true
    /// Pools put in the view by the last rebuild.
    var viewPoolCount = 0
    var ledgerCommits = 0
    var metrics: MetricsEndpoint?
    /// Where `GET /metrics` answers, when the configuration asks for it (the bound port for port 0).
    public var metricsAddress: NetAddress? { metrics?.address }

    // Own records.
    var recordSequence: UInt64 = 0
    /// The availability last issued for each own pool.
    var publishedAvailability: [ComputeID: PoolAvailability] = [:]
    static let recordValidityMilliseconds: UInt64 = 60_000
    static let refreshIntervalMilliseconds: UInt64 = 20_000

    // Revocations.
    var revocationSerial: UInt64 = 0
    var revocationFileStamp: Date?
    var currentRevocations: RevocationList?

    var stopping = false
    /// The bound listening address (the configured one, or the port the kernel chose for port 0).
    public let boundAddress: NetAddress

    /// The wall clock in milliseconds since the Unix epoch: ledger instants survive restarts.
    static func now() -> MeshInstant {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return MeshInstant(milliseconds: UInt64(ts.tv_sec) * 1_000 + UInt64(ts.tv_nsec) / 1_000_000)
    }

    /// Opens the data directory, the identity, the ledger and the transport. Nothing is sent yet.
    public init(configuration c: ResolvedConfiguration, logger: TransportLogger) throws(RuntimeError) {
        configuration = c
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: c.dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw RuntimeError("cannot create the data directory \(c.dataDirectory): \(error.localizedDescription)")
        }
        // Identity: the certified key, or (plaintext only) a key kept in the data directory.
        let key: Ed25519PrivateKey
        var tls: TLSSetup?
        var root: Certificate?
        do {
            if let keyPath = c.keyPath, let certificatePath = c.certificatePath, let rootPath = c.rootPath {
                key = try Ed25519PrivateKey(contentsOf: keyPath)
                let chain = try Certificate.load(certificatePath)
                let loadedRoot = try Certificate.load(rootPath)
                guard let r = loadedRoot.first else { throw RuntimeError("\(rootPath) holds no certificate") }
                root = r
                guard let binding = try chain.first?.nodeBinding else {
                    throw RuntimeError(
                        "\(certificatePath) is not a node certificate (no node binding): issue one with `meshctl cert issue`")
                }
                guard binding.nodeID == key.nodeID else {
                    throw RuntimeError("\(certificatePath) certifies node \(binding.nodeID.hex), not the key in \(keyPath)")
                }
                guard binding.role == c.role, binding.region == c.region else {
                    throw RuntimeError(
                        "the configuration says \(c.role) in \(c.region) but \(certificatePath) certifies \(binding.role) in \(binding.region)"
                    )
                }
                let trust = try FederationTrust(root: r)
                tls = try TLSSetup(identity: TLSIdentity(key: key, chain: chain), trust: trust)
            } else {
                let path = c.dataDirectory + "/node.key"
                if FileManager.default.fileExists(atPath: path) {
                    key = try Ed25519PrivateKey(contentsOf: path)
                } else {
                    key = try Ed25519PrivateKey.generate()
                    try key.save(to: path)
                }
            }
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("cannot load the node's credentials: \(error)")
        }
        trustRoot = root
        nodeID = key.nodeID

        // The incarnation survives restarts and only grows: stored before any frame carries it.
        let incarnationPath = c.dataDirectory + "/incarnation"
        let previous =
            (try? String(contentsOfFile: incarnationPath, encoding: .utf8))
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        let incarnation = previous + 1
        do { try Node.writeDurably(String(incarnation), to: incarnationPath) } catch {
            throw RuntimeError("cannot store the incarnation in \(incarnationPath): \(error)")
        }
        epoch = incarnation

        do { store = try SQLiteLedgerStore(path: c.dataDirectory + "/ledger.sqlite") } catch {
            throw RuntimeError("cannot open the ledger \(c.dataDirectory)/ledger.sqlite: \(error)")
        }
        let state: LedgerSnapshot
        do { state = try store.load() } catch { throw RuntimeError("cannot read the ledger: \(error)") }

        let now = Node.now()
        startedAt = now
        var seed = c.randomSeed ?? UInt64.random(in: 1...UInt64.max)
        if seed == 0 { seed = 1 }
        rng = SeededRandom(seed: seed)
        // Owners publish availability on every ledger change and re-issue it every 20 s, so an old
        // record here is an unchanged one, not a lagging one: spilled requests may trust any live
        // record (the simulator's 250 ms default models views that lag by seconds).
        requester = PlacementRequester(
            node: nodeID, region: c.region,
            config: PlacementConfig(spilloverFreshMilliseconds: Node.recordValidityMilliseconds))
        owner = OwnerLedger(node: nodeID, restoring: state)
        registry = PoolRegistry(node: nodeID, epoch: incarnation)
        registry.restore(state.pools)
        backboneAddresses = c.backbone
        nextRefreshAt = now + .milliseconds(Node.refreshIntervalMilliseconds)
        nextRevocationCheckAt = now
        nextBackboneDialAt = now

        (inputs, feed) = AsyncStream<Input>.makeStream()
        // Port 0 (tests): take a free port now, so that HELLO and membership carry the real one.
        var listen = c.listen
        if listen.port == 0 {
            guard let port = Node.freePort(host: listen.host) else {
                throw RuntimeError("no free port on \(listen.host) for 'listen' with port 0")
            }
            listen.port = port
        }
        var transportConfiguration = TransportConfiguration(
            identity: LocalIdentity(
                nodeID: nodeID, role: c.role, region: c.region, sectors: c.sectors, listenAddress: listen,
                incarnation: incarnation, software: "meshd/1"),
            tls: tls, allowPlaintext: c.plaintext)
        transportConfiguration.acceptedPeerRoles = Role.allCases
        let feed = self.feed
        let bound: SocketAddress
        do {
            transport = try Transport(configuration: transportConfiguration, logger: logger) { event in
                feed.yield(.transport(event))
            }
        } catch { throw RuntimeError("cannot start the transport: \(error)") }
        do {
            bound = try transport.listen(on: SocketAddress(host: listen.host, port: listen.port))
        } catch {
            transport.shutdown()
            throw RuntimeError("cannot listen on \(c.listen): \(error); is another node using that port?")
        }
        boundAddress = NetAddress(host: bound.host, port: bound.port)
        let me = MemberUpdate(
            node: nodeID, address: boundAddress, role: c.role, region: c.region, incarnation: incarnation, status: .alive)
        core = NodeCore(me: me, config: NodeConfig(), seeds: c.seeds, now: now, rng: &rng)
        coreWake = now
    }

    /// A port the kernel reports free on `host` (IPv4 or IPv6 literal), for `listen` with port 0.
    static func freePort(host: String) -> UInt16? {
        guard let (fd, port) = try? BoundSocket.bind(host: host, port: 0) else { return nil }
        close(fd)
        return port
    }

    static func writeDurably(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw RuntimeError("open \(temporary): \(String(cString: strerror(errno)))") }
        var bytes = Array(text.utf8)
        let written = write(fd, &bytes, bytes.count)
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else { throw RuntimeError("write \(temporary) failed") }
        guard rename(temporary, path) == 0 else { throw RuntimeError("rename \(temporary): \(String(cString: strerror(errno)))") }
    }

    // MARK: - Lifecycle

    /// Registers the configured pools and publishes them. Returns the bound address.
    @discardableResult
    public func start() throws(RuntimeError) -> NetAddress {
        let now = Node.now()
        for spec in configuration.pools {
            do { _ = try register(spec, now: now) } catch {
                throw RuntimeError("pool '\(spec.displayName)' of the configuration: \(error)")
            }
        }
        // The configured pools and those restored from the ledger (registered earlier by a
        // console) are published once, and the view built once.
        publishAllPools(now: now)
        refreshView(now: now)
        checkRevocationFile(now: now)
        if let address = configuration.metrics {
            let id = nodeID
            let role = configuration.role
            let region = configuration.region
            let endpoint = try MetricsEndpoint(address: address) { [weak self] in
                guard let snapshot = await self?.snapshot() else { return "computemesh_up 0\n" }
                return MetricsText.render(snapshot, node: id, role: role, region: region)
            }
            endpoint.start()
            metrics = endpoint
        }
        return boundAddress
    }

    /// What the node holds now, read on its event loop (for tests and diagnostics); nil once
    /// the node has stopped.
    public func snapshot() async -> NodeSnapshot? {
        await withCheckedContinuation { continuation in
            if case .terminated = feed.yield(.inspect { continuation.resume(returning: $0) }) {
                continuation.resume(returning: nil)
            }
        }
    }

    /// Asks ``run()`` to leave the mesh gracefully and return.
    public func stop() { feed.yield(.stop) }

    /// Handles events until ``stop()``; then leaves, drains briefly and shuts the transport down.
    public func run() async {
        let feed = self.feed
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 50_000_000)
                feed.yield(.tick)
            }
        }
        for await input in inputs {
            handle(input)
            if stopping { break }
        }
        ticker.cancel()
        metrics?.stop()
        // Let GOAWAY and the leave announcement reach the wire.
        try? await Task.sleep(nanoseconds: 300_000_000)
        transport.shutdown()
        feed.finish()
        // Whoever still waits on the node learns that it stopped.
        for await input in inputs {
            if case .inspect(let reply) = input { reply(nil) }
        }
    }

    func handle(_ input: Input) {
        let now = Node.now()
        switch input {
        case .tick:
            onTick(now: now)
        case .transport(let event):
            onTransport(event, now: now)
        case .dialed(let address, let purpose, let result, let peer):
            onDialed(address, purpose, result, peer, now: now)
        case .inspect(let reply):
            reply(
                NodeSnapshot(
                    linkedPeers: links.keys.sorted(), members: core.membership.allMembers, revocationSerial: revocationSerial,
                    backbone: backboneNodes.keys.sorted(), pools: owner.snapshot.pools.map(\.descriptor.id),
                    holds: owner.holdCount,
                    leases: owner.leaseCount, inventoryOrigins: core.inventory.originCount, viewPools: viewPoolCount,
                    placed: requester.counters.placed, refused: requester.counters.refused,
                    quoteRounds: requester.counters.quoteRounds, forwardsSent: requester.counters.forwardsSent,
                    ledgerCommits: ledgerCommits))
        case .stop:
            logger.info("leaving the mesh")
            perform(core.leave(now: now, rng: &rng), now: now)
            for (id, _) in peers.sorted(by: { $0.key < $1.key }) {
                transport.goAway(id, reason: .shutdown, drainMilliseconds: 200, message: "the node is stopping")
            }
            stopping = true
        }
    }

    // MARK: - Timers

    func onTick(now: MeshInstant) {
        if now >= coreWake { perform(core.onTick(now: now, rng: &rng), now: now) }
        if let at = requesterWake, now >= at {
            requesterWake = nil
            perform(requester.onTick(now: now), now: now)
        }
        if let at = ownerWake, now >= at {
            ownerWake = nil
            perform(owner.onTick(now: now), now: now)
        }
        if now >= nextRefreshAt {
            nextRefreshAt = now + .milliseconds(Node.refreshIntervalMilliseconds)
            publishAllPools(now: now)
        }
        if now >= nextRevocationCheckAt {
            nextRevocationCheckAt = now + .milliseconds(1_000)
            checkRevocationFile(now: now)
            viewDirty = true
        }
        // The view is rebuilt at most once per tick (50 ms), however many records arrived.
        if viewDirty {
            viewDirty = false
            refreshView(now: now)
        }
        if now >= nextBackboneDialAt {
            nextBackboneDialAt = now + .milliseconds(5_000)
            for address in backboneAddresses where !backboneNodes.values.contains(address) {
                dial(address, purpose: .backbone)
            }
        }
    }

    // MARK: - Transport events

    func onTransport(_ event: TransportEvent, now: MeshInstant) {
        switch event {
        case .opened(let id, let peer):
            if isRevoked(peer.nodeID) {
                transport.close(id, reason: "the peer's certificate is revoked")
                return
            }
            peers[id] = peer
            if peer.role == .operatorConsole {
                consoles[id] = false
                logger.with("peer.id", peer.nodeID.short).info("console connected")
            } else {
                if links[peer.nodeID] == nil {
                    links[peer.nodeID] = id
                    flushPending(to: peer.nodeID)
                }
                shareRevocations(on: id)
                // A regional node of another region that dialed us is on our backbone too.
                if peer.inbound, configuration.role == .regional, peer.role == .regional, peer.region != configuration.region,
                    let address = peer.listenAddress
                {
                    addBackbone(peer, address: address)
                }
            }
        case .closed(let id, let reason):
            guard let peer = peers.removeValue(forKey: id) else { return }
            consoles[id] = nil
            if links[peer.nodeID] == id {
                links[peer.nodeID] = nil
                // Another open connection to the same node takes over.
                if let other = peers.filter({ $0.value.nodeID == peer.nodeID }).keys.sorted().first {
                    links[peer.nodeID] = other
                }
            }
            logger.with("peer.id", peer.nodeID.short).with("reason", reason).debug("link closed")
        case .frame(let id, let message, let correlationID, _):
            guard let peer = peers[id] else { return }
            if peer.role == .operatorConsole {
                onConsole(message, correlationID: correlationID, on: id, now: now)
            } else {
                onPeerMessage(message, from: peer, on: id, now: now)
            }
        }
    }

    func onPeerMessage(_ message: WireMessage, from peer: PeerInfo, on id: ConnectionID, now: MeshInstant) {
        switch message {
        case .probe, .probeAck, .indirectProbe, .nack, .digest, .delta, .regionSummaries:
            perform(core.onMessage(message, from: peer.nodeID, now: now, rng: &rng), now: now)
        case .revocationList(let list):
            accept(list, from: peer.nodeID, now: now)
        case .quoteRequest(let ask) where peer.role == .industry && configuration.role == .regional:
            // SPEC §8.4: an industry node cannot commit on a regional pool; it forwards instead.
            refuseIndustryPeer(peer.nodeID, request: ask.requestID, pool: ask.pool, doing: "quote")
        case .confirm(let c) where peer.role == .industry && configuration.role == .regional:
            refuseIndustryPeer(peer.nodeID, request: c.requestID, pool: nil, doing: "commit on")
        case .quoteRequest(let ask):
            perform(
                owner.onQuoteRequest(
                    QuoteRequest(
                        requestID: ask.requestID, requester: peer.nodeID, pool: ask.pool, tenant: ask.tenant, sector: ask.sector,
                        demand: ask.demand, holdFor: ask.holdFor, deadline: ask.deadline),
                    from: peer.nodeID, requesterRegion: peer.region, now: now, rng: &rng), now: now)
        case .confirm, .release, .renew:
            guard let placement = PlacementWire.placement(message) else { return }
            switch placement {
            case .confirm(let ask): perform(owner.onConfirm(ask, from: peer.nodeID, now: now, rng: &rng), now: now)
            case .release(let r): perform(owner.onRelease(r.reservation, from: peer.nodeID, now: now), now: now)
            case .renew(let r): perform(owner.onRenew(r.leaseID, extendBy: r.extendBy, from: peer.nodeID, now: now), now: now)
            default: break
            }
        case .forward(let f):
            perform(
                requester.onForward(
                    Forward(request: f.request, hopLimit: f.hopLimit, path: f.path), from: peer.nodeID, now: now, rng: &rng),
                now: now)
        case .quote, .refuse, .confirmed, .leaseStatus, .outcome:
            guard let placement = PlacementWire.placement(message) else { return }
            perform(requester.onMessage(placement, from: peer.nodeID, now: now), now: now)
        case .ping(let p):
            transport.send(.pong(Pong(nonce: p.nonce, sentAt: p.sentAt)), on: id)
        case .error(let e):
            logger.with("peer.id", peer.nodeID.short).with("error", "\(e)").warning("peer reported an error")
        case .hello, .welcome, .reject, .goAway, .pong, .place, .statusRequest, .status, .membersRequest, .members,
            .inventoryRequest, .inventory, .placementsRequest, .placements, .whyRequest, .why, .subscribe, .event,
            .unsubscribe, .registerPool, .poolRegistered:
            // Control frames are the transport's; console frames from a node were refused by the gate.
            break
        }
    }

    func refuseIndustryPeer(_ peer: NodeID, request: RequestID, pool: ComputeID?, doing: String) {
        let refusal = Refuse(
            requestID: request, reason: .unauthorized,
            message: "an industry node may not \(doing) a regional pool: send FORWARD to a regional node", pool: pool)
        send(PlacementWire.wire(.refuse(refusal)), to: peer, address: nil)
    }

    // MARK: - Directives

    func perform(_ directives: [NodeDirective], now: MeshInstant) {
        for directive in directives {
            switch directive {
            case .send(let message, let to, let address, _):
                send(message, to: to, address: address)
            case .connect(let address):
                dial(address, purpose: .seed)
            case .disconnect(let node):
                if let id = links[node] { transport.close(id, reason: "the member is gone") }
            case .persist(let item):
                switch item {
                case .incarnation(let incarnation):
                    do {
                        try Node.writeDurably(String(incarnation), to: configuration.dataDirectory + "/incarnation")
                    } catch {
                        fatalStop("cannot store incarnation \(incarnation): \(error)")
                    }
                case .ownRecord:
                    break  // own records are rebuilt from the ledger's pools at start
                }
            case .emit(let event):
                onNodeEvent(event, now: now)
            case .scheduleTick(let at):
                coreWake = at
            }
        }
    }

    func perform(_ directives: [RequesterDirective], now: MeshInstant) {
        for directive in directives {
            switch directive {
            case .send(let to, let message):
                if to == nodeID {
                    // Our own pools: the owner ledger answers locally.
                    deliverLocally(message, now: now)
                } else {
                    send(PlacementWire.wire(message), to: to, address: nil)
                }
            case .deliver(let outcome, let destination):
                explanations.record(outcome.explanation)
                switch destination {
                case .tenant:
                    answerPlacement(outcome)
                case .node(let node):
                    if node == nodeID {
                        perform(requester.onMessage(.outcome(outcome), from: nodeID, now: now), now: now)
                    } else {
                        send(PlacementWire.wire(.outcome(outcome)), to: node, address: nil)
                    }
                }
                publishEvent(
                    .placement, outcome.isPlaced ? .info : .warning, subject: outcome.requestID.description,
                    detail: outcome.isPlaced ? "placed" : "refused: \(outcome.result)", now: now)
            case .scheduleTick(let at):
                requesterWake = min(requesterWake ?? at, at)
            }
        }
    }

    func perform(_ directives: [OwnerDirective], now: MeshInstant) {
        var touched: [ComputeID] = []
        for directive in directives {
            switch directive {
            case .persist(let changes, let version):
                do { try store.commit(changes, ledgerVersion: version, at: now) } catch {
                    fatalStop("the ledger could not commit version \(version): \(error)")
                }
                ledgerCommits += 1
                for change in changes { touched.append(contentsOf: pools(touchedBy: change)) }
            case .reply(let to, let message):
                if to == nodeID {
                    perform(requester.onMessage(message, from: nodeID, now: now), now: now)
                } else {
                    send(PlacementWire.wire(message), to: to, address: nil)
                }
            case .scheduleSweep(let at):
                ownerWake = min(ownerWake ?? at, at)
            }
        }
        // Fresh capacity leaves with the next gossip round.
        for pool in Set(touched).sorted() { publishAvailability(pool, now: now) }
    }

    func pools(touchedBy change: LedgerChange) -> [ComputeID] {
        switch change {
        case .poolRegistered: []  // published with its descriptor by whoever registered it
        case .holdPlaced(let h): [h.pool]
        case .leaseStarted(let l): [l.lease.pool]
        case .holdReleased(let id), .holdExpired(let id):
            owner.hold(id).map { [$0.pool] } ?? owner.snapshot.pools.map(\.descriptor.id)
        case .leaseRenewed, .leaseReleased, .leaseExpired, .leaseAbandoned: owner.snapshot.pools.map(\.descriptor.id)
        case .leaseAcknowledged, .leaseReconfirmed: []
        }
    }

    func deliverLocally(_ message: PlacementMessage, now: MeshInstant) {
        switch message {
        case .quoteRequest(let ask):
            perform(owner.onQuoteRequest(ask, from: nodeID, requesterRegion: configuration.region, now: now, rng: &rng), now: now)
        case .confirm(let ask): perform(owner.onConfirm(ask, from: nodeID, now: now, rng: &rng), now: now)
        case .release(let r): perform(owner.onRelease(r.reservation, from: nodeID, now: now), now: now)
        case .renew(let r): perform(owner.onRenew(r.leaseID, extendBy: r.extendBy, from: nodeID, now: now), now: now)
        case .forward(let ask): perform(requester.onForward(ask, from: nodeID, now: now, rng: &rng), now: now)
        case .quote, .refuse, .confirmed, .leaseState, .outcome:
            perform(requester.onMessage(message, from: nodeID, now: now), now: now)
        }
    }

    /// Stops the process rather than answer for state it could not store.
    func fatalStop(_ why: String) -> Never {
        logger.log(.error, "stopping: \(why)")
        FileHandle.standardError.write(Data("meshd: stopping: \(why)\n".utf8))
        exit(3)
    }

    // MARK: - Links

    func isRevoked(_ node: NodeID) -> Bool { currentRevocations?.entries.contains { $0.node == node } ?? false }

    func send(_ message: WireMessage, to node: NodeID, address: NetAddress?) {
        guard !isRevoked(node) else { return }
        if let id = links[node] {
            switch transport.send(message, on: id) {
            case .queued: return
            case .queueFull:
                logger.with("peer.id", node.short).warning("outbound queue full; frame dropped")
                return
            case .notOpen:
                links[node] = nil
            }
        }
        guard let target = address ?? core.membership.member(node)?.address ?? backboneNodes[node] else {
            logger.debug("no address for \(node.short); \(message.type.name ?? "frame") dropped")
            return
        }
        var queue = pendingSends[node] ?? []
        if queue.count >= Node.maxPendingSendsPerPeer {
            queue.removeFirst()
            logger.warning("pending frames for \(node.short) over \(Node.maxPendingSendsPerPeer); the oldest dropped")
        }
        queue.append(message)
        pendingSends[node] = queue
        dial(target, purpose: .member(node))
    }

    func flushPending(to node: NodeID) {
        guard let queue = pendingSends.removeValue(forKey: node), let id = links[node] else { return }
        for message in queue { transport.send(message, on: id) }
    }

    func dial(_ address: NetAddress, purpose: DialPurpose) {
        guard !stopping, address != boundAddress, address != configuration.listen, dialing[address] == nil else { return }
        dialing[address] = purpose
        let transport = self.transport
        let feed = self.feed
        Task {
            do throws(TransportError) {
                let (id, peer) = try await transport.connect(to: SocketAddress(host: address.host, port: address.port))
                feed.yield(.dialed(address, purpose, .success(id), peer))
            } catch {
                feed.yield(.dialed(address, purpose, .failure(error), nil))
            }
        }
    }

    func onDialed(
        _ address: NetAddress, _ purpose: DialPurpose, _ result: Result<ConnectionID, TransportError>, _ peer: PeerInfo?,
        now: MeshInstant
    ) {
        dialing[address] = nil
        switch result {
        case .success(let id):
            guard let peer else { return }
            if isRevoked(peer.nodeID) {
                // Whatever the TLS layer let through, a revoked node gets no link from us.
                transport.close(id, reason: "the peer's certificate is revoked")
                pendingSends[peer.nodeID] = nil
                return
            }
            peers[id] = peer
            if links[peer.nodeID] == nil { links[peer.nodeID] = id }
            flushPending(to: peer.nodeID)
            shareRevocations(on: id)
            let update = MemberUpdate(
                node: peer.nodeID, address: address, role: peer.role, region: peer.region, incarnation: peer.incarnation,
                status: .alive)
            switch purpose {
            case .seed:
                if peer.region == configuration.region {
                    perform(core.onPeerConnected(update, now: now, rng: &rng), now: now)
                }
            case .backbone:
                guard configuration.role == .regional, peer.role == .regional, peer.region != configuration.region else {
                    logger.warning("backbone address \(address) is \(peer.role) in \(peer.region); not used for the backbone")
                    backboneAddresses.removeAll { $0 == address }
                    return
                }
                addBackbone(peer, address: address)
            case .member:
                break
            }
        case .failure(let error):
            logger.debug("dial \(address) failed: \(error)")
            guard case .member(let node) = purpose else { return }
            let pending = pendingSends.removeValue(forKey: node) ?? []
            if pending.contains(where: { if case .probe = $0 { true } else { false } }) {
                let failure: ProbeFailure
                if case .connectFailed(_, let text) = error, text.lowercased().contains("refused") {
                    failure = .connectionRefused
                } else {
                    failure = .timeout
                }
                perform(core.onProbeFailure(node, failure: failure, now: now, rng: &rng), now: now)
            }
        }
    }

    /// Region summaries and spillover go to the regional nodes of other regions.
    func addBackbone(_ peer: PeerInfo, address: NetAddress) {
        guard backboneNodes[peer.nodeID] == nil else { return }
        backboneNodes[peer.nodeID] = address
        core.backbone.append(
            MemberUpdate(
                node: peer.nodeID, address: address, role: peer.role, region: peer.region, incarnation: peer.incarnation,
                status: .alive))
        logger.with("peer.id", peer.nodeID.short).info("backbone peer in \(peer.region) at \(address)")
        updateSpilloverPeers()
    }

    /// Spillover goes to the backbone (regional) or to the region's regional nodes (industry).
    func updateSpilloverPeers() {
        switch configuration.role {
        case .regional:
            requester.setSpilloverPeers(backboneNodes.keys.sorted())
        case .industry:
            let regionals = core.membership.allMembers.filter { $0.role == .regional && $0.status == .alive }.map(\.node)
            requester.setSpilloverPeers(regionals.sorted())
        case .operatorConsole:
            break
        }
    }

    // MARK: - Inventory

    /// Registers (or replaces) a pool, durably in the ledger; the caller publishes it.
    func register(_ spec: PoolSpec, now: MeshInstant) throws(RegistrationError) -> RegisteredPool {
        let pool = try registry.register(spec)
        perform(owner.register(pool, now: now), now: now)
        return pool
    }

    func nextRecord(_ body: RecordBody, now: MeshInstant) -> InventoryRecord {
        recordSequence += 1
        return InventoryRecord(
            origin: nodeID, epoch: epoch, sequence: recordSequence, issuedAt: now,
            validUntil: now + .milliseconds(Node.recordValidityMilliseconds), body: body)
    }

    /// Issues the pool's descriptor and availability records (again, for the periodic refresh).
    func publish(_ descriptor: PoolDescriptor, now: MeshInstant) {
        perform(core.issue(nextRecord(.descriptor(descriptor), now: now), now: now, rng: &rng), now: now)
        publishAvailability(descriptor.id, now: now, evenIfUnchanged: true)
    }

    /// Issues the pool's availability record when it differs from the last one issued: a ledger
    /// change whose pool is not known (a release names only its hold) re-checks every pool, and
    /// only the ones that changed reach the gossip.
    func publishAvailability(_ pool: ComputeID, now: MeshInstant, evenIfUnchanged: Bool = false) {
        guard let availability = owner.availability(of: pool) else { return }
        if !evenIfUnchanged && publishedAvailability[pool] == availability { return }
        publishedAvailability[pool] = availability
        perform(core.issue(nextRecord(.availability(availability), now: now), now: now, rng: &rng), now: now)
        viewDirty = true
    }

    func publishAllPools(now: MeshInstant) {
        for pool in owner.snapshot.pools { publish(pool.descriptor, now: now) }
    }

    /// Rebuilds the requester's view from the live inventory: each pool's newest descriptor and
    /// availability, valid while both records are.
    func refreshView(now: MeshInstant) {
        let pools = newestPoolRecords(now: now)
        for id in pools.withdrawn { requester.view.withdraw(id) }
        viewPoolCount = 0
        for id in pools.descriptors.keys.sorted() {
            // An industry node places only on its own (sector) pools; the rest of its region it
            // reaches through FORWARD to its regional nodes, which alone commit on regional pools.
            if configuration.role == .industry && id.owner != nodeID {
                requester.view.withdraw(id)
                continue
            }
            let (record, descriptor) = pools.descriptors[id]!
            let fresh = pools.availability[id]
            let newest = fresh.map { ($0.0.epoch, $0.0.sequence) > (record.epoch, record.sequence) ? $0.0 : record } ?? record
            _ = requester.view.upsert(
                ViewEntry(
                    descriptor: descriptor,
                    availability: fresh?.1
                        ?? PoolAvailability(
                            id: id, freeComputeUnits: 0, freeMemoryMiB: 0,
                            freeAccelerators: descriptor.accelerators.map { _ in 0 },
                            pricePerUnitHour: descriptor.pricePerUnitHour),
                    epoch: newest.epoch, sequence: newest.sequence, issuedAt: newest.issuedAt,
                    validUntil: min(record.validUntil, fresh?.0.validUntil ?? record.validUntil),
                    latency: id.owner == nodeID ? .zero : .milliseconds(1)))
            viewPoolCount += 1
        }
    }

    /// Each pool's newest live descriptor and availability records, and the pools tombstoned.
    func newestPoolRecords(
        now: MeshInstant
    ) -> (
        descriptors: [ComputeID: (InventoryRecord, PoolDescriptor)],
        availability: [ComputeID: (InventoryRecord, PoolAvailability)], withdrawn: [ComputeID]
    ) {
        var descriptors: [ComputeID: (InventoryRecord, PoolDescriptor)] = [:]
        var availability: [ComputeID: (InventoryRecord, PoolAvailability)] = [:]
        var withdrawn: [ComputeID] = []
        for record in core.inventory.liveRecords(now: now) {
            switch record.body {
            case .descriptor(let d):
                if let old = descriptors[d.id], (old.0.epoch, old.0.sequence) >= (record.epoch, record.sequence) { continue }
                descriptors[d.id] = (record, d)
            case .availability(let a):
                if let old = availability[a.id], (old.0.epoch, old.0.sequence) >= (record.epoch, record.sequence) { continue }
                availability[a.id] = (record, a)
            case .tombstone(let id):
                withdrawn.append(id)
            }
        }
        return (descriptors, availability, withdrawn)
    }

    // MARK: - Revocations

    /// Reads the configured revocation list file when it changes.
    func checkRevocationFile(now: MeshInstant) {
        guard let path = configuration.revocationsPath,
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let stamp = attributes[.modificationDate] as? Date, stamp != revocationFileStamp
        else { return }
        revocationFileStamp = stamp
        guard let data = FileManager.default.contents(atPath: path),
            case .message(.revocationList(let list), _, _)? = try? WireMessage.decode(frameBytes: [UInt8](data))
        else {
            logger.warning("\(path) does not hold a REVOCATION_LIST frame; ignored")
            return
        }
        accept(list, from: nil, now: now)
    }

    /// Applies a newer root-signed list, disconnects revoked peers, and passes it on to every
    /// other peer (flooding with the serial as the version: each node forwards a list once).
    func accept(_ list: RevocationList, from sender: NodeID?, now: MeshInstant) {
        guard list.serial > revocationSerial else { return }
        do { try transport.applyRevocations(list) } catch {
            logger.warning("revocation list \(list.serial) refused: \(error)")
            return
        }
        revocationSerial = list.serial
        currentRevocations = list
        logger.info("revocation list \(list.serial) in force: \(list.entries.count) revoked")
        publishEvent(
            .security, .warning, subject: "revocations", detail: "list \(list.serial): \(list.entries.count) revoked", now: now)
        for entry in list.entries {
            if let id = links[entry.node] { transport.close(id, reason: "revoked") }
        }
        for (node, id) in links.sorted(by: { $0.key < $1.key }) where node != sender {
            transport.send(.revocationList(list), on: id)
        }
    }

    /// Every new link learns the list in force: a node that was away when a list was flooded,
    /// or whose link dropped the frame, still converges (the receiver ignores serials it has).
    func shareRevocations(on id: ConnectionID) {
        if let list = currentRevocations { transport.send(.revocationList(list), on: id) }
    }

    // MARK: - Events

    func onNodeEvent(_ event: NodeEvent, now: MeshInstant) {
        switch event {
        case .memberChanged(let update, let previous):
            memberChangedAt[update.node] = now
            logger.with("peer.id", update.node.short).with("incarnation", String(update.incarnation)).info(
                "member \(update.node.short) \(previous.map { "\($0)" } ?? "new") → \(update.status)")
            publishEvent(
                .membership, update.status == .alive ? .info : .warning, subject: update.node.hex,
                detail:
                    "\(update.role) \(update.region) \(update.address) is \(update.status) at incarnation \(update.incarnation)",
                now: now)
            if configuration.role == .industry { updateSpilloverPeers() }
        case .recordsLearned:
            viewDirty = true
        case .summariesLearned:
            break
        case .ignored(let type, let from):
            logger.debug("ignored \(type.name ?? "frame") from \(from.short)")
        }
    }

    func publishEvent(_ kind: EventKind, _ severity: EventSeverity, subject: String, detail: String, now: MeshInstant) {
        eventSequence += 1
        let subscribers = consoles.filter(\.value).keys.sorted()
        guard !subscribers.isEmpty else { return }
        let event = Event(
            sequence: eventSequence, at: now, kind: kind, severity: severity,
            subject: String(subject.prefix(Event.maxSubjectBytes)),
            detail: String(detail.prefix(1_000)))
        for id in subscribers { transport.send(.event(event), on: id) }
    }
}
