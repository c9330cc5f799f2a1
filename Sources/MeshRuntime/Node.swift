import Foundation
import Glibc
public import MeshCore
import MeshCrypto
import MeshMembership
public import MeshNode
public import MeshPlacement
import MeshStore
public import MeshTransport
import MeshWire
import Synchronization

/// The node process (DESIGN.md §2): the shell around one ``NodeCore``, which decides everything.
/// This class only carries inputs in and performs directives: a ``LinkTable`` maps them onto the
/// transport's connections, a ``StoreWorker`` commits persist directives off the loop (group
/// commit), and a monotonic timer delivers the ticks the core asks for.
///
/// **One road for events.** Transport events, dial failures, store completions, signals and the
/// node's messages to itself enter through one bounded ``NodeMailbox`` and are handled one at a
/// time on the node's own thread; every piece of state below is touched only there, which is why
/// the class is `@unchecked Sendable`.
///
/// **Lifetime.** ``start()`` opens the store, the listener and the metrics endpoint; ``run()``
/// drives the loop until a stop has drained (no placement in flight), then shuts down in reverse
/// order: metrics, the store (after its last commit), the transport.
public final class Node: @unchecked Sendable {
    enum Input: Sendable {
        case event(TransportEvent)
        case dialFailed(NetAddress, TransportError)
        case core(NodeInput)
        case inspect(@Sendable (NodeSnapshot?) -> Void)
        /// SIGHUP: the configuration file read again.
        case reload(ResolvedConfiguration)
        /// SIGUSR1: a state summary to the log.
        case summary
    }

    public let configuration: ResolvedConfiguration
    public let nodeID: NodeID
    /// The bound listening address (the configured one, or the port the kernel chose for port 0).
    public let boundAddress: NetAddress
    let logger: TransportLogger
    let transport: Transport
    let trustRoot: Certificate?
    /// When this node's certificate expires (nil: plaintext), for
    /// `computemesh_certificate_expiry_timestamp_seconds`; a renewal at SIGHUP moves it, and the
    /// metrics thread reads it.
    let certificateExpiry: CertificateExpiry
    let store: StoreWorker
    /// The locked data directory; released when the store has finished.
    var directory: DataDirectory?
    let mailbox = NodeMailbox<Input>(capacity: 65_536)
    var core: NodeCore
    var links: LinkTable
    var rng: SeededRandom
    var tickDeadline: UInt64? = nil
    var persists: [StoreWorker.Submission] = []
    var draining = false
    var finished = false
    var revocationStamp: Date?
    var nextRevocationCheck: UInt64 = 0
    var metrics: MetricsEndpoint?
    /// Called from the node's loop about once a second (systemd's watchdog ping): set before ``run()``.
    public var heartbeat: (@Sendable () -> Void)?
    /// Where `GET /metrics` answers, when the configuration asks for it (the bound port for port 0).
    public var metricsAddress: NetAddress? { metrics?.address }
    private var done: CheckedContinuation<Void, Never>?

    /// Opens the data directory, the identity, the ledger and the transport. Nothing is sent yet.
    public init(configuration c: ResolvedConfiguration, logger: TransportLogger) throws(RuntimeError) {
        configuration = c
        self.logger = logger
        let now = NodeStartup.wallClock()
        let nodeConfig = NodeConfig()
        // Disk keeps as many explanations as memory does: WHY answers the same after a restart.
        let startup = try NodeStartup.open(
            c, block: nodeConfig.incarnationBlock, explanationLimit: nodeConfig.placement.maxExplanations, now: now)
        nodeID = startup.nodeID
        directory = startup.directory
        trustRoot = startup.trustRoot
        certificateExpiry = CertificateExpiry(startup.certificateExpiry)
        var seed = c.randomSeed ?? UInt64.random(in: 1...UInt64.max)
        if seed == 0 { seed = 1 }
        rng = SeededRandom(seed: seed)
        // Port 0 (tests): take a free port now, so that HELLO and membership carry the real one.
        var listen = c.listen
        if listen.port == 0 {
            guard let port = NodeStartup.freePort(host: listen.host) else {
                throw RuntimeError("no free port on \(listen.host) for 'listen' with port 0")
            }
            listen.port = port
        }
        var transportConfiguration = TransportConfiguration(
            identity: LocalIdentity(
                nodeID: nodeID, role: c.role, region: c.region, sectors: c.sectors, listenAddress: listen,
                incarnation: startup.incarnation, software: "meshd/1", name: c.name),
            tls: startup.tls, allowPlaintext: c.plaintext)
        transportConfiguration.acceptedPeerRoles = Role.allCases
        let mailbox = self.mailbox
        do {
            transport = try Transport.batchingEvents(configuration: transportConfiguration, logger: logger) { events in
                mailbox.post(events.map { .event($0) }) { if case .event(.frame) = $0 { true } else { false } }
            }
        } catch { throw RuntimeError("cannot start the transport: \(error)") }
        let bound: SocketAddress
        do { bound = try transport.listen(on: SocketAddress(host: listen.host, port: listen.port)) } catch {
            transport.shutdown()
            throw RuntimeError("cannot listen on \(c.listen): \(error); is another node using that port?")
        }
        boundAddress = NetAddress(host: bound.host, port: bound.port)
        let identity = NodeIdentity(
            node: nodeID, role: c.role, region: c.region, sectors: c.sectors, address: boundAddress, name: c.name)
        do {
            core = try NodeCore(
                identity: identity, config: nodeConfig, incarnation: startup.incarnation,
                durableIncarnation: startup.durableIncarnation, ledger: startup.ledger, decisions: startup.decisions,
                explanations: startup.explanations,
                seeds: c.seeds, backbone: c.backbone, now: now, rng: &rng)
        } catch {
            transport.shutdown()
            throw RuntimeError("\(c.dataDirectory): \(error)")
        }
        links = LinkTable(identity: identity, ownAddresses: [boundAddress, c.listen])
        store = StoreWorker(
            store: startup.store, clock: { NodeStartup.wallClock() },
            onCommitted: { mailbox.post(.core(.committed(through: $0))) },
            onFailed: { mailbox.post(.core(.commitFailed(token: $0, reason: $1))) })
    }

