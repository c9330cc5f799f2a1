import Foundation
public import MeshCore
public import MeshTransport
public import MeshWire
import Synchronization

// MARK: - Client

/// Routes a console connection's frames to the requests waiting for them, and events to `watch`.
public final class ConsoleRouter: Sendable {
    struct State {
        var pending: [UInt64: CheckedContinuation<WireMessage, any Error>] = [:]
        var closedReason: String?
        var events: AsyncStream<Event>.Continuation?
    }
    let state = Mutex(State())

    /// Called on the transport's loop thread: never blocks.
    public func handle(_ event: TransportEvent) {
        switch event {
        case .opened:
            return
        case .frame(_, let message, let correlationID, _):
            if case .event(let e) = message {
                _ = state.withLock { $0.events?.yield(e) }
                return
            }
            guard correlationID != 0 else { return }
            let waiter = state.withLock { $0.pending.removeValue(forKey: correlationID) }
            waiter?.resume(returning: message)
        case .closed(_, let reason):
            let (waiters, events) = state.withLock {
                s -> ([CheckedContinuation<WireMessage, any Error>], AsyncStream<Event>.Continuation?) in
                s.closedReason = s.closedReason ?? reason
                let w = Array(s.pending.values)
                s.pending = [:]
                let e = s.events
                s.events = nil
                return (w, e)
            }
            for waiter in waiters {
                waiter.resume(throwing: ConsoleError("the node closed the connection: \(reason)"))
            }
            events?.finish()
        }
    }

    public func fail(_ correlationID: UInt64, _ error: ConsoleError) {
        let waiter = state.withLock { $0.pending.removeValue(forKey: correlationID) }
        waiter?.resume(throwing: error)
    }
}

/// One console connection to one node.
public final class ConsoleClient: Sendable {
    public let address: SocketAddress
    public let transport: Transport
    let router: ConsoleRouter
    public let connection: ConnectionID
    public let peer: PeerInfo
    private let nextCorrelationID = Atomic<UInt64>(1)
    private let closed = Atomic<Bool>(false)

    /// The longest wait for an answer.
    public static let answerTimeoutSeconds: Double = 10
    /// The longest wait for TCP, TLS and HELLO/WELCOME.
    public static let connectTimeoutSeconds: Double = 5

    private init(address: SocketAddress, transport: Transport, router: ConsoleRouter, connection: ConnectionID, peer: PeerInfo) {
        self.address = address
        self.transport = transport
        self.router = router
        self.connection = connection
        self.peer = peer
    }

    /// Connects and completes the handshake within ``connectTimeoutSeconds``.
    public static func connect(to text: String, credentials: ConsoleCredentials) async throws -> ConsoleClient {
        let parsed: NetAddress
        do { parsed = try NetAddress(parsing: text) } catch {
            throw ConsoleError("--node \(text): \(error.description); write it as HOST:PORT, e.g. 127.0.0.1:7401")
        }
        let address = SocketAddress(host: parsed.host, port: parsed.port)
        if case .plaintext = credentials, !address.isLoopback {
            throw ConsoleError("--plaintext works on loopback only; \(text) is not loopback: use --credentials DIR")
        }
        var configuration = try credentials.transportConfiguration()
        configuration.connectTimeoutMilliseconds = UInt64(connectTimeoutSeconds * 1000)
        configuration.handshakeTimeoutMilliseconds = UInt64(connectTimeoutSeconds * 1000)
        let router = ConsoleRouter()
        let transport: Transport
        do {
            transport = try Transport(
                configuration: configuration, logger: .silent, onEvent: { [router] in router.handle($0) })
        } catch {
            throw ConsoleError("cannot start the console's transport: \(error)")
        }
        do {
            // The transport bounds the wait: TCP within the connect timeout, TLS and WELCOME within
            // the handshake timeout, both counted from the start.
            let (id, peer) = try await transport.connect(to: address)
            return ConsoleClient(address: address, transport: transport, router: router, connection: id, peer: peer)
        } catch {
            transport.shutdown()
            throw ConsoleError(explain(error, address: text, credentials: credentials))
        }
    }

    public static func explain(_ error: TransportError, address: String, credentials: ConsoleCredentials) -> String {
        switch error {
        case .connectFailed(_, let text):
            return "cannot reach a node at \(address) (\(text)): is meshd running and listening there? "
                + "Its first line of output says `meshd: NAME listening on HOST:PORT ...`"
        case .connectTimedOut:
            return "no answer from \(address) within \(Int(connectTimeoutSeconds)) s: check the address, and that nothing "
                + "between here and there drops the connection"
        case .handshakeFailed(let text) where text.contains("did not complete within"):
            return "\(address) accepted the connection but did not finish the handshake within "
                + "\(Int(connectTimeoutSeconds)) s (\(text)): is it a meshd node, and is it overloaded? Check its log"
        case .handshakeFailed(let text):
            switch credentials {
            case .plaintext:
                return "the handshake with \(address) failed (\(text)): the node probably speaks TLS; "
                    + "drop --plaintext and pass --credentials DIR with an operator certificate"
            case .directory(let dir):
                return "TLS with \(address) failed (\(text)): check that \(dir) holds an operator certificate issued under "
                    + "the same federation root as the node's, that it is not expired or revoked, and that the node "
                    + "is not running in plaintext mode (then use --plaintext)"
            }
        case .rejected(let reason, let text):
            return "the node at \(address) refused the console (\(reason)): \(text)"
        case .invalidAddress, .plaintextNotAllowed, .system, .shutDown, .tooManyConnections:
            return "cannot connect to \(address): \(error.description)"
        }
    }

