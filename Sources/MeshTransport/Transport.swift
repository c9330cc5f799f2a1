import CLinuxShim
import Glibc
public import MeshCore
public import MeshCrypto
public import MeshWire
import Synchronization

/// Counters kept on the loop thread, read with ``Transport/stats()``.
public struct TransportStats: Sendable, Equatable {
    /// Frames handed to the owner (after HELLO/WELCOME and the gate).
    public var framesDelivered = 0
    /// Frames refused by the gate or the decoder.
    public var refusedFrames = 0
    /// Connections refused in TLS, at HELLO, or by the handshake deadline.
    public var refusedHandshakes = 0
    /// Connections accepted, in total.
    public var accepted = 0
    public var openConnections = 0
    public var handshakingConnections = 0
}

/// Where a connection's events and counters go: held strongly by the transport and by every
/// connection, so that the per-frame path reaches it through a stored reference of its own
/// (no retain and release of the transport around each use, as an `unowned(unsafe)` load
/// still costs). Touched only on the loop thread.
final class EventRoute {
    let onEvent: @Sendable (TransportEvent) -> Void
    let onEventBatch: (@Sendable ([TransportEvent]) -> Void)?
    /// Events of the current loop iteration, when the owner takes them in batches.
    @exclusivity(unchecked) var pendingEvents: [TransportEvent] = []
    @exclusivity(unchecked) var counters = TransportStats()

    init(onEvent: @escaping @Sendable (TransportEvent) -> Void, onEventBatch: (@Sendable ([TransportEvent]) -> Void)?) {
        self.onEvent = onEvent
        self.onEventBatch = onEventBatch
    }

    @inline(__always)
    func emit(_ event: TransportEvent) {
        if onEventBatch == nil {
            onEvent(event)
        } else {
            pendingEvents.append(event)
        }
    }

    /// Hands the events of this loop iteration to a batching owner.
    func deliverPending() {
        guard let onEventBatch, !pendingEvents.isEmpty else { return }
        let batch = pendingEvents
        pendingEvents = []
        onEventBatch(batch)
    }
}

/// The node's network shell: listeners and connections on one epoll loop thread, with mutual
/// TLS 1.3, the HELLO/WELCOME handshake, the ``ConnectionGate``, bounded prioritised output and
/// deadlines (see ``TransportConfiguration``).
///
/// Events reach the owner through `onEvent`, called on the loop thread for each event: it MUST
/// NOT block (hand work to a task or queue; ``Transport/eventStream()`` does that with an
/// `AsyncStream`). An owner that hands events to Swift concurrency should rather take them in
/// batches (``Transport/batchingEvents(configuration:logger:onEventBatch:)``): one call per
/// loop iteration with every event of that iteration in order (``Transport/eventBatchStream()``),
/// so a read of 32 pipelined requests costs one hop, not 32. An owner that answers on the loop
/// thread (an echo, a relay) uses `onEvent`. All
/// methods may be called from any thread or task; calls off the loop thread are handed over
/// through its mailbox and never wait for I/O.
///
/// Lifetime: the owner MUST call ``shutdown()`` (not from an event handler: it waits for the
/// loop thread) before releasing the transport; the loop thread refers to it until then.
public final class Transport: @unchecked Sendable {
    public let configuration: TransportConfiguration
    let logger: TransportLogger
    let loop: EventLoop
    /// Events and counters (shared with the connections).
    let route: EventRoute
    private let nextID = Atomic<UInt64>(1)

    // Loop-thread state. The fields touched per frame skip the dynamic exclusivity checks: only
    // the loop thread uses them and no access to one nests inside another (see Connection).
    @exclusivity(unchecked) private var connections: [ConnectionID: Connection] = [:]
    private var listeners: [Int32: Listener] = [:]
    @exclusivity(unchecked) var dirty: [Connection] = []
    /// The connection of the last send on the loop thread: an owner answering a batch of
    /// requests sends on the same connection many times in a row, so this saves a hash lookup
    /// per frame. Cleared when that connection is forgotten.
    /// (Unmanaged: `connections` keeps it alive, and ``forget(_:)`` clears it first; a strong
    /// optional would cost a retain and release per send.)
    @exclusivity(unchecked) private var lastSendTarget: Unmanaged<Connection>? = nil
    @exclusivity(unchecked) private var lastSendID = ConnectionID(rawValue: 0)
    /// The trust in force (nil in plaintext mode); revocations update it.
    var currentTrust: FederationTrust?
    /// The TLS contexts new connections use: the configuration's, until ``replaceTLS(_:)`` swaps
    /// in a renewed certificate. Loop thread only.
    var tlsContexts: TLSSetup?
    /// The serial of the revocation list in force (0: none yet).
    var revocationSerial: UInt64 = 0
    let readBuffer: UnsafeMutableRawBufferPointer
    private var isShutDown = false