    /// Starts the store, registers the configured pools and serves metrics. Returns the bound address.
    @discardableResult
    public func start() throws(RuntimeError) -> NetAddress {
        store.start()
        let directives: [NodeDirective]
        do { directives = try core.start(pools: configuration.pools, now: NodeStartup.wallClock()) } catch {
            throw RuntimeError("a pool of the configuration: \(error)")
        }
        perform(directives)
        flushPersists()
        if let address = configuration.metrics {
            let (id, role, region) = (nodeID, configuration.role, configuration.region)
            let mailbox = self.mailbox
            let expiry = certificateExpiry
            let endpoint = try MetricsEndpoint(
                address: address,
                inspect: { reply in if !mailbox.post(.inspect(reply)) { reply(nil) } },
                render: {
                    MetricsText.render($0, node: id, role: role, region: region, certificateExpiry: expiry.value)
                })
            endpoint.start()
            metrics = endpoint
        }
        return boundAddress
    }

    /// What the node holds now, read on its loop (for tests and metrics); nil once it stopped.
    public func snapshot() async -> NodeSnapshot? {
        await withCheckedContinuation { continuation in
            if !mailbox.post(.inspect { continuation.resume(returning: $0) }) { continuation.resume(returning: nil) }
        }
    }

    /// Asks ``run()`` to leave the mesh, let placements in flight finish, and return.
    public func stop() { mailbox.post(.core(.stop)) }