    /// Sends `message` with a fresh correlation ID and returns the answer (the node's ERROR frame
    /// is thrown as a ``ConsoleError`` naming what was refused).
    public func request(_ message: WireMessage, timeoutSeconds: Double = answerTimeoutSeconds) async throws -> WireMessage {
        let correlationID = nextCorrelationID.add(1, ordering: .relaxed).oldValue
        let name = message.type.name ?? "request"
        let timeout = Task { [router] in
            try await Task.sleep(for: .milliseconds(Int(timeoutSeconds * 1000)))
            router.fail(
                correlationID,
                ConsoleError(
                    "no answer to \(name) from \(self.address) within \(Self.seconds(timeoutSeconds)): the node is overloaded or stuck; check its log"
                ))
        }
        defer { timeout.cancel() }
        let answer: WireMessage = try await withCheckedThrowingContinuation { continuation in
            let closed = router.state.withLock { s -> String? in
                if let reason = s.closedReason { return reason }
                s.pending[correlationID] = continuation
                return nil
            }
            if let closed {
                continuation.resume(throwing: ConsoleError("the node closed the connection: \(closed)"))
                return
            }
            transport.send(message, correlationID: correlationID, on: connection)
        }
        if case .error(let error) = answer {
            let code = WireErrorCode(rawValue: error.code).map { "\($0)" } ?? "code \(error.code)"
            throw ConsoleError("the node refused \(name) (\(code)): \(error.message)", status: 1)
        }
        return answer
    }

    public static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    /// Starts the event subscription to `kinds` (a mask of ``EventKind/mask`` bits), replaying
    /// the node's buffered events from `fromSequence` on (0: only new ones). Events arrive on the
    /// returned stream until the node closes; a replay may repeat events already seen, so callers
    /// SHOULD skip sequences they have.
    public func subscribe(kinds: UInt32, fromSequence: UInt64 = 0) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        router.state.withLock { $0.events = continuation }
        transport.send(
            .subscribe(Subscribe(kinds: kinds, fromSequence: fromSequence)), correlationID: 0, on: connection)
        return stream
    }

    /// Why the node closed the connection; nil while it is open.
    public var closedReason: String? { router.state.withLock { $0.closedReason } }

    /// Closes the connection and stops the transport's thread. Idempotent: a second call (the
    /// live console's link task and its quit path may both close) returns at once, where it would
    /// otherwise wait forever on the stopped loop. A client MUST be closed before it is released.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        transport.close(connection, reason: "console done")
        transport.shutdown()
    }

    // MARK: Typed requests

    public func status() async throws -> Status {
        guard case .status(let s) = try await request(.statusRequest(StatusRequest())) else { throw unexpected("STATUS") }
        return s
    }

    public func members() async throws -> [MemberRow] { try await memberList().members }

    /// Every page of MEMBERS, as one answer (at most 64 pages), with the pages' round trips
    /// (issue 17): pages follow each other in NodeID order, so the merged list stays in order.
    public func memberList() async throws -> Members {
        var list = Members(members: [], more: false)
        var after: NodeID?
        for _ in 0..<64 {
            guard case .members(let page) = try await request(.membersRequest(MembersRequest(after: after))) else {
                throw unexpected("MEMBERS")
            }
            list.members += page.members
            list.roundTrips += page.roundTrips.filter { entry in list.roundTrips.last.map { $0.node < entry.node } ?? true }
            guard page.more, let last = page.members.last else { return list }
            after = last.update.node
        }
        return list
    }

    /// Every page of INVENTORY, as one answer (at most 64 pages); the name directories merged.
    public func inventory(region: Region?) async throws -> Inventory {
        var whole = Inventory(pools: [], summaries: [], more: false)
        var names = NodeDirectory()
        var after: ComputeID?
        for _ in 0..<64 {
            guard case .inventory(let page) = try await request(.inventoryRequest(InventoryRequest(region: region, after: after)))
            else { throw unexpected("INVENTORY") }
            whole.pools += page.pools
            names.merge(page.names)
            if whole.summaries.isEmpty { whole.summaries = page.summaries }
            whole.more = page.more
            guard page.more, let last = page.pools.last else { break }
            after = last.descriptor.body.computeID
        }
        whole.names = names.entries
        return whole
    }

    public func placements() async throws -> Placements {
        guard case .placements(let p) = try await request(.placementsRequest(PlacementsRequest())) else {
            throw unexpected("PLACEMENTS")
        }
        return p
    }

    public func why(_ requestID: RequestID, pool: ComputeID?) async throws -> Why {
        guard case .why(let w) = try await request(.whyRequest(WhyRequest(requestID: requestID, pool: pool))) else {
            throw unexpected("WHY")
        }
        return w
    }

    public func register(_ descriptor: PoolDescriptor) async throws -> PoolRegistered {
        guard case .poolRegistered(let r) = try await request(.registerPool(RegisterPool(descriptor: descriptor))) else {
            throw unexpected("POOL_REGISTERED")
        }
        return r
    }

    /// Sends PLACE and waits until the deadline plus 5 s for the OUTCOME.
    public func place(_ placement: PlacementRequest) async throws -> Outcome {
        let remaining = Double(placement.deadline.milliseconds) / 1000 - Date().timeIntervalSince1970
        guard case .outcome(let o) = try await request(.place(placement), timeoutSeconds: max(remaining, 0) + 5) else {
            throw unexpected("OUTCOME")
        }
        return o
    }

    private func unexpected(_ expected: String) -> ConsoleError {
        ConsoleError("the node answered with something other than \(expected): is it running a different protocol version?")
    }
}