    /// Starts the loop thread.
    ///
    /// - Throws: ``TransportError/plaintextNotAllowed(_:)`` if there is no TLS and plaintext was
    ///   not explicitly allowed.
    public convenience init(
        configuration: TransportConfiguration, logger: TransportLogger, onEvent: @escaping @Sendable (TransportEvent) -> Void
    ) throws(TransportError) {
        try self.init(configuration: configuration, logger: logger, onEvent: onEvent, onEventBatch: nil)
    }

    /// Starts a transport whose events reach the owner in batches, one call per loop iteration
    /// (on the loop thread, which it MUST NOT block) with that iteration's events in order.
    ///
    /// - Throws: ``TransportError/plaintextNotAllowed(_:)`` if there is no TLS and plaintext was
    ///   not explicitly allowed.
    ///
    /// (A factory rather than an initialiser, so that `Transport(configuration:logger:) { ... }`
    /// with a trailing closure stays unambiguous.)
    public static func batchingEvents(
        configuration: TransportConfiguration, logger: TransportLogger,
        onEventBatch: @escaping @Sendable ([TransportEvent]) -> Void
    ) throws(TransportError) -> Transport {
        try Transport(configuration: configuration, logger: logger, onEvent: { _ in }, onEventBatch: onEventBatch)
    }

    private init(
        configuration: TransportConfiguration, logger: TransportLogger, onEvent: @escaping @Sendable (TransportEvent) -> Void,
        onEventBatch: (@Sendable ([TransportEvent]) -> Void)?
    ) throws(TransportError) {
        if configuration.tls == nil && !configuration.allowPlaintext {
            throw .plaintextNotAllowed("a transport without TLS")
        }
        self.configuration = configuration
        self.logger = logger
        route = EventRoute(onEvent: onEvent, onEventBatch: onEventBatch)
        currentTrust = configuration.tls?.trust
        tlsContexts = configuration.tls
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        loop = try EventLoop(name: "mesh-transport", tickMilliseconds: configuration.tickMilliseconds)
        // Unowned without reference counting: the loop thread stops in shutdown(), before the
        // owner may release the transport.
        loop.onTick = { [unowned(unsafe) self] in tick() }
        loop.afterEvents = { [unowned(unsafe) self] in
            route.deliverPending()
            flushDirty()
        }
    }

    deinit { readBuffer.deallocate() }

    /// An event stream and the handler that feeds it, for owners that prefer `for await`.
    /// The stream buffers without bound: the gate's in-flight limit bounds requests per peer.
    public static func eventStream() -> (AsyncStream<TransportEvent>, @Sendable (TransportEvent) -> Void) {
        let (stream, continuation) = AsyncStream<TransportEvent>.makeStream()
        return (stream, { continuation.yield($0) })
    }

    /// Batches of events, one per loop iteration of the transport, for owners that prefer
    /// `for await` (pass the handler as `onEventBatch`). The stream buffers without bound: the
    /// gate's in-flight limit bounds requests per peer.
    public static func eventBatchStream() -> (AsyncStream<[TransportEvent]>, @Sendable ([TransportEvent]) -> Void) {
        let (stream, continuation) = AsyncStream<[TransportEvent]>.makeStream()
        return (stream, { continuation.yield($0) })
    }

    private func makeID() -> ConnectionID { ConnectionID(rawValue: nextID.add(1, ordering: .relaxed).oldValue) }

    private func checkPlaintext(_ address: SocketAddress) throws(TransportError) {
        if configuration.tls == nil && !(configuration.allowPlaintext && address.isLoopback) {
            throw .plaintextNotAllowed(address.description)
        }
    }

    // MARK: - Listening