    /// Runs the node's loop on its own thread until a stop has drained; cancelling the task stops it.
    public func run() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                done = continuation
                let thread = Thread { [self] in loop() }
                thread.name = "mesh-node"
                thread.start()
            }
        } onCancel: {
            stop()
        }
    }

    // MARK: - The loop

    func loop() {
        while !finished {
            let deadline = [tickDeadline, nextRevocationCheck].compactMap { $0 }.min()
            for input in mailbox.take(until: deadline) { handle(input) }
            let now = Monotonic.nanoseconds()
            if let at = tickDeadline, now >= at {
                tickDeadline = nil
                feed(.tick)
            }
            if now >= nextRevocationCheck {
                nextRevocationCheck = now + 1_000_000_000
                checkRevocationFile()
                heartbeat?()
            }
            flushPersists()
            if draining { shutDown() }
        }
        mailbox.close()
        for case .inspect(let reply) in mailbox.take(until: 0) { reply(nil) }
        done?.resume()
    }

    func handle(_ input: Input) {
        switch input {
        case .event(.opened(let id, let peer)):
            let (inputs, actions) = links.opened(
                LinkID(id.rawValue), peer: PeerCredentials(node: peer.nodeID, role: peer.role, region: peer.region),
                listenAddress: peer.listenAddress, incarnation: peer.incarnation, inbound: peer.inbound, name: peer.name,
                terms: SessionTerms(maxFrameBytes: peer.maxFrameBytes, features: peer.features))
            perform(actions)
            inputs.forEach(feed)
        case .event(.closed(let id, _)):
            links.closed(LinkID(id.rawValue)).forEach(feed)
        case .event(.frame(let id, let message, let correlationID, _)):
            if case .ping(let ping) = message {
                perform(links.pong(ping, correlationID: correlationID, on: LinkID(id.rawValue)))
                return
            }
            guard let input = links.frame(message, correlationID: correlationID, on: LinkID(id.rawValue)) else { return }
            if case .peerMessage(.revocationList(let list), let from) = input {
                // Authentication is the shell's: only a list the federation root signed goes in.
                guard let root = trustRoot, list.hasValidSignature(root: root) else {
                    logger.with("peer.id", from.node.short).warning(
                        "revocation list \(list.serial) without the root's signature; ignored")
                    return
                }
            }
            feed(input)
        case .dialFailed(let address, let error):
            if case .rejected(.duplicateNode, _) = error {
                logger.debug("dial of \(address) refused as a duplicate: a connection to that node is open")
                perform(links.dialDuplicate(address))
                return
            }
            var failure = ProbeFailure.timeout
            if case .connectFailed(_, let text) = error, text.lowercased().contains("refused") { failure = .connectionRefused }
            links.dialFailed(address, failure).forEach(feed)
        case .core(let input):
            feed(input)
        case .inspect(let reply):
            reply(snapshotNow())
        case .reload(let next):
            reload(next)
        case .summary:
            logSummary()
        }
    }

    /// One input through the core, and its directives performed.
    func feed(_ input: NodeInput) {
        perform(core.handle(input, now: NodeStartup.wallClock(), rng: &rng))
    }

    func perform(_ directives: [NodeDirective]) {
        for directive in directives {
            switch directive {
            case .send, .answer, .push, .connect, .disconnect, .goAway:
                perform(links.route(directive))
            case .persist(let batch, let token):
                persists.append(StoreWorker.Submission(batch: batch, token: token))
            case .applyRevocations(let list):
                do { try transport.applyRevocations(list) } catch {
                    logger.warning("revocation list \(list.serial) not applied to the transport: \(error)")
                }
            case .log(let line):
                write(line)
            case .emit:
                break  // logged by the core already; consoles get events as pushes
            case .scheduleTick(let at):
                let wall = NodeStartup.wallClock()
                let delay = at > wall ? at.milliseconds - wall.milliseconds : 0
                tickDeadline = Monotonic.nanoseconds() + delay * 1_000_000
            case .halt(let code, let reason):
                logger.log(.error, "stopping: \(reason)")
                FileHandle.standardError.write(Data("meshd: stopping: \(reason)\n".utf8))
                exit(code)
            case .drained:
                draining = true
            }
        }
    }

    func perform(_ actions: [LinkAction]) {
        for action in actions {
            switch action {
            case .send(let message, let correlationID, let link, let responds):
                let result = transport.send(
                    message, correlationID: correlationID, on: ConnectionID(rawValue: link.rawValue), respondsToRequest: responds)
                if result == .queueFull {
                    logger.warning("outbound queue of \(link) full; \(message.type.name ?? "frame") dropped")
                }
            case .dial(let address):
                let (transport, mailbox) = (self.transport, self.mailbox)
                Task {
                    do throws(TransportError) {
                        _ = try await transport.connect(to: SocketAddress(host: address.host, port: address.port))
                    } catch {
                        mailbox.post(.dialFailed(address, error))
                    }
                }
            case .close(let link, let reason):
                transport.close(ConnectionID(rawValue: link.rawValue), reason: reason)
            case .goAway(let link, let reason):
                transport.goAway(
                    ConnectionID(rawValue: link.rawValue), reason: .shutdown, drainMilliseconds: 1_000, message: reason)
            case .loopback(let input):
                mailbox.post(.core(input))
            case .log(let line):
                write(line)
            }
        }
    }

    /// Everything this loop turn asked to persist goes to the store as one group.
    func flushPersists() {
        guard !persists.isEmpty else { return }
        store.submit(persists)
        persists = []
    }

    func write(_ line: NodeLog) {
        var logger = self.logger
        if let peer = line.peer { logger = logger.with("peer.id", peer.short) }
        if let request = line.request { logger = logger.with("placement.request_id", request.description) }
        let level: TransportLogger.Level =
            switch line.level {
            case .debug: .debug
            case .info: .info
            case .warning: .warning
            case .error: .error
            }
        logger.log(level, line.message)
    }

    /// Stops in reverse order of start: metrics, the store (after its last commit), the transport.
    func shutDown() {
        finished = true
        metrics?.stop()
        store.finish()
        directory = nil
        transport.shutdown()
    }
}