    /// Binds and listens; returns the bound address (pass port 0 for any free port).
    public func listen(on address: SocketAddress, backlog: Int32 = 1024) throws(TransportError) -> SocketAddress {
        try checkPlaintext(address)
        let fd = try Sockets.makeSocket(for: address)
        Sockets.setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        let bound = try address.withSockAddr { bind(fd, $0, $1) }
        if bound != 0 {
            let text = Sockets.errorText()
            _ = Glibc.close(fd)
            throw .system("bind \(address)", text)
        }
        if Glibc.listen(fd, backlog) != 0 {
            let text = Sockets.errorText()
            _ = Glibc.close(fd)
            throw .system("listen", text)
        }
        let local = SocketAddress.local(of: fd) ?? address
        let listener = Listener(fd: fd, transport: self)
        onLoop { [self] in
            listeners[fd] = listener
            loop.register(fd, listener, events: cmesh_epollin())
            logger.info("listening on \(local) (\(configuration.tls == nil ? "plaintext" : "TLS 1.3"))")
        }
        return local
    }

    func accept(on listenerFD: Int32) {
        for _ in 0..<64 {
            let fd = cmesh_accept_nonblocking(listenerFD)
            if fd < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { logger.warning("accept: \(Sockets.errorText())") }
                return
            }
            route.counters.accepted += 1
            let remote = SocketAddress.remote(of: fd)
            let handshaking = connections.values.reduce(0) { $0 + ($1.isHandshaking ? 1 : 0) }
            if connections.count >= configuration.maxConnections || handshaking >= configuration.maxHandshakesInProgress {
                route.counters.refusedHandshakes += 1
                logger.warning(
                    "refused a connection from \(remote?.description ?? "?"): \(connections.count) connections, \(handshaking) handshaking"
                )
                _ = Glibc.close(fd)
                continue
            }
            Sockets.tune(fd, configuration)
            let tls = tlsContexts.map { TLSEngine(context: $0.server, allowedPeerRoles: configuration.acceptedPeerRoles) }
            let connection = Connection(
                id: makeID(), fd: fd, inbound: true, transport: self, remote: remote, tls: tls, now: monotonicMilliseconds())
            connections[connection.id] = connection
            loop.register(fd, connection, events: cmesh_epollin() | cmesh_epollrdhup())
            connection.logger.debug("accepted")
            connection.start()
        }
    }

    // MARK: - Connecting

    /// Opens a connection, runs TLS and HELLO/WELCOME, and returns once welcomed.
    public func connect(to address: SocketAddress) async throws(TransportError) -> (ConnectionID, PeerInfo) {
        try checkPlaintext(address)
        let id = makeID()
        let result: Result<PeerInfo, TransportError> = await withCheckedContinuation { continuation in
            onLoop { [self] in
                startConnect(id: id, to: address) { continuation.resume(returning: $0) }
            }
        }
        switch result {
        case .success(let peer): return (id, peer)
        case .failure(let error): throw error
        }
    }

    private func startConnect(
        id: ConnectionID, to address: SocketAddress, outcome: @escaping (Result<PeerInfo, TransportError>) -> Void
    ) {
        if isShutDown { return outcome(.failure(.shutDown)) }
        if connections.count >= configuration.maxConnections {
            return outcome(.failure(.tooManyConnections(configuration.maxConnections)))
        }
        let fd: Int32
        do { fd = try Sockets.makeSocket(for: address) } catch { return outcome(.failure(error)) }
        Sockets.tune(fd, configuration)
        let result: Int32
        do { result = try address.withSockAddr { Glibc.connect(fd, $0, $1) } } catch {
            _ = Glibc.close(fd)
            return outcome(.failure(error))
        }
        if result != 0 && errno != EINPROGRESS {
            let text = Sockets.errorText()
            _ = Glibc.close(fd)
            return outcome(.failure(.connectFailed(address, text)))
        }
        let tls = tlsContexts.map { TLSEngine(context: $0.client, allowedPeerRoles: Role.allCases) }
        let now = monotonicMilliseconds()
        let connection = Connection(id: id, fd: fd, inbound: false, transport: self, remote: address, tls: tls, now: now)
        connection.onOutcome = outcome
        connection.connectDeadline = now + configuration.connectTimeoutMilliseconds
        connections[id] = connection
        loop.register(fd, connection, events: cmesh_epollin() | cmesh_epollout() | cmesh_epollrdhup())
    }

    // MARK: - Sending

    /// Queues `message` on a connection. Control and liveness messages go ahead of bulk ones.
    /// Set `respondsToRequest` when this answers a request delivered by the gate (frees its
    /// in-flight slot). Off the loop thread the send is handed over and reported as `.queued`.
    @discardableResult
    public func send(
        _ message: WireMessage, correlationID: UInt64 = 0, on id: ConnectionID, respondsToRequest: Bool = false
    )
        -> SendResult
    {
        let bytes: [UInt8]
        do { bytes = try FrameEncoder.frame(message, correlationID: correlationID, flags: message.type.sentFlags) } catch {
            logger.warning("not sent: \(error)")
            return .queueFull
        }
        return send(frame: bytes, priority: .of(message.type), on: id, respondsToRequest: respondsToRequest)
    }

    /// Queues an already encoded frame.
    @discardableResult
    public func send(
        frame bytes: [UInt8], priority: SendPriority, on id: ConnectionID, respondsToRequest: Bool = false
    )
        -> SendResult
    {
        if loop.inLoop { return sendOnLoop(bytes, priority, id, respondsToRequest) }
        loop.execute { [self] in _ = sendOnLoop(bytes, priority, id, respondsToRequest) }
        return .queued
    }

    private func sendOnLoop(_ bytes: [UInt8], _ priority: SendPriority, _ id: ConnectionID, _ responds: Bool) -> SendResult {
        if let last = lastSendTarget, lastSendID == id {
            return last._withUnsafeGuaranteedRef { Transport.send(bytes, priority, responds, on: $0) }
        }
        guard let found = connections[id] else { return .notOpen }
        lastSendTarget = Unmanaged.passUnretained(found)
        lastSendID = id
        return Transport.send(bytes, priority, responds, on: found)
    }

    @inline(__always)
    private static func send(
        _ bytes: [UInt8], _ priority: SendPriority, _ responds: Bool, on connection: Connection
    ) -> SendResult {
        guard connection.phase == .open else { return .notOpen }
        if responds && connection.gate.inFlight > 0 { connection.gate.responseSent() }
        if bytes.count > connection.decoder.limits.maxFrameBytes {
            return connection.oversized(bytes, responds: responds)
        }
        return connection.appendBytes(bytes, priority: priority)
    }

    /// Sends GOAWAY and closes once requests up to the last delivered one are answered, or
    /// after `drainMilliseconds`.
    public func goAway(_ id: ConnectionID, reason: GoAwayReason, drainMilliseconds: UInt64 = 5_000, message: String = "") {
        onLoop { [self] in
            guard let connection = connections[id], connection.phase == .open else { return }
            let last = connection.highestDeliveredCorrelationID
            connection.appendFrame(
                .goAway(
                    GoAway(reason: reason, lastCorrelationID: last, drain: .milliseconds(drainMilliseconds), message: message)),
                correlationID: 0, priority: .control, force: true)
            connection.goAwayLastCorrelationID = last
            connection.goAwayDeadline = monotonicMilliseconds() + drainMilliseconds
        }
    }

    /// Closes a connection now.
    public func close(_ id: ConnectionID, reason: String = "closed by the owner") {
        onLoop { [self] in connections[id]?.closeAfterFlush(reason) }
    }

    // MARK: - Credentials

    /// Renewed credentials for every connection made from now on: the same key (the node's
    /// identity) under a new certificate chain, and the same federation root. Open connections keep
    /// the certificate they were made with. Revocations stay in force (they are the transport's,
    /// not the contexts').
    ///
    /// - Precondition: TLS is on (a plaintext transport has no certificate to renew).
    public func replaceTLS(_ setup: TLSSetup) {
        precondition(configuration.tls != nil, "replaceTLS on a plaintext transport")
        onLoop { [self] in tlsContexts = setup }
    }

    // MARK: - Revocation

    /// Accepts a root-signed revocation list (if its signature verifies and its serial is newer
    /// than the one in force) and disconnects every revoked peer: on connections it accepted and
    /// on connections it opened (checked by NodeID and by certificate serial). From then on,
    /// ``connect(to:)`` also refuses a server whose certificate is revoked.
    public func applyRevocations(_ list: RevocationList) throws(TransportError) {
        guard let tls = configuration.tls else { throw .handshakeFailed("revocation lists need TLS") }
        guard list.hasValidSignature(root: tls.trust.root) else {
            throw .handshakeFailed("the revocation list's signature is not the federation root's")
        }
        onLoop { [self] in
            // A list older than (or the same as) the one in force would un-revoke nodes: ignored.
            guard list.serial > revocationSerial else {
                logger.info("revocation list \(list.serial) ignored: list \(revocationSerial) is in force")
                return
            }
            revocationSerial = list.serial
            currentTrust?.setRevocations(list.entries)
            guard let trust = currentTrust else { return }
            for (_, connection) in connections.sorted(by: { $0.key < $1.key }) {
                guard let why = connection.revocation(under: trust) else { continue }
                if connection.phase == .open {
                    connection.appendFrame(
                        .goAway(
                            GoAway(
                                reason: .revoked, lastCorrelationID: 0, drain: .zero, message: why.truncated(toUTF8Bytes: 512))),
                        correlationID: 0, priority: .control, force: true)
                }
                connection.closeAfterFlush(why)
            }
        }
    }

    // MARK: - Loop-thread plumbing

    func onLoop(_ job: @escaping () -> Void) {
        if loop.inLoop {
            job()
        } else {
            let box = UncheckedBox(job)
            loop.execute { box.value() }
        }
    }

    /// Inbound handshake failures since the last warning, and when it was logged (loop only).
    private var inboundFailures = 0
    private var lastInboundWarning: UInt64? = nil
    /// Warnings about failed inbound handshakes are at most this frequent.
    static let inboundWarningIntervalMilliseconds: UInt64 = 60_000

    /// Counts an inbound connection that failed before WELCOME; a warning names the count and the
    /// last reason at most once a minute (unknown clients and scanners must not flood the log).
    func noteInboundHandshakeFailure(_ reason: String) {
        inboundFailures += 1
        let now = monotonicMilliseconds()
        if let last = lastInboundWarning, now < last + Transport.inboundWarningIntervalMilliseconds { return }
        logger.warning(
            "\(inboundFailures) inbound connection\(inboundFailures == 1 ? "" : "s") failed the handshake "
                + "\(lastInboundWarning == nil ? "so far" : "in the last minute") (last: \(reason)); "
                + "each is logged at debug level")
        inboundFailures = 0
        lastInboundWarning = now
    }

    /// Whether another inbound connection from `node` is open (SPEC §8.1.4: the second is
    /// refused with duplicate-node). Handshakes only: not on the per-frame path.
    func hasOpenInbound(from node: NodeID, other connection: Connection) -> Bool {
        connections.values.contains { $0 !== connection && $0.inbound && $0.phase == .open && $0.peer?.nodeID == node }
    }

    func forget(_ connection: Connection) {
        if let last = lastSendTarget, last.toOpaque() == Unmanaged.passUnretained(connection).toOpaque() {
            lastSendTarget = nil
        }
        connections[connection.id] = nil
        loop.closeDescriptor(connection.fd)
    }

    private func flushDirty() {
        while !dirty.isEmpty {
            let batch = dirty
            dirty.removeAll(keepingCapacity: true)
            for connection in batch { connection.flush() }
        }
    }

    private func tick() {
        let now = monotonicMilliseconds()
        for id in connections.keys.sorted() { connections[id]?.checkDeadlines(now: now) }
        route.deliverPending()
        flushDirty()
    }

    /// A snapshot of the counters.
    public func stats() async -> TransportStats {
        await withCheckedContinuation { continuation in
            onLoop { [self] in
                var s = route.counters
                s.openConnections = connections.values.reduce(0) { $0 + ($1.phase == .open ? 1 : 0) }
                s.handshakingConnections = connections.values.reduce(0) { $0 + ($1.isHandshaking ? 1 : 0) }
                continuation.resume(returning: s)
            }
        }
    }

    /// Closes every connection and listener and stops the loop thread.
    public func shutdown() {
        let done = Atomic<Bool>(false)
        onLoop { [self] in
            isShutDown = true
            for id in connections.keys.sorted() { connections[id]?.close("the transport is shutting down") }
            for (fd, _) in listeners { loop.closeDescriptor(fd) }
            listeners = [:]
            route.deliverPending()
            done.store(true, ordering: .sequentiallyConsistent)
        }
        while !done.load(ordering: .sequentiallyConsistent) { usleep(1_000) }
        loop.stop()
    }
}

/// Accepts connections for a ``Transport``.
final class Listener: EventLoopHandler {
    let fd: Int32
    unowned let transport: Transport
    init(fd: Int32, transport: Transport) {
        self.fd = fd
        self.transport = transport
    }
    func handle(events: UInt32) { transport.accept(on: fd) }
}

/// Carries a non-Sendable value into the loop's mailbox; the loop thread is its only user.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension Transport {
    /// Runs `job` on the loop thread (for owners that keep loop-thread state, like benchmark
    /// load generators). The job MUST NOT block.
    public func executeOnLoop(_ job: @escaping @Sendable () -> Void) { loop.execute(job) }
}
